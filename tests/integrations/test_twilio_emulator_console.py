"""The sandbox Twilio console plays a customer's phone by hand: a text (or a picture) typed there
reaches ALT as a signed inbound delivery, ALT's own texts are listed with their statuses, and a
click answers STOP."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest

from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.client import SmsError, message_create
from tests.integrations.twilio_emulator_helpers import Receiver, signed_for

SID = TwilioEmulator.default_account_sid
TOKEN = TwilioEmulator.default_auth_token
NUMBER = TwilioEmulator.default_number
MARIA = "+14155550123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def receiver(twilio: TwilioEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as server:
        monkeypatch.setattr(twilio, "inbound_url", f"{server.base_url}/webhooks/twilio/sms/")
        yield server


def outcome(answer: httpx.Response) -> str:
    assert answer.status_code == 303
    return unquote(answer.headers["Location"])


def alt_texts(to: str, body: str, receiver: Receiver) -> str:
    return message_create(
        account_sid=SID,
        auth_token=TOKEN,
        to=to,
        body=body,
        from_number=NUMBER,
        status_callback=f"{receiver.base_url}/webhooks/twilio/status/",
    ).sid


def test_the_console_is_an_accessible_form_to_text_a_sandbox_number(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    page = httpx.get(f"{twilio.base_url}/console")

    assert page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="en">' in html
    assert "<h1>Sandbox Twilio console</h1>" in html
    for field in ("from", "to", "body", "picture"):
        assert f'<label for="{field}">' in html
        assert f'id="{field}"' in html
    assert f'<option value="{NUMBER}">' in html
    assert twilio.inbound_url in html
    assert "<script" not in html
    assert "style=" not in html
    assert "ALT has not sent a text" in html


def test_a_typed_text_reaches_alt_signed(twilio: TwilioEmulator, receiver: Receiver) -> None:
    answer = httpx.post(
        f"{twilio.base_url}/console/text",
        data={"from": MARIA, "to": NUMBER, "body": "¿Sigue disponible? שלום"},
    )

    assert outcome(answer).endswith("Delivered: ALT answered HTTP 200.")
    [request] = receiver.posts()
    assert request.form()["Body"] == "¿Sigue disponible? שלום"
    assert (request.form()["From"], request.form()["To"]) == (MARIA, NUMBER)
    assert signed_for(request, twilio.inbound_url, TOKEN)


def test_a_picture_becomes_an_mms_alt_can_fetch(twilio: TwilioEmulator, receiver: Receiver) -> None:
    answer = httpx.post(
        f"{twilio.base_url}/console/text",
        data={"from": MARIA, "to": NUMBER, "body": "The view"},
        files={"picture": ("view.png", PNG, "image/png")},
    )

    assert "Delivered" in outcome(answer)
    form = receiver.posts()[0].form()
    assert (form["Body"], form["NumMedia"], form["MediaContentType0"]) == (
        "The view",
        "1",
        "image/png",
    )
    fetched = httpx.get(form["MediaUrl0"], auth=(SID, TOKEN), follow_redirects=True)
    assert fetched.content == PNG


@pytest.mark.parametrize(
    ("data", "files", "refusal"),
    [
        ({"from": "4155550123", "to": NUMBER, "body": "hi"}, None, "must be an E.164 number"),
        ({"from": MARIA, "to": "+15551234567", "body": "hi"}, None, "Pick one of the sandbox"),
        ({"from": MARIA, "to": NUMBER, "body": "x" * 1601}, None, "at most 1600 characters"),
        ({"from": MARIA, "to": NUMBER, "body": ""}, None, "Write a message or pick a picture"),
        (
            {"from": MARIA, "to": NUMBER, "body": "hi"},
            {"picture": ("a.svg", b"<svg/>", "image/svg+xml")},
            "must be a JPEG, PNG or GIF",
        ),
    ],
)
def test_bad_input_is_refused_in_plain_words_and_nothing_is_delivered(
    twilio: TwilioEmulator,
    receiver: Receiver,
    data: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None,
    refusal: str,
) -> None:
    answer = httpx.post(f"{twilio.base_url}/console/text", data=data, files=files)

    assert refusal in outcome(answer)
    assert receiver.posts() == []
    page = httpx.get(f"{twilio.base_url}{answer.headers['Location']}").text
    assert 'role="status"' in page


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://evil.example:{port}", "http://127.0.0.1:1"]
)
def test_another_sites_page_cannot_make_the_console_text_alt(
    twilio: TwilioEmulator, receiver: Receiver, origin: str
) -> None:
    answer = httpx.post(
        f"{twilio.base_url}/console/text",
        data={"from": MARIA, "to": NUMBER, "body": "hi"},
        headers={"Origin": origin.format(port=twilio.port)},
    )

    assert answer.status_code == 403
    assert receiver.posts() == []
    own = httpx.post(
        f"{twilio.base_url}/console/text",
        data={"from": MARIA, "to": NUMBER, "body": "hi"},
        headers={"Origin": twilio.base_url},
    )
    assert "Delivered" in outcome(own)


def test_alts_texts_are_listed_escaped_with_their_status_and_stop_is_one_click(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.carrier_rejects("+14155550199", code=30007)
    alt_texts(MARIA, "<b>Hi Maria</b>, the showing is at 5", receiver)
    alt_texts("+14155550199", "Hello", receiver)
    assert outcome(httpx.post(f"{twilio.base_url}/console/statuses")).endswith(
        "Delivered 6 status update(s)."
    )

    html = httpx.get(f"{twilio.base_url}/console").text

    assert "&lt;b&gt;Hi Maria&lt;/b&gt;" in html
    assert "<b>Hi Maria" not in html
    assert "undelivered (error 30007: Message filtered)" in html
    assert "<td>delivered</td>" in html
    assert f'<input type="hidden" name="from" value="{MARIA}">' in html
    assert f'aria-label="Reply STOP as {MARIA}"' in html
    answer = httpx.post(
        f"{twilio.base_url}/console/text", data={"from": MARIA, "to": NUMBER, "body": "STOP"}
    )
    assert "Delivered" in outcome(answer)
    assert receiver.requests_to("POST", r"/sms/$")[-1].form()["Body"] == "STOP"
    with pytest.raises(SmsError) as caught:
        alt_texts(MARIA, "Still there?", receiver)
    assert caught.value.twilio_code == 21610


def test_alt_not_running_is_said_plainly(twilio: TwilioEmulator, receiver: Receiver) -> None:
    receiver.stop()

    answer = httpx.post(
        f"{twilio.base_url}/console/text", data={"from": MARIA, "to": NUMBER, "body": "hi"}
    )

    assert "ALT did not answer at" in outcome(answer)


def test_in_make_run_the_console_texts_alts_public_url_and_statuses_go_out_by_themselves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TWILIO_PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("TWILIO_SANDBOX_AUTO_STATUS_SECONDS", raising=False)
    monkeypatch.setenv("SITE_URL", "http://127.0.0.1:8000/")
    assert TwilioEmulator().inbound_url == "http://127.0.0.1:8000/webhooks/twilio/sms/"
    assert TwilioEmulator().auto_status_seconds is None

    monkeypatch.setenv("TWILIO_PUBLIC_BASE_URL", "https://alt.example.ngrok.app")
    for name, value in TwilioEmulator.sandbox_settings("http://127.0.0.1:8029", {}).items():
        monkeypatch.setenv(name, value)
    emulator = TwilioEmulator()

    assert emulator.inbound_url == "https://alt.example.ngrok.app/webhooks/twilio/sms/"
    assert emulator.auto_status_seconds == 2.0
