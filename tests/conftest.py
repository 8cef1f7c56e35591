"""Fixtures every test can use: personas and Alice's workspace, emulators, Celery jobs held
in-process or run by a real worker, and no network. Also the Google Calendar helpers that the
accounts, appointments and integrations tests share (connect through the views, book, look up)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from celery.app.task import Task
from django.test import Client, TestCase

from alt.accounts.models import User, Workspace
from alt.lib.env import database_url_from_settings
from appointments.models import Appointment
from contacts.models import Contact
from contacts.pipeline.services import pipeline_create_defaults
from integrations.google_calendar.models import CalendarConnection
from integrations.sandbox.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleEmulator
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.resend import ResendEmulator
from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.models import TwilioAccount
from tests.factories import (
    MembershipFactory,
    UserFactory,
    WorkspaceFactory,
    create_appointment,
    create_contact,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "var" / "test-artifacts"

# --- no network: only loopback and unix sockets -------------------------------------------------
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_LOOPBACK = ("127.", "::1", "localhost", "0:0:0:0:0:0:0:1")


def _guard(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if not host.startswith(_LOOPBACK):
            raise ConnectionRefusedError(f"tests may not reach the network ({host})")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _guard(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _guard(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]


# --- personas -----------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    """Every test starts with an empty cache: allauth's rate limits (every test request comes from
    127.0.0.1), import progress and the calendar banner flag are keyed by ids a later test reuses.
    Only this run's keys go (KEY_PREFIX is per process); the broker's keys are left alone."""
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    keys = list(client.scan_iter(f"{settings.CACHES['default']['KEY_PREFIX']}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def alice(db: None) -> Any:
    """An agent who owns her workspace."""
    return MembershipFactory(
        user__email="alice@example.com",
        user__full_name="Alice Agent",
        workspace__name="Alice Realty",
    ).user


@pytest.fixture
def bob(alice: Any) -> Any:
    """Alice's teammate, an agent in her workspace."""
    user = UserFactory(email="bob@example.com", full_name="Bob Teammate")
    MembershipFactory(user=user, workspace=alice.memberships.get().workspace, role="agent")
    return user


@pytest.fixture
def charlie(db: None) -> Any:
    """An agent of another workspace, who must never see Alice's data."""
    return MembershipFactory(
        user__email="charlie@example.com",
        user__full_name="Charlie Other",
        workspace__name="Charlie Homes",
    ).user


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice: Any) -> Client:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob: Any) -> Client:
    return _client_for(bob)


@pytest.fixture
def charlie_client(charlie: Any) -> Client:
    return _client_for(charlie)


def workspace_of(user: User) -> Workspace:
    """The one workspace `user` belongs to."""
    return user.memberships.get().workspace


@pytest.fixture(name="workspace_of")
def workspace_of_fixture() -> Callable[[User], Workspace]:
    return workspace_of


@pytest.fixture
def new_workspace(db: None) -> Any:
    return WorkspaceFactory


# --- Alice's workspace and her lead Maria -------------------------------------------------------
@pytest.fixture
def ws_with_stages(alice: User) -> Workspace:
    """Alice's workspace with the default pipeline stages, as sign-up leaves it."""
    workspace = workspace_of(alice)
    pipeline_create_defaults(workspace=workspace)
    return workspace


@pytest.fixture
def maria(ws_with_stages: Workspace, alice: User) -> Contact:
    """Alice's lead Maria Lopez, name only (a module that needs more of her overrides this)."""
    return create_contact(
        workspace=ws_with_stages, actor=alice, first_name="Maria", last_name="Lopez"
    )


# --- emulators ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def resend_server() -> Iterator[ResendEmulator]:
    emulator = ResendEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def resend(resend_server: ResendEmulator, settings: Any) -> ResendEmulator:
    """Mail goes through the real Resend backend and SDK to the emulator."""
    resend_server.reset()
    settings.EMAIL_BACKEND = "integrations.resend_email.backend.ResendEmailBackend"
    settings.RESEND_API_KEY = "re_test_key_123"
    settings.RESEND_API_URL = resend_server.base_url
    return resend_server


def google_settings(base_url: str) -> dict[str, str]:
    """The GOOGLE_* settings that point ALT at a GoogleEmulator."""
    return {
        "GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "GOOGLE_OAUTH_AUTH_URL": f"{base_url}/o/oauth2/auth",
        "GOOGLE_OAUTH_TOKEN_URL": f"{base_url}/token",
        "GOOGLE_OAUTH_REVOKE_URL": f"{base_url}/revoke",
        "GOOGLE_CALENDAR_API_URL": f"{base_url}/calendar/v3/",
    }


