"""Signals the inbox sends, for the features built on top of it (keyword triggers, AI auto-reply,
speed to lead) without the inbox importing them.

- `message_received(sender=Message, message=Message, created_contact=bool)`: sent once per newly
  stored inbound message, after the ingest transaction committed (transaction.on_commit), so a
  receiver may send tasks and read the rows.
"""

from __future__ import annotations

from django.dispatch import Signal

message_received = Signal()
