"""Sign-up: name, email, password and time zone; the agent's own workspace; no sign-in before the
email is verified; repeated failed sign-ins lock the account."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import identify_hasher

from alt.accounts.models import Membership, User

pytestmark = pytest.mark.django_db

SIGNUP = {
    "full_name": "Jordan Rivera",
    "email": "Jordan@Example.com",
    "password1": "sunset-lofts-4417",
    "timezone": "America/New_York",
}


def _link(body: str) -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body)
    assert match, body
    return match.group(0)


@pytest.mark.promise("ACC-1")
def test_sign_up_takes_name_email_and_password_and_stores_only_a_slow_salted_hash(
    client: Any, resend: Any
) -> None:
    response = client.post("/accounts/signup/", SIGNUP)

    assert response.status_code == 302
    user = User.objects.get(email="jordan@example.com")
    assert user.full_name == "Jordan Rivera"
    assert SIGNUP["password1"] not in user.password
    hasher = identify_hasher(user.password)
    assert hasher.algorithm == "pbkdf2_sha256"
    _, iterations, salt, _ = user.password.split("$")
    assert int(iterations) >= 600_000
    assert len(salt) >= 16
    assert user.check_password(SIGNUP["password1"])


@pytest.mark.promise("ACC-1")
def test_sign_up_form_requires_a_name(client: Any) -> None:
    response = client.post("/accounts/signup/", {**SIGNUP, "full_name": ""})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_stores_the_time_zone_chosen_on_the_form(client: Any, resend: Any) -> None:
    client.post("/accounts/signup/", {**SIGNUP, "timezone": "Europe/Lisbon"})

    assert User.objects.get(email="jordan@example.com").timezone == "Europe/Lisbon"


@pytest.mark.parametrize(
    ("timezone", "message"),
    [("", "Choose your time zone."), ("Mars/Olympus_Mons", "Choose a time zone from the list.")],
)
def test_sign_up_refuses_a_missing_or_unknown_time_zone(
    client: Any, timezone: str, message: str
) -> None:
    response = client.post("/accounts/signup/", {**SIGNUP, "timezone": timezone})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()


def test_the_sign_up_page_shows_the_time_zone_and_loads_the_browser_script(client: Any) -> None:
    page = client.get("/accounts/signup/").content.decode()

    assert '<select name="timezone"' in page
    assert "data-browser-timezone" in page
    assert '<option value="America/Los_Angeles">' in page
    assert '<option value="America/Los_Angeles" selected>' not in page  # nothing assumed
    assert 'src="/static/js/signup-timezone.js"' in page


def test_sign_up_creates_the_agents_own_workspace(client: Any, resend: Any) -> None:
    client.post("/accounts/signup/", SIGNUP)

    membership = Membership.objects.get(user__email="jordan@example.com")
    assert membership.role == "owner"
    assert membership.workspace.name == "Jordan's workspace"


def test_login_is_refused_until_the_email_is_verified_through_the_emailed_link(
    client: Any, resend: Any
) -> None:
    client.post("/accounts/signup/", SIGNUP)
    client.logout()

    response = client.post(
        "/accounts/login/", {"login": "jordan@example.com", "password": SIGNUP["password1"]}
    )
    assert response.status_code == 302
    assert "confirm-email" in response["Location"]
    assert client.get("/dashboard/").status_code == 302

    # Sign-up sent the link; the refused login may send it again (allauth, within its rate limit).
    emails = resend.sent_to("jordan@example.com")
    assert 1 <= len(emails) <= 2
    email = emails[-1]
    link = _link(email["text"]).split("://", 1)[1].split("/", 1)[1]
    client.post("/" + link)
    assert EmailAddress.objects.get(email="jordan@example.com").verified

    response = client.post(
        "/accounts/login/", {"login": "jordan@example.com", "password": SIGNUP["password1"]}
    )
    assert response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_repeated_failed_logins_lock_the_account_out_even_with_the_right_password(
    client: Any, alice: Any
) -> None:
    for _ in range(5):
        client.post(
            "/accounts/login/", {"login": "alice@example.com", "password": "wrong-password"}
        )

    response = client.post(
        "/accounts/login/",
        {"login": "alice@example.com", "password": "correct-horse-battery-staple"},
    )

    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/dashboard/").status_code == 302
