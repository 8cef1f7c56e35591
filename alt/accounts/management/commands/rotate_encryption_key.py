"""Re-encrypt every stored secret under the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one after it), deploy,
run this command, then drop the old key. It works in batches, each row is swapped only if it
still holds the ciphertext that was read (compare-and-swap), and it can be stopped and re-run:
rows already under the new key are skipped.

Besides every EncryptedTextField it covers the secrets allauth's MFA keeps in
`Authenticator.data` (alt.accounts.mfa), and encrypts any still stored in plain text there.
"""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import connection, models, transaction

from alt.accounts.mfa import authenticator_data_reencrypt
from alt.lib import crypto
from alt.lib.fields import EncryptedTextField, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt stored secrets under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        ring = crypto.keyring()
        total = 0
        for model, field in encrypted_fields():
            # A child model (multi-table inheritance) or a proxy also lists its parent's fields,
            # whose column lives in the parent's table: rotate each column once, where it lives.
            if field.model is not model or model._meta.proxy:
                continue
            rotated = self._rotate_column(model, field, ring=ring, batch_size=batch_size)
            total += rotated
            self.stdout.write(f"{model._meta.label}.{field.name}: {rotated} re-encrypted")
        rotated = self._rotate_authenticators(ring=ring, batch_size=batch_size)
        total += rotated
        self.stdout.write(f"{Authenticator._meta.label}.data: {rotated} re-encrypted")
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total} values now under key {ring.current_id!r}.")
        )

    def _rotate_column(
        self,
        model: type[models.Model],
        field: EncryptedTextField,
        *,
        ring: crypto.Keyring,
        batch_size: int,
    ) -> int:
        current_prefix = f"{crypto.PREFIX}${ring.current_id}$"
        quote = connection.ops.quote_name
        pk_field = model._meta.pk
        assert pk_field is not None
        table = quote(model._meta.db_table)
        column, pk = quote(str(field.column)), quote(str(pk_field.column))
        # Identifiers come from model metadata, values are parameters: no input reaches SQL text.
        select = (
            f"SELECT {pk}, {column} FROM {table} "  # noqa: S608
            f"WHERE {column} IS NOT NULL AND {column} <> '' AND {column} NOT LIKE %s AND {pk} > %s "
            f"ORDER BY {pk} LIMIT %s"
        )
        update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"  # noqa: S608
        last_pk: Any = 0 if pk_field.get_internal_type() in ("AutoField", "BigAutoField") else ""
        rotated = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    select, [current_prefix.replace("_", r"\_") + "%", last_pk, batch_size]
                )
                rows = cursor.fetchall()
                for row_pk, stored in rows:
                    plaintext = crypto.decrypt(stored, aad=field.aad, ring=ring)
                    cursor.execute(
                        update,
                        [crypto.encrypt(plaintext, aad=field.aad, ring=ring), row_pk, stored],
                    )
                    rotated += cursor.rowcount
            if len(rows) < batch_size:
                break
            last_pk = rows[-1][0]
        return rotated

    def _rotate_authenticators(self, *, ring: crypto.Keyring, batch_size: int) -> int:
        candidates = Authenticator.objects.filter(
            type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
        ).order_by("pk")
        last_pk = 0
        rotated = 0
        while True:
            with transaction.atomic():
                batch = list(
                    candidates.filter(pk__gt=last_pk).values_list("pk", "data")[:batch_size]
                )
                for authenticator_id, data in batch:
                    new_data = authenticator_data_reencrypt(data, ring=ring)
                    if new_data is data:
                        continue
                    # Compare-and-swap on the whole JSON value: a concurrent write (a recovery
                    # code marked used) makes this a no-op instead of being reverted; re-run.
                    rotated += Authenticator.objects.filter(pk=authenticator_id, data=data).update(
                        data=new_data
                    )
            if len(batch) < batch_size:
                break
            last_pk = batch[-1][0]
        return rotated
