"""The public legal and help pages: readable without signing in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from integrations.google_calendar.client import SCOPE as GOOGLE_CALENDAR_SCOPE


def google_calendar_help(request: HttpRequest) -> HttpResponse:
    # The scope shown is the one the consent request really asks for (GC-1).
    context = {"scope": GOOGLE_CALENDAR_SCOPE}
    return render(request, "privacy/help_google_calendar.html", context)
