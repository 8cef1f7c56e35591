"""Signed Twilio deliveries for the wire tests: the whole parameter set Twilio sends (§4.3, §4.4),
blank values included, signed over the exact public URL (§4.5) with the sandbox's token."""

from __future__ import annotations

import secrets
from typing import Any

from django.test import Client

from integrations import webhooks as recipe
from integrations.models import InboundEvent
from integrations.sandbox.twilio import TwilioEmulator
from integrations.sandbox.webhooks import twilio_form_body, twilio_signer

SID = TwilioEmulator.default_account_sid
TOKEN = TwilioEmulator.default_auth_token
OUR_NUMBER = TwilioEmulator.default_number
THEIR_NUMBER = "+14155550123"
PUBLIC = "http://testserver"


def message_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def inbound_params(
    body: str = "Hi, is the house on Oak St still available?", **extra: str
) -> dict[str, str]:
    sid = extra.pop("MessageSid", None) or message_sid()
    return {
        "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "94107", "SmsSid": sid, "FromState": "CA", "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO", "Body": body, "FromCountry": "US", "To": OUR_NUMBER,
        "ToZip": "", "NumSegments": "1", "MessageSid": sid, "AccountSid": SID,
        "From": THEIR_NUMBER, "ApiVersion": "2010-04-01",
        **extra,
    }  # fmt: skip


def status_params(sid: str, status: str, **extra: str) -> dict[str, str]:
    params = {
        "SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": THEIR_NUMBER,
        "MessageSid": sid, "AccountSid": SID, "From": OUR_NUMBER, "ApiVersion": "2010-04-01",
    }  # fmt: skip
    if status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = "2611281205"
    return {**params, **extra}


def post_signed(
    path: str,
    params: dict[str, str],
    *,
    token: str = TOKEN,
    signed_url: str | None = None,
    host: str | None = None,
) -> Any:
    """POST the form to `path` as Twilio would, signed for `signed_url` (default: the public base
    URL + path). `host` sets the Host header Django sees (a proxy in front)."""
    body = twilio_form_body(params)
    headers = twilio_signer(token)(body, signed_url or PUBLIC + path)
    extra: dict[str, Any] = {"HTTP_HOST": host} if host else {}
    return Client().post(
        path,
        body,
        content_type=headers.pop("Content-Type"),
        headers=headers,
        **extra,
    )


def inbound(params: dict[str, str], **kwargs: Any) -> Any:
    return post_signed("/webhooks/twilio/sms/", params, **kwargs)


def status(params: dict[str, str], **kwargs: Any) -> Any:
    return post_signed("/webhooks/twilio/status/", params, **kwargs)


def process_events() -> None:
    """Run the worker's processing of every stored delivery, in arrival order."""
    for event_id in (
        InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED)
        .order_by("id")
        .values_list("id", flat=True)
    ):
        recipe.inbound_event_process(event_id=event_id)
