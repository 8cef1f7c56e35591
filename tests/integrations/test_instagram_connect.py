"""Settings → Social: connecting Instagram through the emulator (IG-1, IG-2), the callback's
failures, the channel health panel, the settings card and the system check."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import Client

from alt.accounts.models import User
from integrations.instagram import client as instagram_client
from integrations.instagram.models import InstagramAccount
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import workspace_of

pytestmark = pytest.mark.django_db

IG_1_SCOPES = {
    "instagram_business_basic",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
    "instagram_business_content_publish",
    "instagram_business_manage_insights",
}


def start(client: Client) -> str:
    response = client.post("/settings/social/instagram/connect/")
    assert response.status_code == 302, response
    return str(response["Location"])


def follow(client: Client, redirect: str) -> Any:
    """What the browser does with Instagram's redirect (the #_ fragment stays in the browser)."""
    parts = urlsplit(redirect)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def connect(client: Client, ig: InstagramEmulator, username: str = "sunset_realty") -> Any:
    return follow(client, ig.auto_approve(start(client), username=username))


def account_of(user: User) -> InstagramAccount:
    return InstagramAccount.objects.for_workspace(workspace_of(user)).get()


@pytest.mark.promise("IG-1")
def test_the_authorize_url_asks_for_exactly_the_five_scopes_with_a_state(
    alice_client: Client, instagram: InstagramEmulator
) -> None:
    query = parse_qs(urlsplit(start(alice_client)).query)

    assert set(query["scope"][0].split(",")) == IG_1_SCOPES
    assert len(query["scope"][0].split(",")) == 5
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [instagram.app_id]
    assert query["redirect_uri"] == ["http://testserver/settings/social/instagram/callback/"]
    assert len(query["state"][0]) >= 32


@pytest.mark.promise("IG-1")
@pytest.mark.promise("IG-2")
def test_connecting_stores_the_professional_account_with_its_token_encrypted(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    response = connect(alice_client, instagram)

    account = account_of(alice)
    emulated = instagram.account_named("sunset_realty")
    assert "Instagram @sunset_realty is connected" in response.content.decode()
    assert account.status == InstagramAccount.Status.CONNECTED
    assert account.ig_user_id == emulated.ig_user_id  # /me user_id, what webhooks carry
    assert account.app_user_id == emulated.app_user_id  # the exchange's, for Meta's callbacks
    assert account.ig_user_id != account.app_user_id
    assert account.connected_by == alice
    assert set(account.permissions.split(",")) == IG_1_SCOPES
    token = str(account.access_token)
    assert instagram.tokens[token].long_lived  # the 60-day token, not the 1-hour one
    assert account.token_expires_at is not None
    assert emulated.subscribed_fields == ("messages", "comments")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM instagram_instagramaccount WHERE id = %s", [account.id]
        )
        (raw,) = cursor.fetchone()
    assert token not in raw
    assert token.removeprefix("IGAA")[:16] not in raw


@pytest.mark.promise("IG-1")
def test_the_documented_wrapped_token_shape_connects_too(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    instagram.token_response_shape = "wrapped"

    connect(alice_client, instagram)

    account = account_of(alice)
    assert account.app_user_id == instagram.account_named("sunset_realty").app_user_id
    assert account.status == InstagramAccount.Status.CONNECTED


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "IGAAx", "user_id": 27640875392278831, "permissions": ["a", "b"]},
        {"data": [{"access_token": "IGAAx", "user_id": "27640875392278831", "permissions": "a,b"}]},
    ],
)
def test_both_token_shapes_parse_to_the_exact_user_id_beyond_2_53(body: dict[str, Any]) -> None:
    token = instagram_client.parse_short_lived_token(body)

    assert token.app_user_id == "27640875392278831"
    assert int(token.app_user_id) > 2**53
    assert token.permissions == ("a", "b")


def test_a_user_id_already_rounded_to_a_float_is_refused() -> None:
    with pytest.raises(instagram_client.InstagramError):
        instagram_client.parse_short_lived_token(
            {"access_token": "IGAAx", "user_id": 2.7640875392278831e16}
        )


