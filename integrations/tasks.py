"""Background jobs of the webhook recipe. Thin: ids in, one service call, nothing returned."""

from __future__ import annotations

from typing import Any

from alt.lib.celery_typing import shared_task
from alt.lib.errors import IntegrationError
from alt.lib.retry import retry_transient
from integrations import webhooks


@shared_task(bind=True)
def inbound_event_process(self: Any, event_id: int) -> None:
    # Safe to run twice: the event row is claimed under a lock with a state guard (received only).
    try:
        webhooks.inbound_event_process(event_id=event_id)
    except IntegrationError as exc:  # transient: back off, bounded
        retry_transient(self, exc)


@shared_task
def inbound_events_sweep() -> None:
    # Safe to run twice: re-sending is harmless, processing claims each event once.
    for event_id in webhooks.inbound_events_waiting():
        inbound_event_process.delay(event_id)
