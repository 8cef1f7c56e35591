"""The webhook endpoint under gunicorn, beside a bare Django view on the same server (issue 8).

Rounds alternate: a burst of POSTs to the bare view, then the same burst of signed deliveries to
the webhook endpoint (verify, store, kick a drain), so both see the same machine noise. Reported: each
side's throughput and p99, and the median of the per-round throughput ratios. Then 2,000
deliveries with 20 % replays must leave exactly the unique ones stored.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.management import call_command

from alt.lib.env import database_url_from_settings
from bench.common import OUT, ROOT, Row, percentile, report

WORKERS = 2  # gunicorn workers: one per core of this machine
# Threads per worker (gthread, as in the Dockerfile) or 1 for sync workers.
THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", 4))
CONCURRENCY = 4  # client connections in flight
ROUNDS = 8
PER_ROUND = 300
QUEUE = "alt-bench-webhooks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """gunicorn (WORKERS workers of THREADS threads) on the bench database, jobs to the bench's
    own queue."""
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url_from_settings(connection.settings_dict),
        "CELERY_QUEUE": QUEUE,
        "LOG_LEVEL": "ERROR",
        **(extra_env or {}),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    log = (OUT / "webhooks-gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "alt.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS),
         *(["--worker-class", "gthread", "--threads", str(THREADS)] if THREADS > 1
           else ["--worker-class", "sync"])],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if post(port, "/bench/bare/", b"{}", {})[0] == 200:
                return proc
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError((OUT / "webhooks-gunicorn.log").read_text(errors="replace"))
    proc.kill()
    raise RuntimeError("gunicorn did not answer in 60 s")


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **headers}
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, (time.perf_counter() - started) * 1000


def burst(
    port: int, requests: list[tuple[str, bytes, dict[str, str]]]
) -> tuple[float, list[float], list[int]]:
    """Send all requests over CONCURRENCY connections; returns (requests/s, latencies, statuses)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    queue = list(reversed(requests))

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                path, body, headers = queue.pop()
            status, ms = post(port, path, body, headers)
            with lock:
                latencies.append(ms)
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(requests) / (time.perf_counter() - started), latencies, statuses


def _deliveries(ids: list[str]) -> list[tuple[str, bytes, dict[str, str]]]:
    from tests.testapp.webhooks import signer

    sign: Callable[[bytes, str], dict[str, str]] = signer()
    out = []
    for event_id in ids:
        body = json.dumps(
            {"id": event_id, "text": "Hi, is 12 Oak St still available? ¿Precio?"}
        ).encode()
        out.append(("/webhooks/test/", body, sign(body, "")))
    return out


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """Stop a server or worker the bench started: politely, then for good (a Celery worker's warm
    shutdown waits for its running task, and must not cost the run its report)."""
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout_s)


def purge_queue() -> None:
    """Drop the bench queue's waiting tasks, and with them the pending drain's kick: a kick left
    behind holds every delivery's kick back for its lifetime, as a lost task message would, and
    the bench runs no sweeper to catch them (a faster endpoint stored a whole burst inside it)."""
    from django.core.cache import cache

    from alt.celery import app
    from integrations.webhooks import KICK_KEY

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
    cache.delete(KICK_KEY)


def throughput_rows(
    port: int,
    deliveries_for_round: Callable[[int], list[tuple[str, bytes, dict[str, str]]]],
    *,
    name: str,
    rounds: int = ROUNDS,
    per_round: int = PER_ROUND,
) -> list[Row]:
    """The bare view and a webhook endpoint on the same server, rounds alternating (a burst of
    `per_round` to each): each side's throughput and latency, and the median of the per-round
    throughput ratios against the goal (≥ 70 % of bare, p99 ≤ 50 ms). `deliveries_for_round(n)`
    gives round n's signed requests, unique per round."""
    bare_rps: list[float] = []
    hook_rps: list[float] = []
    bare_ms: list[float] = []
    hook_ms: list[float] = []
    bad: list[int] = []
    for n in range(rounds):
        rps, ms, statuses = burst(port, [("/bench/bare/", b"{}", {})] * per_round)
        bare_rps.append(rps)
        bare_ms += ms
        bad += [s for s in statuses if s != 200]
        rps, ms, statuses = burst(port, deliveries_for_round(n))
        hook_rps.append(rps)
        hook_ms += ms
        bad += [s for s in statuses if s != 200]
    ratio = statistics.median(h / b for h, b in zip(hook_rps, bare_rps, strict=True))
    hook_p99 = percentile(hook_ms, 99)
    return [
        Row(
            name="bare Django view (same server)",
            p50_ms=round(statistics.median(bare_ms), 2),
            p95_ms=round(percentile(bare_ms, 95), 2),
            runs=len(bare_ms),
            extra={
                "requests_per_s": round(statistics.median(bare_rps), 1),
                "p99_ms": round(percentile(bare_ms, 99), 2),
            },
        ),
        Row(
            name=name,
            p50_ms=round(statistics.median(hook_ms), 2),
            p95_ms=round(percentile(hook_ms, 95), 2),
            runs=len(hook_ms),
            target="≥ 70 % of bare, p99 ≤ 50 ms",
            ok=ratio >= 0.70 and hook_p99 <= 50 and not bad,
            extra={
                "requests_per_s": round(statistics.median(hook_rps), 1),
                "p99_ms": round(hook_p99, 2),
                "throughput_ratio_to_bare (median of rounds)": round(ratio, 3),
                "non_200_answers": len(bad),
            },
        ),
    ]


