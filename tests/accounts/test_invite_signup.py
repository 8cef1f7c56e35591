"""Opening an invite link, then signing up or in: the person lands in the invited workspace, and
signing up from the link makes no empty workspace of their own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import Invite, Membership, Workspace
from tests.factories import PASSWORD, create_user

pytestmark = pytest.mark.django_db

DORA = {
    "full_name": "Dora Newhire",
    "email": "dora@example.com",
    "password1": "quiet-harbor-2291",
    "timezone": "America/Denver",
}


@pytest.fixture
def invite_path(alice: Any) -> str:
    token, token_hash = Invite.new_token()
    Invite.objects.create(
        workspace=alice.memberships.get().workspace,
        email="dora@example.com",
        role="agent",
        token_hash=token_hash,
        invited_by=alice,
        expires_at=Invite.default_expiry(),
    )
    return f"/invites/{token}/"


def _confirm_email(client: Client, mailoutbox: list[Any]) -> None:
    match = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    client.post(match.group(1))


def _sign_in(client: Client, email: str, password: str) -> Any:
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_signing_up_from_an_invite_link_joins_that_workspace_and_makes_none_of_ones_own(
    client: Client, invite_path: str, mailoutbox: list[Any]
) -> None:
    assert client.get(invite_path).status_code == 200
    assert invite_path.split("/")[2] not in str(dict(client.session))  # only its hash is kept

    client.post(f"/accounts/signup/?next={invite_path}", DORA)

    assert Workspace.objects.count() == 1
    assert not Membership.objects.filter(user__email="dora@example.com").exists()
    _confirm_email(client, mailoutbox)

    response = _sign_in(client, DORA["email"], DORA["password1"])

    assert response["Location"] == "/dashboard/"
    [membership] = Membership.objects.filter(user__email="dora@example.com")
    assert (membership.workspace.name, membership.role) == ("Alice Realty", "agent")
    assert Workspace.objects.count() == 1
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert dashboard.context["current_workspace"].name == "Alice Realty"
    assert Invite.objects.get().status == "accepted"


def test_signing_up_with_another_address_than_the_invited_one_makes_an_own_workspace(
    client: Client, invite_path: str, mailoutbox: list[Any]
) -> None:
    client.get(invite_path)

    client.post("/accounts/signup/", {**DORA, "email": "eve@example.com"})
    _confirm_email(client, mailoutbox)
    response = _sign_in(client, "eve@example.com", DORA["password1"])

    assert response["Location"] == "/dashboard/"
    [membership] = Membership.objects.filter(user__email="eve@example.com")
    assert (membership.workspace.name, membership.role) == ("Dora's workspace", "owner")
    assert Invite.objects.get().status == "pending"


def test_signing_in_from_an_invite_link_joins_the_workspace(
    client: Client, invite_path: str
) -> None:
    dora = create_user(email="dora@example.com")
    client.get(invite_path)

    response = _sign_in(client, "dora@example.com", PASSWORD)

    assert response["Location"] == "/dashboard/"
    assert Membership.objects.filter(user=dora, workspace__name="Alice Realty").exists()
    assert client.get("/dashboard/").context["current_workspace"].name == "Alice Realty"


def test_signing_up_without_an_invite_still_makes_an_own_workspace(
    client: Client, alice: Any
) -> None:
    client.post("/accounts/signup/", DORA)

    [membership] = Membership.objects.filter(user__email="dora@example.com")
    assert (membership.workspace.name, membership.role) == ("Dora's workspace", "owner")
