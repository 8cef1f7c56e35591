"""The admin never shows or accepts a secret, and a TOTP secret is stored encrypted whichever path
saves it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import time_machine
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from alt.accounts.checks import admin_secret_errors
from alt.accounts.mfa import MFAAdapter
from alt.accounts.models import Invite
from alt.lib.fields import encrypted_fields
from integrations.google_calendar.models import CalendarConnection
from integrations.instagram.models import InstagramAccount, InstagramDeletionRequest
from integrations.models import InboundEvent
from integrations.twilio_sms.models import TwilioAccount
from tests.factories import MembershipFactory, create_user

pytestmark = pytest.mark.django_db

ACCESS_TOKEN = "ya29.admin-page-access-token"
REFRESH_TOKEN = "1//admin-page-refresh-token"
PLAIN_SECRET = "JBSWY3DPEHPK3PXP"
WEBHOOK_TOKEN = "webhook-body-token-123"
INSTAGRAM_TOKEN = "IGAAadmin-page-instagram-token"
TWILIO_TOKEN = "twilio-auth-token-must-never-show-0001"


def _raw_values(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}"::text FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def staff() -> Any:
    user = create_user(email="staff@example.com", is_staff=True, is_superuser=True)
    TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def staff_client(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def secrets(staff: Any) -> set[str]:
    """A row of every model the admin registers, holding every kind of secret ALT stores, and
    each of those secrets as plaintext and as the ciphertext in the database."""
    alice: Any = MembershipFactory(user__email="alice@example.com").user
    workspace = alice.memberships.get().workspace
    totp_secret = generate_totp_secret()
    TOTP.activate(alice, totp_secret)
    recovery = RecoveryCodes.activate(alice)
    token, token_hash = Invite.new_token()
    Invite.objects.create(
        workspace=workspace,
        email="bob@example.com",
        role="agent",
        token_hash=token_hash,
        invited_by=alice,
        expires_at=Invite.default_expiry(),
    )
    CalendarConnection.objects.create(
        workspace=workspace, user=alice, access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN
    )
    Group.objects.create(name="Support")
    InstagramAccount.objects.create(
        workspace=workspace, ig_user_id="17841400000000001", access_token=INSTAGRAM_TOKEN
    )
    InstagramDeletionRequest.objects.create(confirmation_code="0123456789abcdef0123")
    TwilioAccount.objects.create(
        workspace=workspace,
        account_sid="AC" + "0" * 32,
        auth_token=TWILIO_TOKEN,
        from_number="+15005550006",
    )
    InboundEvent.objects.create(
        provider="test", external_id="evt-1", body=f'{{"token": "{WEBHOOK_TOKEN}"}}'.encode()
    )

    values = {totp_secret, token, token_hash, ACCESS_TOKEN, REFRESH_TOKEN, WEBHOOK_TOKEN}
    values.add(INSTAGRAM_TOKEN)
    values.add(TWILIO_TOKEN)
    values.update(recovery.get_unused_codes())
    values.add(MFAAdapter().decrypt(recovery.instance.data["seed"]))
    for authenticator in Authenticator.objects.all():
        values.update(v for v in authenticator.data.values() if isinstance(v, str))
    for _model, field in encrypted_fields():
        # field.model: an inherited field's column lives in the parent's table
        values.update(_raw_values(field.model._meta.db_table, str(field.column)))
    for user in (alice, staff):
        _algorithm, _iterations, salt, hash_ = user.password.split("$")
        values.update({user.password, salt, hash_})
    return {value for value in values if value}


def _admin_urls(model_admin: admin.ModelAdmin[Any]) -> list[str]:
    opts = model_admin.model._meta
    prefix = f"admin:{opts.app_label}_{opts.model_name}"
    urls = [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
    objects = model_admin.model._default_manager.all()
    assert objects.exists(), f"add a {opts.label} row to the `secrets` fixture"
    for obj in objects:
        urls += [
            reverse(f"{prefix}_{page}", args=[obj.pk]) for page in ("change", "delete", "history")
        ]
    return urls


@pytest.mark.promise("SEC-2")
@pytest.mark.promise("GC-10")
def test_no_admin_page_of_any_registered_model_shows_a_secret(
    staff_client: Client, secrets: set[str]
) -> None:
    visited = []
    for model_admin in admin.site._registry.values():
        for url in _admin_urls(model_admin):
            response = staff_client.get(url)
            assert response.status_code in (200, 403), (url, response.status_code)
            page = response.content.decode()
            leaked = [secret for secret in secrets if secret in page]
            assert leaked == [], f"{url} shows {leaked}"
            visited.append((url, response.status_code))

    assert ("/staff/mfa/authenticator/", 200) in visited
    assert (reverse("admin:mfa_authenticator_add"), 403) in visited


@pytest.mark.promise("SEC-2")
def test_a_secret_cannot_be_posted_through_the_admin(staff_client: Client, staff: Any) -> None:
    user = create_user()
    posted = {"user": user.pk, "type": "totp", "data": json.dumps({"secret": PLAIN_SECRET})}

    added = staff_client.post(reverse("admin:mfa_authenticator_add"), posted)
    own = Authenticator.objects.get(user=staff, type="totp")
    before = dict(own.data)
    changed = staff_client.post(
        reverse("admin:mfa_authenticator_change", args=[own.pk]),
        {**posted, "user": staff.pk},
    )

    assert added.status_code == 403
    assert changed.status_code == 403
    assert not Authenticator.objects.filter(user=user).exists()
    own.refresh_from_db()
    assert own.data == before


@pytest.mark.promise("SEC-2")
def test_a_totp_secret_saved_by_any_path_is_stored_encrypted_and_still_validates() -> None:
    authenticator = Authenticator.objects.create(
        user=create_user(), type="totp", data={"secret": PLAIN_SECRET}
    )

    [stored] = _raw_values(Authenticator._meta.db_table, "data")
    assert PLAIN_SECRET not in stored
    assert json.loads(stored)["secret"].startswith("alt1$test$")
    with time_machine.travel(time.time(), tick=False):
        code = format_hotp_value(hotp_value(PLAIN_SECRET, int(time.time()) // 30))
        assert Authenticator.objects.get(pk=authenticator.pk).wrap().validate_code(code)


@pytest.mark.promise("SEC-2")
def test_the_admin_check_reports_an_admin_that_shows_an_authenticators_secret() -> None:
    site = AdminSite(name="check-test")
    site.register(Authenticator, AllauthAuthenticatorAdmin)

    errors = admin_secret_errors(site)

    assert [(e.id, e.msg) for e in errors] == [
        (
            "alt.E002",
            "AuthenticatorAdmin would display the encrypted field mfa.Authenticator.data "
            "(in the default form).",
        )
    ]
    assert admin_secret_errors(admin.site) == []


@pytest.mark.parametrize("model", [InboundEvent, CalendarConnection])
def test_staff_cannot_add_an_integration_record_by_hand(staff_client: Client, model: Any) -> None:
    opts = model._meta
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")

    assert staff_client.get(add).status_code == 403
    assert staff_client.post(add, {"status": "received"}).status_code == 403
    assert not model._default_manager.exists()
