"""Meta's webhook deliveries for Instagram, on the shared webhook recipe (integrations/webhooks.py).

GET  /webhooks/instagram/  the subscription check: hub.mode "subscribe" and our verify token
                           answer hub.challenge as text/plain, anything else 403 (§3.5).
POST /webhooks/instagram/  X-Hub-Signature-256 over the raw body with the Instagram app secret,
                           or the Meta app secret when one is set (§3.5, §9 item 12), checked
                           before anything else: a bad or missing one is 403 and stores nothing.
                           The external id is the body's SHA-256: Meta's retry of a delivery is
                           byte-identical, so it is stored once; the same message in two different
                           batches is deduplicated later by its `mid` (Message's unique id).
                           Not JSON, or not `"object": "instagram"`: 400. A delivery none of whose
                           entries is for a connected account is answered 200 and dropped (IG-6).
Processing runs in the worker: integrations/instagram/ingest.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from alt.lib.errors import IntegrationError
from alt.lib.middleware import machine_endpoint
from integrations.instagram import ingest
from integrations.instagram.models import InstagramAccount
from integrations.models import InboundEvent
from integrations.webhooks import MalformedWebhook, StoreCondition, WebhookReceiver, webhook_view

PROVIDER = "instagram"
_PARSED = "_instagram_payload"


def verify(request: HttpRequest) -> bool:
    """True when X-Hub-Signature-256 is the HMAC-SHA256 of the raw body under the Instagram app
    secret (or the Meta app secret, if configured). Constant-time comparisons; reads request.body
    as received, never a re-serialisation (the signature covers Meta's escaping)."""
    header = request.headers.get("X-Hub-Signature-256", "")
    scheme, _, given = header.partition("=")
    if scheme.strip().lower() != "sha256" or not given:
        return False
    # Bytes: compare_digest refuses a str with non-ASCII characters, which a forger can send.
    given_bytes = given.strip().lower().encode("utf-8", "replace")
    body = request.body
    ok = False
    for secret in (settings.INSTAGRAM_APP_SECRET, settings.META_APP_SECRET):
        if secret:
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
            ok |= hmac.compare_digest(expected, given_bytes)
    return ok


def _payload(request: HttpRequest) -> dict[str, Any]:
    cached = getattr(request, _PARSED, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("not JSON") from exc
    if not isinstance(payload, dict) or payload.get("object") != "instagram":
        raise MalformedWebhook('not an "instagram" delivery')
    if not isinstance(payload.get("entry"), list):
        raise MalformedWebhook("no entry list")
    setattr(request, _PARSED, payload)
    return payload


def external_id(request: HttpRequest) -> str:
    """The SHA-256 of the raw body. Raises MalformedWebhook for a body Meta would not send."""
    _payload(request)
    return hashlib.sha256(request.body).hexdigest()


def store_if(request: HttpRequest) -> StoreCondition:
    """Stored only if an entry of the delivery is for a connected account: otherwise answered
    200, not stored (IG-6: a disconnected account's events are no longer stored). Checked by the
    recipe's INSERT itself, however many entries a delivery batches."""
    account_ids = {
        str(entry.get("id"))
        for entry in _payload(request)["entry"]
        if isinstance(entry, dict) and entry.get("id") is not None
    }
    sql, params = InstagramAccount.objects.accepting_events_sql(*account_ids)
    return StoreCondition(sql, params)


def process(event: InboundEvent) -> None:
    """Act on a stored delivery (ingest.delivery_process). A deadlock or lost connection is
    transient (retried); a body that cannot be read any more is a permanent failure."""
    with _errors_mapped():
        ingest.delivery_process(bytes(event.body))


def prepare(events: list[InboundEvent]) -> Callable[[InboundEvent], None]:
    """A drain's batch of deliveries (ingest.deliveries_prepare): accounts, new people's profiles,
    locks and threads once for all; then `process` of one delivery acts on its own events. Errors
    are those of `process`."""
    with _errors_mapped():
        act = ingest.deliveries_prepare({event.id: bytes(event.body) for event in events})

    def process_one(event: InboundEvent) -> None:
        with _errors_mapped():
            act(event.id)

    return process_one


@contextmanager
def _errors_mapped() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:  # a deadlock between two workers' batches, a lost connection
        raise IntegrationError(f"database busy: {exc}"[:200], permanent=False) from exc
    except ValueError as exc:
        raise IntegrationError(f"unreadable delivery: {exc}"[:200], permanent=True) from exc


receiver = WebhookReceiver(
    provider=PROVIDER,
    verify=verify,
    external_id=external_id,
    process=process,
    store_if=store_if,
    prepare=prepare,
)
_deliveries = webhook_view(receiver)


@machine_endpoint  # Meta's calls, not a person's: no session, user or CSRF token
@csrf_exempt  # Meta's POSTs are authenticated by their signature (webhook_view checks it)
def receive(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _subscription_check(request)
    return _deliveries(request)


def _subscription_check(request: HttpRequest) -> HttpResponse:
    expected = settings.INSTAGRAM_WEBHOOK_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(given.encode(), expected.encode())
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("verification failed", status=403, content_type="text/plain")
