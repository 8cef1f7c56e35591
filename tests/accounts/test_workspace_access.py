"""Who may act on a workspace: a removed member loses access at once, switching only reaches the
user's own workspaces, and an agent (not an owner) cannot manage the team (ACC-2)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alt.accounts.middleware import SESSION_KEY
from alt.accounts.models import Invite, Membership, Workspace
from contacts.services import ContactInput, contact_create
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _put_in_session(client: Client, workspace_id: int) -> None:
    session = client.session
    session[SESSION_KEY] = workspace_id
    session.save()


@pytest.mark.promise("ACC-2")
def test_a_removed_member_loses_access_at_once_though_the_session_still_names_the_workspace(
    alice: Any, bob: Any, bob_client: Client, workspace_of: Any
) -> None:
    workspace = workspace_of(alice)
    contact = contact_create(
        workspace=workspace, actor=alice, data=ContactInput(first_name="Maria", last_name="Lopez")
    )
    own = MembershipFactory(user=bob, workspace__name="Bob's own").workspace
    _put_in_session(bob_client, workspace.id)
    assert bob_client.get(f"/contacts/{contact.id}/").status_code == 200

    Membership.objects.filter(user=bob, workspace=workspace).delete()

    assert bob_client.get(f"/contacts/{contact.id}/").status_code == 404
    page = bob_client.get("/contacts/")
    assert page.context["current_workspace"] == own
    assert "Maria" not in page.content.decode()


@pytest.mark.promise("ACC-2")
def test_switching_to_a_workspace_of_which_one_is_not_a_member_is_refused(
    alice: Any, bob_client: Client, charlie: Any, workspace_of: Any
) -> None:
    response = bob_client.post(
        "/settings/workspace/switch/", {"workspace_id": workspace_of(charlie).id}
    )

    assert response.status_code == 404
    assert SESSION_KEY not in bob_client.session
    assert bob_client.get("/dashboard/").context["current_workspace"] == workspace_of(alice)


def test_switching_to_an_own_workspace_works(alice: Any, alice_client: Client) -> None:
    membership: Any = MembershipFactory(user=alice, workspace__name="Second office")
    second = membership.workspace

    alice_client.post("/settings/workspace/switch/", {"workspace_id": second.id})

    assert alice_client.get("/dashboard/").context["current_workspace"] == second


def test_an_agent_cannot_remove_a_member(alice: Any, bob_client: Client) -> None:
    owner = Membership.objects.get(user=alice)

    get = bob_client.get(f"/settings/workspace/members/{owner.id}/remove/")
    post = bob_client.post(
        f"/settings/workspace/members/{owner.id}/remove/", {"reassign_to": owner.user_id}
    )

    assert get.status_code == 403
    assert post.status_code == 403
    assert Membership.objects.filter(id=owner.id).exists()


def test_an_agent_cannot_revoke_an_invite(
    alice: Any, bob_client: Client, workspace_of: Any
) -> None:
    _token, token_hash = Invite.new_token()
    invite = Invite.objects.create(
        workspace=workspace_of(alice),
        email="dora@example.com",
        token_hash=token_hash,
        invited_by=alice,
        expires_at=Invite.default_expiry(),
    )

    response = bob_client.post(f"/settings/workspace/invites/{invite.id}/revoke/")

    assert response.status_code == 403
    invite.refresh_from_db()
    assert invite.status == "pending"


def test_an_agent_cannot_rename_the_workspace(
    alice: Any, bob_client: Client, workspace_of: Any
) -> None:
    response = bob_client.post("/settings/workspace/", {"name": "Bob's now"}, follow=True)

    assert Workspace.objects.get(id=workspace_of(alice).id).name == "Alice Realty"
    assert "Only the workspace owner can rename it." in response.content.decode()


@pytest.mark.promise("ACC-2")
def test_an_owner_made_an_agent_loses_the_owners_powers_on_the_next_request(
    alice: Any, bob: Any, alice_client: Client, workspace_of: Any
) -> None:
    bob_membership = Membership.objects.get(user=bob)
    assert (
        alice_client.get(f"/settings/workspace/members/{bob_membership.id}/remove/").status_code
        == 200
    )

    Membership.objects.filter(user=alice).update(role="agent")

    response = alice_client.get(f"/settings/workspace/members/{bob_membership.id}/remove/")
    assert response.status_code == 403


def test_a_page_reads_the_signed_in_user_and_their_memberships_in_one_query(
    alice: Any, alice_client: Client, workspace_of: Any
) -> None:
    membership: Any = MembershipFactory(user=alice, workspace__name="Second office")
    second = membership.workspace
    _put_in_session(alice_client, second.id)

    with CaptureQueriesContext(connection) as ctx:
        page = alice_client.get("/settings/")

    assert page.context["current_workspace"] == second
    reading_members = [
        q["sql"] for q in ctx.captured_queries if '"accounts_membership"' in q["sql"]
    ]
    reading_users = [q["sql"] for q in ctx.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(reading_members) == 1, reading_members
    assert reading_users == [], reading_users
