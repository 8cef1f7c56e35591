"""Instagram connection workflows: connect, token refresh and needs-reconnect, disconnect, the
deletion of imported data, and Meta's deauthorize / data-deletion callbacks (IG-1, IG-2, IG-6,
IG-7; EXTERNAL_APIS.md §3.1-§3.4, §3.11).

Contacts are the agent's CRM records: deleting "all imported Instagram data" removes threads,
messages, comments, media and their insights, never the contacts (the dialog says so).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from alt.accounts.seams import BannerFlag
from contacts.models import Conversation, Message
from integrations.instagram import client as instagram
from integrations.instagram.client import InstagramError
from integrations.instagram.models import (
    InstagramAccount,
    InstagramComment,
    InstagramDailyInsight,
    InstagramDeletionRequest,
    InstagramMedia,
    InstagramPost,
)

log = logging.getLogger(__name__)

# Refresh a long-lived token (60 days, §3.3) once it is a week old, or when it has under 20 days
# left: a few failed runs in a row still leave weeks before it dies.
REFRESH_AFTER = timedelta(days=7)
REFRESH_WHEN_LEFT = timedelta(days=20)
REFRESH_LEASE = timedelta(minutes=10)
REFRESH_BATCH = 200
DELETE_BATCH = 1000
BANNER_CACHE_SECONDS = 300


class ConnectError(Exception):
    """Connecting failed; `message` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def instagram_enabled() -> bool:
    """Whether this server has an Instagram app configured."""
    return bool(settings.INSTAGRAM_APP_ID)


def live_accounts(workspace: Workspace) -> list[InstagramAccount]:
    """The workspace's connected or needs-reconnect accounts, oldest first."""
    return list(
        InstagramAccount.objects.for_workspace(workspace)
        .exclude(status=InstagramAccount.Status.DISCONNECTED)
        .order_by("connected_at", "id")
    )


def access_instagram_account(workspace: Workspace, account_id: int | str) -> InstagramAccount:
    """The workspace's live account with this id, or Http404 (another workspace's id, a
    disconnected one and a non-number are the same 404)."""
    return (
        InstagramAccount.objects.for_workspace(workspace)
        .exclude(status=InstagramAccount.Status.DISCONNECTED)
        .get_or_404("Instagram account", id=account_id)
    )


def may_manage(membership: Membership | None) -> bool:
    """Connecting and disconnecting the workspace's Instagram is the owner's call."""
    return membership is not None and membership.is_owner


# --- connect -------------------------------------------------------------------------------------
def _plain(exc: InstagramError) -> str:
    if "redirect_uri" in exc.meta_message:  # a server set-up problem, not the person's
        return (
            "Instagram refused ALT's sign-in address: INSTAGRAM_OAUTH_REDIRECT_URL must be listed, "
            "exactly, in the app's Instagram login settings. Tell your ALT administrator."
        )
    if exc.status == 400 and exc.meta_code in (400, None) and exc.code == "rejected":
        return (
            "Instagram did not accept the sign-in (it was already used or has expired). "
            "Click Connect Instagram to try again."
        )
    return f"{exc} Click Connect Instagram to try again."


def instagram_connect(*, workspace: Workspace, user: User, code: str) -> InstagramAccount:
    """Connect the Instagram professional account that approved `code` to `workspace` (IG-1,
    IG-2): code -> short-lived token -> long-lived token -> /me -> webhook subscription, then the
    account stored with its token encrypted, status connected. Reconnecting the same account
    reuses its row (and clears the needs-reconnect email claim).

    External calls: api.instagram.com (code exchange), graph.instagram.com (exchange, /me,
    subscribed_apps). Raises ConnectError with a message for the person: Meta refused a step,
    or the account is already connected to another workspace (webhooks name the account, not
    the workspace, so a live account belongs to one workspace).
    """
    try:
        short = instagram.code_exchange(code)
        long = instagram.long_lived_token_exchange(short.access_token)
        profile = instagram.profile_fetch(long.access_token)
    except InstagramError as exc:
        raise ConnectError(_plain(exc)) from exc
    _refuse_if_live_elsewhere(workspace, profile.ig_user_id)
    try:
        instagram.webhooks_subscribe(long.access_token)
    except InstagramError as exc:
        raise ConnectError(_plain(exc)) from exc
    now = timezone.now()
    fields = {
        "app_user_id": short.app_user_id or profile.app_user_id,
        "username": profile.username,
        "name": profile.name,
        "account_type": profile.account_type,
        "profile_picture_url": profile.profile_picture_url,
        "status": InstagramAccount.Status.CONNECTED,
        "access_token": long.access_token,
        "token_expires_at": long.expires_at,
        "token_refreshed_at": now,
        "permissions": ",".join(long.permissions or short.permissions)[:500],
        "connected_by": user,
        "connected_at": now,
        "disconnected_at": None,
        "last_error": "",
        "reconnect_email_sent_at": None,
        "refresh_claimed_until": None,
    }
    try:
        with transaction.atomic():
            account, _created = InstagramAccount.objects.for_workspace(workspace).update_or_create(
                workspace=workspace, ig_user_id=profile.ig_user_id, defaults=fields
            )
            banner_forget(workspace.id)
    except IntegrityError as exc:  # another workspace connected it in the meantime
        raise ConnectError(_in_use_message(profile.username)) from exc
    return account


