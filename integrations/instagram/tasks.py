"""Background jobs of the Instagram integration. Thin: ids in, one service call, nothing returned."""

from __future__ import annotations

from typing import Any

from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient
from integrations.instagram import ingest


@shared_task(bind=True)
def instagram_profile_fill(self: Any, workspace_id: int, conversation_id: int) -> None:
    # Safe to run twice: the fill only writes what is still empty (state guard).
    try:
        ingest.profile_fill(workspace_id=workspace_id, conversation_id=conversation_id)
    except IntegrationError as exc:  # transient only: permanent ones are logged and dropped
        retry_transient(self, exc)
