"""Invites are rate-limited per sender per hour and per workspace per day, with a clear error; a
refused invite does not use up the limit, and one workspace's limits never touch another's."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import Invite, Membership
from tests.factories import create_user

pytestmark = pytest.mark.django_db


def _invite(client: Client, email: str) -> list[str]:
    response = client.post(
        "/settings/workspace/invites/", {"email": email, "role": "agent"}, follow=True
    )
    assert response.redirect_chain == [("/settings/workspace/", 302)]
    return [str(message) for message in response.context["messages"]]


def test_a_sender_who_invites_too_many_people_in_an_hour_gets_a_clear_error(
    alice_client: Client, alice: Any, settings: Any
) -> None:
    settings.INVITE_LIMIT_PER_SENDER_PER_HOUR = 3

    for i in range(3):
        assert _invite(alice_client, f"dora{i}@example.com") == [
            f"Invite sent to dora{i}@example.com."
        ]
    messages = _invite(alice_client, "one-too-many@example.com")

    assert messages == [
        "You have sent 3 invites in the last hour. Please wait an hour before inviting more people."
    ]
    assert not Invite.objects.filter(email="one-too-many@example.com").exists()


def test_a_workspace_that_sends_too_many_invites_in_a_day_gets_a_clear_error(
    alice_client: Client, alice: Any, settings: Any, workspace_of: Any
) -> None:
    settings.INVITE_LIMIT_PER_WORKSPACE_PER_DAY = 2
    second_owner = create_user(email="owner2@example.com")
    Membership.objects.create(user=second_owner, workspace=workspace_of(alice), role="owner")
    other_client = Client()
    other_client.force_login(second_owner)

    assert _invite(alice_client, "dora@example.com") == ["Invite sent to dora@example.com."]
    assert _invite(other_client, "ed@example.com") == ["Invite sent to ed@example.com."]
    messages = _invite(other_client, "fay@example.com")

    assert messages == ["This workspace has sent 2 invites today. Please try again tomorrow."]
    assert Invite.objects.filter(workspace=workspace_of(alice)).count() == 2


def test_an_invite_refused_for_another_reason_does_not_use_up_the_limit(
    alice_client: Client, bob: Any, settings: Any
) -> None:
    settings.INVITE_LIMIT_PER_SENDER_PER_HOUR = 1

    assert _invite(alice_client, "bob@example.com") == ["This person is already in your workspace."]
    assert _invite(alice_client, "dora@example.com") == ["Invite sent to dora@example.com."]


def test_the_limits_of_one_sender_do_not_touch_another_workspace(
    alice_client: Client, charlie_client: Client, settings: Any
) -> None:
    settings.INVITE_LIMIT_PER_SENDER_PER_HOUR = 1
    settings.INVITE_LIMIT_PER_WORKSPACE_PER_DAY = 1

    assert _invite(alice_client, "dora@example.com") == ["Invite sent to dora@example.com."]
    assert _invite(charlie_client, "dora@example.com") == ["Invite sent to dora@example.com."]
