"""The Instagram emulator's connect part (EXTERNAL_APIS.md §3.1-§3.4, §3.11), over real HTTP: the
harsh behaviours ALT must cope with."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import time_machine

from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram.oauth import SCOPES, AuthorizeError, signed_request

REDIRECT = "https://crm.example.com/settings/social/instagram/callback/"


@pytest.fixture(scope="module")
def server() -> Iterator[InstagramEmulator]:
    emulator = InstagramEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def ig(server: InstagramEmulator) -> InstagramEmulator:
    server.reset()
    return server


def auth_url(ig: InstagramEmulator, **changes: str) -> str:
    params = {
        "client_id": ig.app_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": ",".join(SCOPES),
        "state": "s-123",
    } | changes
    return f"{ig.base_url}/oauth/authorize?{urlencode(params)}"


def exchange(ig: InstagramEmulator, code: str, **changes: str) -> httpx.Response:
    form = {
        "client_id": ig.app_id,
        "client_secret": ig.app_secret,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": code,
    } | changes
    return httpx.post(f"{ig.base_url}/oauth/access_token", data=form)


def code_of(redirect: str) -> str:
    return parse_qs(urlsplit(redirect).query)["code"][0]


def long_lived(ig: InstagramEmulator) -> str:
    short = exchange(ig, code_of(ig.auto_approve(auth_url(ig)))).json()["access_token"]
    answer = httpx.get(
        f"{ig.base_url}/access_token",
        params={
            "grant_type": "ig_exchange_token",
            "client_secret": ig.app_secret,
            "access_token": short,
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_consent_page_is_plain_html_listing_the_five_permissions(ig: InstagramEmulator) -> None:
    page = httpx.get(auth_url(ig))

    assert page.status_code == 200
    assert "<script" not in page.text
    assert "style=" not in page.text
    for scope in SCOPES:
        assert scope in page.text


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"client_id": "123"}, "Invalid platform app"),
        ({"redirect_uri": REDIRECT.rstrip("/")}, "redirect_uri"),
        ({"response_type": "token"}, "response_type"),
        ({"scope": "business_basic,business_manage_messages"}, "business_basic"),
        ({"scope": "instagram_basic"}, "instagram_basic"),
    ],
)
def test_the_authorize_page_refuses_a_bad_request(
    ig: InstagramEmulator, change: dict[str, str], why: str
) -> None:
    ig.redirect_uris = [REDIRECT]  # an exact match, trailing slash included (§3.1)

    page = httpx.get(auth_url(ig, **change))

    assert page.status_code == 400
    assert why in page.text
    with pytest.raises(AuthorizeError):
        ig.auto_approve(auth_url(ig, **change))


def test_approval_redirects_with_the_code_the_state_and_the_hash_underscore(
    ig: InstagramEmulator,
) -> None:
    page = httpx.get(auth_url(ig))
    form = {k: v[0] for k, v in parse_qs(urlsplit(auth_url(ig)).query).items()}
    answer = httpx.post(
        f"{ig.base_url}/oauth/authorize/approve",
        data={**form, "action": "allow", "username": "mia_homes"},
    )

    assert page.status_code == 200
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    assert location.endswith("#_")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s-123"]
    assert "#" not in query["code"][0]
    assert ig.account_named("mia_homes").username == "mia_homes"


def test_cancel_redirects_with_access_denied_and_user_denied(ig: InstagramEmulator) -> None:
    query = parse_qs(urlsplit(ig.auto_deny(auth_url(ig))).query)

    assert query["error"] == ["access_denied"]
    assert query["error_reason"] == ["user_denied"]
    assert query["state"] == ["s-123"]


def test_the_exchange_answers_the_flat_shape_with_a_numeric_user_id_beyond_2_53(
    ig: InstagramEmulator,
) -> None:
    answer = exchange(ig, code_of(ig.auto_approve(auth_url(ig))))

    assert answer.status_code == 200
    raw = json.loads(answer.text, parse_int=str)
    assert not isinstance(json.loads(answer.text)["user_id"], str)
    assert int(raw["user_id"]) > 2**53
    assert raw["permissions"] == list(SCOPES)
    assert raw["access_token"].startswith("IGAA")


def test_the_exchange_answers_the_documented_wrapped_shape_when_configured(
    ig: InstagramEmulator,
) -> None:
    ig.token_response_shape = "wrapped"

    body = exchange(ig, code_of(ig.auto_approve(auth_url(ig)))).json()

    (item,) = body["data"]
    assert isinstance(item["user_id"], str)
    assert item["permissions"] == ",".join(SCOPES)


def test_codes_are_single_use_expire_after_an_hour_and_need_the_same_redirect_uri(
    ig: InstagramEmulator,
) -> None:
    code = code_of(ig.auto_approve(auth_url(ig)))
    mismatch = exchange(ig, code, redirect_uri=REDIRECT + "x")
    first = exchange(ig, code)
    second = exchange(ig, code)
    late = code_of(ig.auto_approve(auth_url(ig)))
    with time_machine.travel(timedelta(hours=1, seconds=5)):
        expired = exchange(ig, late)
    with_hash = exchange(ig, code_of(ig.auto_approve(auth_url(ig))) + "#_")

    assert mismatch.status_code == 400
    assert "redirect_uri" in mismatch.json()["error_message"]
    assert first.status_code == 200
    for refused in (second, expired, with_hash):
        assert refused.status_code == 400
        # api.instagram.com's own error shape (§3.2), not the Graph one
        assert refused.json() == {
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used",
        }


def test_refresh_is_refused_under_24_hours_allowed_after_and_190_once_expired(
    ig: InstagramEmulator,
) -> None:
    token = long_lived(ig)

    def refresh() -> httpx.Response:
        return httpx.get(
            f"{ig.base_url}/refresh_access_token",
            params={"grant_type": "ig_refresh_token", "access_token": token},
        )

    young = refresh()
    with time_machine.travel(timedelta(days=2)):
        ok = refresh()
    with time_machine.travel(timedelta(days=61)):
        dead = refresh()

    assert young.status_code == 400
    assert young.json()["error"]["code"] == 100
    assert ok.status_code == 200
    assert ok.json()["expires_in"] == 5_184_000
    assert ok.json()["access_token"] != token
    assert dead.json()["error"]["code"] == 190


def test_me_answers_the_professional_id_which_is_not_the_exchanges_app_scoped_id(
    ig: InstagramEmulator,
) -> None:
    code = code_of(ig.auto_approve(auth_url(ig)))
    app_user_id = json.loads(exchange(ig, code).text, parse_int=str)["user_id"]
    ig.codes.clear()
    token = long_lived(ig)

    me = httpx.get(
        f"{ig.base_url}/v23.0/me",
        params={"fields": "user_id,username"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    bare = httpx.get(f"{ig.base_url}/v23.0/me", headers={"Authorization": f"Bearer {token}"})
    anonymous = httpx.get(f"{ig.base_url}/v23.0/me", params={"fields": "user_id"})

    assert me["user_id"] != me["id"]
    assert me["id"] == app_user_id
    assert me["username"] == "sunset_realty"
    assert set(bare.json()) == {"id"}  # only what was asked for
    assert anonymous.status_code == 400


def test_subscribed_apps_needs_fields_and_records_them(ig: InstagramEmulator) -> None:
    token = long_lived(ig)
    url = f"{ig.base_url}/v23.0/me/subscribed_apps"
    auth = {"Authorization": f"Bearer {token}"}

    none = httpx.post(url, headers=auth)
    bad = httpx.post(url, headers=auth, params={"subscribed_fields": "messages,feed"})
    ok = httpx.post(url, headers=auth, params={"subscribed_fields": "messages,comments"})

    assert none.json()["error"]["code"] == 100
    assert bad.json()["error"]["code"] == 100
    assert ok.json() == {"success": True}
    assert ig.account_named("sunset_realty").subscribed_fields == ("messages", "comments")


def test_removing_the_app_revokes_tokens_and_signs_the_callback(ig: InstagramEmulator) -> None:
    token = long_lived(ig)
    account = ig.account_named("sunset_realty")

    value = ig.remove_app(account)
    me = httpx.get(f"{ig.base_url}/v23.0/me", headers={"Authorization": f"Bearer {token}"})

    assert me.json()["error"]["code"] == 190
    _signature, payload = value.split(".")
    assert "=" not in value  # Meta's parts come without padding (§3.11)
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    assert decoded["user_id"] == account.app_user_id
    assert decoded["algorithm"] == "HMAC-SHA256"
    assert signed_request(decoded, ig.app_secret) == value
