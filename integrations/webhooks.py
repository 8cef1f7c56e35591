"""The webhook recipe every provider follows (DESIGN.md "Webhooks in", zulip's webhook views).

    verify the signature on the raw body -> parse out the delivery's external id
    -> store the raw delivery once under (provider, external_id) -> 200 at once
    -> a task processes it, idempotently

- A missing or wrong signature answers 403 and stores nothing (SEC-4); the failure is counted
  for the channel's health panel.
- A body the provider could not have sent answers 400 and stores nothing.
- A replay or a provider's retry finds the unique (provider, external_id) and is a no-op: 200,
  nothing stored twice, nothing processed twice.
- Deliveries a provider says to drop (e.g. for a disconnected account) answer 200, unstored.

A provider declares one `WebhookReceiver` and registers it from its AppConfig.ready(); its
urls.py routes a path to `webhook_view(receiver)`. Processing runs in the worker
(`integrations.tasks.inbound_event_process`), looked up by provider name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alt.lib.errors import IntegrationError
from integrations.models import InboundEvent

log = logging.getLogger(__name__)

# A delivery still unprocessed this long after it arrived is re-sent by the sweeper.
SWEEP_AFTER = timedelta(minutes=2)
# Transient failures after which a delivery is marked failed for a person instead of retried.
MAX_ATTEMPTS = 10


class MalformedWebhook(ValueError):
    """The body is not something the provider sends (400, nothing stored)."""


@dataclass(frozen=True)
class WebhookReceiver:
    provider: str
    # True when the raw request carries the provider's valid signature. Reads request.body only.
    verify: Callable[[HttpRequest], bool]
    # The delivery's unique id (Stripe event id, Twilio MessageSid, a digest of Meta's body);
    # raises MalformedWebhook.
    external_id: Callable[[HttpRequest], str]
    # Acts on a stored delivery. Must be safe to run twice; raises IntegrationError
    # (permanent=False to be retried later, permanent=True to mark the event failed).
    process: Callable[[InboundEvent], None]
    # True for deliveries to answer 200 and drop unstored (a disconnected account, IG-6).
    drop: Callable[[HttpRequest], bool] | None = None


_receivers: dict[str, WebhookReceiver] = {}


def register(receiver: WebhookReceiver) -> WebhookReceiver:
    """Make `receiver` the handler of its provider's deliveries (idempotent per provider)."""
    _receivers[receiver.provider] = receiver
    return receiver


def receiver_for(provider: str) -> WebhookReceiver:
    return _receivers[provider]


def signature_failures(provider: str) -> int:
    """How many deliveries failed the signature check lately (a channel-health figure)."""
    return int(cache.get(f"webhook-signature-failures:{provider}", 0))


def _count_signature_failure(provider: str) -> None:
    key = f"webhook-signature-failures:{provider}"
    cache.add(key, 0, timeout=7 * 24 * 3600)
    cache.incr(key)


def webhook_view(receiver: WebhookReceiver) -> Callable[[HttpRequest], HttpResponse]:
    """The endpoint for one provider: the recipe above, with no provider code of its own."""

    @csrf_exempt  # authenticated by the provider's signature instead (SEC-4)
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        if not receiver.verify(request):
            _count_signature_failure(receiver.provider)
            log.warning("webhook %s: bad signature, dropped", receiver.provider)
            return HttpResponse("bad signature", status=403, content_type="text/plain")
        try:
            external_id = receiver.external_id(request)
        except MalformedWebhook as exc:
            return HttpResponse(f"malformed: {exc}", status=400, content_type="text/plain")
        if receiver.drop is not None and receiver.drop(request):
            return HttpResponse("ignored", content_type="text/plain")
        inbound_event_store(
            provider=receiver.provider,
            external_id=external_id,
            body=request.body,
            content_type=request.content_type or "",
        )
        return HttpResponse("ok", content_type="text/plain")

    view.__name__ = f"{receiver.provider}_webhook"
    return view


def inbound_event_store(
    *, provider: str, external_id: str, body: bytes, content_type: str = ""
) -> int | None:
    """Store a verified delivery and send its processing task once it is committed.

    Returns the new event's id, or None when the same (provider, external_id) was stored before:
    a duplicate is a no-op. One statement and one commit (INSERT ... ON CONFLICT DO NOTHING), as
    this runs on every delivery while the provider waits for our 200.
    Side effects: `integrations.tasks.inbound_event_process` sent after commit.
    """
    from integrations.tasks import inbound_event_process  # the service sends its own task

    table = InboundEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (provider, external_id, body, content_type, status, received_at, attempts, last_error) "  # noqa: S608 (the table name is ours; values are bound)
            "VALUES (%s, %s, %s, %s, %s, %s, 0, '') "
            "ON CONFLICT (provider, external_id) DO NOTHING RETURNING id",
            [
                provider,
                external_id[:255],
                body,
                content_type[:100],
                InboundEvent.Status.RECEIVED,
                timezone.now(),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    inbound_event_process.delay_on_commit(row[0])
    return int(row[0])


def inbound_event_process(*, event_id: int) -> None:
    """Run the provider's processing of one stored delivery, at most once to completion.

    Claimed under a row lock (SKIP LOCKED: a second worker holding the same id moves on); an event
    already processed or failed is left alone. A transient IntegrationError is re-raised for the
    task to retry, with the attempt recorded; a permanent one, the MAX_ATTEMPTS-th transient one,
    or any other exception marks the event failed with its reason, for staff to see and retry
    (`inbound_event_retry`).
    """
    retry: IntegrationError | None = None
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(skip_locked=True)
            .filter(id=event_id, status=InboundEvent.Status.RECEIVED)
            .first()
        )
        if event is None:
            return
        event.attempts += 1
        try:
            with transaction.atomic():  # the provider's writes roll back alone if it fails
                receiver_for(event.provider).process(event)
        except IntegrationError as exc:
            event.last_error = str(exc)[:300]
            if exc.permanent or event.attempts >= MAX_ATTEMPTS:
                event.status = InboundEvent.Status.FAILED
            else:
                retry = exc
        except Exception as exc:
            log.exception("webhook %s event %s failed", event.provider, event.id)
            event.status = InboundEvent.Status.FAILED
            event.last_error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            event.status = InboundEvent.Status.PROCESSED
            event.processed_at = timezone.now()
            event.last_error = ""
        event.save(update_fields=["attempts", "status", "processed_at", "last_error"])
    if retry is not None:  # raised after the commit, so the attempt stays recorded
        raise retry


def inbound_event_retry(*, event_id: int) -> bool:
    """Put a failed delivery back to be processed again. Returns False if it was not failed."""
    from integrations.tasks import inbound_event_process as process_task

    with transaction.atomic():
        moved = InboundEvent.objects.filter(id=event_id, status=InboundEvent.Status.FAILED).update(
            status=InboundEvent.Status.RECEIVED, received_at=timezone.now()
        )
        if moved:
            process_task.delay_on_commit(event_id)
    return bool(moved)


def inbound_events_waiting(*, older_than: timedelta = SWEEP_AFTER, limit: int = 500) -> list[int]:
    """Ids of deliveries still unprocessed after `older_than` (a lost broker message)."""
    cutoff = timezone.now() - older_than
    return list(
        InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
