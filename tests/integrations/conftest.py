"""Fixtures of the integration tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import User
from integrations.sandbox.google import GoogleEmulator
from tests.conftest import Outbox, connect_through_views


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
