"""Security notices (ACC-3 allows them): password changed or reset, email address changed,
two-factor turned on or off, recovery codes regenerated, and a sign-in from a new device."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.test import Client

from alt.accounts.adapter import DEVICE_COOKIE
from alt.accounts.models import KnownDevice
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.promise("ACC-3")]

NEW_PASSWORD = "lighthouse-cove-8812"


@pytest.fixture(autouse=True)
def _no_login_throttle(settings: Any) -> None:
    # Every test client signs in from 127.0.0.1; allauth's per-IP limits are not the subject here.
    settings.ACCOUNT_RATE_LIMITS = False


def _subjects_to(mailoutbox: list[Any], address: str) -> list[str]:
    return [m.subject for m in mailoutbox if m.to == [address]]


def _link(mailoutbox: list[Any], path: str) -> str:
    match = re.search(rf"https?://[^/\s]+({path}\S*)", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return match.group(1)


def _reauthenticate(client: Client) -> None:
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _turn_on_two_factor(client: Client) -> None:
    _reauthenticate(client)
    client.get("/accounts/2fa/totp/activate/")
    secret = client.session[SECRET_SESSION_KEY]
    with time_machine.travel(time.time(), tick=False):
        response = client.post("/accounts/2fa/totp/activate/", {"code": _current_code(secret)})
    assert response.status_code == 302, response.content.decode()


def test_changing_the_password_is_emailed(
    alice: Any, alice_client: Client, mailoutbox: list[Any]
) -> None:
    alice_client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert _subjects_to(mailoutbox, "alice@example.com") == ["[ALT] Password Changed"]
    body = mailoutbox[-1].body
    assert "Your password has been changed." in body
    assert "This is a security notice about your Agent Lead Tracker account" in body
    assert "/accounts/password/reset/" in body


def test_resetting_the_password_is_emailed(
    alice: Any, client: Client, mailoutbox: list[Any]
) -> None:
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    set_password = client.get(_link(mailoutbox, "/accounts/password/reset/key/"))["Location"]

    client.post(set_password, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert _subjects_to(mailoutbox, "alice@example.com")[-1] == "[ALT] Password Reset"
    assert "Your password has been reset." in mailoutbox[-1].body


def test_changing_the_email_address_is_emailed_to_the_old_address(
    alice: Any, alice_client: Client, mailoutbox: list[Any]
) -> None:
    alice_client.post("/accounts/email/", {"email": "alice@newoffice.example", "action_add": ""})
    alice_client.post(_link(mailoutbox, "/accounts/confirm-email/"))

    [notice] = [m for m in mailoutbox if m.to == ["alice@example.com"]]
    assert notice.subject == "[ALT] Email Changed"
    assert "alice@newoffice.example" in notice.body


# allauth sends these from transaction.on_commit while the request is still being served; only a
# transactional test commits (and so sends them) inside the request, as production does.
@pytest.mark.django_db(transaction=True)
def test_turning_two_factor_on_and_off_is_emailed(
    alice: Any, alice_client: Client, mailoutbox: list[Any]
) -> None:
    _turn_on_two_factor(alice_client)
    assert "[ALT] Authenticator App Activated" in _subjects_to(mailoutbox, "alice@example.com")

    alice_client.post("/accounts/2fa/totp/deactivate/")

    assert not Authenticator.objects.filter(user=alice, type="totp").exists()
    assert (
        _subjects_to(mailoutbox, "alice@example.com")[-1] == "[ALT] Authenticator App Deactivated"
    )


@pytest.mark.django_db(transaction=True)
def test_regenerating_recovery_codes_is_emailed(
    alice: Any, alice_client: Client, mailoutbox: list[Any]
) -> None:
    _turn_on_two_factor(alice_client)
    mailoutbox.clear()

    alice_client.post("/accounts/2fa/recovery-codes/generate/")

    assert _subjects_to(mailoutbox, "alice@example.com") == ["[ALT] New Recovery Codes Generated"]


def _sign_in(client: Client) -> Any:
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    return response


def test_a_sign_in_from_a_new_device_is_emailed_but_not_the_first_or_a_known_one(
    alice: Any, mailoutbox: list[Any]
) -> None:
    laptop = Client(HTTP_USER_AGENT="Laptop browser")
    _sign_in(laptop)
    assert mailoutbox == []  # the first sign-in is no news
    assert KnownDevice.objects.filter(user=alice).count() == 1

    laptop.post("/accounts/logout/")
    _sign_in(laptop)
    assert mailoutbox == []  # the same browser again

    phone = Client(HTTP_USER_AGENT="Phone browser")
    _sign_in(phone)

    [notice] = mailoutbox
    assert notice.to == ["alice@example.com"]
    assert notice.subject == "[ALT] New sign-in to your account"
    assert 'browser "Phone browser"' in notice.body
    assert KnownDevice.objects.filter(user=alice).count() == 2


def test_the_device_cookie_is_signed_http_only_and_long_lived(alice: Any) -> None:
    client = Client()

    cookie = _sign_in(client).cookies[DEVICE_COOKIE]

    assert cookie["httponly"]
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    token = cookie.value.split(":")[0]
    assert not KnownDevice.objects.filter(token_hash=token).exists()  # only a hash is stored
    assert KnownDevice.objects.filter(token_hash=KnownDevice.hash_token(token)).exists()


def test_a_forged_device_cookie_counts_as_a_new_device(alice: Any, mailoutbox: list[Any]) -> None:
    first = Client()
    token = _sign_in(first).cookies[DEVICE_COOKIE].value.split(":")[0]
    other = Client()
    other.cookies[DEVICE_COOKIE] = token  # the token without its signature

    _sign_in(other)

    assert [m.subject for m in mailoutbox] == ["[ALT] New sign-in to your account"]
