"""AES-256-GCM encryption of secrets at rest (SEC-2, GC-6, IG-2).

Keys come from FIELD_ENCRYPTION_KEYS: comma-separated `keyid:base64(32 bytes)` pairs, newest
first. The first key encrypts; every listed key can decrypt. Each value gets a random 96-bit
nonce, and the key id travels with the ciphertext so a rotation can find what is left to
re-encrypt. The associated data binds a ciphertext to its table and column, so a value copied
into another field does not decrypt.

Stored form: `alt1$<keyid>$<base64url(nonce || ciphertext || tag)>`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "alt1"
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class EncryptionKeyError(Exception):
    """FIELD_ENCRYPTION_KEYS is missing or malformed."""


class DecryptionError(Exception):
    """A stored value is corrupt, was tampered with, or was written under an unknown key."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]


def generate_key(key_id: str) -> str:
    """A new `keyid:base64` entry for FIELD_ENCRYPTION_KEYS."""
    if not _KEY_ID.match(key_id):
        raise EncryptionKeyError(f"Key id {key_id!r} must be 1-32 letters, digits, '-' or '_'.")
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


def load_keys(entries: list[str] | tuple[str, ...]) -> Keyring:
    if not entries:
        raise EncryptionKeyError("FIELD_ENCRYPTION_KEYS is empty: secrets cannot be stored.")
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, sep, encoded = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise EncryptionKeyError(
                "Each FIELD_ENCRYPTION_KEYS entry must look like 'keyid:base64key'."
            )
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise EncryptionKeyError(f"Key {key_id!r} is not valid base64.") from None
        if len(raw) != 32:
            raise EncryptionKeyError(f"Key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}.")
        if key_id in keys:
            raise EncryptionKeyError(f"Key id {key_id!r} appears twice.")
        keys[key_id] = raw
    return Keyring(current_id=next(iter(keys)), keys=keys)


@lru_cache(maxsize=4)
def _keyring(entries: tuple[str, ...]) -> Keyring:
    return load_keys(entries)


def keyring() -> Keyring:
    from django.conf import settings

    return _keyring(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str, *, aad: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(nonce, plaintext.encode(), aad.encode())
    return f"{PREFIX}${ring.current_id}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str:
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError("Not an ALT ciphertext.")
    return parts[1]


def decrypt(stored: str, *, aad: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    key_id = key_id_of(stored)
    key = ring.keys.get(key_id)
    if key is None:
        raise DecryptionError(f"Value was encrypted under key {key_id!r}, which is not configured.")
    try:
        blob = base64.urlsafe_b64decode(stored.split("$")[2])
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(
            "Ciphertext failed authentication (corrupt, tampered or wrong key)."
        ) from None
