"""The seam between appointments and whatever copies them to an outside calendar.

Dependencies point one way (DESIGN.md): integrations call into the core apps, the core apps never
import a provider. So appointments/services.py talks to this small interface, and
integrations.google_calendar registers its implementation from `AppConfig.ready()`. With no
backend registered every appointment simply stays "Not synced".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from appointments.models import Appointment


class CalendarSync(Protocol):
    def state_for(self, appointment: Appointment) -> str:
        """The sync state a changed appointment starts in: pending, waiting, off, or removed
        (its event was deleted in the outside calendar and stays so until the agent asks)."""

    def push_on_commit(self, appointment: Appointment) -> None:
        """Send the push job for this appointment once the current transaction commits."""


_backend: CalendarSync | None = None


def register(backend: CalendarSync) -> None:
    global _backend  # one process-wide registration, made at start-up
    _backend = backend


def backend() -> CalendarSync | None:
    return _backend