def run() -> None:
    from integrations.models import InboundEvent

    call_command("migrate", verbosity=0)
    InboundEvent.objects.filter(provider="testprovider").delete()
    port = free_port()
    server = start_server(port)
    try:
        rows = throughput_rows(
            port,
            lambda n: _deliveries([f"round{n}-{i}" for i in range(PER_ROUND)]),
            name="webhook endpoint (verify, store, enqueue)",
        )

        InboundEvent.objects.filter(provider="testprovider").delete()
        unique = [f"dup-{i}" for i in range(1600)]
        replays = unique[:400]
        _, _, statuses = burst(port, _deliveries(unique + replays))
        stored = InboundEvent.objects.filter(provider="testprovider").count()
    finally:
        stop(server)
        purge_queue()
        InboundEvent.objects.filter(provider="testprovider").delete()

    rows += [
        Row(
            name="2,000 deliveries, 20 % replayed",
            target="stored == unique (1,600)",
            ok=stored == len(unique) and all(s == 200 for s in statuses),
            extra={"stored": stored},
        ),
    ]
    meta = {
        "gunicorn_workers": WORKERS,
        "gunicorn_threads": THREADS,
        "client_connections": CONCURRENCY,
        "rounds": ROUNDS,
        "requests_per_round_each": PER_ROUND,
    }
    report("webhooks", rows, meta)


# --- one provider's webhook suite: what the Instagram and SMS benches share ----------------------
def wait_processed(provider: str, timeout_s: float = 900) -> bool:
    """True once no delivery of `provider` is left unprocessed (False after `timeout_s`)."""
    from integrations.models import InboundEvent

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not InboundEvent.objects.filter(provider=provider, status="received").exists():
            return True
        time.sleep(0.5)
    return False


def clear_channel(workspace: Any, *, provider: str, party_prefix: str) -> None:
    """Forget a webhook bench's deliveries, its threads (party ids starting with `party_prefix`)
    and the leads they made, so each part starts from the same data."""
    from contacts.models import Contact, Conversation
    from integrations.models import InboundEvent

    InboundEvent.objects.filter(provider=provider).delete()
    threads = Conversation.objects.for_workspace(workspace).filter(
        party_id__startswith=party_prefix
    )
    leads = list(threads.exclude(contact=None).values_list("contact_id", flat=True))
    threads.delete()
    Contact.objects.for_workspace(workspace).filter(id__in=leads).delete()


def webhook_suite(
    *,
    throughput: Callable[[int], list[Row]],
    with_worker: list[Callable[[int], Row]],
    clear: Callable[[], None],
    server_env: dict[str, str] | None = None,
    worker_graph_url: str = "http://127.0.0.1:9",
) -> list[Row]:
    """A webhook endpoint under gunicorn: `throughput(port)` first (nothing processes), then each
    of `with_worker(port)` with a real Celery worker draining what the server stored. Servers and
    workers are stopped and the data cleared whatever happens."""
    from django.conf import settings

    from bench.calendar import _start_worker

    clear()
    port = free_port()
    server = start_server(port, server_env)
    worker = None
    try:
        rows = throughput(port)
        purge_queue()
        clear()
        # The server enqueues on this module's queue: the worker must consume that one.
        settings.CELERY_TASK_DEFAULT_QUEUE = QUEUE
        worker = _start_worker(worker_graph_url)
        rows.extend(part(port) for part in with_worker)
    finally:
        stop(server)
        if worker is not None:
            stop(worker)
        purge_queue()
        clear()
    return rows
