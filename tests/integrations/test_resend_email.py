"""Mail through Resend: Django's mail API reaches the emulator as the official SDK sends it, Resend's
errors become IntegrationErrors of the right kind, and idempotency keys hold."""

from __future__ import annotations

import base64
import socket
from importlib.metadata import version
from typing import Any

import httpx
import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail

from alt.lib.errors import IntegrationError
from integrations.resend_email.client import OutgoingEmail, send_email
from integrations.sandbox.resend import ResendEmulator

SENDER = "Agent Lead Tracker <no-reply@agentleadtracker.com>"


@pytest.fixture
def mail(resend: ResendEmulator, settings: Any) -> ResendEmulator:
    settings.DEFAULT_FROM_EMAIL = SENDER
    return resend


def _only_send(resend: ResendEmulator) -> Any:
    [request] = resend.requests_to("POST", r"^/emails$")
    return request


def _send_one(**kwargs: Any) -> int:
    return send_mail(
        "Your showing is confirmed", "See you at 5 pm.", None, ["jordan@example.com"], **kwargs
    )


def test_send_mail_posts_the_message_to_resend_as_the_official_sdk_does(
    mail: ResendEmulator,
) -> None:
    sent = _send_one(html_message="<p>See you at <b>5 pm</b>.</p>")

    assert sent == 1
    request = _only_send(mail)
    assert request.method == "POST"
    assert request.path == "/emails"
    assert request.headers["authorization"] == "Bearer re_test_key_123"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"] == f"resend-python:{version('resend')}"
    assert "idempotency-key" not in request.headers
    assert request.json() == {
        "from": SENDER,
        "to": ["jordan@example.com"],
        "subject": "Your showing is confirmed",
        "text": "See you at 5 pm.",
        "html": "<p>See you at <b>5 pm</b>.</p>",
    }
    [email] = mail.sent_to("jordan@example.com")
    assert email["subject"] == "Your showing is confirmed"


def test_email_multi_alternatives_carries_cc_bcc_reply_to_and_extra_headers(
    mail: ResendEmulator,
) -> None:
    message = EmailMultiAlternatives(
        "New lead: Jordan Rivera",
        "Jordan asked about 12 Lake St.",
        "Alice Agent <alice@alicerealty.com>",
        ["jordan@example.com", "Sam Buyer <sam@example.com>"],
        cc=["bob@example.com"],
        bcc=["audit@alicerealty.com"],
        reply_to=["alice@alicerealty.com"],
        headers={"X-Entity-Ref-ID": "lead-17"},
    )
    message.attach_alternative("<p>Jordan asked about 12 Lake St.</p>", "text/html")

    assert message.send() == 1

    body = _only_send(mail).json()
    assert body == {
        "from": "Alice Agent <alice@alicerealty.com>",
        "to": ["jordan@example.com", "Sam Buyer <sam@example.com>"],
        "cc": ["bob@example.com"],
        "bcc": ["audit@alicerealty.com"],
        "reply_to": ["alice@alicerealty.com"],
        "headers": {"X-Entity-Ref-ID": "lead-17"},
        "subject": "New lead: Jordan Rivera",
        "text": "Jordan asked about 12 Lake St.",
        "html": "<p>Jordan asked about 12 Lake St.</p>",
    }
    assert len(mail.sent_to("sam@example.com")) == 1


@pytest.mark.parametrize(
    "from_email",
    [
        SENDER,
        "no-reply@agentleadtracker.com",
        '"Doe, Jane" <jane@example.com>',
        # UTF-8 as is: an RFC 2047 encoded word would reach the inbox as literal "=?utf-8?q?...".
        "Zoë Dupré Realty <zoe@example.com>",
    ],
)
def test_the_sender_is_sent_as_given_with_its_display_name(
    mail: ResendEmulator, from_email: str
) -> None:
    send_mail("Hello", "Hi there.", from_email, ["jordan@example.com"])

    assert _only_send(mail).json()["from"] == from_email


def test_an_html_only_message_leaves_text_out_so_resend_derives_the_plain_text_part(
    mail: ResendEmulator,
) -> None:
    message = EmailMessage("Weekly digest", "<h1>3 new leads</h1>", None, ["alice@example.com"])
    message.content_subtype = "html"

    message.send()

    body = _only_send(mail).json()
    assert body["html"] == "<h1>3 new leads</h1>"
    assert "text" not in body  # an empty "text" would tell Resend to send no plain-text part


def test_attachments_are_sent_base64_encoded_with_their_content_type(
    mail: ResendEmulator,
) -> None:
    ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    pdf = b"%PDF-1.7\x00\xff binary"
    message = EmailMessage("Showing", "Invite attached.", None, ["jordan@example.com"])
    message.attach("showing.ics", ics, "text/calendar")
    message.attach("listing.pdf", pdf, "application/pdf")

    message.send()

    attachments = _only_send(mail).json()["attachments"]
    assert attachments == [
        {
            "filename": "showing.ics",
            "content": base64.b64encode(ics.encode()).decode(),
            "content_type": "text/calendar",
        },
        {
            "filename": "listing.pdf",
            "content": base64.b64encode(pdf).decode(),
            "content_type": "application/pdf",
        },
    ]


