"""allauth MFA secrets (TOTP keys, recovery-code seeds) encrypted at rest like every secret (SEC-2).

allauth keeps them in the JSON column `Authenticator.data` and calls its adapter's `encrypt()` /
`decrypt()` around every read and write; this adapter routes those through alt.lib.crypto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa.adapter import DefaultMFAAdapter

from alt.lib import crypto
from alt.lib.fields import Secret

AAD = "mfa.authenticator"
_ALT_PREFIX = f"{crypto.PREFIX}$"


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text, aad=AAD)

    def decrypt(self, encrypted_text: str) -> str:
        # Rows written before this adapter was installed hold the secret in plain text; they keep
        # working, and `manage.py rotate_encryption_key` encrypts them.
        if not encrypted_text.startswith(_ALT_PREFIX):
            return encrypted_text
        return Secret(crypto.decrypt(encrypted_text, aad=AAD))


def authenticator_data_reencrypt(data: dict[str, Any], *, ring: crypto.Keyring) -> dict[str, Any]:
    """A copy of an Authenticator's `data` with every secret under the current key of `ring`.

    Covers the TOTP `secret`, the recovery-codes `seed` and allauth's `migrated_codes`; legacy
    plain-text values are encrypted. Returns `data` itself (same object) when nothing needed to
    change. Pure: no database access. Raises DecryptionError for a value under an unknown key.
    """
    current_prefix = f"{_ALT_PREFIX}{ring.current_id}$"

    def rotate(value: str) -> str:
        if value.startswith(current_prefix):
            return value
        plaintext = (
            crypto.decrypt(value, aad=AAD, ring=ring) if value.startswith(_ALT_PREFIX) else value
        )
        return crypto.encrypt(plaintext, aad=AAD, ring=ring)

    return _map_secrets(data, rotate)


def authenticator_data_encrypt(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of an Authenticator's `data` with every plain-text secret encrypted under the
    current key; ciphertext (under any key) is left as it is. Returns `data` itself when nothing
    was in plain text. Pure: no database access."""

    def encrypt(value: str) -> str:
        return value if value.startswith(_ALT_PREFIX) else crypto.encrypt(value, aad=AAD)

    return _map_secrets(data, encrypt)


def authenticator_encrypt_on_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_save of allauth's Authenticator: whatever path writes the row (allauth's flows already
    encrypt through MFAAdapter; a shell, a data migration, a future admin form do not), the TOTP
    secret and recovery seed reach the database encrypted (SEC-2)."""
    if isinstance(instance.data, dict):
        instance.data = authenticator_data_encrypt(instance.data)


def _map_secrets(data: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    changed = dict(data)
    for key in ("secret", "seed"):
        if isinstance(data.get(key), str) and data[key]:
            changed[key] = change(data[key])
    if isinstance(data.get("migrated_codes"), list):
        changed["migrated_codes"] = [change(code) for code in data["migrated_codes"]]
    return data if changed == data else changed
