"""The staff admin opens only through the app's sign-in, throttled, with a second factor: the admin's
own login signs nobody in, and an account without two-factor or without staff is refused."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.messages import get_messages
from django.test import Client

from alt.admin_site import TWO_FACTOR_REQUIRED
from tests.factories import PASSWORD, create_user

pytestmark = pytest.mark.django_db


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def staff_secret() -> str:
    return generate_totp_secret()


@pytest.fixture
def staff(staff_secret: str) -> Any:
    user = create_user(email="staff@example.com", is_staff=True, is_superuser=True)
    TOTP.activate(user, staff_secret)
    return user


@pytest.fixture
def staff_without_2fa() -> Any:
    return create_user(email="new-staff@example.com", is_staff=True, is_superuser=True)


def _redirect(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302, response.status_code
    parts = urlsplit(response["Location"])
    return parts.path, parse_qs(parts.query)


@pytest.mark.promise("SEC-4")
def test_the_staff_login_sends_a_visitor_to_the_apps_login_with_next(client: Client) -> None:
    assert _redirect(client.get("/staff/login/?next=/staff/")) == (
        "/accounts/login/",
        {"next": ["/staff/"]},
    )
    # the admin's own redirect for a visitor ends at the same place
    path, query = _redirect(client.get("/staff/accounts/user/"))
    assert _redirect(client.get(f"{path}?next={query['next'][0]}")) == (
        "/accounts/login/",
        {"next": ["/staff/accounts/user/"]},
    )


@pytest.mark.promise("SEC-4")
def test_a_password_posted_to_the_staff_login_signs_nobody_in(client: Client, staff: Any) -> None:
    response = client.post(
        "/staff/login/", {"username": staff.email, "password": PASSWORD, "next": "/staff/"}
    )

    assert _redirect(response)[0] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    assert client.get("/staff/").status_code == 302


@pytest.mark.promise("SEC-4")
def test_staff_sign_in_through_allauth_asks_for_the_code_before_the_admin_opens(
    client: Client, staff: Any, staff_secret: str
) -> None:
    response = client.post(
        "/accounts/login/", {"login": staff.email, "password": PASSWORD, "next": "/staff/"}
    )

    assert _redirect(response)[0] == "/accounts/2fa/authenticate/"
    assert client.get("/staff/").status_code == 302
    with time_machine.travel(time.time(), tick=False):
        response = client.post("/accounts/2fa/authenticate/", {"code": _code(staff_secret)})
    assert _redirect(response)[0] == "/staff/"
    response = client.get("/staff/")
    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


@pytest.mark.promise("SEC-4")
def test_the_staff_sign_in_is_throttled_like_every_sign_in(client: Client, staff: Any) -> None:
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": staff.email, "password": "wrong"})
        assert response.status_code == 200

    response = client.post(
        "/accounts/login/", {"login": staff.email, "password": PASSWORD, "next": "/staff/"}
    )

    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.promise("SEC-4")
@pytest.mark.parametrize("url", ["/staff/", "/staff/accounts/user/", "/staff/mfa/authenticator/"])
def test_a_staff_account_without_two_factor_is_sent_to_set_it_up_and_never_sees_the_admin(
    client: Client, staff_without_2fa: Any, url: str
) -> None:
    client.force_login(staff_without_2fa)

    path, query = _redirect(client.get(url))
    assert path == "/staff/login/"
    response = client.get(f"{path}?next={query['next'][0]}")

    assert _redirect(response)[0] == "/accounts/2fa/totp/activate/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [TWO_FACTOR_REQUIRED]
    assert client.post(f"{url}?q=x").status_code == 302


@pytest.mark.promise("SEC-4")
def test_the_admin_opens_once_the_staff_account_has_an_authenticator(
    client: Client, staff_without_2fa: Any
) -> None:
    client.force_login(staff_without_2fa)
    assert client.get("/staff/").status_code == 302

    TOTP.activate(staff_without_2fa, generate_totp_secret())

    assert client.get("/staff/").status_code == 200


def test_a_signed_in_account_that_is_not_staff_is_refused(alice_client: Client) -> None:
    assert alice_client.get("/staff/login/?next=/staff/").status_code == 403
    assert alice_client.get("/staff/").status_code == 302
