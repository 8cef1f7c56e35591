"""The emulators' webhook signers are accepted by each provider's official verifier, so a test
that passes against them proves the app verifies what the provider really sends."""

from __future__ import annotations

import hashlib
import hmac
import json

import stripe
from twilio.request_validator import RequestValidator

from integrations.sandbox import webhooks


def test_meta_bodies_escape_non_ascii_in_lowercase_and_slashes_and_the_signature_covers_them() -> (
    None
):
    raw = webhooks.meta_body({"text": "¿Está disponible? 🏡", "url": "https://x/y"})

    assert (
        raw == b'{"text":"\\u00bfEst\\u00e1 disponible? \\ud83c\\udfe1","url":"https:\\/\\/x\\/y"}'
    )
    header = webhooks.meta_signer("app-secret")(raw, "")["X-Hub-Signature-256"]
    assert header == "sha256=" + hmac.new(b"app-secret", raw, hashlib.sha256).hexdigest()
    assert json.loads(raw)["text"] == "¿Está disponible? 🏡"


def test_twilio_signatures_pass_twilios_request_validator() -> None:
    url = "https://app.example.com/webhooks/twilio/sms/"
    params = {"From": "+14155550101", "To": "+14155550199", "Body": "STOP", "MessageSid": "SM1"}
    raw = webhooks.twilio_form_body(params)

    header = webhooks.twilio_signer("auth-token")(raw, url)["X-Twilio-Signature"]

    assert RequestValidator("auth-token").validate(url, params, header)
    assert not RequestValidator("other-token").validate(url, params, header)
    assert not RequestValidator("auth-token").validate(url + "?x=1", params, header)


def test_stripe_signatures_pass_stripes_construct_event() -> None:
    raw = json.dumps(
        {"id": "evt_1", "object": "event", "type": "invoice.paid", "data": {"object": {}}}
    ).encode()

    header = webhooks.stripe_signer("whsec_test")(raw, "")["Stripe-Signature"]

    event = stripe.Webhook.construct_event(raw, header, "whsec_test")
    assert event["id"] == "evt_1"


def test_resend_svix_signatures_pass_resends_verifier() -> None:
    import base64

    import resend

    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    raw = json.dumps({"type": "email.delivered", "data": {"email_id": "e1"}}).encode()

    headers = webhooks.svix_signer(secret)(raw, "")

    verified = resend.Webhooks.verify(
        {
            "payload": raw.decode(),
            "headers": {
                "id": headers["svix-id"],
                "timestamp": headers["svix-timestamp"],
                "signature": headers["svix-signature"],
            },
            "webhook_secret": secret,
        }
    )
    assert dict(verified["data"]).get("email_id") == "e1"