def _in_use_message(username: str) -> str:
    return (
        f"@{username or 'this account'} is already connected to another ALT workspace. "
        "Disconnect it there first (Settings → Social), then connect it here."
    )


def _refuse_if_live_elsewhere(workspace: Workspace, ig_user_id: str) -> None:
    live = InstagramAccount.objects.live_by_ig_user_id(ig_user_id)
    if live is not None and live.workspace_id != workspace.id:
        raise ConnectError(_in_use_message(live.username))


# --- needs reconnect: banner and one email -------------------------------------------------------
def needs_reconnect(workspace: Workspace, user: User | None = None) -> bool:
    """Whether an Instagram account of the workspace needs reconnecting, asked of the database.
    The banner on every page, for each of the workspace's members (`user` is not asked), reads it
    through the cache (BANNER: a page view costs no query); every status change forgets the
    cached answer after its commit (`banner_forget`)."""
    return (
        InstagramAccount.objects.for_workspace(workspace)
        .filter(status=InstagramAccount.Status.NEEDS_RECONNECT)
        .exists()
    )


BANNER = BannerFlag(
    name="instagram_needs_reconnect", ask=needs_reconnect, timeout_s=BANNER_CACHE_SECONDS
)


def banner_forget(workspace_id: int) -> None:
    BANNER.forget(workspace_id)


def instagram_needs_reconnect(*, workspace: Workspace, account_id: int, reason: str) -> bool:
    """Meta no longer accepts the account's token (code 190, a refused refresh, or it expired):
    the account needs reconnecting, the workspace's members see the banner, and the workspace
    gets ONE email, claimed by a conditional UPDATE so concurrent failures cannot send two.
    Side effect: `instagram_reconnect_email_send` sent after commit. Returns True if this call
    changed the account."""
    from integrations.instagram.tasks import instagram_reconnect_email_send

    now = timezone.now()
    accounts = InstagramAccount.objects.for_workspace(workspace).filter(id=account_id)
    with transaction.atomic():
        changed = accounts.filter(status=InstagramAccount.Status.CONNECTED).update(
            status=InstagramAccount.Status.NEEDS_RECONNECT,
            last_error=reason[:300],
            refresh_claimed_until=None,
        )
        claimed = accounts.filter(
            status=InstagramAccount.Status.NEEDS_RECONNECT, reconnect_email_sent_at=None
        ).update(reconnect_email_sent_at=now)
        if claimed:
            instagram_reconnect_email_send.delay_on_commit(workspace.id, account_id)
        banner_forget(workspace.id)
    return bool(changed)


def reconnect_email_recipients(account: InstagramAccount) -> list[str]:
    """Who is told that the account needs reconnecting: the workspace's owners and whoever
    connected it, if they are still members."""
    members = Membership.objects.filter(workspace_id=account.workspace_id).select_related("user")
    emails = [
        m.user.email
        for m in members
        if m.is_owner
        or (account.connected_by_id is not None and m.user_id == account.connected_by_id)
    ]
    return sorted(set(emails))


