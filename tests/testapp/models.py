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


class WebhookDelivery(models.Model):
    """What the test-only webhook provider's processing writes: one row per external id, with a
    count of how often processing ran for it (the recipe promises once)."""

    external_id = models.CharField(max_length=100, unique=True)
    text = models.TextField()
    times_processed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.external_id
