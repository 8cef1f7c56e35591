"""Background jobs of the webhook recipe. Thin: ids in, one service call, nothing returned."""

from __future__ import annotations

import contextlib

from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from integrations import webhooks


@shared_task
def inbound_events_drain() -> None:
    # Safe to run twice: deliveries are claimed with a lease (FOR UPDATE SKIP LOCKED, state guard).
    webhooks.inbound_events_drain()


@shared_task
def inbound_event_process(event_id: int) -> None:
    # Kept for messages queued before the drain existed. Safe to run twice: the drain's lease.
    # A transient failure is recorded with its backoff and a drain sent for then: not retried here.
    with contextlib.suppress(IntegrationError):
        webhooks.inbound_event_process(event_id=event_id)


@shared_task
def inbound_events_sweep() -> None:
    # Safe to run twice: a second drain finds nothing to claim.
    if webhooks.inbound_events_waiting(limit=1):
        inbound_events_drain.delay()