def test_a_message_without_recipients_is_not_sent(mail: ResendEmulator) -> None:
    assert EmailMessage("Nobody", "No one to tell.", None, []).send() == 0
    assert mail.requests == []


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "name", "permanent"),
    [
        (422, "validation_error", True),
        (422, "missing_required_field", True),
        (401, "missing_api_key", True),
        (403, "invalid_api_key", True),
        (409, "invalid_idempotent_request", True),
        (409, "concurrent_idempotent_requests", False),
        (429, "rate_limit_exceeded", False),
        (429, "daily_quota_exceeded", True),
        (429, "monthly_quota_exceeded", True),
        (500, "application_error", False),
        (503, "service_unavailable", False),
    ],
)
def test_resend_error_responses_become_integration_errors_of_the_right_kind(
    mail: ResendEmulator, status: int, name: str, permanent: bool
) -> None:
    mail.fail_next(status, {"statusCode": status, "name": name, "message": f"{name} happened"})

    with pytest.raises(IntegrationError) as raised:
        _send_one()

    assert raised.value.permanent is permanent
    assert raised.value.status == status
    assert raised.value.code == name
    assert len(mail.requests) == 1  # the SDK does not retry on its own; our task does
    assert mail.sent() == []


@pytest.mark.parametrize(
    ("api_key", "status", "name"),
    [("", 401, "missing_api_key"), ("sk_live_not_resend", 403, "invalid_api_key")],
)
def test_a_missing_or_invalid_api_key_is_a_permanent_error(
    mail: ResendEmulator, settings: Any, api_key: str, status: int, name: str
) -> None:
    settings.RESEND_API_KEY = api_key

    with pytest.raises(IntegrationError) as raised:
        _send_one()

    assert (raised.value.permanent, raised.value.status, raised.value.code) == (True, status, name)


def test_an_invalid_sender_is_refused_by_resend_as_a_permanent_validation_error(
    mail: ResendEmulator,
) -> None:
    with pytest.raises(IntegrationError) as raised:
        send_mail("Hi", "Hi.", "not an address", ["jordan@example.com"])

    assert (raised.value.permanent, raised.value.status) == (True, 422)
    assert raised.value.code == "validation_error"
    assert "Invalid `from` field" in str(raised.value)


def test_an_unreachable_resend_is_a_transient_error(mail: ResendEmulator, settings: Any) -> None:
    with socket.socket() as sock:  # bound but never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        settings.RESEND_API_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"

        with pytest.raises(IntegrationError) as raised:
            _send_one()

    assert raised.value.permanent is False
    assert raised.value.status is None  # no response came back
    assert "unreachable" in str(raised.value)


@pytest.mark.parametrize("status", [422, 500])
def test_fail_silently_swallows_the_error_and_reports_nothing_sent(
    mail: ResendEmulator, status: int
) -> None:
    mail.fail_next(status, {"statusCode": status, "name": "application_error", "message": "x"})

    assert _send_one(fail_silently=True) == 0
    assert len(mail.requests) == 1


# --- the client directly ------------------------------------------------------------------------
def _outgoing(subject: str = "Invite") -> OutgoingEmail:
    return OutgoingEmail(sender=SENDER, to=["jordan@example.com"], subject=subject, text="Join us.")


def test_an_idempotency_key_is_sent_and_a_repeat_returns_the_first_email_without_sending_again(
    mail: ResendEmulator,
) -> None:
    first = send_email(_outgoing(), idempotency_key="invite-42")
    again = send_email(_outgoing(), idempotency_key="invite-42")

    assert again == first
    assert [r.headers["idempotency-key"] for r in mail.requests] == ["invite-42", "invite-42"]
    assert [e["id"] for e in mail.sent()] == [first]


def test_an_idempotency_key_reused_for_another_email_is_a_permanent_conflict(
    mail: ResendEmulator,
) -> None:
    send_email(_outgoing("Invite"), idempotency_key="invite-42")

    with pytest.raises(IntegrationError) as raised:
        send_email(_outgoing("Something else"), idempotency_key="invite-42")

    assert (raised.value.permanent, raised.value.status) == (True, 409)
    assert raised.value.code == "invalid_idempotent_request"
    assert len(mail.sent()) == 1


# --- emulator wire format beyond what our client sends --------------------------------------------
def test_the_emulator_accepts_to_as_a_string_or_a_list_as_resend_does(
    resend: ResendEmulator,
) -> None:
    headers = {"Authorization": "Bearer re_test_key_123"}
    base = {"from": SENDER, "subject": "Hi", "text": "Hi."}
    with httpx.Client(base_url=resend.base_url, headers=headers, trust_env=False) as client:
        as_string = client.post("/emails", json={**base, "to": "a@example.com"})
        as_list = client.post("/emails", json={**base, "to": ["b@example.com", "c@example.com"]})
        fetched = client.get(f"/emails/{as_string.json()['id']}")

    assert (as_string.status_code, as_list.status_code) == (200, 200)
    assert fetched.json()["to"] == ["a@example.com"]
    assert fetched.json()["object"] == "email"
    assert [e["to"] for e in resend.sent()] == [
        ["a@example.com"],
        ["b@example.com", "c@example.com"],
    ]


def test_the_emulator_answers_unknown_endpoints_with_resends_404_shape(
    resend: ResendEmulator,
) -> None:
    response = httpx.get(
        f"{resend.base_url}/emails/receiving/abc/nothing",
        headers={"Authorization": "Bearer re_test_key_123"},
        trust_env=False,
    )

    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "name": "not_found",
        "message": "The requested endpoint does not exist.",
    }
