from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from alt.accounts.models import Membership, User, Workspace


class SignupForm(forms.Form):
    """Extra sign-up field for allauth (ACC-1: name, email, password)."""

    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "Jordan Rivera"}),
    )

    field_order = ["full_name", "email", "password1"]

    def signup(self, request: HttpRequest, user: User) -> None:
        # The adapter already stored the name and created the workspace.
        return None


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "timezone"]
        help_texts = {"timezone": "Appointments are shown and synced in this time zone."}


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name"]
        labels = {"name": "Workspace name"}


class InviteForm(forms.Form):
    email = forms.EmailField(label="Teammate's email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.AGENT)

    def __init__(self, *args: Any, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if Membership.objects.filter(workspace=self.workspace, user__email__iexact=email).exists():
            raise forms.ValidationError("This person is already in your workspace.")
        return email
