"""Google Calendar sync under load, through a real Celery worker subprocess and a GoogleEmulator.

1. With 10 % of Calendar calls failing (429 or 500): 1,000 appointments are created, half of them
   edited (some twice, some right after creation, racing the insert), and 300 deleted (some right
   after creation or an edit). When the queue is quiet, the emulator's primary calendar must match
   ALT exactly: one event per live appointment with every ALT-owned field current, nothing for
   deleted ones, no duplicate, no orphan, no stale field, and no call beyond insert/patch/delete.
2. Without faults: the time from an appointment's commit to the insert (or patch) reaching Google,
   p95 ≤ 1 s.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.core.management import call_command
from django.db.models import Count

from alt.lib.env import database_url_from_settings
from bench.common import OUT, ROOT, Row, percentile, report

CREATES = int(os.environ.get("BENCH_CALENDAR_APPOINTMENTS", 1_000))
EDITS = CREATES // 2
DELETES = CREATES * 3 // 10
FAULT_RATE = 0.10
LATENCY_RUNS = int(os.environ.get("BENCH_CALENDAR_LATENCY_RUNS", 200))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_CALENDAR_WORKERS", 8))
CONVERGE_TIMEOUT_SECONDS = 600
EMAIL = "bench.calendar@example.com"


def _start_worker(google_url: str) -> subprocess.Popen[bytes]:
    from django.conf import settings
    from django.db import connection

    from tests.conftest import google_settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_from_settings(connection.settings_dict),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **google_settings(google_url),
        "LOG_LEVEL": "INFO",  # the worker announces "ready." at INFO
        "LOG_PLAIN": "1",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "calendar-worker.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alt", "worker", "-l", "info", "-c", str(WORKER_CONCURRENCY),
         "-P", "prefork", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if "ready." in log_path.read_text(errors="replace"):
                return proc
            if proc.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace"))
            time.sleep(0.2)
        raise RuntimeError("the celery worker did not become ready in 60 s")
    except BaseException:
        proc.kill()
        raise


def _setup(google: Any) -> tuple[Any, Any, Any]:
    """A fresh workspace whose agent connected Google Calendar through ALT's real OAuth code."""
    from alt.accounts.models import Membership, User, Workspace
    from contacts.pipeline.services import pipeline_create_defaults
    from contacts.services import ContactInput, contact_create
    from integrations.google_calendar import oauth
    from integrations.google_calendar.services import calendar_connect

    User.objects.filter(email=EMAIL).delete()
    user = User.objects.create_user(email=EMAIL, password=None, full_name="Bench Calendar")
    workspace = Workspace.objects.create(name="Calendar bench")
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    pipeline_create_defaults(workspace=workspace)
    contact = contact_create(
        workspace=workspace, actor=user, data=ContactInput(first_name="Bench", last_name="Buyer")
    )
    session: dict[str, Any] = {}
    url = oauth.authorization_url(session)
    callback = google.auto_approve(url, email=EMAIL)
    params = {k: v[-1] for k, v in parse_qs(urlsplit(callback).query).items()}
    calendar_connect(workspace=workspace, user=user, tokens=oauth.exchange(session, params))
    return workspace, user, contact


def _when(rng: random.Random) -> datetime:
    base = datetime(2031, 1, 1, 8, 0, tzinfo=UTC)
    return base + timedelta(days=rng.randrange(365), minutes=15 * rng.randrange(40))


