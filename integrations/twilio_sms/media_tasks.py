"""The MMS media job. Thin: ids in, one service call, nothing returned."""

from __future__ import annotations

from typing import Any

from alt.accounts.models import Workspace
from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient
from integrations.twilio_sms import media


@shared_task(bind=True)
def sms_media_fetch(self: Any, workspace_id: int, message_id: int) -> None:
    # Safe to run twice: a resolved attachment is skipped, SmsMedia is unique per (message, index).
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    try:
        media.message_media_fetch(workspace=workspace, message_id=message_id)
    except IntegrationError as exc:  # transient: back off, bounded
        retry_transient(self, exc)
