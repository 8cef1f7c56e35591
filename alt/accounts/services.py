"""Workflows for users, workspaces and invites."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from alt.accounts.models import (
    Invite,
    KnownDevice,
    Membership,
    User,
    Workspace,
    WorkspaceAuditEvent,
)
from alt.accounts.signals import member_removing, workspace_created


class InviteError(Exception):
    """An invite link that cannot be used; the message is shown to the person."""


class MembershipError(Exception):
    """A change to the team that cannot be made; the message is shown to the owner."""


def workspace_create_for_user(*, user: User, name: str = "") -> Workspace:
    """Create a workspace owned by `user` and send `workspace_created` in the transaction (the
    contacts app adds the default pipeline). No external side effects."""
    with transaction.atomic():
        first = user.full_name.split(" ")[0] if user.full_name else user.email.split("@")[0]
        workspace = Workspace.objects.create(name=name or f"{first}'s workspace")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
        workspace_created.send(sender=Workspace, workspace=workspace, owner=user)
    return workspace


def invite_create(*, workspace: Workspace, invited_by: User, email: str, role: str) -> Invite:
    """Invite `email` into `workspace` and email the accept link.

    An earlier open invite to the same address is revoked first, so the newest link is the only
    one that works. Side effects: sends the invite email after commit (Celery task).
    """
    from alt.accounts.tasks import invite_send_email

    token, token_hash = Invite.new_token()
    with transaction.atomic():
        Invite.objects.filter(
            workspace=workspace, email__iexact=email, accepted_at=None, revoked_at=None
        ).update(revoked_at=timezone.now())
        invite = Invite.objects.create(
            workspace=workspace,
            email=email.lower(),
            role=role,
            token_hash=token_hash,
            invited_by=invited_by,
            expires_at=Invite.default_expiry(),
        )
        # The plain token exists only in this email; the database keeps its hash.
        invite_send_email.delay_on_commit(invite.id, token)
    return invite


def access_invite(*, workspace: Workspace, invite_id: int) -> Invite:
    """An invite of this workspace, or Http404."""
    invite = Invite.objects.filter(workspace=workspace, id=invite_id).first()
    if invite is None:
        raise Http404("No such invite")
    return invite


def invite_revoke(*, invite: Invite) -> None:
    """Make the invite link stop working. Idempotent."""
    if invite.status == "pending":
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])


def invite_from_token(token: str) -> Invite:
    """The pending invite for a link token; raises InviteError with a human reason otherwise."""
    return invite_from_token_hash(Invite.hash_token(token))


def invite_from_token_hash(token_hash: str) -> Invite:
    """invite_from_token for the hash of the link's token (what a session may keep)."""
    invite = Invite.objects.select_related("workspace").filter(token_hash=token_hash).first()
    if invite is None:
        raise InviteError("This invite link is not valid.")
    if invite.status == "accepted":
        raise InviteError("This invite has already been used.")
    if invite.status == "revoked":
        raise InviteError("This invite was withdrawn by the workspace owner.")
    if invite.status == "expired":
        raise InviteError(
            f"This invite expired (links last {settings.INVITE_EXPIRY_DAYS} days). Ask for a new one."
        )
    return invite


def invite_accept(*, token: str, user: User) -> Membership:
    """Join the invite's workspace. The signed-in email must be the invited one.

    Claimed by a conditional UPDATE, so two clicks cannot both accept. Raises InviteError.
    """
    return invite_accept_by_hash(token_hash=Invite.hash_token(token), user=user)


def invite_accept_by_hash(*, token_hash: str, user: User) -> Membership:
    """invite_accept for the hash of the link's token. Raises InviteError."""
    with transaction.atomic():
        invite = invite_from_token_hash(token_hash)
        if invite.email.lower() != user.email.lower():
            raise InviteError(
                f"This invite was sent to {invite.email}. Sign in with that address to accept it."
            )
        claimed = Invite.objects.filter(id=invite.id, accepted_at=None, revoked_at=None).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if not claimed:
            raise InviteError("This invite has already been used.")
        membership, created = Membership.objects.get_or_create(
            user=user, workspace=invite.workspace, defaults={"role": invite.role}
        )
        if created:
            WorkspaceAuditEvent.objects.create(
                workspace=invite.workspace,
                actor=user,
                action=WorkspaceAuditEvent.Action.MEMBER_JOINED,
                target=user,
                data={"role": invite.role},
            )
    return membership


