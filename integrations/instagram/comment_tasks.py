"""Background jobs of comments and keyword triggers. Thin: ids in, one service call, nothing
returned. (Its own module, not tasks.py, so the connect work's jobs live apart; apps.py imports
it so the worker registers these.)"""

from __future__ import annotations

from typing import Any

from alt.accounts.models import Workspace
from alt.lib.celery_typing import shared_task
from alt.lib.retry import MAX_RETRIES, retry_transient
from contacts.models import Message
from integrations.instagram import comments, triggers
from integrations.instagram.client import InstagramError
from integrations.instagram.models import InstagramAccount, InstagramComment


@shared_task(bind=True)
def instagram_comments_refresh(self: Any, workspace_id: int, account_id: int) -> None:
    # Safe to run twice: posts are upserted and comments inserted once by their unique id.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    account = InstagramAccount.objects.for_workspace(workspace).filter(id=account_id).first()
    if account is None:
        return
    try:
        comments.comments_refresh(account=account)
    except InstagramError as exc:
        if not exc.permanent:
            retry_transient(self, exc)


@shared_task
def keyword_triggers_match_comment(workspace_id: int, comment_id: int) -> None:
    # Safe to run twice: one firing per (trigger, comment), a unique constraint.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    comment = (
        InstagramComment.objects.for_workspace(workspace)
        .select_related("account", "account__workspace")
        .filter(id=comment_id)
        .first()
    )
    if comment is not None:
        triggers.triggers_match_comment(comment=comment)


@shared_task
def keyword_triggers_match_message(workspace_id: int, message_id: int) -> None:
    # Safe to run twice: one firing per (trigger, message), a unique constraint.
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    message = (
        Message.objects.for_workspace(workspace)
        .select_related("conversation__workspace")
        .filter(id=message_id)
        .first()
    )
    if message is not None:
        triggers.triggers_match_message(message=message)


@shared_task(bind=True)
def keyword_trigger_fire(self: Any, workspace_id: int, firing_id: int) -> None:
    # Safe to run twice: the firing is claimed by a conditional UPDATE (pending → sending).
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    firing = triggers.firing_claim(firing_id=firing_id, workspace=workspace)
    if firing is None:
        return
    try:
        triggers.trigger_fire(firing=firing)
    except InstagramError as exc:  # transient only: trigger_fire ends the firing otherwise
        if self.request.retries >= MAX_RETRIES:
            triggers.firing_give_up(firing=firing, error=exc)
        retry_transient(self, exc)
