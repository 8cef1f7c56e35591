"""The webhook recipe every provider follows (DESIGN.md "Webhooks in", zulip's webhook views).

    verify the signature on the raw body -> parse out the delivery's external id
    -> store the raw delivery once under (provider, external_id) -> 200 at once
    -> a worker drains the stored deliveries in batches, idempotently

- A missing or wrong signature answers 403 and stores nothing (SEC-4); the failure is counted
  for the channel's health panel.
- A body the provider could not have sent answers 400 and stores nothing.
- A replay or a provider's retry finds the unique (provider, external_id) and is a no-op: 200,
  nothing stored twice, nothing processed twice.
- Deliveries a provider says to drop (e.g. for a disconnected account) answer 200, unstored.
  Where that is a fact about our own rows, the INSERT checks it itself (`store_if`: INSERT ...
  SELECT ... WHERE <condition>), so the delivery costs one statement, not a query and then one.

A provider declares one `WebhookReceiver` and registers it from its AppConfig.ready(); its
urls.py routes a path to `webhook_view(receiver)`. Processing runs in the worker
(`integrations.tasks.inbound_events_drain`), looked up by provider name.

Why a drain and not a task per delivery: at hundreds of deliveries a second, a Celery publish per
delivery was a third of the endpoint's time, and one task, one claim and one commit per delivery
kept the worker far behind. Instead:
- the endpoint "kicks": one Redis SET NX (`_kick`), and only the delivery that finds no kick
  pending publishes a drain task; a drain forgets the kick before it looks for work, so a
  delivery stored after that kicks again and none is left waiting;
- at most DRAIN_SLOTS drains run at a time; each claims up to DRAIN_BATCH received deliveries
  at once (a lease: `process_after` set DRAIN_LEASE ahead, attempts counted, one committed
  UPDATE ... FOR UPDATE SKIP LOCKED), then processes them in one transaction, each in its own
  savepoint: one bad delivery fails alone;
- a transient failure puts the delivery back with a backoff (`process_after`) and a drain sent
  for then; a worker killed mid-batch leaves its deliveries leased, claimable again when the lease
  ends, and the sweeper (SWEEP_AFTER) sends a drain for anything still waiting then.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from alt.lib.errors import IntegrationError
from alt.lib.middleware import machine_endpoint
from alt.lib.retry import backoff_seconds
from integrations.models import InboundEvent

log = logging.getLogger(__name__)

# A delivery still unprocessed this long after it arrived is re-sent by the sweeper.
SWEEP_AFTER = timedelta(minutes=2)
# Deliveries one drain claims and processes in one transaction.
DRAIN_BATCH = 50
# How long a claim lasts: a batch still unfinished then (its worker died) is claimed again. Longer
# than a task may run (CELERY_TASK_TIME_LIMIT), so a live batch is never processed twice at once.
DRAIN_LEASE = timedelta(minutes=6)
# A drain keeps claiming batches this long, then hands over to a new task (the worker's other
# jobs get a turn).
DRAIN_SECONDS = 30.0
# While a drain task is pending, deliveries do not publish another (the key's lifetime bounds how
# long a lost task message can hold the others back; the sweeper catches whatever remains).
KICK_KEY = "webhook-drain-kick"
# Drains that may run at once, each holding one session advisory lock from _DRAIN_LOCK on (an
# arbitrary constant). Two: one per core of the machines measured; more drains only waited on
# each other's thread locks (batches of one burst share threads and leads).
DRAIN_SLOTS = 2
_DRAIN_LOCK = 0x57EB400C
KICK_SECONDS = 10
# Transient failures after which a delivery is marked failed for a person instead of retried.
MAX_ATTEMPTS = 10


class MalformedWebhook(ValueError):
    """The body is not something the provider sends (400, nothing stored)."""


class StoreRefused(Exception):
    """The delivery's StoreCondition did not hold when it was to be stored: nothing stored."""


