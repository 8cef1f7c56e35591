"""The Twilio emulator texts ALT as Twilio does: every documented inbound parameter, blanks kept,
signed over the exact URL, retried unchanged, STOP/START/HELP as Twilio handles them, and MMS
media behind the account's credentials and a redirect to another host (EXTERNAL_APIS.md §4.3,
§4.5, §4.6, §9 items 15-16)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException

from integrations.sandbox.twilio import TwilioEmulator, keyword_of
from integrations.twilio_sms.client import SmsError, message_create, twilio_client
from tests.integrations.twilio_emulator_helpers import Receiver, signed_for

SID = TwilioEmulator.default_account_sid
TOKEN = TwilioEmulator.default_auth_token
NUMBER = TwilioEmulator.default_number
MARIA = "+16035550100"  # Nashua, NH: Twilio's own sample fills From* for it (§4.3)
SERVICE = "MG" + "2e" * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def inbound_url(receiver: Receiver) -> str:
    return f"{receiver.base_url}/webhooks/twilio/sms/"


def text_maria(to: str = MARIA) -> None:
    message_create(account_sid=SID, auth_token=TOKEN, to=to, body="hi", from_number=NUMBER)


def test_an_inbound_text_carries_every_documented_parameter_blanks_included(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    [answer] = twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to=NUMBER, body="Hello")

    assert answer.status_code == 200
    [request] = receiver.posts()
    pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
    params = dict(pairs)
    sid = params["MessageSid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert params == {
        "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "03049", "SmsSid": sid, "FromState": "NH", "SmsStatus": "received",
        "FromCity": "NASHUA", "Body": "Hello", "FromCountry": "US", "To": NUMBER, "ToZip": "",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": SID, "From": MARIA,
        "ApiVersion": "2010-04-01",
    }  # fmt: skip
    assert b"ToCity=&" in request.body  # blank values are sent, and signed (§4.5)
    assert [k for k, _ in pairs] != sorted(k for k, _ in pairs)  # Twilio does not sort them
    assert signed_for(request, inbound_url(receiver), TOKEN)
    assert not signed_for(request, f"{receiver.base_url}/webhooks/twilio/sms", TOKEN)
    assert not signed_for(request, "https://alt.example.com/webhooks/twilio/sms/", TOKEN)
    fetched = twilio_client(SID, TOKEN).messages(sid).fetch()
    assert (fetched.direction, fetched.status, fetched.body) == ("inbound", "received", "Hello")


def test_behind_a_proxy_the_signature_covers_the_public_url(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    public = "https://alt.example.com/webhooks/twilio/sms/"

    twilio.deliver_inbound(
        inbound_url(receiver),
        from_=MARIA,
        to=NUMBER,
        body="Hi",
        signature_url=public,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "alt.example.com"},
    )

    [request] = receiver.posts()
    assert signed_for(request, public, TOKEN)
    assert not signed_for(request, inbound_url(receiver), TOKEN)
    assert request.headers["x-forwarded-host"] == "alt.example.com"


def test_a_retry_resends_the_same_message_sid_body_and_signature(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    answers = twilio.deliver_inbound(
        inbound_url(receiver), from_=MARIA, to=NUMBER, body="Anyone there?", repeat=2
    )

    assert len(answers) == 3
    first, *retries = receiver.posts()
    for again in retries:
        assert again.body == first.body
        for header in ("x-twilio-signature", "i-twilio-idempotency-token"):
            assert again.headers[header] == first.headers[header]
    assert len({r.form()["MessageSid"] for r in receiver.posts()}) == 1


def test_a_given_message_sid_and_another_accounts_token(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    other_sid, other_token = "AC" + "0b" * 16, "other-token"
    twilio.add_account(other_sid, other_token, numbers=["+15005550009"])
    sid = "SM" + "ab" * 16

    twilio.deliver_inbound(
        inbound_url(receiver), from_=MARIA, to="+15005550009", body="x", message_sid=sid
    )

    [request] = receiver.posts()
    assert (request.form()["MessageSid"], request.form()["AccountSid"]) == (sid, other_sid)
    assert signed_for(request, inbound_url(receiver), other_token)
    assert not signed_for(request, inbound_url(receiver), TOKEN)


def test_a_number_no_account_owns_cannot_receive(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    with pytest.raises(ValueError, match="no emulated account owns"):
        twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to="+15559990000", body="x")
    assert receiver.posts() == []


# --- STOP / START / HELP (§4.6) ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        *[(w, "STOP") for w in ("STOP", "stopall", " Unsubscribe ", "cancel", "END", "quit",
                                "Revoke", "OPTOUT")],
        *[(w, "START") for w in ("START", "yes", "Unstop")],
        *[(w, "HELP") for w in ("help", "INFO")],
        ("stop texting me", None), ("STOP.", None), ("", None), ("please help", None),
    ],
)  # fmt: skip
def test_keywords_are_the_whole_message_case_insensitive(body: str, keyword: str | None) -> None:
    assert keyword_of(body) == keyword


def test_stop_opts_the_number_out_until_start_and_is_still_forwarded(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to=NUMBER, body="Stop")

    with pytest.raises(SmsError) as caught:
        text_maria()
    assert caught.value.twilio_code == 21610
    twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to=NUMBER, body="UNSTOP")
    text_maria()
    assert [r.form()["Body"] for r in receiver.posts()] == ["Stop", "UNSTOP"]
    assert all("OptOutType" not in r.form() for r in receiver.posts())
    replies = [
        m.resource["body"]
        for m in twilio.messages.values()
        if m.resource["direction"] == "outbound-reply"
    ]
    assert len(replies) == 2  # Twilio answers the keyword itself
    assert "unsubscribed" in replies[0]


def test_help_is_forwarded_and_answered_but_changes_nothing(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to=NUMBER, body="HELP")

    text_maria()
    assert receiver.posts()[0].form()["Body"] == "HELP"


def test_with_advanced_opt_out_the_service_forwards_opt_out_type_and_blocks_its_pool(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    twilio.add_account(
        SID, TOKEN, numbers=[NUMBER], services={SERVICE: [NUMBER]}, advanced_opt_out=[SERVICE]
    )

    twilio.deliver_inbound(inbound_url(receiver), from_=MARIA, to=NUMBER, body="quit")

    form = receiver.posts()[0].form()
    assert (form["MessagingServiceSid"], form["OptOutType"]) == (SERVICE, "STOP")
    with pytest.raises(TwilioRestException) as caught:
        twilio_client(SID, TOKEN).messages.create(
            to=MARIA, messaging_service_sid=SERVICE, body="hi"
        )
    assert caught.value.code == 21610


# --- media (§4.3) --------------------------------------------------------------------------------
def deliver_mms(twilio: TwilioEmulator, receiver: Receiver) -> dict[str, str]:
    twilio.deliver_inbound(
        inbound_url(receiver),
        from_=MARIA,
        to=NUMBER,
        body="",
        media=[("image/png", PNG), ("image/jpeg", b"\xff\xd8\xff jpeg")],
    )
    return receiver.posts()[-1].form()


def test_an_mms_lists_its_media_and_is_signed_over_them(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    form = deliver_mms(twilio, receiver)

    assert re.fullmatch(r"MM[0-9a-f]{32}", form["MessageSid"])
    assert (form["NumMedia"], form["MediaContentType0"], form["MediaContentType1"]) == (
        "2",
        "image/png",
        "image/jpeg",
    )
    path = rf"/2010-04-01/Accounts/{SID}/Messages/{form['MessageSid']}/Media/ME[0-9a-f]{{32}}"
    assert re.fullmatch(re.escape(twilio.base_url) + path, form["MediaUrl0"])
    assert signed_for(receiver.posts()[-1], inbound_url(receiver), TOKEN)


def test_media_needs_the_accounts_credentials_and_redirects_to_another_host(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    url = deliver_mms(twilio, receiver)["MediaUrl0"]

    assert httpx.get(url).json()["code"] == 20003
    assert httpx.get(url, auth=(SID, "wrong")).status_code == 401
    redirect = httpx.get(url, auth=(SID, TOKEN))
    assert redirect.status_code == 307
    cdn = redirect.headers["Location"]
    assert urlsplit(cdn).hostname != urlsplit(url).hostname  # Twilio's CDN is another host
    # httpx drops the credentials when the redirect leaves the origin; the CDN serves the bytes.
    fetched = httpx.get(url, auth=(SID, TOKEN), follow_redirects=True)
    assert (fetched.status_code, fetched.content) == (200, PNG)
    assert fetched.headers["content-type"] == "image/png"
    # A fetcher that forwards the credentials past the redirect is refused, as S3 refuses it.
    leaked = httpx.get(cdn, headers={"Authorization": redirect.request.headers["Authorization"]})
    assert (leaked.status_code, b"InvalidArgument" in leaked.content) == (400, True)


def test_cdn_urls_are_signed_and_expire(twilio: TwilioEmulator, receiver: Receiver) -> None:
    url = deliver_mms(twilio, receiver)["MediaUrl0"]
    cdn = httpx.get(url, auth=(SID, TOKEN)).headers["Location"]

    assert httpx.get(cdn.replace("Signature=", "Signature=0")).status_code == 403
    twilio.media_cdn_seconds = -1
    try:
        expired = httpx.get(httpx.get(url, auth=(SID, TOKEN)).headers["Location"])
    finally:
        twilio.media_cdn_seconds = 300
    assert (expired.status_code, b"expired" in expired.content) == (403, True)


def test_unknown_media_is_20404_and_media_can_be_listed_and_deleted(
    twilio: TwilioEmulator, receiver: Receiver
) -> None:
    form = deliver_mms(twilio, receiver)
    base = form["MediaUrl0"].rsplit("/", 1)[0]

    missing = httpx.get(f"{base}/ME{'0' * 32}", auth=(SID, TOKEN))
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)
    listed = httpx.get(f"{base}.json", auth=(SID, TOKEN)).json()["media_list"]
    assert [m["content_type"] for m in listed] == ["image/png", "image/jpeg"]
    assert listed[0]["parent_sid"] == form["MessageSid"]
    assert httpx.delete(f"{form['MediaUrl0']}.json", auth=(SID, TOKEN)).status_code == 204
    assert httpx.get(form["MediaUrl0"], auth=(SID, TOKEN)).status_code == 404


def test_more_than_ten_media_is_refused(twilio: TwilioEmulator, receiver: Receiver) -> None:
    with pytest.raises(ValueError, match="at most 10"):
        twilio.deliver_inbound(
            inbound_url(receiver), from_=MARIA, to=NUMBER, media=[("image/png", PNG)] * 11
        )
    assert receiver.posts() == []
