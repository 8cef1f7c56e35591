from django.db import models

from alt.lib.fields import EncryptedTextField


class SecretHolder(models.Model):
    name = models.CharField(max_length=50)
    token = EncryptedTextField(null=True)
    other = EncryptedTextField(null=True)

    def __str__(self) -> str:
        return self.name


class InheritedSecretHolder(SecretHolder):
    """Multi-table inheritance: the parent's encrypted columns live in the parent's table only."""

    note = models.CharField(max_length=50, blank=True)