# --- token refresh -------------------------------------------------------------------------------
# The job serves every workspace, so it claims in SQL (like the calendar sweep); each refresh
# then reads its row through InstagramAccount.objects.for_workspace(...).
_REFRESH_CLAIM_SQL = f"""
    UPDATE {InstagramAccount._meta.db_table} SET refresh_claimed_until = %(lease)s
    WHERE id IN (
        SELECT id FROM {InstagramAccount._meta.db_table}
        WHERE status = 'connected'
          AND (refresh_claimed_until IS NULL OR refresh_claimed_until < %(now)s)
          AND (token_refreshed_at IS NULL OR token_refreshed_at < %(stale)s
               OR token_expires_at IS NULL OR token_expires_at < %(soon)s)
        ORDER BY token_expires_at NULLS FIRST
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ) AND status = 'connected'
    RETURNING workspace_id, id
"""  # noqa: S608 (the table name is ours; values are parameters)


def instagram_tokens_refresh_claim(
    *, now: datetime | None = None, limit: int = REFRESH_BATCH
) -> list[tuple[int, int]]:
    """Claim the connected accounts whose token is due for a refresh (a week old, or under 20
    days left) for REFRESH_LEASE, in one conditional UPDATE: two workers never refresh the same
    account. Returns (workspace_id, account_id) pairs."""
    now = now or timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _REFRESH_CLAIM_SQL,
            {
                "now": now,
                "lease": now + REFRESH_LEASE,
                "stale": now - REFRESH_AFTER,
                "soon": now + REFRESH_WHEN_LEFT,
                "limit": limit,
            },
        )
        return [(int(ws), int(pk)) for ws, pk in cursor.fetchall()]


def instagram_token_refresh(*, workspace: Workspace, account_id: int) -> None:
    """Refresh one claimed account's long-lived token (§3.3) and store the new one, encrypted.
    An expired token, code 190 or any permanent refusal marks the account needs-reconnect (banner
    + one email). A transient failure releases the claim and is raised for the task to retry.

    External call: graph.instagram.com/refresh_access_token. Raises InstagramError (transient).
    """
    now = timezone.now()
    account = (
        InstagramAccount.objects.for_workspace(workspace)
        .filter(id=account_id, status=InstagramAccount.Status.CONNECTED)
        .first()
    )
    if account is None:
        return
    accounts = InstagramAccount.objects.for_workspace(workspace).filter(
        id=account_id, status=InstagramAccount.Status.CONNECTED
    )
    if account.token_expires_at is not None and account.token_expires_at <= now:
        instagram_needs_reconnect(
            workspace=workspace, account_id=account_id, reason="The access token expired."
        )
        return
    try:
        fresh = instagram.long_lived_token_refresh(str(account.access_token))
    except InstagramError as exc:
        if exc.permanent:
            instagram_needs_reconnect(
                workspace=workspace,
                account_id=account_id,
                reason=exc.meta_message or str(exc),
            )
            return
        accounts.update(refresh_claimed_until=None, last_error=str(exc)[:300])
        raise
    # Only if still connected: a disconnect meanwhile erased the token and must stay erased.
    accounts.update(
        access_token=fresh.access_token,
        token_expires_at=fresh.expires_at,
        token_refreshed_at=now,
        refresh_claimed_until=None,
        last_error="",
    )


# --- disconnect and deletion ---------------------------------------------------------------------
def instagram_disconnect(account: InstagramAccount, *, delete_data: bool) -> bool:
    """Disconnect (IG-6): the token is erased at once (access_token "", status disconnected) and
    ingestion stops (the webhook receiver drops deliveries of accounts not connected). With
    `delete_data` every piece of imported Instagram data of the account in this workspace is
    deleted now: the first batch here, the rest by `instagram_data_delete` sent after commit.
    Contacts stay. Returns True when nothing is left to delete."""
    workspace = account.workspace
    with transaction.atomic():
        InstagramAccount.objects.for_workspace(workspace).filter(id=account.id).update(
            status=InstagramAccount.Status.DISCONNECTED,
            access_token="",
            token_expires_at=None,
            disconnected_at=timezone.now(),
            refresh_claimed_until=None,
        )
        banner_forget(workspace.id)
    if not delete_data:
        return True
    return instagram_data_delete_start(workspace=workspace, ig_user_id=account.ig_user_id)


def instagram_data_delete_start(*, workspace: Workspace, ig_user_id: str) -> bool:
    """Delete the first batch of the account's imported data now and send the task for the rest.
    Returns True when everything is gone already. Side effect: `instagram_data_delete` sent
    after commit when more remains."""
    from integrations.instagram.tasks import instagram_data_delete as delete_task

    done = instagram_data_delete(workspace=workspace, ig_user_id=ig_user_id)
    if not done:
        transaction.on_commit(lambda: delete_task.delay(workspace.id, ig_user_id))
    return done


