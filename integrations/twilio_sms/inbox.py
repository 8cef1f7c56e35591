"""What the inbox (contacts.inbox.accounts) asks of SMS: the number a workspace texts from."""

from __future__ import annotations

from alt.accounts.models import Workspace
from integrations.twilio_sms.models import TwilioAccount


def sms_channel_account(workspace: Workspace) -> str | None:
    """The workspace's live Twilio number (E.164), or None when SMS is not set up. One query."""
    numbers = (
        TwilioAccount.objects.for_workspace(workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .values_list("from_number", flat=True)
    )
    return numbers.first()
