"""Fixtures of the integration tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.google import GoogleEmulator
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import Outbox, connect_through_views, instagram_settings, workspace_of


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


@pytest.fixture
def ig(instagram_server: InstagramEmulator, settings: Any) -> InstagramEmulator:
    """The session's Instagram emulator, empty, with ALT's Instagram settings pointing at it."""
    instagram_server.reset()
    for name, value in instagram_settings(instagram_server.base_url).items():
        setattr(settings, name, value)
    settings.SITE_URL = "https://alt.example.com"
    return instagram_server


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
