"""Pages timed against a bare Django view, as paired ratios (issue 9).

A machine shared with other work is noisy, and an absolute figure from a quiet machine cannot be
compared with one from a busy one. So every page is timed right after the yardstick, in the same
process and through the same URLconf: a bare view with no middleware that runs one indexed query
and renders a 50-row template (bench/urls.py `bare_rows`, served by a second handler loaded with
MIDDLEWARE=[]). Each round times, for every page in turn, the bare view and then the page; the
page's ratio for that round is page / bare. Reported: the median of those per-round ratios, the
page's p50 and p95, and its query count (taken on two loads: a page whose count changes between
two loads is not "fixed").

A page is one line in a suite's list: `Page("pipeline board", "/pipeline/")`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext, override_settings

from bench.common import Row, percentile

MAX_RATIO = 3.0
P95_TARGET_MS = 30.0
MAX_QUERIES = 8


@dataclass(frozen=True)
class Page:
    name: str
    url: str


def _bare_client() -> Client:
    """A test client whose handler runs no middleware at all (no session, user or CSRF)."""
    client = Client()
    with override_settings(MIDDLEWARE=[]):
        handler = ClientHandler(enforce_csrf_checks=False)
        handler.load_middleware()
    client.handler = handler
    return client


def _timed(get: Callable[[], Any]) -> float:
    started = time.perf_counter()
    response = get()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}")
    return elapsed


def _queries(client: Client, url: str) -> list[int]:
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} for {url}")
        counts.append(len(ctx.captured_queries))
    return counts


def paired(
    client: Client,
    pages: list[Page],
    *,
    bare_url: str,
    rounds: int,
    warmup: int = 3,
    max_ratio: float = MAX_RATIO,
    p95_target_ms: float = P95_TARGET_MS,
    max_queries: int = MAX_QUERIES,
) -> list[Row]:
    """Rows for the bare view and each page: see the module docstring. `client` is signed in;
    the bare view gets a client of its own, without middleware."""
    with override_settings(ROOT_URLCONF="bench.urls"):
        bare = _bare_client()
        for _ in range(warmup):  # templates, content types and caches that are not per request
            bare.get(bare_url)
            for page in pages:
                client.get(page.url)
        bare_queries = _queries(bare, bare_url)
        failed: dict[str, str] = {}
        queries: dict[str, list[int]] = {}
        for page in pages:
            try:
                queries[page.name] = _queries(client, page.url)
            except RuntimeError as error:
                failed[page.name] = str(error)
        live = [p for p in pages if p.name not in failed]
        bare_ms: list[float] = []
        page_ms: dict[str, list[float]] = {p.name: [] for p in live}
        ratios: dict[str, list[float]] = {p.name: [] for p in live}
        for _ in range(rounds):
            for page in live:
                yardstick = _timed(lambda: bare.get(bare_url))
                ms = _timed(lambda page=page: client.get(page.url))  # type: ignore[misc]
                bare_ms.append(yardstick)
                page_ms[page.name].append(ms)
                ratios[page.name].append(ms / yardstick)

    rows = [
        Row(
            name="bare view (no middleware, 1 query, 50 rows)",
            p50_ms=round(statistics.median(bare_ms), 2) if bare_ms else None,
            p95_ms=round(percentile(bare_ms, 95), 2) if bare_ms else None,
            queries=bare_queries[-1],
            runs=len(bare_ms),
            target="the yardstick",
        )
    ]
    for page in pages:
        if page.name in failed:
            rows.append(Row(name=page.name, target=f"{failed[page.name]} for {page.url}", ok=False))
            continue
        samples, counts = page_ms[page.name], queries[page.name]
        ratio = statistics.median(ratios[page.name])
        p95 = percentile(samples, 95)
        fixed = len(set(counts)) == 1
        rows.append(
            Row(
                name=page.name,
                p50_ms=round(statistics.median(samples), 2),
                p95_ms=round(p95, 2),
                queries=counts[-1],
                runs=len(samples),
                target=f"≤ {max_ratio:g}x bare, p95 ≤ {p95_target_ms:g} ms, ≤ {max_queries} q",
                ok=ratio <= max_ratio
                and p95 <= p95_target_ms
                and fixed
                and counts[-1] <= max_queries,
                extra={
                    "ratio_to_bare (median of rounds)": round(ratio, 2),
                    "ratio_p95": round(percentile(ratios[page.name], 95), 2),
                    **({} if fixed else {"queries on two loads": counts}),
                },
            )
        )
    return rows
