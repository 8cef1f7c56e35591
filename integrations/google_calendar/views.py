from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.lib.middleware import csp_allow_form_redirect
from appointments.models import Appointment
from integrations.google_calendar import oauth
from integrations.google_calendar.connection import connection_for
from integrations.google_calendar.services import (
    calendar_connect,
    calendar_disconnect,
    calendar_enabled,
)


@require_GET
@workspace_required
def calendar_settings(request: WorkspaceRequest) -> HttpResponse:
    connection = connection_for(workspace=request.workspace, user=request.user)
    waiting = 0
    if connection is not None:
        waiting = (
            Appointment.objects.for_workspace(request.workspace)
            .live()
            .filter(
                agent=request.user,
                sync_state__in=[Appointment.Sync.WAITING, Appointment.Sync.FAILED],
            )
            .count()
        )
    context = {"connection": connection, "enabled": calendar_enabled(), "waiting": waiting}
    response = render(request, "google_calendar/settings.html", context)
    # Connect/Reconnect POST here and are redirected on to Google's consent page.
    return csp_allow_form_redirect(response, settings.GOOGLE_OAUTH_AUTH_URL)


@require_POST
@workspace_required
def connect(request: WorkspaceRequest) -> HttpResponse:
    if not calendar_enabled():
        messages.error(request, "Google Calendar sync is not set up on this server.")
        return redirect("google_calendar:settings")
    return redirect(oauth.authorization_url(request.session))


@require_GET
@workspace_required
def callback(request: WorkspaceRequest) -> HttpResponse:
    try:
        tokens = oauth.exchange(request.session, request.GET.dict())
    except oauth.OAuthError as exc:
        messages.error(request, exc.message)
        return redirect("google_calendar:settings")
    calendar_connect(workspace=request.workspace, user=request.user, tokens=tokens)
    messages.success(
        request,
        "Google Calendar is connected. Your appointments now sync to your primary calendar.",
    )
    return redirect("google_calendar:settings")


@require_POST
@workspace_required
def disconnect(request: WorkspaceRequest) -> HttpResponse:
    connection = connection_for(workspace=request.workspace, user=request.user)
    if connection is not None:
        calendar_disconnect(connection)
        messages.success(
            request,
            "Google Calendar is disconnected and ALT deleted its access. Events already on your "
            "calendar stay there.",
        )
    return redirect("google_calendar:settings")