def invite_pending_for(*, token_hash: str, email: str) -> Invite | None:
    """The pending invite with this token hash if it was sent to `email`, else None."""
    try:
        invite = invite_from_token_hash(token_hash)
    except InviteError:
        return None
    return invite if invite.email.lower() == email.lower() else None


def access_membership(*, workspace: Workspace, membership_id: int) -> Membership:
    """A membership of this workspace, with its user, or Http404."""
    membership = (
        Membership.objects.select_related("user")
        .filter(workspace=workspace, id=membership_id)
        .first()
    )
    if membership is None:
        raise Http404("No such member")
    return membership


def membership_remove(
    *, workspace: Workspace, membership_id: int, actor: User, reassign_to: User
) -> Membership:
    """Remove a member from the workspace, as `actor` (an owner).

    A workspace always keeps an owner: every owner row is locked first (select_for_update, in id
    order), so two owners removing each other at the same moment are serialised and the second
    removal is refused. Sends `member_removing` inside the transaction, so the leaving member's
    appointments go to `reassign_to` and their Google Calendar is disconnected (GC-7) with the
    removal or not at all. Records a WorkspaceAuditEvent and emails the removed person after
    commit (a security notice, ACC-3).

    Raises Http404 for a membership of another workspace, MembershipError when the removal is
    not allowed (last owner, actor no longer an owner, reassigning to someone who is not staying).
    """
    from alt.accounts.tasks import membership_removed_email_send

    with transaction.atomic():
        owners = list(
            Membership.objects.select_for_update()
            .filter(workspace=workspace, role=Membership.Role.OWNER)
            .order_by("id")
        )
        if actor.id not in {owner.user_id for owner in owners}:
            raise MembershipError("Only a workspace owner can remove a teammate.")
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(workspace=workspace, id=membership_id)
            .first()
        )
        if membership is None:
            raise Http404("No such member")
        if membership.is_owner and len(owners) == 1:
            raise MembershipError("A workspace needs at least one owner.")
        staying = (
            Membership.objects.select_for_update()
            .filter(workspace=workspace, user=reassign_to)
            .exclude(id=membership.id)
            .exists()
        )
        if not staying:
            raise MembershipError("Choose a teammate who stays in the workspace.")
        member_removing.send(
            sender=Membership,
            workspace=workspace,
            user=membership.user,
            reassign_to=reassign_to,
            actor=actor,
        )
        membership.delete()
        WorkspaceAuditEvent.objects.create(
            workspace=workspace,
            actor=actor,
            action=WorkspaceAuditEvent.Action.MEMBER_REMOVED,
            target=membership.user,
            data={"role": membership.role, "reassigned_to": reassign_to.id},
        )
        membership_removed_email_send.delay_on_commit(workspace.id, membership.user_id, actor.id)
    return membership


def device_sign_in(*, user: User, token: str, user_agent: str) -> tuple[str, bool]:
    """Record that `user` signed in from the browser whose device cookie holds `token` ("" for
    none). Returns the token the browser should keep and whether the user should be told about a
    sign-in from a new device: a browser not seen for this user, when the user has signed in
    before (the first sign-in after sign-up is no news). No external side effects."""
    now = timezone.now()
    with transaction.atomic():
        if token:
            seen = KnownDevice.objects.filter(
                user=user, token_hash=KnownDevice.hash_token(token)
            ).update(last_seen_at=now)
            if seen:
                return token, False
        else:
            token = secrets.token_urlsafe(32)
        signed_in_before = KnownDevice.objects.filter(user=user).exists()
        KnownDevice.objects.get_or_create(
            user=user,
            token_hash=KnownDevice.hash_token(token),
            defaults={"user_agent": user_agent[:200], "last_seen_at": now},
        )
    return token, signed_in_before
