from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.checks import Error, Tags, register

if TYPE_CHECKING:
    from django.contrib.admin import AdminSite
    from django.contrib.admin.options import BaseModelAdmin


@register(Tags.security, deploy=True)
def encryption_keys_configured(app_configs: Any, **kwargs: Any) -> list[Error]:
    """SEC-2: production refuses to run without a field-encryption key."""
    from alt.lib.crypto import EncryptionKeyError, load_keys

    try:
        load_keys(settings.FIELD_ENCRYPTION_KEYS)
    except EncryptionKeyError as exc:
        return [
            Error(str(exc), hint="Set FIELD_ENCRYPTION_KEYS (see .env.example).", id="alt.E001")
        ]
    return []


@register(Tags.admin, Tags.security)
def admin_shows_no_secrets(app_configs: Any, **kwargs: Any) -> list[Error]:
    """SEC-2: no ModelAdmin of the staff site can display an EncryptedTextField, nor allauth's
    Authenticator.data (TOTP secret, recovery seed)."""
    from django.contrib import admin

    return admin_secret_errors(admin.site)


def admin_secret_errors(site: AdminSite) -> list[Error]:
    """alt.E002 for every place a ModelAdmin (or one of its inlines) would render a secret."""
    errors: list[Error] = []
    for model_admin in site._registry.values():
        for options in [
            model_admin,
            *(inline(model_admin.model, site) for inline in model_admin.inlines),
        ]:
            errors.extend(_secrets_shown_by(options))
    return errors


# Columns of other apps' models that hold secrets encrypted by our code rather than by an
# EncryptedTextField: allauth keeps the TOTP secret and recovery seed in Authenticator.data
# (encrypted by alt.accounts.mfa).
SECRET_FIELDS_OF_OTHER_APPS = {"mfa.Authenticator": {"data"}}


def _secrets_shown_by(options: BaseModelAdmin[Any]) -> list[Error]:
    from django.contrib.admin.utils import flatten, flatten_fieldsets

    from alt.lib.fields import EncryptedTextField

    other_secrets = SECRET_FIELDS_OF_OTHER_APPS.get(options.model._meta.label, set())
    secrets = {
        field.name: field
        for field in options.model._meta.get_fields()
        if isinstance(field, EncryptedTextField) or field.name in other_secrets
    }
    if not secrets:
        return []

    def names(values: Any) -> set[str]:
        return {value for value in values or () if isinstance(value, str)}

    shown: dict[str, set[str]] = {
        "fields": names(flatten(options.fields or ())),
        "fieldsets": names(flatten_fieldsets(options.fieldsets or ())),
        "readonly_fields": names(options.readonly_fields),
        # "^token", "=token", "token__exact": the field name before any lookup.
        "search_fields": {
            name.lstrip("^=@").split("__")[0]
            for name in names(getattr(options, "search_fields", ()))
        },
        "list_display": names(getattr(options, "list_display", ())),
        "list_display_links": names(getattr(options, "list_display_links", ())),
        "list_editable": names(getattr(options, "list_editable", ())),
        # A field filter lists the distinct (decrypted) values of the column.
        "list_filter": names(
            entry[0] if isinstance(entry, tuple) else entry
            for entry in getattr(options, "list_filter", ())
        ),
    }
    if options.fields is None and options.fieldsets is None:
        # The default form has every editable field the admin does not exclude.
        shown["the default form"] = {
            name for name, field in secrets.items() if field.editable
        } - names(options.exclude)

    admin_name = type(options).__name__
    return [
        Error(
            f"{admin_name} would display the encrypted field {options.model._meta.label}.{name} "
            f"(in {where}).",
            hint="Remove it from there; leave encrypted fields out of the admin entirely.",
            obj=type(options),
            id="alt.E002",
        )
        for where, listed in shown.items()
        for name in sorted(listed & secrets.keys())
    ]
