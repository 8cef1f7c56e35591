"""What providers send us: every webhook delivery, stored raw before anything acts on it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class InboundEvent(models.Model):
    """One webhook delivery, kept byte for byte as it arrived (the signature covered these bytes).

    Not a tenant row: the workspace is learnt while processing (a Meta account id, a Twilio
    number). (provider, external_id) is unique, so a provider's retry or double delivery is
    stored once and processed once.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"  # processing raised a permanent error; staff can retry

    provider = models.CharField(max_length=40)
    external_id = models.CharField(max_length=255)
    body = models.BinaryField()
    content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Not claimed before this time: a drain's lease while it processes, or a transient failure's
    # backoff (integrations/webhooks.py). Null: claimable now.
    process_after = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"], name="inbound_event_unique_external_id"
            )
        ]
        indexes = [
            # The sweeper's question: which deliveries are still waiting to be processed?
            models.Index(
                fields=["received_at"],
                name="inbound_event_waiting",
                condition=models.Q(status="received"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.external_id}"