def _load(
    workspace: Any, user: Any, contact: Any, rng: random.Random
) -> tuple[dict[str, int], set[int]]:
    from appointments.services import appointment_create, appointment_delete, appointment_update

    live: list[Any] = []
    deleted: set[int] = set()
    counts = {"creates": 0, "edits": 0, "deletes": 0, "racing": 0}
    edits_left, deletes_left = EDITS, DELETES
    for n in range(CREATES):
        start = _when(rng)
        appointment = appointment_create(
            workspace=workspace, actor=user, contact=contact, kind="tour", title=f"Tour {n}",
            starts_at=start, ends_at=start + timedelta(hours=1), location=f"{n} Oak St", notes=f"note {n}",
        )  # fmt: skip
        counts["creates"] += 1
        live.append(appointment)
        # Every few creates: an edit or a delete, often of the appointment just made (its insert
        # is still in flight), otherwise of an older one.
        if edits_left and rng.random() < EDITS / CREATES * 1.2:
            target = appointment if rng.random() < 0.3 else rng.choice(live)
            counts["racing"] += target is appointment
            start = _when(rng)
            appointment_update(
                appointment=target, actor=user, title=f"{target.title} (edited)", starts_at=start,
                ends_at=start + timedelta(minutes=45), location=f"{target.location} #2", notes=f"{target.notes}+",
            )  # fmt: skip
            counts["edits"] += 1
            edits_left -= 1
        if deletes_left and rng.random() < DELETES / CREATES * 1.2:
            target = appointment if rng.random() < 0.3 else rng.choice(live)
            counts["racing"] += target is appointment
            appointment_delete(appointment=target, actor=user)
            deleted.add(target.id)
            live.remove(target)
            counts["deletes"] += 1
            deletes_left -= 1
    for target in rng.sample(live, min(edits_left, len(live))):
        appointment_update(appointment=target, actor=user, title=f"{target.title} (late edit)")
        counts["edits"] += 1
    for target in rng.sample(live, min(deletes_left, len(live))):
        appointment_delete(appointment=target, actor=user)
        deleted.add(target.id)
        counts["deletes"] += 1
    return counts, deleted


def _converged(workspace: Any) -> bool:
    from appointments.models import Appointment

    rows = Appointment.objects.for_workspace(workspace)
    return (
        not rows.filter(deleted_at__isnull=False).exists()
        and not rows.exclude(sync_state=Appointment.Sync.SYNCED).exists()
    )


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def _check(workspace: Any, google: Any, deleted_ids: set[int]) -> dict[str, Any]:
    """Compare ALT with the emulator's calendar, field by field."""
    from appointments.models import Appointment

    appointments = {a.id: a for a in Appointment.objects.for_workspace(workspace)}
    events = google.events_for(EMAIL)
    confirmed = [e for e in events if e["status"] != "cancelled"]
    by_appointment: dict[int, list[dict[str, Any]]] = {}
    for event in confirmed:
        key = int(event["extendedProperties"]["private"]["altAppointmentId"])
        by_appointment.setdefault(key, []).append(event)
    duplicates = sum(len(v) - 1 for v in by_appointment.values() if len(v) > 1)
    orphans = [k for k in by_appointment if k not in appointments]
    missing = [k for k in appointments if k not in by_appointment]
    stale = []
    for key, appointment in appointments.items():
        found = by_appointment.get(key) or []
        if len(found) != 1:
            continue
        event = found[0]
        expected = (appointment.title, appointment.notes, appointment.location, appointment.starts_at, appointment.ends_at, appointment.google_event_id)  # fmt: skip
        actual = (event.get("summary"), event.get("description"), event.get("location"), _parse(event["start"]["dateTime"]), _parse(event["end"]["dateTime"]), event["id"])  # fmt: skip
        if expected != actual:
            stale.append(key)
    return {
        "live appointments": len(appointments),
        "confirmed events": len(confirmed),
        "events ever created": len(events),
        "deleted appointments still on the calendar": len(set(by_appointment) & deleted_ids),
        "duplicates": duplicates,
        "orphans": len(orphans),
        "missing": len(missing),
        "stale": len(stale),
        "calls beyond insert/patch/delete (GC-5)": len(google.calendar_calls_beyond_sync()),
    }


