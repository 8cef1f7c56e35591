"""The public legal and help pages: readable without signing in."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.google_calendar.client import SCOPE as GOOGLE_CALENDAR_SCOPE


def google_calendar_help(request: HttpRequest) -> HttpResponse:
    # The scope shown is the one the consent request really asks for (GC-1).
    context = {"scope": GOOGLE_CALENDAR_SCOPE}
    return render(request, "privacy/help_google_calendar.html", context)


def security_policy(request: HttpRequest) -> HttpResponse:
    # The page security.txt's Policy: field points at (SEC-5).
    return render(request, "privacy/security.html", {"support_email": settings.SUPPORT_EMAIL})
