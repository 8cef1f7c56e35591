"""Inviting a teammate: only the owner invites, only a hash of the token is stored, the link works
once, for the invited email only, until it expires or is revoked; re-inviting replaces the link."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.accounts.models import Invite, Membership
from alt.accounts.tasks import invite_send_email
from tests.factories import create_user

pytestmark = pytest.mark.django_db


def _accept_path(outbox: list[Any]) -> str:
    match = re.search(r"/invites/[\w-]+/", outbox[-1].body)
    assert match
    return match.group(0)


@pytest.fixture
def invite_link(
    alice_client: Client, alice: Any, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> str:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(
            "/settings/workspace/invites/", {"email": "dora@example.com", "role": "agent"}
        )
    assert len(callbacks) == 1
    invite = Invite.objects.get(email="dora@example.com")
    # The callback would send the task to a worker; run the task body in-process instead.
    token = _token_from_callback(callbacks[0])
    invite_send_email.run(invite.id, token)
    return _accept_path(mailoutbox)


def _token_from_callback(callback: Any) -> str:
    # delay_on_commit registers functools.partial(task.delay, *args)
    return str(callback.args[1])


def test_an_owner_invites_a_teammate_by_email(invite_link: str, mailoutbox: list[Any]) -> None:
    [message] = mailoutbox
    assert message.to == ["dora@example.com"]
    assert "Alice Realty" in message.subject
    assert "7 days" in message.body


def test_only_a_hash_of_the_invite_token_is_stored(invite_link: str) -> None:
    token = invite_link.split("/")[2]
    invite = Invite.objects.get(email="dora@example.com")

    assert token not in invite.token_hash
    assert invite.token_hash == Invite.hash_token(token)


def test_the_invited_person_joins_the_workspace_after_signing_in(
    invite_link: str, alice: Any
) -> None:
    dora = create_user(email="dora@example.com")
    client = Client()
    client.force_login(dora)

    response = client.post(invite_link)

    assert response.status_code == 302
    membership = Membership.objects.get(user=dora, workspace__name="Alice Realty")
    assert membership.role == "agent"
    assert client.get("/dashboard/").context["current_workspace"].name == "Alice Realty"


def test_an_invite_cannot_be_accepted_with_another_email(invite_link: str) -> None:
    eve = create_user(email="eve@example.com")
    client = Client()
    client.force_login(eve)

    response = client.post(invite_link, follow=True)

    assert "This invite was sent to dora@example.com" in response.content.decode()
    assert not Membership.objects.filter(user=eve, workspace__name="Alice Realty").exists()


def test_an_invite_link_works_only_once(invite_link: str) -> None:
    dora = create_user(email="dora@example.com")
    client = Client()
    client.force_login(dora)
    client.post(invite_link)

    response = client.get(invite_link)

    assert response.status_code == 404
    assert "already been used" in response.content.decode()


def test_an_expired_invite_explains_itself(invite_link: str) -> None:
    dora = create_user(email="dora@example.com")
    client = Client()
    client.force_login(dora)

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(invite_link)

    assert response.status_code == 404
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user=dora, workspace__name="Alice Realty").exists()


def test_a_revoked_invite_stops_working(invite_link: str, alice_client: Client) -> None:
    invite = Invite.objects.get(email="dora@example.com")
    alice_client.post(f"/settings/workspace/invites/{invite.id}/revoke/")
    dora = create_user(email="dora@example.com")
    client = Client()
    client.force_login(dora)

    response = client.post(invite_link)

    assert response.status_code == 404
    assert "withdrawn" in response.content.decode()


def test_a_revoked_invite_is_not_emailed(
    alice: Any, alice_client: Client, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(
            "/settings/workspace/invites/", {"email": "dora@example.com", "role": "agent"}
        )
    invite = Invite.objects.get(email="dora@example.com")
    alice_client.post(f"/settings/workspace/invites/{invite.id}/revoke/")

    invite_send_email.run(invite.id, _token_from_callback(callbacks[0]))

    assert mailoutbox == []


def test_inviting_the_same_address_again_replaces_the_old_link(
    alice: Any, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.post(
            "/settings/workspace/invites/", {"email": "dora@example.com", "role": "agent"}
        )
        alice_client.post(
            "/settings/workspace/invites/", {"email": "Dora@Example.com", "role": "owner"}
        )

    invites = Invite.objects.filter(email="dora@example.com").order_by("id")
    assert [i.status for i in invites] == ["revoked", "pending"]


def test_a_teammate_who_is_not_an_owner_cannot_invite(bob_client: Client) -> None:
    response = bob_client.post(
        "/settings/workspace/invites/", {"email": "dora@example.com", "role": "agent"}
    )

    assert response.status_code == 403
    assert not Invite.objects.exists()


def test_inviting_an_existing_member_explains_why_not(
    alice: Any, bob: Any, alice_client: Client
) -> None:
    response = alice_client.post(
        "/settings/workspace/invites/", {"email": "bob@example.com", "role": "agent"}, follow=True
    )

    assert "already in your workspace" in response.content.decode()
    assert not Invite.objects.exists()