@dataclass(frozen=True)
class StoreCondition:
    """A fact about our own rows a delivery is stored under, checked by its INSERT in the same
    statement (no round trip of its own): a SQL boolean expression and its bound parameters."""

    sql: str
    params: Sequence[Any]


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
    # Like `drop`, but asked of the database by the INSERT itself: the condition the delivery is
    # stored under (None: unconditionally). A delivery it refuses answers 200, unstored, unless
    # `recheck` (called then) forgets what `verify` had cached for it and returns True: the
    # delivery is then verified again, from the database, and stored under its new condition.
    store_if: Callable[[HttpRequest], StoreCondition | None] | None = None
    recheck: Callable[[HttpRequest], bool] | None = None
    # Optional, for providers whose deliveries share work (lookups, locks): given a batch of
    # stored deliveries, does that shared work once and returns the `process` of one of them,
    # run per delivery in its own savepoint. May raise like `process`; the batch is then
    # processed one by one with `process`. Without it, `process` runs per delivery.
    prepare: Callable[[list[InboundEvent]], Callable[[InboundEvent], None]] | None = None


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

    @machine_endpoint  # no session, user or CSRF token: skips the page middleware
    @csrf_exempt  # authenticated by the provider's signature instead (SEC-4)
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        # CONN_HEALTH_CHECKS costs every delivery a SELECT 1 round trip before its first query
        # (a fifth of the endpoint's throughput on the bench). Here the check is the first
        # statement itself: every step before the answer can be run twice (reads, one INSERT ...
        # ON CONFLICT DO NOTHING, the kick), so a persistent connection found dead by its first
        # statement is replaced and the delivery received again, not failed: what the health
        # check promises (Django docs, CONN_HEALTH_CHECKS), without its round trip.
        db: Any = connection  # health_check_done/_enabled: Django's, not in django-stubs
        checked = db.health_check_done or not db.health_check_enabled
        db.health_check_done = True
        try:
            return receive(request)
        except (OperationalError, InterfaceError):
            if checked or connection.in_atomic_block or connection.is_usable():
                raise  # not a dead persistent connection: a real failure, answered 500
            log.warning(
                "webhook %s: the database connection was dead, reconnected", receiver.provider
            )
            connection.close()
            return receive(request)

    def receive(request: HttpRequest) -> HttpResponse:
        for _ in range(2):  # the second time only after `recheck` forgot a cached verification
            if not receiver.verify(request):
                _count_signature_failure(receiver.provider)
                log.warning("webhook %s: bad signature, dropped", receiver.provider)
                return HttpResponse("bad signature", status=403, content_type="text/plain")
            try:
                external_id = receiver.external_id(request)
            except MalformedWebhook as exc:
                return HttpResponse(f"malformed: {exc}", status=400, content_type="text/plain")
            if receiver.drop is not None and receiver.drop(request):
                break
            try:
                inbound_event_store(
                    provider=receiver.provider,
                    external_id=external_id,
                    body=request.body,
                    content_type=request.content_type or "",
                    condition=receiver.store_if(request) if receiver.store_if else None,
                )
            except StoreRefused:
                if receiver.recheck is not None and receiver.recheck(request):
                    continue
                break
            return HttpResponse("ok", content_type="text/plain")
        return HttpResponse("ignored", content_type="text/plain")

    view.__name__ = f"{receiver.provider}_webhook"
    return view


def inbound_event_store(
    *,
    provider: str,
    external_id: str,
    body: bytes,
    content_type: str = "",
    condition: StoreCondition | None = None,
) -> int | None:
    """Store a verified delivery and kick a drain once it is committed.

    Returns the new event's id, or None when the same (provider, external_id) was stored before:
    a duplicate is a no-op. One statement and one commit (INSERT ... ON CONFLICT DO NOTHING), as
    this runs on every delivery while the provider waits for our 200; the row is committed (and
    flushed: synchronous_commit stays on) before the caller answers. With a `condition`, the same
    statement stores the row only if the condition holds, and raises StoreRefused if it did not.
    Side effects: one Redis SET NX after commit; `integrations.tasks.inbound_events_drain` sent
    when no drain was pending.
    """
    table = InboundEvent._meta.db_table
    values: list[Any] = [
        provider,
        external_id[:255],
        body,
        content_type[:100],
        InboundEvent.Status.RECEIVED,
        timezone.now(),
    ]
    columns = "provider, external_id, body, content_type, status, received_at, attempts, last_error"
    with connection.cursor() as cursor:
        if condition is None:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, 0, '') "  # noqa: S608 (the table name is ours; values are bound)
                "ON CONFLICT (provider, external_id) DO NOTHING RETURNING id",
                values,
            )
            row = cursor.fetchone()
        else:
            # The condition is evaluated once; the row is inserted only where it holds, and the
            # answer tells a refusal (ok false) from a duplicate (ok true, no id).
            cursor.execute(
                f"WITH allowed AS (SELECT ({condition.sql}) AS ok), stored AS ("  # noqa: S608 (the table name and condition are ours; values are bound)
                f"INSERT INTO {table} ({columns}) "
                "SELECT %s, %s, %s, %s, %s, %s::timestamptz, 0, '' FROM allowed WHERE ok "
                "ON CONFLICT (provider, external_id) DO NOTHING RETURNING id) "
                "SELECT (SELECT id FROM stored) FROM allowed WHERE ok",
                [*condition.params, *values],
            )
            answer = cursor.fetchone()
            if answer is None:
                raise StoreRefused(provider)
            row = answer if answer[0] is not None else None
    if row is None:
        return None
    transaction.on_commit(_kick)
    return int(row[0])


