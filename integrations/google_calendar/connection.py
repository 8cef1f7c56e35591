"""The state of one user's Google Calendar connection: its tokens, whether it needs reconnecting,
and the banner that says so.

Both the push (push.py) and the agent-facing workflows (services.py) change a connection; what
they share lives here, so the push never calls up into services.py.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.accounts.seams import BannerFlag
from appointments.models import Appointment
from integrations.google_calendar.client import Tokens
from integrations.google_calendar.models import CalendarConnection

# The error codes that mean Google refused the grant: the connection needs reconnecting (GC-8).
RECONNECT_CODES = {"invalid_grant", "reauth"}
# A stale answer can only last this long if a cache delete is ever lost.
BANNER_CACHE_SECONDS = 300


def connection_for(*, workspace: Workspace, user: User) -> CalendarConnection | None:
    """The user's Google Calendar connection in this workspace, if any."""
    return CalendarConnection.objects.for_workspace(workspace).filter(user=user).first()


def connection_tokens(connection: CalendarConnection) -> Tokens:
    """The connection's stored grant (decrypted), as the client takes it."""
    return Tokens(
        access_token=str(connection.access_token or ""),
        refresh_token=str(connection.refresh_token or ""),
        expires_at=connection.token_expiry,
    )


def connection_tokens_store(
    *, workspace: Workspace, connection_id: int, tokens: Tokens | None
) -> None:
    """Keep the refreshed access token, unless the connection was disconnected meanwhile."""
    if tokens is None or not tokens.access_token:
        return
    CalendarConnection.objects.for_workspace(workspace).filter(
        id=connection_id, status=CalendarConnection.Status.CONNECTED
    ).update(
        access_token=tokens.access_token, token_expiry=tokens.expires_at, updated_at=timezone.now()
    )


# --- the needs-reconnect banner ------------------------------------------------------------------
def needs_reconnect(workspace: Workspace, user: User) -> bool:
    """Whether the user's connection in this workspace needs reconnecting (GC-8), asked of the
    database. The banner on every page reads it through the cache (BANNER: a page view costs no
    query); every status change forgets the cached answer after its commit (`banner_forget`)."""
    return (
        CalendarConnection.objects.for_workspace(workspace)
        .filter(user=user, status=CalendarConnection.Status.NEEDS_RECONNECT)
        .exists()
    )


BANNER = BannerFlag(
    name="calendar_needs_reconnect",
    ask=needs_reconnect,
    timeout_s=BANNER_CACHE_SECONDS,
    per_user=True,
)


def banner_forget(workspace_id: int, user_id: int) -> None:
    BANNER.forget(workspace_id, user_id)


def calendar_needs_reconnect(*, workspace: Workspace, connection_id: int, reason: str) -> bool:
    """Google refused the grant (GC-8): the connection needs reconnecting, the user's pending
    appointments wait (no retries until then), and the user gets ONE email, claimed by a
    conditional UPDATE so concurrent failures cannot send two. Returns True if this call changed
    the connection."""
    from integrations.google_calendar.tasks import calendar_reconnect_email_send

    now = timezone.now()
    connections = CalendarConnection.objects.for_workspace(workspace).filter(id=connection_id)
    with transaction.atomic():
        changed = connections.filter(status=CalendarConnection.Status.CONNECTED).update(
            status=CalendarConnection.Status.NEEDS_RECONNECT,
            last_error=reason[:300],
            updated_at=now,
        )
        claimed = connections.filter(reconnect_email_sent_at=None).update(
            reconnect_email_sent_at=now
        )
        if claimed:
            calendar_reconnect_email_send.delay_on_commit(workspace.id, connection_id)
        for banner_user_id in connections.values_list("user_id", flat=True):
            banner_forget(workspace.id, banner_user_id)
    # Separate transaction: never hold the connection row while waiting for appointment rows.
    user_id = connections.values_list("user_id", flat=True).first()
    if user_id is not None:
        Appointment.objects.for_workspace(workspace).filter(
            agent_id=user_id, sync_state=Appointment.Sync.PENDING
        ).update(
            sync_state=Appointment.Sync.WAITING,
            sync_error="Waiting for you to reconnect Google Calendar.",
            updated_at=now,
        )
    return bool(changed)
