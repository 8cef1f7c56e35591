"""Sign-up and password reset keep production's rate limits: hammering either from one address, or
resetting one email again and again, is refused with 429."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

import alt.settings as production

pytestmark = pytest.mark.django_db


def _limit(action: str, per: str) -> int:
    """How many `action`s production allows per ip or per key ("5/h/ip,3/h/key")."""
    [rate] = [r for r in production.ACCOUNT_RATE_LIMITS[action].split(",") if r.endswith(per)]
    return int(rate.split("/")[0])


def test_the_test_run_keeps_productions_rate_limits(settings: Any) -> None:
    assert settings.ACCOUNT_RATE_LIMITS == production.ACCOUNT_RATE_LIMITS


@pytest.mark.promise("SEC-4")
def test_hammering_sign_up_from_one_address_is_refused_with_429(client: Client) -> None:
    limit = _limit("signup", "/ip")

    statuses = [client.post("/accounts/signup/", {}).status_code for _ in range(limit)]
    response = client.post("/accounts/signup/", {})

    assert statuses == [200] * limit
    assert response.status_code == 429


@pytest.mark.promise("SEC-4")
def test_hammering_password_reset_for_one_email_is_refused_with_429(client: Client) -> None:
    limit = _limit("reset_password", "/key")
    form = {"email": "alice@example.com"}

    statuses = [client.post("/accounts/password/reset/", form).status_code for _ in range(limit)]
    response = client.post("/accounts/password/reset/", form)

    assert statuses == [302] * limit
    assert response.status_code == 429


@pytest.mark.promise("SEC-4")
def test_hammering_password_reset_from_one_address_is_refused_with_429(client: Client) -> None:
    limit = _limit("reset_password", "/ip")

    statuses = [
        client.post("/accounts/password/reset/", {"email": f"agent{i}@example.com"}).status_code
        for i in range(limit)
    ]
    response = client.post("/accounts/password/reset/", {"email": "one-more@example.com"})

    assert statuses == [302] * limit
    assert response.status_code == 429
