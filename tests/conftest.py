"""Fixtures every test can use: personas, emulators, a real Celery worker, and no network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from django.test import Client

from integrations.sandbox.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleEmulator
from integrations.sandbox.resend import ResendEmulator
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

ROOT = Path(__file__).resolve().parent.parent
# The `outbox` fixture (Celery jobs held in-process) for the calendar sync tests.
pytest_plugins = ["tests.integrations.google_calendar_support"]
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


@pytest.fixture
def workspace_of() -> Any:
    return lambda user: user.memberships.get().workspace


@pytest.fixture
def new_workspace(db: None) -> Any:
    return WorkspaceFactory


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


# --- a real Celery worker -----------------------------------------------------------------------
def _database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(settings_dict["USER"] or "")
    password = quote(settings_dict["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict["HOST"] or ""
    port = settings_dict["PORT"] or ""
    if host.startswith("/"):
        return f"postgresql://{auth}/{settings_dict['NAME']}?host={host}"
    return f"postgresql://{auth}{host}{':' + str(port) if port else ''}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None,
    django_db_blocker: Any,
    resend_server: ResendEmulator,
    google_server: GoogleEmulator,
) -> Iterator[subprocess.Popen[bytes]]:
    """A `celery worker` subprocess on the test database and this session's private queue."""
    from django.conf import settings
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "EMAIL_BACKEND": "integrations.resend_email.backend.ResendEmailBackend",
        "RESEND_API_KEY": "re_test_key_123",
        "RESEND_API_URL": resend_server.base_url,
        **google_settings(google_server.base_url),
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
