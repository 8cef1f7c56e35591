"""The staff admin at /staff/: signed in through allauth only, and only with two-factor on.

Django's own admin login form knows neither allauth's login throttling nor its MFA stage, so it
never renders: /staff/login/ sends a visitor to the app's login (allauth's `secure_admin_login`),
and a staff account without a TOTP authenticator is sent to set one up before any admin page
opens (SEC-4).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

# allauth is imported inside the functions: INSTALLED_APPS loads this module (StaffAdminConfig)
# before the app registry is ready.

TWO_FACTOR_REQUIRED = (
    "Staff accounts need two-factor authentication. Set up an authenticator app to open the admin."
)


def has_two_factor(user: Any) -> bool:
    """Whether `user` has an allauth TOTP authenticator (recovery codes alone do not count)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


class StaffAdminSite(admin.AdminSite):
    site_header = "Agent Lead Tracker — staff"
    site_title = "ALT staff"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and has_two_factor(request.user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        from allauth.account.decorators import secure_admin_login

        # secure_admin_login sends a visitor to allauth's login with `next`, refuses a signed-in
        # account that is not active staff (403), and lets only active staff reach _staff_login.
        return secure_admin_login(self._staff_login)(request)

    def _staff_login(self, request: HttpRequest) -> HttpResponse:
        from allauth.account.utils import get_next_redirect_url

        if not has_two_factor(request.user):
            messages.warning(request, TWO_FACTOR_REQUIRED)
            return redirect("mfa_activate_totp")
        index = reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(get_next_redirect_url(request) or index)


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with StaffAdminSite as `admin.site`."""

    default_site = "alt.admin_site.StaffAdminSite"
