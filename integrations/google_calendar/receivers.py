"""Google Calendar's side of a member leaving a workspace (alt.accounts.signals.member_removing):
their connection in that workspace is disconnected like Settings → Disconnect does (GC-7): both
tokens deleted in the removal's transaction, the grant revoked at Google, events already pushed
left on their calendar."""

from __future__ import annotations

from typing import Any

from alt.accounts.models import User, Workspace
from integrations.google_calendar.connection import connection_for
from integrations.google_calendar.services import calendar_disconnect


def disconnect_calendar_of_leaving_member(
    sender: Any, *, workspace: Workspace, user: User, **kwargs: Any
) -> None:
    connection = connection_for(workspace=workspace, user=user)
    if connection is not None:
        calendar_disconnect(connection)
