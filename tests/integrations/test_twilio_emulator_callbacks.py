"""The Twilio emulator calls back as Twilio does: signed status callbacks with the documented
fields, none for the initial status, out of order and repeated on demand, the resource agreeing
(EXTERNAL_APIS.md §4.1, §4.4, §4.5, §9 item 15)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

import pytest

from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.client import SmsError, message_create, twilio_client
from tests.integrations.twilio_emulator_helpers import Receiver, signed_for

SID = TwilioEmulator.default_account_sid
TOKEN = TwilioEmulator.default_auth_token
NUMBER = TwilioEmulator.default_number
MARIA = "+14155550123"
SERVICE = "MG" + "1f" * 16


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def callback_url(receiver: Receiver) -> str:
    return f"{receiver.base_url}/webhooks/twilio/status/?workspace=7"


def send(receiver: Receiver, to: str = MARIA) -> str:
    return message_create(
        account_sid=SID,
        auth_token=TOKEN,
        to=to,
        body="The showing is at 5.",
        from_number=NUMBER,
        status_callback=callback_url(receiver),
    ).sid


def statuses(receiver: Receiver) -> list[str]:
    return [r.form()["MessageStatus"] for r in receiver.posts()]


def test_no_callback_for_the_initial_status_then_signed_ones_in_order(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    sid = send(receiver)
    assert receiver.posts() == []  # queued is the initial status: no callback (§4.1)

    answers = twilio.deliver_status_callbacks()

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert statuses(receiver) == ["sending", "sent", "delivered"]
    for request in receiver.posts():
        assert request.path == "/webhooks/twilio/status/"
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        # Signed over the exact URL, query string included (§4.5).
        assert signed_for(request, callback_url(receiver), TOKEN)
        assert not signed_for(request, f"{receiver.base_url}/webhooks/twilio/status/", TOKEN)
        assert not signed_for(request, callback_url(receiver), "another-token")
    sent, delivered = receiver.posts()[1].form(), receiver.posts()[2].form()
    assert sent == {
        "ApiVersion": "2010-04-01",
        "AccountSid": SID,
        "From": NUMBER,
        "MessageSid": sid,
        "MessageStatus": "sent",
        "SmsSid": sid,
        "SmsStatus": "sent",
        "To": MARIA,
    }
    assert re.fullmatch(r"\d{10}", delivered.pop("RawDlrDoneDate"))  # YYMMDDhhmm
    assert delivered == sent | {"MessageStatus": "delivered", "SmsStatus": "delivered"}
    fetched = twilio_client(SID, TOKEN).messages(sid).fetch()
    assert (fetched.status, fetched.error_code, fetched.date_sent is not None) == (
        "delivered",
        None,
        True,
    )
    assert twilio.deliver_status_callbacks() == []  # nothing left to report


@pytest.mark.parametrize(
    ("code", "expected"),
    [(30007, ["sending", "sent", "undelivered"]), (30003, ["sending", "sent", "undelivered"])],
)
def test_a_carrier_rejection_arrives_later_as_undelivered_with_its_code(
    twilio: TwilioEmulator, receiver: Receiver, code: int, expected: list[str]
) -> None:
    twilio.carrier_rejects(MARIA, code=code)
    sid = send(receiver)  # accepted: the carrier answers later (§4.2 last paragraph)

    twilio.deliver_status_callbacks(sid)

    assert statuses(receiver) == expected
    *before, last = [r.form() for r in receiver.posts()]
    assert all("ErrorCode" not in f for f in before)
    assert (last["ErrorCode"], bool(last["RawDlrDoneDate"])) == (str(code), True)
    fetched = twilio_client(SID, TOKEN).messages(sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", code)


def test_an_unregistered_sender_fails_without_reaching_the_carrier(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.carrier_rejects(MARIA, code=30034)
    sid = send(receiver)

    twilio.deliver_status_callbacks(sid)

    [failed] = [r.form() for r in receiver.posts()]
    assert (failed["MessageStatus"], failed["ErrorCode"]) == ("failed", "30034")
    assert "RawDlrDoneDate" not in failed  # only on delivered and undelivered (§4.4)


def test_a_messaging_service_is_accepted_then_queued_with_a_sender_from_its_pool(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.add_account(SID, TOKEN, numbers=[NUMBER], services={SERVICE: [NUMBER]})
    created = twilio_client(SID, TOKEN).messages.create(
        to=MARIA,
        messaging_service_sid=SERVICE,
        body="ł" * 71,  # two UCS-2 segments
        status_callback=callback_url(receiver),
    )
    assert (created.status, created.from_, created.num_segments) == ("accepted", None, "0")

    twilio.deliver_status_callbacks(created.sid)

    assert statuses(receiver) == ["queued", "sending", "sent", "delivered"]
    for form in (r.form() for r in receiver.posts()):
        assert (form["MessagingServiceSid"], form["From"]) == (SERVICE, NUMBER)
    fetched = twilio_client(SID, TOKEN).messages(created.sid).fetch()
    assert (fetched.from_, fetched.num_segments) == (NUMBER, "2")


def test_callbacks_can_stop_at_a_status_and_resume(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    sid = send(receiver)

    twilio.deliver_status_callbacks(sid, through="sent")

    assert statuses(receiver) == ["sending", "sent"]
    assert twilio_client(SID, TOKEN).messages(sid).fetch().status == "sent"
    twilio.deliver_status_callbacks(sid)
    assert statuses(receiver) == ["sending", "sent", "delivered"]


def test_reversed_and_repeated_callbacks_keep_their_signature_and_idempotency_token(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    sid = send(receiver)

    twilio.deliver_status_callbacks(sid, reverse=True, repeat=1)

    assert statuses(receiver) == ["delivered"] * 2 + ["sent"] * 2 + ["sending"] * 2
    posts = receiver.posts()
    for first, again in zip(posts[::2], posts[1::2], strict=True):
        assert first.body == again.body
        assert (
            first.headers["i-twilio-idempotency-token"]
            == (again.headers["i-twilio-idempotency-token"])
        )
        assert signed_for(again, callback_url(receiver), TOKEN)
    assert len({p.headers["i-twilio-idempotency-token"] for p in posts}) == 3
    # The resource is at the furthest status whatever order the callbacks took.
    assert twilio_client(SID, TOKEN).messages(sid).fetch().status == "delivered"


def test_shuffled_callbacks_of_several_messages_arrive_out_of_order(
    twilio: TwilioEmulator, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twilio, "random", random.Random(11))
    sids = [send(receiver, to=f"+1415555010{n}") for n in range(3)]

    twilio.deliver_status_callbacks(shuffle=True)

    got = [(r.form()["MessageSid"], r.form()["MessageStatus"]) for r in receiver.posts()]
    in_order = [(sid, s) for sid in sids for s in ("sending", "sent", "delivered")]
    assert sorted(got) == sorted(in_order)
    assert got != in_order


def test_rate_limit_next_is_twilios_429_which_adapters_retry(twilio: TwilioEmulator) -> None:
    twilio.rate_limit_next()

    with pytest.raises(SmsError) as caught:
        message_create(account_sid=SID, auth_token=TOKEN, to=MARIA, body="hi", from_number=NUMBER)

    assert (caught.value.twilio_code, caught.value.permanent) == (20429, False)
    assert message_create(
        account_sid=SID, auth_token=TOKEN, to=MARIA, body="hi", from_number=NUMBER
    ).sid


def test_the_automatic_mode_reports_each_status_by_itself(
    twilio: TwilioEmulator, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(twilio, "auto_status_seconds", 0.01)

    sid = send(receiver)

    deadline = time.monotonic() + 10  # waits for the background thread; asserts no speed
    while len(receiver.posts()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert statuses(receiver) == ["sending", "sent", "delivered"]
    assert all(signed_for(r, callback_url(receiver), TOKEN) for r in receiver.posts())
    assert twilio_client(SID, TOKEN).messages(sid).fetch().status == "delivered"


def test_make_run_turns_the_automatic_mode_on() -> None:
    sandbox = TwilioEmulator.sandbox_settings("http://127.0.0.1:8029", {})
    real = TwilioEmulator.sandbox_settings("", {"TWILIO_API_URL": "https://api.twilio.com"})

    assert float(sandbox["TWILIO_SANDBOX_AUTO_STATUS_SECONDS"]) > 0
    assert real == {}