@pytest.fixture(scope="session")
def google_server() -> Iterator[GoogleEmulator]:
    """One Google emulator for the session (the worker subprocess is pointed at it too).

    GC-5, session-wide: every Calendar request that is not an events insert/patch/delete on
    "primary" (event get, events list, calendarList, another calendar) is collected before each
    reset, and the session fails if there was any.
    """
    emulator = GoogleEmulator()
    emulator.start()
    violations: list[str] = []
    reset = emulator.reset

    def reset_keeping_watch() -> None:
        violations.extend(f"{r.method} {r.path}" for r in emulator.calendar_calls_beyond_sync())
        reset()

    emulator.reset = reset_keeping_watch  # type: ignore[method-assign]
    yield emulator
    emulator.reset()
    emulator.stop()
    assert violations == [], (
        f"GC-5: ALT made calendar calls beyond insert/patch/delete: {violations}"
    )


@pytest.fixture
def google(google_server: GoogleEmulator, settings: Any) -> Iterator[GoogleEmulator]:
    """ALT's Google settings point at the emulator, which starts the test empty."""
    google_server.reset()
    for name, value in google_settings(google_server.base_url).items():
        setattr(settings, name, value)
    yield google_server
    assert google_server.calendar_calls_beyond_sync() == []  # GC-5, checked after every test


# The sandbox app's secret signs deliveries and callbacks in tests, as Meta's app secret would.
IG_APP_SECRET = InstagramEmulator.default_app_secret
IG_VERIFY_TOKEN = InstagramEmulator.default_verify_token


def instagram_settings(base_url: str, site_url: str = "http://testserver") -> dict[str, str]:
    """The INSTAGRAM_* settings that point ALT (and the test worker) at an InstagramEmulator
    (the sandbox app)."""
    return {
        **InstagramEmulator.sandbox_settings(base_url, {}),
        "META_APP_SECRET": "",
        "INSTAGRAM_OAUTH_REDIRECT_URL": f"{site_url}/settings/social/instagram/callback/",
        "INSTAGRAM_GRAPH_API_VERSION": "v23.0",
        "INSTAGRAM_HTTP_TIMEOUT_SECONDS": "5",
    }


@pytest.fixture(scope="session")
def instagram_server() -> Iterator[InstagramEmulator]:
    """One Instagram emulator for the session (the worker subprocess is pointed at it too)."""
    emulator = InstagramEmulator()
    emulator.app_secret = IG_APP_SECRET
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def instagram(instagram_server: InstagramEmulator, settings: Any) -> InstagramEmulator:
    """ALT's Instagram settings point at the emulator, which starts the test empty."""
    instagram_server.reset()
    for name, value in instagram_settings(instagram_server.base_url).items():
        setattr(settings, name, value)
    return instagram_server


# --- Twilio SMS: the emulator, and Alice's workspace texting from the sandbox's number ----------
def twilio_env(base_url: str) -> dict[str, str]:
    """The TWILIO_* environment that points ALT (and the test worker) at a TwilioEmulator."""
    return {
        **TwilioEmulator.sandbox_settings(base_url, {}),
        "TWILIO_PUBLIC_BASE_URL": "http://testserver",
        "TWILIO_HTTP_TIMEOUT_SECONDS": "5",
        "TWILIO_MEDIA_HOSTS": "127.0.0.1",
    }


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[TwilioEmulator]:
    """One Twilio emulator for the session (the worker subprocess is pointed at it too)."""
    emulator = TwilioEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def twilio(twilio_server: TwilioEmulator, settings: Any) -> TwilioEmulator:
    """ALT's Twilio settings point at the emulator, which starts the test empty (but for the
    sandbox account and its number)."""
    twilio_server.reset()
    for name, value in twilio_env(twilio_server.base_url).items():
        setattr(settings, name, value)
    settings.TWILIO_HTTP_TIMEOUT_SECONDS = 5
    settings.TWILIO_MEDIA_HOSTS = ["127.0.0.1"]
    return twilio_server