def _kick(countdown: float | None = None) -> None:
    """Make sure a drain will run: publish one unless one is already pending (SET NX)."""
    from integrations.tasks import inbound_events_drain  # the task calls this module

    if countdown is not None:  # a retry's drain, due later: the pending kick is for now
        inbound_events_drain.apply_async(countdown=countdown)
        return
    if not cache.add(KICK_KEY, 1, timeout=KICK_SECONDS):
        return
    try:
        inbound_events_drain.delay()
    except Exception:
        # The delivery is stored (committed): the sweeper or the next delivery's kick drains it.
        cache.delete(KICK_KEY)
        log.exception("webhook drain could not be sent; the sweeper will catch up")


def inbound_events_drain(*, batch: int = DRAIN_BATCH, seconds: float = DRAIN_SECONDS) -> int:
    """Process waiting deliveries, batch after batch, until none is claimable or `seconds` have
    passed. Returns how many were processed or failed.

    At most DRAIN_SLOTS drains at a time (session advisory locks, released if the worker dies):
    concurrent batches touch the same threads and leads, and eight of them spent their time
    waiting on each other's locks. A drain that finds every slot taken leaves the work to the
    running ones; each, once it stops, forgets the pending kick and sends a new drain if anything
    is claimable, so a delivery whose kick met every slot taken is not left behind.
    Side effects: the providers' processing; `inbound_events_drain` sent to go on.
    """
    slot = _drain_slot()
    if slot is None:
        return 0
    done = 0
    try:
        cache.delete(KICK_KEY)  # from now on, a new delivery sends a new drain
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            claimed = _claim(limit=batch)
            if not claimed:
                break
            try:
                done += _process_batch(claimed)
            except Exception:
                _release(claimed)  # e.g. the connection was lost: back in line soon
                raise
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [slot])
    cache.delete(KICK_KEY)
    if InboundEvent.objects.filter(_claimable(timezone.now())).exists():
        _kick()
    return done


def _drain_slot() -> int | None:
    """Take one of the DRAIN_SLOTS session advisory locks, or None when every slot is taken."""
    with connection.cursor() as cursor:
        for slot in range(_DRAIN_LOCK, _DRAIN_LOCK + DRAIN_SLOTS):
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [slot])
            row = cursor.fetchone()
            if row is not None and row[0]:
                return slot
    return None


def inbound_event_process(*, event_id: int) -> None:
    """Claim and process one stored delivery now, if it is waiting (received, and not claimed by
    a drain or backing off). The same path as a drain's, for one event: used by staff tools and
    tests. A transient IntegrationError is recorded and re-raised (the event waits for its
    backoff); a permanent one, the MAX_ATTEMPTS-th transient one, or any other exception marks it
    failed with its reason (`inbound_event_retry` sends it back)."""
    claimed = _claim(limit=1, event_id=event_id)
    if claimed:
        _process_batch(claimed, raise_transient=True)


def _claimable(now: datetime) -> Q:
    return Q(status=InboundEvent.Status.RECEIVED) & (
        Q(process_after__isnull=True) | Q(process_after__lte=now)
    )


# What a drain reads of the rows it claims, returned by the claim itself (no second query).
_CLAIMED_FIELDS = (
    "id",
    "provider",
    "external_id",
    "body",
    "content_type",
    "received_at",
    "attempts",
)


def _claim(*, limit: int, event_id: int | None = None) -> list[InboundEvent]:
    """Lease up to `limit` waiting deliveries, oldest first: one committed UPDATE over rows picked
    FOR UPDATE SKIP LOCKED, so two drains never claim the same row, and a claim whose worker died
    runs out at `process_after`. Counts the attempt now, so a delivery that kills its worker every
    time is given up after MAX_ATTEMPTS like any other failure."""
    now = timezone.now()
    table = InboundEvent._meta.db_table
    only_one = "AND id = %s" if event_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET process_after = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608 (the table name is ours; values are bound)
            f"SELECT id FROM {table} WHERE status = %s "
            f"AND (process_after IS NULL OR process_after <= %s) {only_one} "
            "ORDER BY received_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"RETURNING {', '.join(_CLAIMED_FIELDS)}",
            [
                now + DRAIN_LEASE,
                InboundEvent.Status.RECEIVED,
                now,
                *([event_id] if event_id is not None else []),
                limit,
            ],
        )
        rows = cursor.fetchall()
    events = [InboundEvent(**dict(zip(_CLAIMED_FIELDS, row, strict=True))) for row in rows]
    return sorted(events, key=lambda event: (event.received_at, event.id))


