"""Production stores a new user's password only as a slow, salted hash."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import (
    Argon2PasswordHasher,
    BCryptSHA256PasswordHasher,
    PBKDF2PasswordHasher,
    ScryptPasswordHasher,
    get_hashers,
    identify_hasher,
)
from django.test import Client

import alt.settings as production
from alt.accounts.models import User

pytestmark = pytest.mark.django_db

# Salted, deliberately slow password hashes, at no less than Django's own work factors.
SLOW_SALTED_HASHERS = (
    PBKDF2PasswordHasher,
    Argon2PasswordHasher,
    BCryptSHA256PasswordHasher,
    ScryptPasswordHasher,
)
PASSWORD = "sunset-lofts-4417"


@pytest.mark.promise("ACC-1")
def test_production_stores_a_new_users_password_only_as_a_slow_salted_hash(
    client: Client, settings: Any
) -> None:
    # tests/settings.py swaps the hashers for speed; this test uses production's own list.
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    hashers = get_hashers()
    assert all(type(hasher) in SLOW_SALTED_HASHERS for hasher in hashers), hashers
    for hasher in hashers:
        if isinstance(hasher, PBKDF2PasswordHasher):
            assert hasher.iterations >= PBKDF2PasswordHasher.iterations

    for email in ("jordan@example.com", "casey@example.com"):
        response = client.post(
            "/accounts/signup/",
            {
                "full_name": "Jordan Rivera",
                "email": email,
                "password1": PASSWORD,
                "timezone": "UTC",
            },
        )
        assert response.status_code == 302, response.content.decode()

    stored = [user.password for user in User.objects.order_by("email")]
    assert [identify_hasher(value).algorithm for value in stored] == [hashers[0].algorithm] * 2
    assert all(PASSWORD not in value for value in stored)
    assert stored[0] != stored[1]  # salted: the same password never gives the same hash
    assert all(user.check_password(PASSWORD) for user in User.objects.all())