@pytest.fixture
def sms_account(alice: User, twilio: TwilioEmulator) -> TwilioAccount:
    """Alice's workspace texting from the emulator's sandbox number, tested and working."""
    return TwilioAccount.objects.create(
        workspace=workspace_of(alice),
        connected_by=alice,
        account_sid=TwilioEmulator.default_account_sid,
        auth_token=TwilioEmulator.default_auth_token,
        from_number=TwilioEmulator.default_number,
        status=TwilioAccount.Status.WORKING,
    )


# --- Google Calendar: jobs held in-process, connecting, booking ---------------------------------
START = datetime(2030, 5, 2, 17, 0, tzinfo=UTC)


@dataclass
class Outbox:
    """Celery jobs sent during a test, held here instead of going to the broker."""

    sent: list[tuple[Task, tuple[Any, ...]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [task.name.rsplit(".", 1)[-1] for task, _args in self.sent]

    def drain(self, limit: int = 500) -> int:
        """Run every sent job (and the jobs they send) in this process; returns how many ran.

        A job's retry runs at once (Celery's apply() is eager), so injected faults are retried
        without the backoff waits.
        """
        ran = 0
        while self.sent:
            task, args = self.sent.pop(0)
            # A job's own on-commit sends (e.g. the reconnect email) land in this outbox too.
            with TestCase.captureOnCommitCallbacks(execute=True):
                task.apply(args=args)
            ran += 1
            assert ran < limit, "jobs keep sending jobs"
        return ran

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Outbox:
    """Celery jobs are held in an Outbox instead of being sent (no global eager mode)."""
    box = Outbox()

    def record(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        box.sent.append((self, tuple(args or ())))

    monkeypatch.setattr(Task, "apply_async", record)
    return box


def new_contact(user: User, first_name: str = "Maria") -> Contact:
    return create_contact(
        workspace=workspace_of(user),
        actor=user,
        first_name=first_name,
        last_name="Buyer",
        emails=[f"{first_name.lower()}@example.com"],
    )


def book(
    user: User, contact: Contact, title: str = "Tour of 12 Oak St", **changes: Any
) -> Appointment:
    fields: dict[str, Any] = {
        "kind": Appointment.Kind.TOUR,
        "title": title,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "location": "12 Oak St, Springfield",
        "notes": "Bring the disclosure packet",
    } | changes
    return create_appointment(workspace=workspace_of(user), actor=user, contact=contact, **fields)


def connect_through_views(
    client: Client, google: GoogleEmulator, *, email: str | None = None
) -> Any:
    """Connect -> Google consent (approved by the emulator) -> callback, like a browser."""
    start = client.post("/settings/calendar/connect/")
    assert start.status_code == 302, start
    redirect = google.auto_approve(start["Location"], email=email)
    parts = urlsplit(redirect)
    return client.get(f"{parts.path}?{parts.query}")


def connection_of(user: User) -> CalendarConnection | None:
    return CalendarConnection.objects.for_workspace(workspace_of(user)).filter(user=user).first()


def reload(appointment: Appointment) -> Appointment | None:
    return (
        Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).first()
    )


def live_events(google: GoogleEmulator, email: str) -> list[dict[str, Any]]:
    return [e for e in google.events_for(email) if e["status"] != "cancelled"]


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


# --- a real Celery worker -----------------------------------------------------------------------
@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None,
    django_db_blocker: Any,
    resend_server: ResendEmulator,
    google_server: GoogleEmulator,
    instagram_server: InstagramEmulator,
    twilio_server: TwilioEmulator,
) -> Iterator[subprocess.Popen[bytes]]:
    """A `celery worker` subprocess on the test database and this session's private queue."""
    from django.conf import settings
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_from_settings(connection.settings_dict),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "EMAIL_BACKEND": "integrations.resend_email.backend.ResendEmailBackend",
        "RESEND_API_KEY": "re_test_key_123",
        "RESEND_API_URL": resend_server.base_url,
        **google_settings(google_server.base_url),
        **instagram_settings(instagram_server.base_url),
        **twilio_env(twilio_server.base_url),
        "LOG_PLAIN": "1",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "celery-worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alt", "worker", "-l", "info", "-c", "2", "-P", "prefork",
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = (ARTIFACTS / "celery-worker.log").read_text(errors="replace")
        if "ready." in text:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{text}")
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("celery worker did not become ready in 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def celery_worker(
    celery_worker_process: subprocess.Popen[bytes], transactional_db: None, resend: ResendEmulator
) -> subprocess.Popen[bytes]:
    """Use with tests whose rows must be committed so the worker can see them."""
    return celery_worker_process


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")
