"""Twilio calling ALT back: signed status callbacks of outbound messages (EXTERNAL_APIS.md §4.4).

Each outbound message created with a StatusCallback keeps the statuses still to report
(core.planned_statuses). `deliver_status_callbacks` sends them, and moves the stored resource to
the furthest one so GET Messages/{sid}.json agrees. Harsh where Twilio is (each names its source):
- no callback for the initial status (queued, or accepted with a Messaging Service) (§4.1);
- a form POST with MessageSid, SmsSid, MessageStatus, SmsStatus, AccountSid, From, To,
  ApiVersion, MessagingServiceSid only when one was used, ErrorCode only on failed/undelivered,
  RawDlrDoneDate (YYMMDDhhmm, no zone) on delivered/undelivered (§4.4; Twilio changelog
  2023-02-14 "Addition of RawDlrDoneDate");
- signed with X-Twilio-Signature by the account's auth token over the exact callback URL,
  query string included (§4.5);
- order is not guaranteed and a callback can arrive twice (§4.4): `shuffle`, `reverse` and
  `repeat` make that happen on demand. A repeat carries the same I-Twilio-Idempotency-Token
  header, as Twilio's own retries do (twilio.com/docs/usage/webhooks/webhooks-connection-overrides).

`make run` turns on the automatic mode (TWILIO_SANDBOX_AUTO_STATUS_SECONDS, set by
TwilioEmulator.sandbox_settings): each status goes out by itself, in order, that many seconds
apart, so the sandbox shows sent and delivered without anyone calling the method.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from integrations.sandbox.twilio.core import (
    API_VERSION,
    DELIVERY_ERROR_MESSAGES,
    StoredMessage,
    TwilioCore,
    rfc2822,
)
from integrations.sandbox.twilio.messaging import segments
from integrations.sandbox.webhooks import Signer, deliver, twilio_form_body, twilio_signer

# Twilio's webhook requests come from its proxy (observed User-Agent of Twilio's webhooks).
USER_AGENT = "TwilioProxy/1.1"


def twilio_webhook_signer(
    auth_token: str, *, idempotency_token: str, sign_url: str | None = None
) -> Signer:
    """X-Twilio-Signature over `sign_url` (default: the URL posted to), plus the headers every
    Twilio webhook request carries."""
    sign = twilio_signer(auth_token)

    def headers(body: bytes, url: str) -> dict[str, str]:
        return {
            **sign(body, url if sign_url is None else sign_url),
            "I-Twilio-Idempotency-Token": idempotency_token,
            "User-Agent": USER_AGENT,
        }

    return headers


def raw_dlr_done_date(at: float) -> str:
    """YYMMDDhhmm, minute precision, no time zone (Twilio changelog 2023-02-14)."""
    return time.strftime("%y%m%d%H%M", time.gmtime(at))


@dataclass(frozen=True)
class StatusCallback:
    """One callback as Twilio would send it: where, what (form parameters in order), who signs."""

    url: str
    params: dict[str, str]
    auth_token: str
    idempotency_token: str

    @property
    def status(self) -> str:
        return self.params["MessageStatus"]

    @property
    def message_sid(self) -> str:
        return self.params["MessageSid"]


class TwilioStatusCallbacks(TwilioCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raw = os.environ.get("TWILIO_SANDBOX_AUTO_STATUS_SECONDS", "")
        # None: callbacks wait for deliver_status_callbacks (tests); else the sandbox's delay.
        self.auto_status_seconds: float | None = float(raw) if raw else None
        self._generation = 0  # bumped by reset(): a pending automatic delivery then stands down
        super().__init__(*args, **kwargs)

    def reset_state(self) -> None:
        self._generation += 1
        super().reset_state()

    # -- for tests --------------------------------------------------------------------------------
    def status_callbacks_due(
        self, sid: str | None = None, *, through: str | None = None
    ) -> list[StatusCallback]:
        """Take the pending statuses of message `sid` (or of every message), in order, up to and
        including `through` when given; move each stored resource to the furthest status taken.
        Returns the callbacks Twilio would send (none for a message without StatusCallback)."""
        due: list[StatusCallback] = []
        with self.state_lock:
            if sid is None:
                stored = list(self.messages.values())
            elif sid in self.messages:
                stored = [self.messages[sid]]
            else:
                raise KeyError(f"no message {sid} in the emulator")
            for message in stored:
                while message.pending_statuses:
                    status = message.pending_statuses.pop(0)
                    callback = self._advance(message, status)
                    if callback is not None:
                        due.append(callback)
                    if status == through:
                        break
        return due

    def deliver_status_callbacks(
        self,
        sid: str | None = None,
        *,
        shuffle: bool = False,
        reverse: bool = False,
        repeat: int = 0,
        through: str | None = None,
        timeout: float = 10.0,
    ) -> list[httpx.Response]:
        """POST the pending status callbacks (of `sid`, or of every message) to their
        StatusCallback URLs, signed (§4.4, §4.5): in order; or `shuffle`d (the emulator's seeded
        random), or `reverse`d (the worst order, for a test that must see it); each sent
        1 + `repeat` times (a repeat right after its original unless shuffled). Returns ALT's
        answers in sending order. External calls: one POST per callback."""
        callbacks = self.status_callbacks_due(sid, through=through)
        sends = [c for c in callbacks for _ in range(1 + max(0, repeat))]
        if reverse:
            sends.reverse()
        if shuffle:
            self.random.shuffle(sends)
        return [self.send_status_callback(c, timeout=timeout) for c in sends]

    def send_status_callback(
        self, callback: StatusCallback, *, timeout: float = 10.0
    ) -> httpx.Response:
        """POST one callback, form-encoded and signed over its exact URL (§4.5)."""
        signer = twilio_webhook_signer(
            callback.auth_token, idempotency_token=callback.idempotency_token
        )
        return deliver(callback.url, twilio_form_body(callback.params), signer, timeout=timeout)

    # -- the automatic mode (make run) -------------------------------------------------------------
    def outbound_stored(self, sid: str) -> None:
        if self.auto_status_seconds is None:
            return
        threading.Thread(
            target=self._deliver_by_itself,
            args=(sid, self.auto_status_seconds, self._generation),
            name=f"twilio-status-{sid}",
            daemon=True,
        ).start()

    def _deliver_by_itself(self, sid: str, delay: float, generation: int) -> None:
        while True:
            time.sleep(delay)
            with self.state_lock:
                message = self.messages.get(sid)
                if generation != self._generation or message is None:
                    return
                if not message.pending_statuses:
                    return
                status = message.pending_statuses[0]
            try:
                self.deliver_status_callbacks(sid, through=status)
            except (httpx.HTTPError, KeyError):
                continue  # ALT down or restarting: that status is lost, the next one still goes

    # -- one step ----------------------------------------------------------------------------------
    def _advance(self, message: StoredMessage, status: str) -> StatusCallback | None:
        """Move the resource to `status` (callers hold state_lock); its callback, if wanted."""
        now = time.time()
        resource = message.resource
        account = self.accounts.get(str(resource["account_sid"]))
        service = resource.get("messaging_service_sid") or ""
        if service and resource.get("from") is None and account is not None:
            # The service picks a sender from its pool once it queues the message (§4.1).
            pool = sorted(account.services.get(service) or ())
            resource["from"] = pool[0] if pool else None
            resource["num_segments"] = str(segments(str(resource.get("body") or "")))
        resource["status"] = status
        resource["date_updated"] = rfc2822(now)
        if status == "sent" and resource.get("date_sent") is None:
            resource["date_sent"] = rfc2822(now)
        if status in ("failed", "undelivered") and message.error_code is not None:
            resource["error_code"] = message.error_code
            resource["error_message"] = DELIVERY_ERROR_MESSAGES.get(message.error_code)
        if not message.status_callback or account is None:
            return None
        params: dict[str, str] = {
            "ApiVersion": API_VERSION,
            "AccountSid": account.sid,
            "From": str(resource.get("from") or ""),
            "MessageSid": str(resource["sid"]),
            "MessageStatus": status,
            "SmsSid": str(resource["sid"]),
            "SmsStatus": status,
            "To": str(resource.get("to") or ""),
        }
        if service:
            params["MessagingServiceSid"] = str(service)
        if status in ("failed", "undelivered") and message.error_code is not None:
            params["ErrorCode"] = str(message.error_code)
        if status in ("delivered", "undelivered"):
            params["RawDlrDoneDate"] = raw_dlr_done_date(now)
        return StatusCallback(
            url=message.status_callback,
            params=params,
            auth_token=account.auth_token,
            idempotency_token=f"{resource['sid']}-{secrets.token_hex(8)}",
        )