def test_the_exchange_keeps_a_numeric_user_id_exact_on_the_wire(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    emulated = instagram.add_account("big_ids", app_user_id="27640875392278833")

    connect(alice_client, instagram, username=emulated.username)

    assert account_of(alice).app_user_id == "27640875392278833"


def test_cancelling_on_instagram_connects_nothing_and_says_so(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    response = follow(alice_client, instagram.auto_deny(start(alice_client)))

    assert "You cancelled on Instagram" in response.content.decode()
    assert not InstagramAccount.objects.for_workspace(workspace_of(alice)).exists()
    assert instagram.requests_to("POST", r"/oauth/access_token") == []


def test_a_callback_with_another_state_is_refused_before_any_exchange(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    redirect = instagram.auto_approve(start(alice_client))
    forged = redirect.replace("state=", "state=x")

    response = follow(alice_client, forged)

    assert "did not start from this browser" in response.content.decode()
    assert instagram.requests_to("POST", r"/oauth/access_token") == []
    assert not InstagramAccount.objects.for_workspace(workspace_of(alice)).exists()


def test_a_reused_code_is_refused_with_a_clear_message(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    redirect = instagram.auto_approve(start(alice_client))
    follow(alice_client, redirect)
    start(alice_client)  # a new state in the session, so only the code is stale
    state = alice_client.session["instagram_oauth_state"]
    reused = redirect.split("state=")[0] + f"state={state}"

    response = follow(alice_client, reused)

    assert "already used or has expired" in response.content.decode()


def test_a_pasted_callback_url_with_its_hash_underscore_still_connects(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    redirect = instagram.auto_approve(start(alice_client))
    assert redirect.endswith("#_")
    parts = urlsplit(redirect)
    # A person pasted the whole URL, so the fragment reached the query, encoded.
    pasted = f"{parts.path}?{parts.query}%23_"

    alice_client.get(pasted)

    assert account_of(alice).status == InstagramAccount.Status.CONNECTED


def test_an_account_live_in_another_workspace_is_refused_with_a_clear_message(
    alice: User,
    alice_client: Client,
    charlie: User,
    charlie_client: Client,
    instagram: InstagramEmulator,
) -> None:
    connect(charlie_client, instagram)

    response = connect(alice_client, instagram)

    assert "@sunset_realty is already connected to another ALT workspace" in (
        response.content.decode()
    )
    assert not InstagramAccount.objects.for_workspace(workspace_of(alice)).exists()
    assert account_of(charlie).status == InstagramAccount.Status.CONNECTED


def test_reconnecting_reuses_the_row_and_stores_the_new_token(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    connect(alice_client, instagram)
    first = account_of(alice)
    InstagramAccount.objects.for_workspace(workspace_of(alice)).update(
        status=InstagramAccount.Status.NEEDS_RECONNECT
    )

    connect(alice_client, instagram)

    again = account_of(alice)
    assert again.id == first.id
    assert again.status == InstagramAccount.Status.CONNECTED
    assert str(again.access_token) != str(first.access_token)


def test_an_agent_may_see_the_page_but_not_connect(
    bob: User, bob_client: Client, instagram: InstagramEmulator
) -> None:
    page = bob_client.get("/settings/social/")
    refused = bob_client.post("/settings/social/instagram/connect/")
    callback = bob_client.get("/settings/social/instagram/callback/?code=x&state=y")

    assert page.status_code == 200
    assert "Only the workspace owner can connect" in page.content.decode()
    assert refused.status_code == 403
    assert callback.status_code == 403


def test_the_health_panel_shows_the_account_its_last_event_failures_and_token_expiry(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    from django.core.cache import cache
    from django.utils import timezone

    connect(alice_client, instagram)
    account = account_of(alice)
    InstagramAccount.objects.for_workspace(workspace_of(alice)).update(last_event_at=timezone.now())
    cache.set("webhook-signature-failures:instagram", 3)

    page = alice_client.get("/settings/social/").content.decode()

    assert "@sunset_realty" in page
    assert "Signature failures (last 7 days)</dt><dd>3</dd>" in page
    assert account.token_expires_at is not None
    assert account.token_expires_at.strftime("%b") in page
    assert "None yet" not in page


def test_the_settings_card_replaces_coming_soon(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    before = alice_client.get("/settings/").content.decode()
    connect(alice_client, instagram)
    after = alice_client.get("/settings/").content.decode()

    assert 'href="/settings/social/"' in before
    assert "Connected" in after


def test_without_an_app_configured_the_page_says_so(alice_client: Client, settings: Any) -> None:
    settings.INSTAGRAM_APP_ID = ""

    page = alice_client.get("/settings/social/").content.decode()
    start_ = alice_client.post("/settings/social/instagram/connect/", follow=True)

    assert "Instagram is not set up on this server" in page
    assert "Instagram is not set up on this server" in start_.content.decode()


def test_the_system_check_refuses_an_app_id_without_its_secret_or_verify_token(
    settings: Any,
) -> None:
    settings.INSTAGRAM_APP_ID = "990602627938098"
    settings.INSTAGRAM_APP_SECRET = "s"
    settings.INSTAGRAM_WEBHOOK_VERIFY_TOKEN = ""

    with pytest.raises(SystemCheckError, match="INSTAGRAM_WEBHOOK_VERIFY_TOKEN"):
        call_command("check")

    settings.INSTAGRAM_APP_SECRET = ""
    with pytest.raises(SystemCheckError, match="INSTAGRAM_APP_SECRET and"):
        call_command("check")

    settings.INSTAGRAM_WEBHOOK_VERIFY_TOKEN = "v"
    settings.INSTAGRAM_APP_SECRET = "s"
    call_command("check")


def test_absurd_callback_parameters_get_a_clear_message_and_store_nothing(
    alice: User, alice_client: Client, instagram: InstagramEmulator
) -> None:
    long = "\u05de" * 10_000  # 10,000 right-to-left characters
    start(alice_client)
    state = alice_client.session["instagram_oauth_state"]

    huge_error = alice_client.get(
        "/settings/social/instagram/callback/",
        {"state": state, "error": long, "error_reason": long},
        follow=True,
    )
    start(alice_client)
    state = alice_client.session["instagram_oauth_state"]
    huge_code = alice_client.get(
        "/settings/social/instagram/callback/", {"state": state, "code": long}, follow=True
    )
    huge_state = alice_client.get(
        "/settings/social/instagram/callback/", {"state": long, "code": "x"}, follow=True
    )

    assert huge_error.status_code == 200
    assert "Instagram did not connect your account" in huge_error.content.decode()
    assert long not in huge_error.content.decode()
    assert "already used or has expired" in huge_code.content.decode()
    assert "did not start from this browser" in huge_state.content.decode()
    assert not InstagramAccount.objects.for_workspace(workspace_of(alice)).exists()


def test_a_redirect_uri_mismatch_is_explained_as_a_server_setup_problem(
    alice: User, alice_client: Client, instagram: InstagramEmulator, settings: Any
) -> None:
    redirect = instagram.auto_approve(start(alice_client))
    settings.INSTAGRAM_OAUTH_REDIRECT_URL = "http://testserver/another/callback/"

    response = follow(alice_client, redirect)

    assert "INSTAGRAM_OAUTH_REDIRECT_URL must be listed" in response.content.decode()
    assert not InstagramAccount.objects.for_workspace(workspace_of(alice)).exists()
