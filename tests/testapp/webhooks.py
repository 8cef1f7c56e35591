"""A test-only provider that proves the webhook recipe (integrations/webhooks.py) before any real
provider uses it: HMAC-SHA256 of the raw body in X-Test-Signature, JSON {"id", "text"}."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

from django.db.models import F
from django.http import HttpRequest

from alt.lib.errors import IntegrationError
from integrations.models import InboundEvent
from integrations.sandbox.webhooks import Signer
from integrations.webhooks import MalformedWebhook, WebhookReceiver, register

SECRET = "test-webhook-secret"
PROVIDER = "testprovider"


def signer(secret: str = SECRET) -> Signer:
    def sign(body: bytes, url: str) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Test-Signature": digest}

    return sign


def verify(request: HttpRequest) -> bool:
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers.get("X-Test-Signature", ""))


def external_id(request: HttpRequest) -> str:
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise MalformedWebhook("not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
        raise MalformedWebhook("no id")
    return payload["id"]


def drop(request: HttpRequest) -> bool:
    return json.loads(request.body).get("account") == "disconnected"


def process(event: InboundEvent) -> None:
    from tests.testapp.models import WebhookDelivery

    payload = json.loads(bytes(event.body))
    delivery, _ = WebhookDelivery.objects.get_or_create(
        external_id=payload["id"], defaults={"text": payload.get("text", "")}
    )
    WebhookDelivery.objects.filter(id=delivery.id).update(times_processed=F("times_processed") + 1)
    if payload.get("fail") == "transient":
        raise IntegrationError("provider busy", permanent=False)
    if payload.get("fail") == "permanent":
        raise IntegrationError("unknown account", permanent=True)


# The size of every batch `prepare` was given, for the tests of the drain.
prepared: list[int] = []


def prepare(events: list[InboundEvent]) -> Callable[[InboundEvent], None]:
    """The shared work of a batch (here: none), done once; a body asking for it makes it fail."""
    prepared.append(len(events))
    if any(json.loads(bytes(event.body)).get("fail") == "prepare" for event in events):
        raise IntegrationError("batch lookup failed", permanent=False)
    return process


receiver = register(
    WebhookReceiver(
        provider=PROVIDER,
        verify=verify,
        external_id=external_id,
        process=process,
        drop=drop,
        prepare=prepare,
    )
)
