"""Instagram webhook ingestion (issue 10, "Performance"), on bench/webhooks.py's harness.

1. Throughput: rounds alternate a burst of POSTs to a bare view and the same number of signed
   Instagram deliveries (one DM each, Meta's escaping) to /webhooks/instagram/ on the same
   gunicorn: verify, check the account is connected, store, enqueue. Each side's throughput and
   p99, and the median of the per-round ratios (goal ≥ 70 % of bare, p99 ≤ 50 ms).
2. Exactness: BENCH_IG_DELIVERIES (10,000) deliveries of which 20 % are duplicates, half of them
   byte-identical retries (deduplicated on arrival by the body digest), half the same message
   re-batched with other bytes (deduplicated in processing by its mid); every stored delivery is
   then processed here, through the real ingest with the emulator answering profile lookups.
   The messages stored must be exactly the unique ones.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from bench.common import Row, percentile, report
from bench.webhooks import ROUNDS, burst, free_port, purge_queue, start_server

SECRET = "bench-instagram-app-secret"  # noqa: S105 (the bench signs its own deliveries)
IG_ID = "17841400000000001"
WORKSPACE = "Instagram bench"
PER_ROUND = int(os.environ.get("BENCH_IG_PER_ROUND", "300"))
DELIVERIES = int(os.environ.get("BENCH_IG_DELIVERIES", "10000"))
PARTIES = 300

Request = tuple[str, bytes, dict[str, str]]


def _setup(emulator: Any) -> Any:
    """A fresh bench workspace with a connected account (the previous run's is deleted)."""
    from alt.accounts.models import Workspace
    from contacts.pipeline.services import pipeline_create_defaults
    from integrations.instagram.models import InstagramAccount

    for old in Workspace.objects.filter(name=WORKSPACE):
        _drop(old)
    workspace = Workspace.objects.create(name=WORKSPACE)
    pipeline_create_defaults(workspace=workspace)
    token = emulator.issue_token(emulator.add_account("bench_realty", ig_user_id=IG_ID))
    return InstagramAccount.objects.create(
        workspace=workspace,
        ig_user_id=IG_ID,
        username="bench_realty",
        access_token=token.value,
        status=InstagramAccount.Status.CONNECTED,
        connected_at=timezone.now(),
    )


def _drop(workspace: Any) -> None:
    from contacts.models import Contact

    Contact.objects.for_workspace(workspace).delete()  # their stage is protected, not cascaded
    workspace.delete()


def _signed(payload: dict[str, Any]) -> Request:
    from integrations.sandbox.webhooks import meta_body, meta_signer

    body = meta_body(payload)
    return ("/webhooks/instagram/", body, meta_signer(SECRET)(body, ""))


def _dm(party: str, mid: str, text: str, stamp_ms: int) -> dict[str, Any]:
    from integrations.sandbox.instagram import deliveries as d

    item = d.message(IG_ID, party, text, mid=mid, timestamp=stamp_ms)
    return d.delivery(d.entry(IG_ID, messaging=[item], time_s=stamp_ms // 1000))


def _exactness_requests(parties: list[str]) -> tuple[list[Request], int]:
    """DELIVERIES requests, 20 % duplicates (half identical bytes, half re-batched); returns them
    shuffled with the number of unique messages."""
    rng = random.Random(10)  # noqa: S311 (a reproducible mix, not a secret)
    unique = DELIVERIES - DELIVERIES // 5
    now_ms = int(time.time() * 1000) - 3_600_000
    originals = []
    for i in range(unique):
        payload = _dm(
            rng.choice(parties),
            f"bench-mid-{i}",
            f"Is listing {i} available? ¿Precio? 🏡",
            now_ms + i,
        )
        originals.append(payload)
    requests = [_signed(p) for p in originals]
    for n in range(DELIVERIES - unique):
        original = rng.choice(originals)
        if n % 2 == 0:
            requests.append(_signed(original))  # Meta's retry: the same bytes
        else:
            again = _dm(
                original["entry"][0]["messaging"][0]["sender"]["id"],
                original["entry"][0]["messaging"][0]["message"]["mid"],
                original["entry"][0]["messaging"][0]["message"]["text"],
                original["entry"][0]["messaging"][0]["timestamp"],
            )
            again["entry"][0]["time"] += 1  # re-batched later: other bytes, the same mid
            requests.append(_signed(again))
    rng.shuffle(requests)
    return requests, unique


def run() -> None:
    from contacts.models import Message
    from integrations import webhooks
    from integrations.models import InboundEvent
    from integrations.sandbox.instagram import InstagramEmulator

    call_command("migrate", verbosity=0)
    InboundEvent.objects.filter(provider="instagram").delete()
    emulator = InstagramEmulator().start()
    settings.INSTAGRAM_GRAPH_API_URL = emulator.base_url + "/"
    settings.INSTAGRAM_APP_SECRET = SECRET
    account = _setup(emulator)
    parties = [
        emulator.add_profile(f"bench.person.{i}", f"Bench Person{i}").igsid for i in range(PARTIES)
    ]
    for party in parties:
        emulator.customer_messaged(IG_ID, party)
    port = free_port()
    server = start_server(
        port,
        {
            "INSTAGRAM_APP_SECRET": SECRET,
            "INSTAGRAM_GRAPH_API_URL": emulator.base_url + "/",
        },
    )
    try:
        bare_rps: list[float] = []
        hook_rps: list[float] = []
        bare_ms: list[float] = []
        hook_ms: list[float] = []
        bad: list[int] = []
        stamp = int(time.time() * 1000) - 7_200_000
        for n in range(ROUNDS):
            rps, ms, statuses = burst(port, [("/bench/bare/", b"{}", {})] * PER_ROUND)
            bare_rps.append(rps)
            bare_ms += ms
            bad += [s for s in statuses if s != 200]
            deliveries = [
                _signed(
                    _dm(
                        parties[i % PARTIES],
                        f"tp-{n}-{i}",
                        "Hi, is this available? ¿Sí?",
                        stamp + i,
                    )
                )
                for i in range(PER_ROUND)
            ]
            rps, ms, statuses = burst(port, deliveries)
            hook_rps.append(rps)
            hook_ms += ms
            bad += [s for s in statuses if s != 200]
        ratio = statistics.median(h / b for h, b in zip(hook_rps, bare_rps, strict=True))

        purge_queue()
        InboundEvent.objects.filter(provider="instagram").delete()
        requests, unique = _exactness_requests(parties)
        post_rps, _, statuses = burst(port, requests)
        stored = InboundEvent.objects.filter(provider="instagram").count()
    finally:
        server.terminate()
        server.wait(20)
        purge_queue()

    started = time.perf_counter()
    event_ids = list(
        InboundEvent.objects.filter(provider="instagram", status="received")
        .order_by("id")
        .values_list("id", flat=True)
    )
    for event_id in event_ids:
        webhooks.inbound_event_process(event_id=event_id)
    processing_s = time.perf_counter() - started
    messages = Message.objects.for_workspace(account.workspace).count()
    failed = InboundEvent.objects.filter(provider="instagram", status="failed").count()
    InboundEvent.objects.filter(provider="instagram").delete()
    _drop(account.workspace)
    emulator.stop()

    hook_p99 = percentile(hook_ms, 99)
    rows = [
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
            name="/webhooks/instagram/ (verify, store, enqueue)",
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
        Row(
            name=f"{DELIVERIES:,} deliveries, 20 % duplicates",
            target=f"messages == unique ({unique:,})",
            ok=messages == unique and failed == 0 and all(s == 200 for s in statuses),
            extra={
                "stored_deliveries": stored,
                "messages": messages,
                "failed_deliveries": failed,
                "post_requests_per_s": round(post_rps, 1),
                "processed_deliveries_per_s (one process)": round(len(event_ids) / processing_s, 1),
            },
        ),
    ]
    meta = {
        "rounds": ROUNDS,
        "requests_per_round_each": PER_ROUND,
        "deliveries": DELIVERIES,
        "parties": PARTIES,
    }
    report("instagram", rows, meta)
