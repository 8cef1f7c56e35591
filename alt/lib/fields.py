"""EncryptedTextField: a secret stored as AES-256-GCM ciphertext (alt.lib.crypto)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from alt.lib import crypto

if TYPE_CHECKING:  # django-stubs types fields by (set, get) type; at runtime they are not generic
    _TextField = models.TextField[Any, Any]
else:
    _TextField = models.TextField


class Secret(str):
    """A decrypted value whose repr never shows it, so it cannot leak through a traceback or log."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('********')"


class EncryptedTextField(_TextField):
    """Stores ciphertext; Python code sees the plaintext (as `Secret`). Not searchable by design.

    The database column holds `alt1$keyid$...`; the admin and forms must never render this field
    (SEC-2): admin classes list it in `exclude`, and a test checks every registered ModelAdmin.
    """

    description = "Text encrypted with AES-256-GCM"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    @property
    def aad(self) -> str:
        return f"{self.model._meta.db_table}.{self.column}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None if value is None else Secret("")
        return Secret(crypto.decrypt(value, aad=self.aad))

    def to_python(self, value: Any) -> Any:
        # loaddata hands back what value_to_string gave dumpdata: the ciphertext. Without this it
        # would be encrypted a second time and read back as "alt1$...".
        if (
            isinstance(value, str)
            and not isinstance(value, Secret)
            and value.startswith(f"{crypto.PREFIX}$")
        ):
            return Secret(crypto.decrypt(value, aad=self.aad))
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), aad=self.aad)

    def value_to_string(self, obj: Any) -> str:
        # dumpdata and serializers get the ciphertext, never the secret.
        value = self.value_from_object(obj)
        return "" if value in (None, "") else crypto.encrypt(str(value), aad=self.aad)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in ("isnull",):
            raise TypeError(
                f"EncryptedTextField supports only isnull lookups, not {lookup_name!r}."
            )
        return super().get_lookup(lookup_name)


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed model (for rotation and the admin check)."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTextField)
    ]
