from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest

from alt.accounts.services import workspace_create_for_user


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up stores the full name and creates the agent's own workspace in one transaction."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        with transaction.atomic():
            user.full_name = form.cleaned_data.get("full_name", "").strip()
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                workspace_create_for_user(user=user)
        return user
