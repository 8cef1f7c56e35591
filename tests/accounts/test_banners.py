"""The page banners (alt.accounts.seams): every registered banner's yes/no read in one cache round
trip a page, the database asked only on a miss, and each answer for its own workspace and user."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from integrations.google_calendar.models import CalendarConnection
from integrations.instagram.models import InstagramAccount

pytestmark = pytest.mark.django_db


class _CountingCache:
    """The real cache, counting the calls that go to Redis."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(cache, name)
        if callable(attribute):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attribute(*args, **kwargs)

            return counted
        return attribute


def test_a_page_reads_every_banner_in_one_cache_round_trip(
    alice: Any, alice_client: Client, monkeypatch: Any
) -> None:
    alice_client.get("/contacts/")  # the answers are in the cache from here on
    counting = _CountingCache()
    monkeypatch.setattr("alt.accounts.seams.cache", counting)

    with CaptureQueriesContext(connection) as ctx:
        page = alice_client.get("/contacts/")

    assert counting.calls == ["get_many"]
    assert page.context["calendar_needs_reconnect"] is False
    assert page.context["instagram_needs_reconnect"] is False
    banner_tables = ('"google_calendar_', '"instagram_instagramaccount"')
    assert not [q for q in ctx.captured_queries if any(t in q["sql"] for t in banner_tables)]


def test_the_banners_tell_each_member_their_own_answer(
    alice: Any, bob: Any, alice_client: Client, bob_client: Client, workspace_of: Any
) -> None:
    workspace = workspace_of(alice)
    CalendarConnection.objects.create(
        workspace=workspace,
        user=alice,
        google_email="alice@gmail.example",
        status=CalendarConnection.Status.NEEDS_RECONNECT,
    )
    InstagramAccount.objects.create(
        workspace=workspace,
        ig_user_id="1789",
        username="alice.realty",
        status=InstagramAccount.Status.NEEDS_RECONNECT,
    )

    alice_page = alice_client.get("/settings/")
    bob_page = bob_client.get("/settings/")

    assert alice_page.context["calendar_needs_reconnect"] is True
    assert alice_page.context["instagram_needs_reconnect"] is True
    assert bob_page.context["calendar_needs_reconnect"] is False
    assert bob_page.context["instagram_needs_reconnect"] is True
