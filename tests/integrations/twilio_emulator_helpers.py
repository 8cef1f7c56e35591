"""A stand-in for ALT's Twilio webhooks in the emulator's own tests: a loopback server that records
what the emulator POSTs and answers as ALT does (TwiML), so each test checks the wire format with
the official RequestValidator."""

from __future__ import annotations

import re

from twilio.request_validator import RequestValidator

from integrations.sandbox.base import Emulator, RecordedRequest, Response, route


class Receiver(Emulator):
    name = "twilio-receiver"

    @route("POST", r"/.*")
    def receive(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        return Response(
            200,
            body=b'<?xml version="1.0" encoding="UTF-8"?><Response/>',
            content_type="text/xml",
        )

    def posts(self) -> list[RecordedRequest]:
        return self.requests_to("POST", r".")


def signed_for(request: RecordedRequest, url: str, auth_token: str) -> bool:
    """Whether Twilio's own validator accepts the request's signature for `url`."""
    return RequestValidator(auth_token).validate(
        url, request.form(), request.headers.get("x-twilio-signature", "")
    )
