"""The state the Twilio emulator's parts share, and Twilio's REST error shape (EXTERNAL_APIS.md §4).

Harsh by default, where Twilio is harsh (each place names its source):
- every REST call needs HTTP Basic auth with a known Account SID and its auth token, and the SID
  in the path must be that account's: else 401 code 20003 "Authenticate" (§4.2);
- dates are RFC 2822 strings and counts (`num_segments`, `num_media`) are strings (§4.1, §9 15);
- a sender may only be a number the account owns, or its Messaging Service (21606, §4.2);
- a recipient who texted STOP to a sender is refused by that sender with 400 21610 until START
  (§4.6), kept per (sender, recipient): with a Messaging Service, per service.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, ClassVar

from integrations.sandbox.base import Emulator, RecordedRequest, Response

API_VERSION = "2010-04-01"


def twilio_error(status: int, code: int, message: str) -> Response:
    """Twilio's REST error body (§4.2): the library reads code, message, more_info and status."""
    return Response(
        status,
        json={
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def rfc2822(at: float | None = None) -> str:
    """Twilio's date format, e.g. "Thu, 24 Aug 2023 05:01:45 +0000" (§4.1)."""
    return formatdate(time.time() if at is None else at, usegmt=False).replace("-0000", "+0000")


def new_sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex characters (§4.1)."""
    return prefix + secrets.token_hex(16)


@dataclass
class TwilioAccountState:
    """A Twilio account the emulator knows: its token, its numbers and Messaging Services."""

    sid: str
    auth_token: str
    numbers: set[str] = field(default_factory=set)
    # Messaging Service SID -> the numbers in its sender pool.
    services: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class StoredMessage:
    """A Message resource as the REST API returns it (§4.1), plus what the emulator needs."""

    resource: dict[str, Any]
    status_callback: str = ""
    # The statuses still to report in callbacks, in the order the emulator will send them.
    pending_statuses: list[str] = field(default_factory=list)


class TwilioCore(Emulator):
    """Accounts, numbers, messages and opt-outs, shared by the emulator's parts."""

    # The sandbox's own account, offered on Settings -> SMS when `make run` has no real one.
    default_account_sid: ClassVar[str] = "AC" + "5a" * 16
    default_auth_token: ClassVar[str] = "sandbox-twilio-auth-token-0000000"
    default_number: ClassVar[str] = "+15005550006"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accounts: dict[str, TwilioAccountState] = {}
        self.messages: dict[str, StoredMessage] = {}
        # (sender: a number or a Messaging Service SID, recipient number) that texted STOP (§4.6).
        self.opted_out: set[tuple[str, str]] = set()
        self.state_lock = threading.RLock()
        self.reset_state()

    def reset_state(self) -> None:
        with self.state_lock:
            self.accounts.clear()
            self.messages.clear()
            self.opted_out.clear()
            self.add_account(
                self.default_account_sid, self.default_auth_token, numbers=[self.default_number]
            )

    # -- test and console helpers ----------------------------------------------------------------
    def add_account(
        self,
        sid: str,
        auth_token: str,
        *,
        numbers: Iterable[str] = (),
        services: dict[str, list[str]] | None = None,
    ) -> TwilioAccountState:
        with self.state_lock:
            account = TwilioAccountState(
                sid=sid,
                auth_token=auth_token,
                numbers=set(numbers),
                services={k: set(v) for k, v in (services or {}).items()},
            )
            self.accounts[sid] = account
            return account

    def opt_out(self, sender: str, recipient: str) -> None:
        """The recipient texted STOP to the sender (a number or a Messaging Service SID)."""
        with self.state_lock:
            self.opted_out.add((sender, recipient))

    def opt_in(self, sender: str, recipient: str) -> None:
        """The recipient texted START: the sender may text them again (§4.6)."""
        with self.state_lock:
            self.opted_out.discard((sender, recipient))

    # -- auth ------------------------------------------------------------------------------------
    def authenticate(
        self, request: RecordedRequest, path_sid: str
    ) -> TwilioAccountState | Response:
        """The account of the request's Basic credentials, or 401 20003 (§4.2): unknown SID,
        wrong token, or a path SID that is not the caller's."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return twilio_error(401, 20003, "Authenticate")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return twilio_error(401, 20003, "Authenticate")
        with self.state_lock:
            account = self.accounts.get(user)
        if account is None or not secrets.compare_digest(account.auth_token, password):
            return twilio_error(401, 20003, "Authenticate")
        if path_sid != account.sid:
            return twilio_error(401, 20003, "Authenticate")
        return account
