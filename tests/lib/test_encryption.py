"""Encrypted fields: AES-GCM ciphertext under the current key, never the plaintext; tampering, a
missing key and a copied column fail; rotation; the settings and deploy checks; no secret in the
admin; allauth MFA secrets encrypted too."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.core import checks
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alt.accounts.checks import admin_secret_errors
from alt.accounts.mfa import AAD as MFA_AAD
from alt.accounts.mfa import MFAAdapter
from alt.lib import crypto
from alt.lib.crypto import DecryptionError
from tests.factories import PASSWORD, create_user
from tests.testapp.models import InheritedSecretHolder, SecretHolder

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ya29.super-secret-access-token"
# tests/settings.py configures the current key "test" and an older one, "old".
_KEYS = {entry.partition(":")[0]: entry for entry in django_settings.FIELD_ENCRYPTION_KEYS}
TEST_KEY, OLD_KEY = _KEYS["test"], _KEYS["old"]
TABLE = SecretHolder._meta.db_table


def _raw(holder: SecretHolder, column: str = "token") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {TABLE} WHERE id = %s", [holder.pk])  # noqa: S608
        return cursor.fetchone()[0]


def _write_raw(holder: SecretHolder, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET {column} = %s WHERE id = %s", [value, holder.pk])  # noqa: S608


# --- the field --------------------------------------------------------------------------------


@pytest.mark.promise("SEC-2")
def test_an_encrypted_field_reads_back_what_was_saved() -> None:
    holder = SecretHolder.objects.create(name="a", token=TOKEN, other="")

    fetched = SecretHolder.objects.get(pk=holder.pk)

    assert fetched.token == TOKEN
    assert fetched.other == ""


@pytest.mark.promise("SEC-2")
def test_the_column_holds_tagged_aes_gcm_ciphertext_under_the_current_key_never_the_plaintext() -> (
    None
):
    holder = SecretHolder.objects.create(name="a", token=TOKEN)

    stored = _raw(holder)

    assert stored.startswith("alt1$test$")
    assert TOKEN not in stored
    assert "super-secret" not in stored
    blob = base64.urlsafe_b64decode(stored.split("$")[2])
    # 96-bit nonce + ciphertext as long as the plaintext + 128-bit tag
    assert len(blob) == 12 + len(TOKEN.encode()) + 16


@pytest.mark.promise("SEC-2")
def test_saving_the_same_value_twice_gives_different_ciphertexts() -> None:
    first = SecretHolder.objects.create(name="a", token=TOKEN)
    second = SecretHolder.objects.create(name="b", token=TOKEN)

    assert _raw(first) != _raw(second)
    nonces = {base64.urlsafe_b64decode(_raw(h).split("$")[2])[:12] for h in (first, second)}
    assert len(nonces) == 2


@pytest.mark.promise("SEC-2")
def test_a_tampered_ciphertext_raises_decryption_error_on_read() -> None:
    holder = SecretHolder.objects.create(name="a", token=TOKEN)
    prefix, key_id, payload = _raw(holder).split("$")
    blob = bytearray(base64.urlsafe_b64decode(payload))
    blob[14] ^= 0x01  # one bit of the ciphertext body
    _write_raw(
        holder, "token", f"{prefix}${key_id}${base64.urlsafe_b64encode(bytes(blob)).decode()}"
    )

    with pytest.raises(DecryptionError, match="failed authentication"):
        SecretHolder.objects.get(pk=holder.pk)


@pytest.mark.promise("SEC-2")
@pytest.mark.parametrize(
    ("foreign_key", "error"),
    [
        # a key id this deployment has never had
        (crypto.generate_key("gone"), "not configured"),
        # the right key id, the wrong key material
        (crypto.generate_key("test"), "failed authentication"),
    ],
)
def test_a_value_written_under_a_key_that_is_not_configured_does_not_decrypt(
    foreign_key: str, error: str
) -> None:
    holder = SecretHolder.objects.create(name="a", token="placeholder")
    foreign = crypto.encrypt(TOKEN, aad=f"{TABLE}.token", ring=crypto.load_keys([foreign_key]))
    _write_raw(holder, "token", foreign)

    with pytest.raises(DecryptionError, match=error):
        SecretHolder.objects.get(pk=holder.pk)


@pytest.mark.promise("SEC-2")
def test_a_ciphertext_copied_into_another_column_does_not_decrypt() -> None:
    holder = SecretHolder.objects.create(name="a", token=TOKEN, other="harmless")
    _write_raw(holder, "other", _raw(holder, "token"))

    with pytest.raises(DecryptionError):
        SecretHolder.objects.get(pk=holder.pk)
    assert crypto.decrypt(_raw(holder, "other"), aad=f"{TABLE}.token") == TOKEN


@pytest.mark.promise("SEC-2")
def test_the_repr_of_a_decrypted_value_hides_the_secret() -> None:
    SecretHolder.objects.create(name="a", token=TOKEN)
    holder = SecretHolder.objects.get(name="a")

    assert holder.token == TOKEN
    assert TOKEN not in repr(holder.token)
    assert TOKEN not in repr({"token": holder.token, "values": [holder.token]})
    assert "super-secret" not in repr(holder.token)


@pytest.mark.promise("SEC-2")
def test_a_dump_holds_only_ciphertext_and_loads_back_to_the_same_secret(tmp_path: Path) -> None:
    SecretHolder.objects.create(name="a", token=TOKEN)
    dump = tmp_path / "secrets.json"
    call_command("dumpdata", "testapp.SecretHolder", output=str(dump), stdout=io.StringIO())
    SecretHolder.objects.all().delete()

    call_command("loaddata", str(dump), stdout=io.StringIO())

    assert "super-secret" not in dump.read_text()
    assert '"token": "alt1$test$' in dump.read_text()
    assert SecretHolder.objects.get(name="a").token == TOKEN


def test_an_encrypted_field_refuses_lookups_that_would_compare_ciphertexts() -> None:
    SecretHolder.objects.create(name="a", token=TOKEN)

    with pytest.raises(TypeError, match="only isnull"):
        SecretHolder.objects.filter(token=TOKEN).exists()
    assert SecretHolder.objects.filter(token__isnull=False).count() == 1


# --- rotation ---------------------------------------------------------------------------------


def _rotate(batch_size: int = 2) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_key", batch_size=batch_size, stdout=out)
    return out.getvalue()


@pytest.fixture
def rows_under_old_key(settings: Any) -> list[SecretHolder]:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, TEST_KEY]
    holders = [
        SecretHolder.objects.create(
            name=f"row{i}", token=f"token-{i}", other=f"other-{i}" if i < 3 else None
        )
        for i in range(5)
    ]
    settings.FIELD_ENCRYPTION_KEYS = [TEST_KEY, OLD_KEY]
    assert all(_raw(h).startswith("alt1$old$") for h in holders)
    return holders


@pytest.mark.promise("SEC-2")
def test_rotation_re_encrypts_every_row_under_the_current_key_in_batches(
    rows_under_old_key: list[SecretHolder],
) -> None:
    with CaptureQueriesContext(connection) as queries:
        output = _rotate(batch_size=2)

    assert "testapp.SecretHolder.token: 5 re-encrypted" in output
    assert "testapp.SecretHolder.other: 3 re-encrypted" in output
    for holder in rows_under_old_key:
        assert _raw(holder).startswith("alt1$test$")
        fetched = SecretHolder.objects.get(pk=holder.pk)
        assert fetched.token == holder.token
        assert fetched.other == holder.other
    token_batches = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(f'SELECT "id", "token" FROM "{TABLE}"')  # noqa: S608
    ]
    assert len(token_batches) == 3  # 2 + 2 + 1 rows
    assert all(q.endswith("LIMIT 2") for q in token_batches)


@pytest.mark.promise("SEC-2")
def test_rotation_run_twice_changes_nothing_the_second_time(
    rows_under_old_key: list[SecretHolder],
) -> None:
    _rotate()
    after_first = [(_raw(h, "token"), _raw(h, "other")) for h in rows_under_old_key]

    output = _rotate()

    assert "testapp.SecretHolder.token: 0 re-encrypted" in output
    assert "Done: 0 values now under key 'test'." in output
    assert [(_raw(h, "token"), _raw(h, "other")) for h in rows_under_old_key] == after_first
    assert [SecretHolder.objects.get(pk=h.pk).token for h in rows_under_old_key] == [
        f"token-{i}" for i in range(5)
    ]


@pytest.mark.promise("SEC-2")
def test_after_rotation_the_old_key_can_be_dropped(
    rows_under_old_key: list[SecretHolder], settings: Any
) -> None:
    _rotate()
    settings.FIELD_ENCRYPTION_KEYS = [TEST_KEY]

    assert [SecretHolder.objects.get(pk=h.pk).token for h in rows_under_old_key] == [
        f"token-{i}" for i in range(5)
    ]


def test_rotation_reads_an_inherited_encrypted_column_from_the_parent_table(
    settings: Any,
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, TEST_KEY]
    child = InheritedSecretHolder.objects.create(name="child", token=TOKEN, note="n")
    settings.FIELD_ENCRYPTION_KEYS = [TEST_KEY, OLD_KEY]

    output = _rotate()

    assert "testapp.SecretHolder.token: 1 re-encrypted" in output
    assert "InheritedSecretHolder" not in output
    assert _raw(child).startswith("alt1$test$")
    assert InheritedSecretHolder.objects.get(pk=child.pk).token == TOKEN


# --- configuration ----------------------------------------------------------------------------


def _start_production_django(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FIELD_ENCRYPTION_KEYS", "DJANGO_DEBUG")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="alt.settings",
        DJANGO_DEBUG="0",
        SECRET_KEY="production-like-secret-key-0123456789-abcdefghijklmnop",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1/alt"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.promise("SEC-2")
def test_production_settings_refuse_to_start_without_encryption_keys() -> None:
    result = _start_production_django()

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


@pytest.mark.promise("SEC-2")
def test_production_settings_start_with_an_encryption_key() -> None:
    result = _start_production_django(FIELD_ENCRYPTION_KEYS=crypto.generate_key("prod1"))

    assert result.returncode == 0, result.stderr


def _errors(check_id: str, *, deploy: bool = False) -> list[checks.CheckMessage]:
    return [
        message
        for message in checks.run_checks(include_deployment_checks=deploy)
        if message.id == check_id
    ]


@pytest.mark.promise("SEC-2")
@pytest.mark.parametrize(
    ("keys", "complaint"),
    [
        ([], "empty"),
        (["no-separator"], "must look like 'keyid:base64key'"),
        (["bad id!:" + base64.b64encode(b"k" * 32).decode()], "must look like"),
        (["k1:not base64!!"], "not valid base64"),
        (["k1:" + base64.b64encode(b"k" * 16).decode()], "must be 32 bytes"),
        ([crypto.generate_key("k1"), crypto.generate_key("k1")], "appears twice"),
    ],
)
def test_the_deploy_check_reports_a_missing_or_malformed_key(
    settings: Any, keys: list[str], complaint: str
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = keys

    errors = _errors("alt.E001", deploy=True)

    assert len(errors) == 1
    assert complaint in errors[0].msg


def test_the_deploy_check_accepts_well_formed_keys(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [crypto.generate_key("new"), crypto.generate_key("old")]

    assert _errors("alt.E001", deploy=True) == []


# --- the admin --------------------------------------------------------------------------------


@pytest.mark.promise("SEC-2")
@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"list_display": ["name", "token"]}, "list_display"),
        ({"fields": ["name", ("token", "other")]}, "fields"),
        (
            {"fieldsets": [(None, {"fields": ["name"]}), ("Keys", {"fields": ["other"]})]},
            "fieldsets",
        ),
        ({"readonly_fields": ["token"], "exclude": ["token", "other"]}, "readonly_fields"),
        ({"search_fields": ["name", "^token"], "exclude": ["token", "other"]}, "search_fields"),
        ({"list_filter": ["other"], "exclude": ["token", "other"]}, "list_filter"),
    ],
)
def test_the_admin_check_reports_an_admin_that_would_display_a_secret(
    options: dict[str, Any], where: str
) -> None:
    site = AdminSite(name="check-test")
    site.register(SecretHolder, type("LeakyAdmin", (admin.ModelAdmin,), options))

    errors = admin_secret_errors(site)

    assert errors
    assert {e.id for e in errors} == {"alt.E002"}
    assert all(f"(in {where})" in e.msg for e in errors)
    assert all("testapp.SecretHolder." in e.msg for e in errors)


@pytest.mark.promise("SEC-2")
def test_the_admin_check_reports_an_editable_secret_left_in_the_default_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SecretHolder._meta.get_field("token"), "editable", True)
    site = AdminSite(name="check-test")
    site.register(SecretHolder, type("DefaultAdmin", (admin.ModelAdmin,), {}))
    site.register(
        InheritedSecretHolder, type("ExcludingAdmin", (admin.ModelAdmin,), {"exclude": ["token"]})
    )

    errors = admin_secret_errors(site)

    assert [e.msg for e in errors] == [
        "DefaultAdmin would display the encrypted field testapp.SecretHolder.token "
        "(in the default form)."
    ]


@pytest.mark.promise("SEC-2")
def test_the_admin_check_reports_a_secret_shown_by_an_inline() -> None:
    class LeakyInline(admin.StackedInline):
        model = InheritedSecretHolder
        fk_name = "secretholder_ptr"
        readonly_fields = ["token"]

    site = AdminSite(name="check-test")
    site.register(
        SecretHolder, type("ParentAdmin", (admin.ModelAdmin,), {"inlines": [LeakyInline]})
    )

    errors = admin_secret_errors(site)

    assert [e.obj for e in errors] == [LeakyInline]


@pytest.mark.promise("SEC-2")
def test_the_admin_check_accepts_an_admin_that_leaves_secrets_out() -> None:
    site = AdminSite(name="check-test")
    site.register(
        SecretHolder,
        type(
            "SafeAdmin", (admin.ModelAdmin,), {"list_display": ["name"], "search_fields": ["name"]}
        ),
    )

    assert admin_secret_errors(site) == []


@pytest.mark.promise("SEC-2")
def test_the_admin_check_runs_on_the_staff_site_and_its_real_registry_shows_no_secret() -> None:
    admin.site.register(
        SecretHolder, type("LeakyAdmin", (admin.ModelAdmin,), {"list_display": ["token"]})
    )
    try:
        assert len(_errors("alt.E002")) == 1
    finally:
        admin.site.unregister(SecretHolder)

    assert _errors("alt.E002") == []
    assert _errors("alt.E002", deploy=True) == []


# --- allauth MFA secrets ----------------------------------------------------------------------


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.fixture
def mfa_client(client: Client, settings: Any) -> Client:
    # allauth's per-IP login throttle counts in the shared cache, which other tests' failed
    # logins from the same test-client address fill up; it is not what these tests are about.
    settings.ACCOUNT_RATE_LIMITS = False
    return client


def _activate_totp(client: Client) -> str:
    user = create_user()
    client.force_login(user)
    # allauth asks for the password again before MFA can be changed
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    # Frozen so that the code cannot expire between computing and posting it.
    with time_machine.travel(time.time(), tick=False):
        response = client.post("/accounts/2fa/totp/activate/", {"code": _current_code(secret)})

    assert response.status_code == 302, response.content.decode()
    assert Authenticator.objects.filter(user=user, type="totp").exists()
    return secret


@pytest.mark.promise("SEC-2")
def test_a_totp_secret_activated_through_allauth_is_stored_encrypted(mfa_client: Client) -> None:
    secret = _activate_totp(mfa_client)

    totp = Authenticator.objects.get(type="totp")
    stored = totp.data["secret"]
    assert stored.startswith("alt1$test$")
    assert secret not in str(totp.data)
    assert crypto.decrypt(stored, aad=MFA_AAD) == secret
    recovery = Authenticator.objects.get(type="recovery_codes")
    assert recovery.data["seed"].startswith("alt1$test$")
    # allauth reads it back through the adapter: the current code validates
    with time_machine.travel(time.time(), tick=False):
        assert totp.wrap().validate_code(_current_code(secret))


@pytest.mark.promise("SEC-2")
def test_the_mfa_adapter_still_reads_a_secret_stored_in_plain_text_before_encryption() -> None:
    adapter = MFAAdapter()

    assert adapter.decrypt("JBSWY3DPEHPK3PXP") == "JBSWY3DPEHPK3PXP"
    assert adapter.decrypt(adapter.encrypt("JBSWY3DPEHPK3PXP")) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(DecryptionError):
        adapter.decrypt(crypto.encrypt("JBSWY3DPEHPK3PXP", aad=f"{TABLE}.token"))


@pytest.mark.promise("SEC-2")
def test_rotation_re_encrypts_mfa_secrets_under_the_current_key(
    mfa_client: Client, settings: Any
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, TEST_KEY]
    secret = _activate_totp(mfa_client)
    seed = crypto.decrypt(
        Authenticator.objects.get(type="recovery_codes").data["seed"],
        aad=MFA_AAD,
        ring=crypto.load_keys([OLD_KEY]),
    )
    settings.FIELD_ENCRYPTION_KEYS = [TEST_KEY, OLD_KEY]
    assert Authenticator.objects.get(type="totp").data["secret"].startswith("alt1$old$")

    output = _rotate()

    assert "mfa.Authenticator.data: 2 re-encrypted" in output
    totp = Authenticator.objects.get(type="totp")
    recovery = Authenticator.objects.get(type="recovery_codes")
    assert totp.data["secret"].startswith("alt1$test$")
    assert recovery.data["seed"].startswith("alt1$test$")
    assert "used_mask" in recovery.data
    settings.FIELD_ENCRYPTION_KEYS = [TEST_KEY]
    assert MFAAdapter().decrypt(totp.data["secret"]) == secret
    assert MFAAdapter().decrypt(recovery.data["seed"]) == seed
    assert "mfa.Authenticator.data: 0 re-encrypted" in _rotate()


@pytest.mark.promise("SEC-2")
def test_rotation_encrypts_a_totp_secret_left_in_plain_text() -> None:
    legacy = Authenticator.objects.create(user=create_user(), type="totp", data={})
    # A row written before secrets were encrypted (update() bypasses the encrypt-on-save hook).
    Authenticator.objects.filter(pk=legacy.pk).update(data={"secret": "JBSWY3DPEHPK3PXP"})

    output = _rotate()

    legacy.refresh_from_db()
    assert "mfa.Authenticator.data: 1 re-encrypted" in output
    assert legacy.data["secret"].startswith("alt1$test$")
    assert MFAAdapter().decrypt(legacy.data["secret"]) == "JBSWY3DPEHPK3PXP"
