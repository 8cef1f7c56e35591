"""The sandbox console plays Meta's side by hand: a DM or a comment typed there reaches ALT's
webhook signed with the app secret, exactly as Meta sends it, and is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from django.utils import timezone

from integrations.instagram.models import InstagramAccount
from integrations.models import InboundEvent
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import Outbox, workspace_of


@pytest.fixture
def connected(instagram: InstagramEmulator, live_server: Any, alice: Any, outbox: Outbox) -> Any:
    # The processing job is held in the outbox: a real worker of another test must not process
    # (and lock) rows while this test's database is flushed.
    remote = instagram.add_account("sunset_realty")
    instagram.webhook_url = f"{live_server.url}/webhooks/instagram/"
    return InstagramAccount.objects.create(
        workspace=workspace_of(alice), ig_user_id=remote.ig_user_id, username="sunset_realty",
        access_token=instagram.issue_token(remote).value, connected_at=timezone.now(),
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["dm", "comment"])
def test_the_console_delivers_a_signed_dm_or_comment_that_alt_stores(
    instagram: InstagramEmulator, connected: InstagramAccount, kind: str
) -> None:
    page = httpx.get(f"{instagram.base_url}/console").text
    assert "@sunset_realty" in page

    answer = httpx.post(
        f"{instagram.base_url}/console/deliver",
        data={
            "account": connected.ig_user_id, "customer": "@maria.buys", "kind": kind,
            "text": "¿Precio? Is 12 Oak St available?",
        },
    )  # fmt: skip

    assert answer.status_code == 303
    assert "Delivered%3A%20ALT%20answered%20HTTP%20200" in answer.headers["Location"]
    [event] = InboundEvent.objects.filter(provider="instagram")
    body = bytes(event.body)
    assert b"\\u00bfPrecio?" in body  # Meta's escaping: the signature covered these bytes
    assert (b'"changes"' in body) == (kind == "comment")
    if kind == "dm":  # the DM opened the 24-hour window, and the customer has a profile
        [(account_id, igsid)] = instagram.last_customer_message
        assert account_id == connected.ig_user_id
        assert instagram.profiles[igsid].username == "maria.buys"


def test_the_console_refuses_an_account_that_never_connected(
    instagram: InstagramEmulator, connected: InstagramAccount
) -> None:
    answer = httpx.post(
        f"{instagram.base_url}/console/deliver",
        data={"account": "999", "customer": "x", "kind": "dm", "text": "hi"},
    )

    assert "Pick%20one%20of%20your%20connected%20accounts." in answer.headers["Location"]
    assert not InboundEvent.objects.filter(provider="instagram").exists()


def test_in_sandbox_mode_the_social_page_links_the_console(
    alice_client: Any, instagram: InstagramEmulator, connected: InstagramAccount, settings: Any
) -> None:
    console = f"{instagram.base_url}/console"
    settings.SANDBOX = False
    assert console not in alice_client.get("/settings/social/").content.decode()

    settings.SANDBOX = True
    assert f'href="{console}"' in alice_client.get("/settings/social/").content.decode()