def instagram_data_delete(
    *, workspace: Workspace, ig_user_id: str, batch_size: int = DELETE_BATCH
) -> bool:
    """Delete up to `batch_size` rows of one account's imported Instagram data in `workspace`:
    comments, media (with their insights), posts composed in ALT, daily account insights, DM
    messages, threads, then the disconnected account
    row itself. Contacts (the agent's CRM records) are kept. Returns True when nothing is left.

    Safe to run again and in pieces (each batch is its own transaction). Stops without deleting
    if the account was connected again meanwhile: new data belongs to the new connection.
    """
    accounts = InstagramAccount.objects.for_workspace(workspace).filter(ig_user_id=ig_user_id)
    if accounts.exclude(status=InstagramAccount.Status.DISCONNECTED).exists():
        return True
    conversations = Conversation.objects.for_workspace(workspace).filter(
        channel=Conversation.Channel.INSTAGRAM, channel_account=ig_user_id
    )
    steps = [
        InstagramComment.objects.for_workspace(workspace).filter(account__in=accounts),
        InstagramMedia.objects.for_workspace(workspace).filter(account__in=accounts),
        InstagramPost.objects.for_workspace(workspace).filter(account__in=accounts),
        InstagramDailyInsight.objects.for_workspace(workspace).filter(account__in=accounts),
        Message.objects.for_workspace(workspace).filter(conversation__in=conversations),
        conversations,
    ]
    left = batch_size
    with transaction.atomic():
        for queryset in steps:
            ids = list(queryset.values_list("id", flat=True)[:left])
            if ids:
                queryset.filter(id__in=ids).delete()
                left -= len(ids)
            if left <= 0:
                return False
        accounts.delete()
    return True


def instagram_deauthorize(*, app_user_id: str) -> int:
    """Meta's deauthorize callback (IG-7): the person removed ALT in Instagram, so every account
    with this app-scoped id is disconnected keeping its history, exactly like IG-6's "keep".
    Returns how many accounts were disconnected."""
    count = 0
    for account in InstagramAccount.objects.by_app_user_id(app_user_id):
        if account.status != InstagramAccount.Status.DISCONNECTED:
            instagram_disconnect(account, delete_data=False)
            count += 1
    return count


def instagram_deletion_request_create(*, app_user_id: str) -> InstagramDeletionRequest:
    """Meta's data-deletion callback (IG-7): disconnect every account with this app-scoped id and
    delete all its imported Instagram data, in every workspace. Returns the request, whose code
    and public status page Meta shows the person. Side effect: `instagram_deletion_request_run`
    sent after commit."""
    from integrations.instagram.tasks import instagram_deletion_request_run

    accounts = InstagramAccount.objects.by_app_user_id(app_user_id)
    for account in accounts:
        if account.status != InstagramAccount.Status.DISCONNECTED:
            instagram_disconnect(account, delete_data=False)
    targets = sorted({(a.workspace_id, a.ig_user_id) for a in accounts})
    with transaction.atomic():
        request = InstagramDeletionRequest.objects.create(
            confirmation_code=secrets.token_hex(10),
            targets=[list(t) for t in targets],
        )
        instagram_deletion_request_run.delay_on_commit(request.id)
    return request


def instagram_deletion_request_run(*, request_id: int, batch_size: int = DELETE_BATCH) -> bool:
    """Work through one deletion request: delete a batch of each target's data, drop the
    targets that are done, and mark the request completed when none is left. Returns True when
    completed. Safe to run twice (state guard: pending only; each batch deletes what is left)."""
    request = InstagramDeletionRequest.objects.filter(
        id=request_id, status=InstagramDeletionRequest.Status.PENDING
    ).first()
    if request is None:
        return True
    left: list[list[object]] = []
    for workspace_id, ig_user_id in request.targets:
        workspace = Workspace.objects.filter(id=workspace_id).first()
        if workspace is None:
            continue
        if not instagram_data_delete(
            workspace=workspace, ig_user_id=str(ig_user_id), batch_size=batch_size
        ):
            left.append([workspace_id, ig_user_id])
    changes: dict[str, object] = {"targets": left}
    if not left:
        changes |= {"status": InstagramDeletionRequest.Status.DONE, "completed_at": timezone.now()}
    InstagramDeletionRequest.objects.filter(
        id=request_id, status=InstagramDeletionRequest.Status.PENDING
    ).update(**changes)
    return not left
