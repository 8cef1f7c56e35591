"""Instagram under load (issue 10), written to var/bench/instagram.json.

1. The webhook endpoint under gunicorn (2 sync workers, this machine's 2 cores) beside a bare
   Django view on the same server, rounds alternating as in bench/webhooks.py: throughput ratio
   (goal ≥ 70 %) and p99 (goal ≤ 50 ms) of signed Meta deliveries (verify, store, kick a drain).
   The bare view takes every middleware; webhook views skip the page middleware
   (alt.lib.middleware.MachineEndpointMiddleware), which is part of what is measured.
2. Duplicates: DELIVERIES deliveries, 20 % of them duplicates (half replayed byte for byte, as
   Meta retries; half a new batch repeating a message already delivered, as Meta's
   re-deliveries do), processed by a real Celery worker: exactly DELIVERIES - duplicates
   messages must exist afterwards.
3. End to end: deliveries at E2E_RATE per second for E2E_SECONDS, with the worker running; the
   latency of each message is from the moment its POST started to the moment the worker stored
   its row (Message.created_at, same machine clock). Goal: p95 ≤ 1 s.
4. The inbox at INBOX_THREADS threads and INBOX_MESSAGES messages, as paired ratios to the bare
   view (bench/pages.py): the thread list and a thread, goal ≤ 3x, fixed queries.

The emulator answers the profile lookups the ingest makes for new senders (Graph API), so the
worker does everything it does in production except reach Meta.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from datetime import timedelta
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.test import Client

from bench.common import Row, percentile, report

ROUNDS = int(os.environ.get("BENCH_IG_ROUNDS", 6))
PER_ROUND = int(os.environ.get("BENCH_IG_PER_ROUND", 300))
DELIVERIES = int(os.environ.get("BENCH_IG_DELIVERIES", 10_000))
SENDERS = int(os.environ.get("BENCH_IG_SENDERS", 500))
E2E_RATE = int(os.environ.get("BENCH_IG_E2E_RATE", 200))
E2E_SECONDS = int(os.environ.get("BENCH_IG_E2E_SECONDS", 10))
INBOX_THREADS = int(os.environ.get("BENCH_IG_THREADS", 5_000))
INBOX_MESSAGES = int(os.environ.get("BENCH_IG_MESSAGES", 200_000))
PAGE_RUNS = int(os.environ.get("BENCH_RUNS", 60))
# "webhooks" or "inbox" times only that half (both when empty).
ONLY = os.environ.get("BENCH_IG_ONLY", "")
EMAIL = "bench.instagram@example.com"
APP_SECRET = "bench-instagram-app-secret"  # noqa: S105 (the bench signs its own deliveries)
IG_USER_ID = "17841400000000001"
PATH = "/webhooks/instagram/"


def _env_for_instagram(graph_url: str) -> dict[str, str]:
    return {
        "INSTAGRAM_APP_ID": "990602627938098",
        "INSTAGRAM_APP_SECRET": APP_SECRET,
        "INSTAGRAM_WEBHOOK_VERIFY_TOKEN": "bench-verify-token",
        "INSTAGRAM_GRAPH_API_URL": graph_url.rstrip("/") + "/",
    }


def _setup(emulator: Any) -> tuple[Any, Any, Any]:
    """The bench's agent, workspace and connected Instagram account (created once)."""
    from alt.accounts.models import User
    from alt.accounts.services import workspace_create_for_user
    from integrations.instagram.models import InstagramAccount

    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(EMAIL, "bench-password-2026", full_name="Bench Inbox")
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=EMAIL, verified=True, primary=True)
        workspace_create_for_user(user=user, name="Bench Instagram")
    workspace = user.memberships.get().workspace
    fake = emulator.add_account("bench_realty", ig_user_id=IG_USER_ID)
    token = emulator.issue_token(fake)
    account = (
        InstagramAccount.objects.for_workspace(workspace).filter(ig_user_id=IG_USER_ID).first()
    )
    if account is None:
        account = InstagramAccount.objects.create(
            workspace=workspace, ig_user_id=IG_USER_ID, username="bench_realty", connected_by=user
        )
    account.access_token = token.value
    account.status = InstagramAccount.Status.CONNECTED
    account.save()
    return user, workspace, account


def _delivery(mid: str, sender: str, text: str, *, at_ms: int | None = None) -> bytes:
    from integrations.sandbox.webhooks import meta_body

    at_ms = at_ms or int(time.time() * 1000)
    return meta_body(
        {
            "object": "instagram",
            "entry": [
                {
                    "time": at_ms,
                    "id": IG_USER_ID,
                    "messaging": [
                        {
                            "sender": {"id": sender},
                            "recipient": {"id": IG_USER_ID},
                            "timestamp": at_ms,
                            "message": {"mid": mid, "text": text},
                        }
                    ],
                }
            ],
        }
    )


