"""Signals of the Instagram integration, for features built on it (keyword triggers, AI
auto-reply) without the ingest importing them.

- `comment_received(sender=InstagramComment, comment=InstagramComment)`: sent once per newly
  stored comment from someone else (not our own replies), after the ingest transaction committed.
"""

from __future__ import annotations

from django.dispatch import Signal

comment_received = Signal()
