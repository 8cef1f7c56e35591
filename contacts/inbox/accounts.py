"""Which of our accounts a workspace sends from on a channel, for a thread the party has not
started yet: an SMS to a contact's number needs our Twilio number, which only the integration
knows (integrations are a higher layer). The integration registers a lookup from its
AppConfig.ready(), as integrations/twilio_sms/apps.py does; the inbox asks it by channel name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alt.accounts.models import Workspace

# workspace -> our account on the channel (an E.164 number for SMS), or None when not set up.
AccountLookup = Callable[["Workspace"], "str | None"]

_lookups: dict[str, AccountLookup] = {}


def register(channel: str, lookup: AccountLookup) -> None:
    _lookups[channel] = lookup


def channel_account_for(workspace: Workspace, channel: str) -> str | None:
    """Our account on `channel` for `workspace` (one query at most), or None when that channel is
    not installed or not set up for the workspace."""
    lookup = _lookups.get(channel)
    return lookup(workspace) if lookup is not None else None
