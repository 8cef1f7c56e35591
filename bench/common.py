"""Shared plumbing for the benchmarks: a dedicated database, timing, the table and the JSON."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
# The dataset lives in its own database on the same server; BENCH_DATABASE names another one
# (several checkouts sharing a server each keep their own).
BENCH_DB = os.environ.get("BENCH_DATABASE", "alt_bench")


def use_bench_database() -> None:
    """Point DATABASE_URL at `alt_bench` (or BENCH_DATABASE) on the same server (created if missing), before Django starts."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + BENCH_DB))
    # Assigned, not defaulted: `make bench` runs under the devstack, whose process imported
    # `alt` (alt.celery sets DJANGO_SETTINGS_MODULE=alt.settings), and production settings
    # rightly refuse to start without SECRET_KEY.
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ.setdefault("LOG_LEVEL", "ERROR")


@dataclass
class Row:
    name: str
    p50_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    runs: int = 0
    target: str = ""
    ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def time_calls(fn: Callable[[], Any], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summarize(
    name: str, samples: list[float], queries: int | None, *, p95_target_ms: float, max_queries: int
) -> Row:
    p95 = percentile(samples, 95)
    ok = p95 <= p95_target_ms and (queries is None or queries <= max_queries)
    return Row(
        name=name,
        p50_ms=round(statistics.median(samples), 2),
        p95_ms=round(p95, 2),
        queries=queries,
        runs=len(samples),
        target=f"p95 ≤ {p95_target_ms:g} ms, ≤ {max_queries} queries",
        ok=ok,
    )


def report(suite: str, rows: list[Row], meta: dict[str, Any]) -> None:
    widths = (44, 9, 9, 8, 30, 5)
    header = ("measure", "p50 ms", "p95 ms", "queries", "target", "ok")
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(f"\n== {suite} ==")  # noqa: T201
    print(line)  # noqa: T201
    print("-" * len(line))  # noqa: T201
    for r in rows:
        cells = (
            r.name,
            "" if r.p50_ms is None else f"{r.p50_ms:.2f}",
            "" if r.p95_ms is None else f"{r.p95_ms:.2f}",
            "" if r.queries is None else str(r.queries),
            r.target,
            {True: "yes", False: "NO", None: ""}[r.ok],
        )
        print("  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))  # noqa: T201
        for key, value in r.extra.items():
            print(f"    {key}: {value}")  # noqa: T201
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{suite}.json"
    path.write_text(
        json.dumps({"suite": suite, "meta": meta, "rows": [asdict(r) for r in rows]}, indent=2)
    )
    print(f"written {path.relative_to(ROOT)}")  # noqa: T201
