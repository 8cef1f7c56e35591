"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.google import GoogleEmulator
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import Outbox, connect_through_views, workspace_of


@pytest.fixture
def connected(
    alice: User,
    alice_client: Client,
    google: GoogleEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> User:
    """Alice, her Google Calendar connected through the views, the connect jobs run and the
    emulator's request log cleared."""
    with django_capture_on_commit_callbacks(execute=True):
        connect_through_views(alice_client, google)
    outbox.drain()
    google.requests.clear()
    return alice


# --- Instagram publishing and insights: the emulator, and Alice's connected account ----------


def instagram_settings(base_url: str) -> dict[str, str]:
    return {
        "INSTAGRAM_APP_ID": InstagramEmulator.default_app_id,
        "INSTAGRAM_APP_SECRET": InstagramEmulator.default_app_secret,
        "INSTAGRAM_GRAPH_API_URL": f"{base_url}/",
        "INSTAGRAM_GRAPH_API_VERSION": "v23.0",
        "INSTAGRAM_HTTP_TIMEOUT_SECONDS": "5",
    }


@pytest.fixture(scope="session")
def ig_server() -> Iterator[InstagramEmulator]:
    emulator = InstagramEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def ig(ig_server: InstagramEmulator, settings: Any) -> InstagramEmulator:
    """The emulator, empty, with ALT's Instagram settings pointing at it."""
    ig_server.reset()
    for name, value in instagram_settings(ig_server.base_url).items():
        setattr(settings, name, value)
    settings.SITE_URL = "https://alt.example.com"
    return ig_server


@pytest.fixture
def ig_account(alice: User, ig: InstagramEmulator) -> InstagramAccount:
    """Alice's workspace connected to @sunset_realty, with a live long-lived token."""
    remote = ig.add_account("sunset_realty")
    token = ig.issue_token(remote)
    return InstagramAccount.objects.create(
        workspace=workspace_of(alice),
        connected_by=alice,
        ig_user_id=remote.ig_user_id,
        app_user_id=remote.app_user_id,
        username=remote.username,
        access_token=token.value,
        status=InstagramAccount.Status.CONNECTED,
        connected_at=timezone.now(),
    )
