"""Background work of the inbox: sending a stored outgoing message through its channel."""

from __future__ import annotations

from typing import Any

from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import MAX_RETRIES, retry_transient
from contacts.inbox.sending import message_deliver

__all__ = ["inbox_message_send"]


@shared_task(bind=True)
def inbox_message_send(self: Any, message_id: int, workspace_id: int) -> None:
    # Claim by conditional UPDATE (pending -> sending) before the provider is called: a
    # redelivered or duplicated task finds nothing to claim, and a sent row is never sent again.
    try:
        message_deliver(
            workspace_id=workspace_id,
            message_id=message_id,
            final_attempt=self.request.retries >= MAX_RETRIES,
        )
    except IntegrationError as exc:
        retry_transient(self, exc)
