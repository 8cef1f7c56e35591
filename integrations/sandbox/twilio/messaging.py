"""POST and GET /2010-04-01/Accounts/{sid}/Messages.json (EXTERNAL_APIS.md §4.1, §4.2)."""

from __future__ import annotations

import re
from typing import Any

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.twilio.core import (
    API_VERSION,
    StoredMessage,
    TwilioAccountState,
    TwilioCore,
    new_sid,
    rfc2822,
    twilio_error,
)

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
# The GSM 03.38 basic set and its extension (each extension character costs two septets).
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = set("^{}\\[~]|€\f")


def segments(body: str) -> int:
    """How many SMS segments Twilio bills for `body`: GSM-7 160 alone or 153 per part, else UCS-2
    70 alone or 67 per part (twilio.com/docs/glossary/what-sms-character-limit)."""
    if not body:
        return 0
    if all(c in _GSM7 or c in _GSM7_EXT for c in body):
        septets = sum(2 if c in _GSM7_EXT else 1 for c in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


class TwilioMessagingRoutes(TwilioCore):
    @route("POST", r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")
    def message_create(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        account = self.authenticate(request, match["sid"])
        if isinstance(account, Response):
            return account
        form = request.form()
        to = form.get("To", "")
        sender = form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        body = form.get("Body", "")
        media = form.get("MediaUrl", "")
        # §4.1: To, one of From / MessagingServiceSid, one of Body / MediaUrl / ContentSid.
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not _E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        refused = self._sender_refusal(account, sender, service)
        if refused is not None:
            return refused
        if not body and not media and not form.get("ContentSid"):
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:  # §4.2: 21617
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if not to.startswith("+1"):
            # §4.2 21408: geo permissions; the sandbox account has only US/Canada enabled.
            return twilio_error(
                400,
                21408,
                f"Permission to send an SMS has not been enabled for the region indicated by "
                f"the 'To' number: {to}.",
            )
        with self.state_lock:
            if (service or sender, to) in self.opted_out:  # §4.6: synchronous 21610 until START
                return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        return Response(201, json=self.store_outbound(account, form))

    def _sender_refusal(
        self, account: TwilioAccountState, sender: str, service: str
    ) -> Response | None:
        with self.state_lock:
            if service and service not in account.services:
                return twilio_error(400, 21705, f"The Messaging Service Sid {service} is invalid.")
            if sender and not service and sender not in account.numbers:
                return twilio_error(
                    400,
                    21606,
                    f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
                    "number or short code for your account.",
                )
        return None

    def store_outbound(self, account: TwilioAccountState, form: dict[str, str]) -> dict[str, Any]:
        """Store an accepted outgoing message and return its resource (201's body, §4.1)."""
        body = form.get("Body", "")
        service = form.get("MessagingServiceSid", "")
        media = form.get("MediaUrl", "")
        sid = new_sid("MM" if media else "SM")
        now = rfc2822()
        resource: dict[str, Any] = {
            "account_sid": account.sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            # With a Messaging Service, `from` is null and the status `accepted` until a sender
            # is picked, and num_segments is "0" in this response (§4.1).
            "from": None if service else form.get("From"),
            "messaging_service_sid": service or None,
            "num_media": "1" if media else "0",
            "num_segments": "0" if service else str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{account.sid}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"/{API_VERSION}/Accounts/{account.sid}/Messages/{sid}.json",
        }
        pending, error_code = self.planned_statuses(str(form.get("To", "")), service)
        with self.state_lock:
            self.messages[sid] = StoredMessage(
                resource=resource,
                status_callback=form.get("StatusCallback", ""),
                pending_statuses=pending,
                error_code=error_code,
            )
        self.outbound_stored(sid)
        return dict(resource)

    @route(
        "GET",
        r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages/(?P<msid>[SM]M[0-9a-f]{32})\.json$",
    )
    def message_fetch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        account = self.authenticate(request, match["sid"])
        if isinstance(account, Response):
            return account
        with self.state_lock:
            stored = self.messages.get(match["msid"])
            if stored is None or stored.resource["account_sid"] != account.sid:
                return twilio_error(
                    404, 20404, f"The requested resource {request.path} was not found"
                )
            return Response(200, json=dict(stored.resource))