def _process_batch(events: list[InboundEvent], *, raise_transient: bool = False) -> int:
    """Process claimed deliveries in one transaction, each in its own savepoint; record each
    outcome. Returns how many ended processed or failed."""
    retry: IntegrationError | None = None
    outcomes: dict[int, tuple[str, str]] = {}  # id -> (status, error)
    with transaction.atomic():
        process_one = _batch_processor(events)
        for event in events:
            if event.attempts > MAX_ATTEMPTS:  # it killed its worker every time
                outcomes[event.id] = (InboundEvent.Status.FAILED, "gave up: the worker was lost")
                continue
            try:
                with transaction.atomic():  # the provider's writes roll back alone if it fails
                    process_one(event)
            except IntegrationError as exc:
                if exc.permanent or event.attempts >= MAX_ATTEMPTS:
                    outcomes[event.id] = (InboundEvent.Status.FAILED, str(exc)[:300])
                else:
                    outcomes[event.id] = (InboundEvent.Status.RECEIVED, str(exc)[:300])
                    retry = exc
            except Exception as exc:
                log.exception("webhook %s event %s failed", event.provider, event.id)
                outcomes[event.id] = (
                    InboundEvent.Status.FAILED,
                    f"{type(exc).__name__}: {exc}"[:300],
                )
            else:
                outcomes[event.id] = (InboundEvent.Status.PROCESSED, "")
        _record(events, outcomes)
    if retry is not None and raise_transient:  # raised after the commit: the attempt is recorded
        raise retry
    return sum(1 for status, _ in outcomes.values() if status != InboundEvent.Status.RECEIVED)


def _batch_processor(events: list[InboundEvent]) -> Callable[[InboundEvent], None]:
    """Each event's `process`: the receivers' own, or the one their `prepare` gave for the batch.
    A `prepare` that fails leaves its events to their `process`, one by one."""
    by_provider: dict[str, list[InboundEvent]] = {}
    for event in events:
        by_provider.setdefault(event.provider, []).append(event)
    chosen: dict[str, Callable[[InboundEvent], None]] = {}
    for provider, group in by_provider.items():
        receiver = receiver_for(provider)
        chosen[provider] = receiver.process
        if receiver.prepare is not None and len(group) > 1:
            try:
                with transaction.atomic():
                    chosen[provider] = receiver.prepare(group)
            except Exception:
                log.warning("webhook %s: batch preparation failed, one by one", provider)
    return lambda event: chosen[event.provider](event)


def _record(events: list[InboundEvent], outcomes: dict[int, tuple[str, str]]) -> None:
    """Write each claimed event's outcome: processed ones in one UPDATE; a transient failure is
    released with a backoff and a drain sent for then."""
    now = timezone.now()
    processed = [
        i for i, (status, _) in outcomes.items() if status == InboundEvent.Status.PROCESSED
    ]
    if processed:
        InboundEvent.objects.filter(id__in=processed).update(
            status=InboundEvent.Status.PROCESSED,
            processed_at=now,
            last_error="",
            process_after=None,
        )
    attempts = {event.id: event.attempts for event in events}
    for event_id, (status, error) in outcomes.items():
        if status == InboundEvent.Status.FAILED:
            InboundEvent.objects.filter(id=event_id).update(
                status=status, last_error=error, process_after=None
            )
        elif status == InboundEvent.Status.RECEIVED:
            delay = backoff_seconds(attempts[event_id])
            InboundEvent.objects.filter(id=event_id).update(
                last_error=error, process_after=now + timedelta(seconds=delay)
            )
            transaction.on_commit(functools.partial(_kick, countdown=delay))


def _release(events: list[InboundEvent]) -> None:
    """Give up a claim whose batch could not finish, with a backoff (best effort: if the database
    is gone, the lease runs out instead)."""
    delay = backoff_seconds(max((event.attempts for event in events), default=1))
    try:
        InboundEvent.objects.filter(
            id__in=[event.id for event in events], status=InboundEvent.Status.RECEIVED
        ).update(process_after=timezone.now() + timedelta(seconds=delay))
    except Exception:
        log.exception("webhook claim could not be released; it ends with its lease")
        return
    _kick(countdown=delay)


def inbound_event_retry(*, event_id: int) -> bool:
    """Put a failed delivery back to be processed again. Returns False if it was not failed.
    Side effects: a drain kicked after commit."""
    with transaction.atomic():
        moved = InboundEvent.objects.filter(id=event_id, status=InboundEvent.Status.FAILED).update(
            status=InboundEvent.Status.RECEIVED, received_at=timezone.now(), process_after=None
        )
        if moved:
            transaction.on_commit(_kick)
    return bool(moved)


def inbound_events_waiting(*, older_than: timedelta = SWEEP_AFTER, limit: int = 500) -> list[int]:
    """Ids of deliveries still unprocessed after `older_than` and claimable now (a lost kick, a
    lease whose worker died, a retry whose drain was lost)."""
    now = timezone.now()
    return list(
        InboundEvent.objects.filter(_claimable(now), received_at__lt=now - older_than)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