def _signed(bodies: list[bytes]) -> list[tuple[str, bytes, dict[str, str]]]:
    from integrations.sandbox.webhooks import meta_signer

    sign = meta_signer(APP_SECRET)
    return [(PATH, body, sign(body, "")) for body in bodies]


def _sender(i: int) -> str:
    return str(6543210000000000 + i % SENDERS)


def _clear(workspace: Any) -> None:
    from bench.webhooks import clear_channel

    clear_channel(workspace, provider="instagram", party_prefix="654321")


def _throughput(port: int) -> list[Row]:
    from bench.webhooks import throughput_rows

    def round_of(n: int) -> list[tuple[str, bytes, dict[str, str]]]:
        text = "Hi! Is 12 Oak St still available? ¿Precio?"
        return _signed([_delivery(f"tp-{n}-{i}", _sender(i), text) for i in range(PER_ROUND)])

    return throughput_rows(
        port,
        round_of,
        name="Instagram webhook (verify, store, enqueue)",
        rounds=ROUNDS,
        per_round=PER_ROUND,
    )


def _duplicates(port: int, workspace: Any) -> Row:
    from bench.webhooks import burst as _burst
    from bench.webhooks import wait_processed
    from contacts.models import Message

    duplicates = DELIVERIES // 5
    unique = DELIVERIES - duplicates
    now_ms = int(time.time() * 1000)
    bodies = [
        _delivery(f"dup-{i}", _sender(i), f"Message {i}: what is the HOA fee?", at_ms=now_ms + i)
        for i in range(unique)
    ]
    replays = bodies[: duplicates // 2]  # Meta retrying a delivery: the same bytes
    # Meta re-delivering a message inside another batch: new bytes, the same mid.
    rebatched = [
        _delivery(
            f"dup-{i}", _sender(i), f"Message {i}: what is the HOA fee?", at_ms=now_ms + i + 1
        )
        for i in range(duplicates - len(replays))
    ]
    started = time.monotonic()
    _, _, statuses = _burst(port, _signed(bodies + replays + rebatched))
    drained = wait_processed("instagram", timeout_s=600)
    elapsed = time.monotonic() - started
    stored = Message.objects.for_workspace(workspace).filter(external_id__startswith="dup-").count()
    return Row(
        name=f"{DELIVERIES:,} deliveries, 20 % duplicates, real worker",
        target=f"messages == {unique:,}",
        ok=drained and stored == unique and all(s == 200 for s in statuses),
        extra={
            "messages": stored,
            "replayed_bytes": len(replays),
            "rebatched_mids": len(rebatched),
            "seconds_to_drain": round(elapsed, 1),
            "non_200_answers": sum(1 for s in statuses if s != 200),
        },
    )


def _end_to_end(port: int, workspace: Any) -> Row:
    from bench.webhooks import post as _post
    from bench.webhooks import wait_processed
    from contacts.models import Message

    total = E2E_RATE * E2E_SECONDS
    sent_at: dict[str, float] = {}
    lock = threading.Lock()
    bad: list[int] = []
    interval = 1.0 / E2E_RATE
    start = time.time() + 0.2

    def sender(offset: int, step: int) -> None:
        for i in range(offset, total, step):
            due = start + i * interval
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            mid = f"e2e-{i}"
            ((path, body, headers),) = _signed(
                [_delivery(mid, _sender(i), "Can I see it Saturday at 10?")]
            )
            with lock:
                sent_at[mid] = time.time()
            status, _ = _post(port, path, body, headers)
            if status != 200:
                with lock:
                    bad.append(status)

    threads = [threading.Thread(target=sender, args=(k, 8)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    achieved = total / max(time.time() - start, 1e-9)
    wait_processed("instagram", timeout_s=600)
    rows = Message.objects.for_workspace(workspace).filter(external_id__startswith="e2e-")
    latencies = [
        (created.timestamp() - sent_at[mid]) * 1000
        for mid, created in rows.values_list("external_id", "created_at")
        if mid in sent_at
    ]
    p95 = percentile(latencies, 95) if latencies else float("inf")
    return Row(
        name=f"webhook → message stored, {E2E_RATE}/s for {E2E_SECONDS} s",
        p50_ms=round(statistics.median(latencies), 1) if latencies else None,
        p95_ms=round(p95, 1),
        runs=len(latencies),
        target="p95 ≤ 1000 ms, every message stored",
        ok=p95 <= 1000 and len(latencies) == total and not bad,
        extra={"deliveries_per_s_achieved": round(achieved, 1), "non_200_answers": len(bad)},
    )


def _inbox_dataset(workspace: Any) -> Any:
    """INBOX_THREADS conversations with INBOX_MESSAGES messages (built once, in SQL)."""
    from contacts.models import Contact, Conversation, Message, PipelineStage

    threads = Conversation.objects.for_workspace(workspace).filter(party_id__startswith="9")
    if threads.count() >= INBOX_THREADS:
        return threads.order_by("-last_message_at").first()
    threads.delete()
    stage = PipelineStage.objects.for_workspace(workspace).order_by("position").first()
    Contact.objects.for_workspace(workspace).bulk_create(
        [
            Contact(
                workspace=workspace,
                stage=stage,
                first_name=f"Lead{i}",
                last_name="Inbox",
                instagram_handle=f"inbox_lead_{i}",
            )
            for i in range(INBOX_THREADS)
        ],
        batch_size=1000,
    )
    contacts = list(
        Contact.objects.for_workspace(workspace)
        .filter(instagram_handle__startswith="inbox_lead_")
        .values_list("id", flat=True)
    )
    from django.utils import timezone

    base = timezone.now()
    Conversation.objects.for_workspace(workspace).bulk_create(
        [
            Conversation(
                workspace=workspace,
                channel="instagram",
                channel_account=IG_USER_ID,
                party_id=f"9{i:016d}",
                party_handle=f"inbox_lead_{i}",
                contact_id=contact_id,
                last_message_at=base - timedelta(minutes=i),
                last_inbound_at=base - timedelta(minutes=i),
                awaiting_reply_since=base - timedelta(minutes=i) if i % 3 == 0 else None,
                unread_count=i % 4,
            )
            for i, contact_id in enumerate(contacts)
        ],
        batch_size=1000,
    )
    per_thread = max(1, INBOX_MESSAGES // INBOX_THREADS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Message._meta.db_table} (workspace_id, conversation_id, channel, direction,
                author, external_id, text, attachments, meta, status, error, sent_at, created_at)
            SELECT c.workspace_id, c.id, 'instagram',
                   CASE WHEN n %% 2 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN n %% 2 = 0 THEN 'party' ELSE 'person' END,
                   'inbox-' || c.id || '-' || n,
                   'Message ' || n || ': is the house on Elm Street still available?',
                   '[]'::jsonb, '{{}}'::jsonb,
                   CASE WHEN n %% 2 = 0 THEN 'received' ELSE 'sent' END, '',
                   c.last_message_at - make_interval(mins => %s - n),
                   c.last_message_at - make_interval(mins => %s - n)
            FROM {Conversation._meta.db_table} c, generate_series(1, %s) AS n
            WHERE c.workspace_id = %s AND c.party_id LIKE '9%%'
            """,  # noqa: S608 (table names are ours; values are parameters)
            [per_thread, per_thread, per_thread, workspace.id],
        )
        cursor.execute(f"ANALYZE {Message._meta.db_table}")
        cursor.execute(f"ANALYZE {Conversation._meta.db_table}")
    return threads.order_by("-last_message_at").first()


def _inbox_pages(user: Any, workspace: Any) -> list[Row]:
    from bench.pages import Page, paired

    thread = _inbox_dataset(workspace)
    client = Client()
    client.force_login(user)
    pages = [
        Page(f"inbox ({INBOX_THREADS:,} threads)", "/inbox/"),
        Page("inbox thread", f"/inbox/{thread.id}/"),
    ]
    return paired(client, pages, bare_url=f"/bench/bare/rows/{workspace.id}/", rounds=PAGE_RUNS)


def _webhook_rows(emulator: Any, workspace: Any) -> list[Row]:
    """Parts 1-3: gunicorn throughput, duplicates through a real worker, end-to-end latency."""
    from bench.webhooks import webhook_suite

    return webhook_suite(
        throughput=_throughput,
        with_worker=[
            lambda port: _duplicates(port, workspace),
            lambda port: _end_to_end(port, workspace),
        ],
        clear=lambda: _clear(workspace),
        worker_graph_url=emulator.base_url,
    )


def run() -> None:
    from integrations.sandbox.instagram import InstagramEmulator

    call_command("migrate", verbosity=0)
    with InstagramEmulator() as emulator:
        os.environ.update(_env_for_instagram(emulator.base_url))
        from django.conf import settings

        for name, value in _env_for_instagram(emulator.base_url).items():
            setattr(settings, name, value)
        user, workspace, _account = _setup(emulator)
        rows: list[Row] = []
        if ONLY != "inbox":
            rows += _webhook_rows(emulator, workspace)
        if ONLY != "webhooks":
            rows += _inbox_pages(user, workspace)
    meta = {
        "deliveries": DELIVERIES,
        "senders": SENDERS,
        "inbox_threads": INBOX_THREADS,
        "inbox_messages": INBOX_MESSAGES,
        "rounds": ROUNDS,
        "per_round": PER_ROUND,
    }
    report("instagram", rows, meta)
