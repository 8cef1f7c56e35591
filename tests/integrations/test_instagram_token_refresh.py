"""The beat job that keeps Instagram's 60-day tokens alive, and what happens when Meta refuses one:
needs reconnect, a banner for the workspace's members and one email."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from integrations.instagram.models import InstagramAccount
from integrations.instagram.services import (
    instagram_needs_reconnect,
    instagram_tokens_refresh_claim,
)
from integrations.instagram.tasks import instagram_tokens_refresh
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import Outbox, workspace_of
from tests.integrations.test_instagram_connect import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(
    alice: User,
    alice_client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> InstagramAccount:
    with django_capture_on_commit_callbacks(execute=True):
        connect(alice_client, instagram)
    outbox.drain()
    instagram.requests.clear()
    return InstagramAccount.objects.for_workspace(workspace_of(alice)).get()


@pytest.fixture
def later() -> Iterator[Any]:
    """A clock moved forward on demand (ALT and the emulator share it)."""
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        yield traveller


def refresh_run(outbox: Outbox, capture: Any) -> None:
    with capture(execute=True):
        instagram_tokens_refresh.apply()
    outbox.drain()


def reload(account: InstagramAccount) -> InstagramAccount:
    return InstagramAccount.objects.for_workspace(account.workspace).get(id=account.id)


def test_a_fresh_token_is_left_alone(
    account: InstagramAccount, instagram: InstagramEmulator, later: Any
) -> None:
    later.shift(timedelta(days=3))

    assert instagram_tokens_refresh_claim() == []


def test_fifty_days_later_the_token_is_refreshed_and_stored_encrypted(
    account: InstagramAccount,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    later: Any,
) -> None:
    old_token, old_expiry = str(account.access_token), account.token_expires_at
    later.shift(timedelta(days=50))

    refresh_run(outbox, django_capture_on_commit_callbacks)

    fresh = reload(account)
    assert len(instagram.requests_to("GET", r"^/refresh_access_token$")) == 1
    assert fresh.status == InstagramAccount.Status.CONNECTED
    assert str(fresh.access_token) != old_token
    assert str(fresh.access_token) in instagram.tokens
    assert old_expiry is not None
    assert fresh.token_expires_at is not None
    assert fresh.token_expires_at > old_expiry + timedelta(days=45)
    assert fresh.refresh_claimed_until is None
    # Refreshed now: not due again for a week.
    assert instagram_tokens_refresh_claim() == []


def test_an_account_is_claimed_once_so_two_workers_never_refresh_it_together(
    account: InstagramAccount, later: Any
) -> None:
    later.shift(timedelta(days=8))

    first = instagram_tokens_refresh_claim()
    second = instagram_tokens_refresh_claim()

    assert first == [(account.workspace_id, account.id)]
    assert second == []
    later.shift(timedelta(minutes=11))  # a worker that died holding the lease: it runs out
    assert instagram_tokens_refresh_claim() == [(account.workspace_id, account.id)]


@pytest.mark.promise("IG-2")
def test_error_190_marks_needs_reconnect_with_one_email_and_a_banner_for_members(
    account: InstagramAccount,
    bob: User,
    bob_client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    later: Any,
) -> None:
    instagram.revoke_tokens(account.ig_user_id)
    later.shift(timedelta(days=50))

    refresh_run(outbox, django_capture_on_commit_callbacks)
    later.shift(timedelta(days=1))
    refresh_run(outbox, django_capture_on_commit_callbacks)

    broken = reload(account)
    assert broken.status == InstagramAccount.Status.NEEDS_RECONNECT
    assert "not authorized" in broken.last_error
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "Reconnect Instagram" in mail.outbox[0].subject
    assert "/settings/social/" in mail.outbox[0].body
    page = bob_client.get("/contacts/").content.decode()
    assert "Instagram stopped accepting ALT's access" in page
    assert "Needs reconnect" in bob_client.get("/settings/").content.decode()


def test_an_expired_token_needs_reconnecting_without_asking_meta(
    account: InstagramAccount,
    alice_client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    later: Any,
) -> None:
    later.shift(timedelta(days=61))

    refresh_run(outbox, django_capture_on_commit_callbacks)

    assert reload(account).status == InstagramAccount.Status.NEEDS_RECONNECT
    assert instagram.requests_to("GET", r"refresh_access_token") == []
    assert len(mail.outbox) == 1


def test_a_transient_failure_keeps_the_account_connected_and_retries(
    account: InstagramAccount,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    later: Any,
) -> None:
    instagram.fail_next(
        500,
        {"error": {"message": "An unknown error occurred", "code": 1, "is_transient": True}},
        when=lambda r: r.path == "/refresh_access_token",
    )
    later.shift(timedelta(days=50))

    refresh_run(outbox, django_capture_on_commit_callbacks)

    fresh = reload(account)
    assert len(instagram.requests_to("GET", r"^/refresh_access_token$")) == 2  # failed, retried
    assert fresh.status == InstagramAccount.Status.CONNECTED
    assert str(fresh.access_token) != str(account.access_token)
    assert mail.outbox == []


def test_reconnecting_clears_the_banner_and_rearms_the_email(
    account: InstagramAccount,
    alice_client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    later: Any,
) -> None:
    later.shift(timedelta(days=61))
    refresh_run(outbox, django_capture_on_commit_callbacks)
    assert "Instagram stopped accepting" in alice_client.get("/contacts/").content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        connect(alice_client, instagram)

    fresh = reload(account)
    assert fresh.status == InstagramAccount.Status.CONNECTED
    assert fresh.reconnect_email_sent_at is None
    assert "Instagram stopped accepting" not in alice_client.get("/contacts/").content.decode()


def test_two_failures_reported_at_once_send_one_email(
    account: InstagramAccount, outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    # A refresh and a Send API call both meeting code 190: the email is claimed once.
    with django_capture_on_commit_callbacks(execute=True):
        first = instagram_needs_reconnect(
            workspace=account.workspace, account_id=account.id, reason="190"
        )
        second = instagram_needs_reconnect(
            workspace=account.workspace, account_id=account.id, reason="190 again"
        )
    outbox.drain()

    assert first is True
    assert second is False
    assert len(mail.outbox) == 1
