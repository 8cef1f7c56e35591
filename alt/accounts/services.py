"""Workflows for users, workspaces and invites."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from alt.accounts.models import Invite, Membership, User, Workspace
from contacts.services import pipeline_create_defaults


class InviteError(Exception):
    """An invite link that cannot be used; the message is shown to the person."""


def workspace_create_for_user(*, user: User, name: str = "") -> Workspace:
    """Create a workspace owned by `user`, with the default pipeline. No external side effects."""
    with transaction.atomic():
        first = user.full_name.split(" ")[0] if user.full_name else user.email.split("@")[0]
        workspace = Workspace.objects.create(name=name or f"{first}'s workspace")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
        pipeline_create_defaults(workspace=workspace)
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
    invite = (
        Invite.objects.select_related("workspace")
        .filter(token_hash=Invite.hash_token(token))
        .first()
    )
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
    with transaction.atomic():
        invite = invite_from_token(token)
        if invite.email.lower() != user.email.lower():
            raise InviteError(
                f"This invite was sent to {invite.email}. Sign in with that address to accept it."
            )
        claimed = Invite.objects.filter(id=invite.id, accepted_at=None, revoked_at=None).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if not claimed:
            raise InviteError("This invite has already been used.")
        membership, _ = Membership.objects.get_or_create(
            user=user, workspace=invite.workspace, defaults={"role": invite.role}
        )
    return membership


def membership_remove(*, workspace: Workspace, membership_id: int, by: User) -> None:
    """Remove a teammate. The last owner cannot be removed. Raises Http404 for another workspace."""
    membership = Membership.objects.filter(workspace=workspace, id=membership_id).first()
    if membership is None:
        raise Http404("No such member")
    if (
        membership.is_owner
        and workspace.memberships.filter(role=Membership.Role.OWNER).count() == 1
    ):
        raise InviteError("A workspace needs at least one owner.")
    membership.delete()
