"""The Twilio adapter speaks the emulator's wire format through the official client (§4.1, §4.2)."""

from __future__ import annotations

import base64
import re

import pytest

from integrations.sandbox.twilio import TwilioEmulator, segments
from integrations.twilio_sms.client import SmsError, message_create

SID = TwilioEmulator.default_account_sid
TOKEN = TwilioEmulator.default_auth_token
NUMBER = TwilioEmulator.default_number


def test_message_create_sends_the_documented_form_and_reads_the_201(twilio: TwilioEmulator) -> None:
    sent = message_create(
        account_sid=SID,
        auth_token=TOKEN,
        to="+14155550123",
        body="Hi Maria, the showing is at 5.",
        from_number=NUMBER,
        status_callback="http://testserver/webhooks/twilio/status/",
    )
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.sid)
    assert (sent.status, sent.num_segments) == ("queued", 1)
    assert sent.date_created is not None
    assert sent.date_created.tzinfo is not None  # read from RFC 2822
    (request,) = twilio.requests_to("POST", r"/Messages\.json$")
    assert request.form() == {
        "To": "+14155550123",
        "From": NUMBER,
        "Body": "Hi Maria, the showing is at 5.",
        "StatusCallback": "http://testserver/webhooks/twilio/status/",
    }
    user, _, password = (
        base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == (SID, TOKEN)


@pytest.mark.parametrize(
    ("to", "twilio_code", "ours"),
    [("+1555000", 21211, "invalid_number"), ("+447700900123", 21408, "region_blocked")],
)
def test_refusals_are_permanent_sms_errors(
    twilio: TwilioEmulator, to: str, twilio_code: int, ours: str
) -> None:
    with pytest.raises(SmsError) as caught:
        message_create(account_sid=SID, auth_token=TOKEN, to=to, body="hi", from_number=NUMBER)
    assert (caught.value.twilio_code, caught.value.code, caught.value.permanent) == (
        twilio_code,
        ours,
        True,
    )


def test_an_opted_out_recipient_is_refused_with_21610_until_start(twilio: TwilioEmulator) -> None:
    twilio.opt_out(NUMBER, "+14155550123")
    with pytest.raises(SmsError) as caught:
        message_create(
            account_sid=SID, auth_token=TOKEN, to="+14155550123", body="hi", from_number=NUMBER
        )
    assert caught.value.opted_out
    twilio.opt_in(NUMBER, "+14155550123")
    assert message_create(
        account_sid=SID, auth_token=TOKEN, to="+14155550123", body="hi", from_number=NUMBER
    ).sid


def test_a_wrong_token_is_20003(twilio: TwilioEmulator) -> None:
    with pytest.raises(SmsError) as caught:
        message_create(
            account_sid=SID, auth_token="wrong", to="+14155550123", body="hi", from_number=NUMBER
        )
    assert (caught.value.twilio_code, caught.value.code) == (20003, "auth")


def test_a_number_the_account_does_not_own_is_21606(twilio: TwilioEmulator) -> None:
    with pytest.raises(SmsError) as caught:
        message_create(
            account_sid=SID,
            auth_token=TOKEN,
            to="+14155550123",
            body="hi",
            from_number="+15551112222",
        )
    assert caught.value.twilio_code == 21606


def test_twilio_down_is_transient(twilio: TwilioEmulator) -> None:
    twilio.fail_next(503, {"code": 20500, "message": "Internal Server Error", "status": 503})
    with pytest.raises(SmsError) as caught:
        message_create(
            account_sid=SID, auth_token=TOKEN, to="+14155550123", body="hi", from_number=NUMBER
        )
    assert caught.value.permanent is False


def test_segments_follow_gsm7_and_ucs2_limits() -> None:
    assert [segments("a" * 160), segments("a" * 161), segments("é" * 160)] == [1, 2, 1]
    assert [segments("😀" * 35), segments("😀" * 36), segments("[" * 80), segments("[" * 81)] == [
        1,
        2,
        1,
        2,
    ]
