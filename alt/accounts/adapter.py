from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from alt.accounts.middleware import PENDING_INVITE_KEY, SESSION_KEY
from alt.accounts.services import (
    InviteError,
    device_sign_in,
    invite_accept_by_hash,
    invite_pending_for,
    workspace_create_for_user,
)

DEVICE_COOKIE = "alt_device"
DEVICE_COOKIE_SALT = "alt.accounts.device"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chrome: 400 days)


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up stores the full name and time zone and creates the agent's own workspace, unless
    they came from an invite link for their address: then signing in joins that workspace.
    Every sign-in from a browser the user has not used before is emailed to them."""

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        with transaction.atomic():
            user.full_name = form.cleaned_data.get("full_name", "").strip()
            user.timezone = form.cleaned_data.get("timezone") or user.timezone
            user = super().save_user(request, user, form, commit=commit)
            token_hash = request.session.get(PENDING_INVITE_KEY, "")
            invited = token_hash and invite_pending_for(token_hash=token_hash, email=user.email)
            if commit and not invited:
                workspace_create_for_user(user=user)
        return user

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        if self._join_pending_invite(request, user):
            # The invite link in `next` is used up now; its page would only say so.
            response = HttpResponseRedirect(reverse("dashboard"))
        self._remember_device(request, user, response)
        return response

    def _join_pending_invite(self, request: HttpRequest, user: Any) -> bool:
        token_hash = request.session.pop(PENDING_INVITE_KEY, None)
        if not token_hash:
            return False
        try:
            membership = invite_accept_by_hash(token_hash=token_hash, user=user)
        except InviteError as exc:
            messages.error(request, str(exc))
            return False
        request.session[SESSION_KEY] = membership.workspace_id
        messages.success(request, f"Welcome to {membership.workspace.name}.")
        return True

    def _remember_device(self, request: HttpRequest, user: Any, response: HttpResponse) -> None:
        token = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=DEVICE_COOKIE_SALT)
        token, is_new = device_sign_in(
            user=user, token=token or "", user_agent=request.headers.get("user-agent", "")
        )
        if is_new:
            self.send_notification_mail("account/email/new_device_login", user)
        response.set_signed_cookie(
            DEVICE_COOKIE,
            token,
            salt=DEVICE_COOKIE_SALT,
            max_age=DEVICE_COOKIE_MAX_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
