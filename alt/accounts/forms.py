from __future__ import annotations

import unicodedata
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest

from alt.accounts.models import TIMEZONE_CHOICES, Membership, User, Workspace
from alt.lib.throttle import throttle_hit


class SignupForm(forms.Form):
    """Extra sign-up field for allauth (ACC-1: name, email, password)."""

    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name", "placeholder": "Jordan Rivera"}),
    )

    # Pre-selected from the browser by static/js/signup-timezone.js; never a silent default.
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=[("", "Choose your time zone"), *TIMEZONE_CHOICES],
        help_text="Taken from your browser. Appointments and reminders use it; "
        "you can change it later in your profile.",
        error_messages={
            "required": "Choose your time zone.",
            "invalid_choice": "Choose a time zone from the list.",
        },
        widget=forms.Select(attrs={"data-browser-timezone": ""}),
    )

    field_order = ["full_name", "email", "password1", "timezone"]

    def clean_timezone(self) -> str:
        name: str = self.cleaned_data["timezone"]
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError("Choose a time zone from the list.")
        return name

    def signup(self, request: HttpRequest, user: User) -> None:
        # The adapter already stored the name and time zone and created the workspace.
        return None


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "timezone", "appointment_reminder_minutes"]
        help_texts = {
            "timezone": "Appointments are shown and synced in this time zone.",
            "appointment_reminder_minutes": "ALT emails you before each of your appointments.",
        }


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name"]
        labels = {"name": "Workspace name"}

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # The name goes into invite email subjects, where a line break would end the header.
        if any(_is_control(character) for character in name):
            raise forms.ValidationError(
                "Use one line of plain text: no line breaks, tabs or other control characters."
            )
        return name


def _is_control(character: str) -> bool:
    """A line break, tab or other control character, or a bidirectional override that would
    make the name read differently from what it is."""
    return unicodedata.category(character) in ("Cc", "Zl", "Zp") or (
        "\u202a" <= character <= "\u202e" or "\u2066" <= character <= "\u2069"
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="Teammate's email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.AGENT)

    def __init__(
        self, *args: Any, workspace: Workspace, sender: User | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.sender = sender

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if Membership.objects.filter(workspace=self.workspace, user__email__iexact=email).exists():
            raise forms.ValidationError("This person is already in your workspace.")
        return email

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        # Counted last, so that an invite refused for another reason does not use up the limit.
        if self.sender is not None and not self.errors:
            per_sender = settings.INVITE_LIMIT_PER_SENDER_PER_HOUR
            if not throttle_hit(
                f"invite:sender:{self.sender.pk}", limit=per_sender, window_seconds=3600
            ):
                raise forms.ValidationError(
                    f"You have sent {per_sender} invites in the last hour. "
                    "Please wait an hour before inviting more people."
                )
            per_workspace = settings.INVITE_LIMIT_PER_WORKSPACE_PER_DAY
            if not throttle_hit(
                f"invite:workspace:{self.workspace.pk}", limit=per_workspace, window_seconds=86400
            ):
                raise forms.ValidationError(
                    f"This workspace has sent {per_workspace} invites today. "
                    "Please try again tomorrow."
                )
        return cleaned_data


class TeammateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.full_name or obj.email} ({obj.email})"


class MemberRemoveForm(forms.Form):
    """Confirms a removal and says who takes over the leaving member's appointments."""

    reassign_to = TeammateChoiceField(
        queryset=User.objects.none(),
        label="Hand their appointments to",
        empty_label=None,
        help_text="Their appointments move to this teammate's calendar and stay editable.",
    )

    def __init__(
        self, *args: Any, workspace: Workspace, leaving: Membership, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reassign_to"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            User.objects.filter(memberships__workspace=workspace)
            .exclude(id=leaving.user_id)
            .order_by("full_name", "email")
        )