def _latency(
    workspace: Any, user: Any, contact: Any, google: Any, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Commit -> request at Google, for inserts and then patches, one appointment at a time."""
    from appointments.models import Appointment
    from appointments.services import appointment_create, appointment_update
    from integrations.google_calendar.push import event_id_for

    inserts: list[float] = []
    patches: list[float] = []
    for n in range(LATENCY_RUNS):
        start = _when(rng)
        began = time.time()  # before the transaction: an upper bound of commit -> Google
        appointment = appointment_create(
            workspace=workspace, actor=user, contact=contact, kind="call", title=f"Latency {n}",
            starts_at=start, ends_at=start + timedelta(minutes=30),
        )  # fmt: skip
        inserts.append(
            _arrival(google, "POST", event_id_for(appointment), began, body_id=True) - began
        )
        _wait(
            lambda a=appointment: (
                Appointment.objects.for_workspace(workspace).get(id=a.id).sync_state == "synced"
            )
        )
        began = time.time()
        appointment_update(appointment=appointment, actor=user, title=f"Latency {n} (moved)")
        patches.append(_arrival(google, "PATCH", event_id_for(appointment), began) - began)
        time.sleep(0.01)
    return [s * 1000 for s in inserts], [s * 1000 for s in patches]


def _arrival(
    google: Any, method: str, event_id: str, since: float, *, body_id: bool = False
) -> float:
    deadline = time.time() + 30
    while time.time() < deadline:
        with google.lock:
            for request in reversed(google.requests):
                if request.method != method or request.at < since:
                    continue
                if (body_id and request.json().get("id") == event_id) or request.path.endswith(
                    "/" + event_id
                ):
                    return float(request.at)
        time.sleep(0.002)
    raise RuntimeError(f"{method} for {event_id} never reached Google")


def _wait(predicate: Any, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise RuntimeError("condition not met")


def run() -> None:
    from appointments.models import Appointment
    from integrations.sandbox.google import BACKEND_ERROR_500, RATE_LIMIT_429, GoogleEmulator

    call_command("migrate", verbosity=0)
    rng = random.Random(20260501)  # noqa: S311 (a reproducible workload, not a secret)
    google = GoogleEmulator(seed=7).start()
    from django.conf import settings

    from tests.conftest import google_settings

    for name, value in google_settings(google.base_url).items():
        setattr(settings, name, value)
    worker = _start_worker(google.base_url)
    rows: list[Row] = []
    try:
        workspace, user, contact = _setup(google)

        # -- 1. correctness under faults --------------------------------------------------------
        google.fault_rate(
            FAULT_RATE, [RATE_LIMIT_429, BACKEND_ERROR_500], when=google.calendar_request
        )
        injected: list[int] = []
        pick_fault = google._injected_fault

        def counting_fault(request: Any) -> Any:
            response = pick_fault(request)
            if response is not None:
                injected.append(response.status)
            return response

        google._injected_fault = counting_fault  # type: ignore[method-assign]
        began = time.monotonic()
        counts, deleted_ids = _load(workspace, user, contact, rng)
        load_seconds = time.monotonic() - began
        deadline = time.monotonic() + CONVERGE_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not _converged(workspace):
            time.sleep(0.5)
        converge_seconds = time.monotonic() - began
        states = dict(
            Appointment.objects.for_workspace(workspace)
            .order_by()
            .values_list("sync_state")
            .annotate(n=Count("id"))
        )
        check = _check(workspace, google, deleted_ids)
        calendar_calls = len([r for r in google.requests if google.calendar_request(r)])
        exact = (
            _converged(workspace)
            and check["duplicates"] == check["orphans"] == check["missing"] == check["stale"] == 0
            and check["calls beyond insert/patch/delete (GC-5)"] == 0
            and check["confirmed events"] == check["live appointments"]
            and check["deleted appointments still on the calendar"] == 0
        )
        rows.append(
            Row(
                name=f"{counts['creates']} creates, {counts['edits']} edits, {counts['deletes']} deletes, 10% faults",
                runs=counts["creates"] + counts["edits"] + counts["deletes"],
                target="calendar == ALT exactly",
                ok=exact,
                extra={
                    **check,
                    "changes racing their own unfinished push": counts["racing"],
                    "calendar calls (incl. retries)": calendar_calls,
                    "faults injected (429 / 500)": f"{injected.count(429)} / {injected.count(500)}",
                    "sync states after": states,
                    "load seconds": round(load_seconds, 1),
                    "seconds until quiet": round(converge_seconds, 1),
                },
            )
        )

        # -- 2. latency without faults ----------------------------------------------------------
        with google.lock:
            google.faults.clear()
        inserts, patches = _latency(workspace, user, contact, google, rng)
        for name, samples in (
            ("commit -> Google insert, no faults", inserts),
            ("commit -> Google patch, no faults", patches),
        ):
            p95 = percentile(samples, 95)
            rows.append(
                Row(
                    name=name,
                    p50_ms=round(percentile(samples, 50), 2),
                    p95_ms=round(p95, 2),
                    runs=len(samples),
                    target="p95 ≤ 1000 ms",
                    ok=p95 <= 1000,
                )
            )
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        google.stop()
    report(
        "calendar",
        rows,
        {
            "appointments": CREATES,
            "fault_rate": FAULT_RATE,
            "worker_concurrency": WORKER_CONCURRENCY,
            "latency_runs": LATENCY_RUNS,
        },
    )
