"""The state the Twilio emulator's parts share, and Twilio's REST error shape (EXTERNAL_APIS.md §4).

Harsh by default, where Twilio is harsh (each place names its source):
- every REST call needs HTTP Basic auth with a known Account SID and its auth token, and the SID
  in the path must be that account's: else 401 code 20003 "Authenticate" (§4.2);
- dates are RFC 2822 strings and counts (`num_segments`, `num_media`) are strings (§4.1, §9 15);
- a sender may only be a number the account owns, or its Messaging Service (21606, §4.2);
- a recipient who texted STOP to a sender is refused by that sender with 400 21610 until START
  (§4.6), kept per (sender, recipient): with a Messaging Service, per service;
- delivery failures arrive later, in status callbacks (§4.2 last paragraph): a recipient a test
  marks with `carrier_rejects` gets undelivered/failed with its 300xx code, never a sync error.
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


# Twilio's short names of the asynchronous delivery errors (twilio.com/docs/api/errors/300xx),
# the resource's `error_message` on failed/undelivered (§4.2 last paragraph).
DELIVERY_ERROR_MESSAGES: dict[int, str] = {
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    30034: "Message from an unregistered number",
}


@dataclass
class TwilioAccountState:
    """A Twilio account the emulator knows: its token, its numbers and Messaging Services."""

    sid: str
    auth_token: str
    numbers: set[str] = field(default_factory=set)
    # Messaging Service SID -> the numbers in its sender pool.
    services: dict[str, set[str]] = field(default_factory=dict)
    # Services with Advanced Opt-Out on: their inbound keywords carry OptOutType (§4.3, §4.6).
    advanced_opt_out: set[str] = field(default_factory=set)


@dataclass
class StoredMessage:
    """A Message resource as the REST API returns it (§4.1), plus what the emulator needs."""

    resource: dict[str, Any]
    status_callback: str = ""
    # The statuses still to report in callbacks, in the order the emulator will send them.
    pending_statuses: list[str] = field(default_factory=list)
    # The 300xx code the final failed/undelivered status carries (carrier_rejects).
    error_code: int | None = None


@dataclass
class StoredMedia:
    """One inbound MMS attachment: served at Messages/{MM}/Media/{ME} (§4.3)."""

    sid: str
    message_sid: str
    account_sid: str
    content_type: str
    data: bytes
    created_at: float = field(default_factory=time.time)


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
        # Recipient number -> (final status, 300xx code) the carrier reports for it (§4.2).
        self.carrier_rejections: dict[str, tuple[str, int]] = {}
        self.media: dict[str, StoredMedia] = {}
        self.state_lock = threading.RLock()
        self.reset_state()

    def reset_state(self) -> None:
        with self.state_lock:
            self.accounts.clear()
            self.messages.clear()
            self.opted_out.clear()
            self.carrier_rejections.clear()
            self.media.clear()
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
        advanced_opt_out: Iterable[str] = (),
    ) -> TwilioAccountState:
        with self.state_lock:
            account = TwilioAccountState(
                sid=sid,
                auth_token=auth_token,
                numbers=set(numbers),
                services={k: set(v) for k, v in (services or {}).items()},
                advanced_opt_out=set(advanced_opt_out),
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

    def carrier_rejects(self, number: str, code: int = 30007, *, status: str = "") -> None:
        """Messages to `number` are accepted (201) but end failed/undelivered with `code` in the
        status callbacks and on the resource, as carriers report later (§4.2 last paragraph,
        §4.4). The status defaults to `failed` for 30034 (Twilio refuses to send from an
        unregistered number) and `undelivered` for the carrier's 30003-30008."""
        final = status or ("failed" if code == 30034 else "undelivered")
        if final not in ("failed", "undelivered"):
            raise ValueError("a carrier rejection ends failed or undelivered")
        with self.state_lock:
            self.carrier_rejections[number] = (final, code)

    def rate_limit_next(self, times: int = 1) -> None:
        """The next `times` Messages creates answer 429 code 20429 "Too Many Requests" (§4.2)."""
        self.fail_next(
            429,
            {
                "code": 20429,
                "message": "Too Many Requests",
                "more_info": "https://www.twilio.com/docs/errors/20429",
                "status": 429,
            },
            times=times,
            when=lambda r: r.method == "POST" and r.path.endswith("/Messages.json"),
        )

    def planned_statuses(self, to: str, service: str) -> tuple[list[str], int | None]:
        """The statuses a new outbound message will report in callbacks, after its initial one
        (which gets no callback, §4.1), and the error code of the last.

        With a Messaging Service the message goes accepted -> queued first; then sending, sent
        and the carrier's answer (twilio.com/docs/messaging/guides/outbound-message-status-in-
        status-callbacks). `sending` is reported too, the harsher reading: ALT must not take it
        for sent. `failed` (30034) never reaches the carrier, so it follows queued directly."""
        with self.state_lock:
            final, code = self.carrier_rejections.get(to, ("delivered", None))
        head = ["queued"] if service else []
        if final == "failed":
            return [*head, "failed"], code
        return [*head, "sending", "sent", final], code

    def owner_of_number(self, number: str) -> tuple[TwilioAccountState, list[str]] | None:
        """The account that owns `number` and the Messaging Services whose pool holds it."""
        with self.state_lock:
            for account in self.accounts.values():
                services = sorted(s for s, pool in account.services.items() if number in pool)
                if number in account.numbers or services:
                    return account, services
        return None

    def outbound_stored(self, sid: str) -> None:
        """Called after an outbound message is stored (the callbacks part schedules it)."""

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
