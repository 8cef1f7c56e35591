"""Shared pieces of the Google Calendar sync tests: connecting through the real views, booking
appointments, and running the jobs they send in-process (no global eager mode)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from celery.app.task import Task
from django.test import Client, TestCase

from alt.accounts.models import User, Workspace
from appointments.models import Appointment
from appointments.services import appointment_create
from contacts.models import Contact
from contacts.services import ContactInput, contact_create
from integrations.google_calendar.models import CalendarConnection
from integrations.sandbox.google import GoogleEmulator

START = datetime(2030, 5, 2, 17, 0, tzinfo=UTC)


@dataclass
class Outbox:
    """Celery jobs sent during a test, held here instead of going to the broker."""

    sent: list[tuple[Task, tuple[Any, ...]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [task.name.rsplit(".", 1)[-1] for task, _args in self.sent]

    def drain(self, limit: int = 500) -> int:
        """Run every sent job (and the jobs they send) in this process; returns how many ran.

        A job's retry runs at once (Celery's apply() is eager), so injected faults are retried
        without the backoff waits.
        """
        ran = 0
        while self.sent:
            task, args = self.sent.pop(0)
            # A job's own on-commit sends (e.g. the reconnect email) land in this outbox too.
            with TestCase.captureOnCommitCallbacks(execute=True):
                task.apply(args=args)
            ran += 1
            assert ran < limit, "jobs keep sending jobs"
        return ran

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Outbox:
    box = Outbox()

    def record(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        box.sent.append((self, tuple(args or ())))

    monkeypatch.setattr(Task, "apply_async", record)
    return box


def workspace_of(user: User) -> Workspace:
    return user.memberships.get().workspace


def new_contact(user: User, first_name: str = "Maria") -> Contact:
    return contact_create(
        workspace=workspace_of(user),
        actor=user,
        data=ContactInput(
            first_name=first_name, last_name="Buyer", emails=[f"{first_name.lower()}@example.com"]
        ),
    )


def book(
    user: User, contact: Contact, title: str = "Tour of 12 Oak St", **changes: Any
) -> Appointment:
    fields: dict[str, Any] = {
        "kind": Appointment.Kind.TOUR,
        "title": title,
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "location": "12 Oak St, Springfield",
        "notes": "Bring the disclosure packet",
    } | changes
    return appointment_create(workspace=workspace_of(user), actor=user, contact=contact, **fields)


def connect_through_views(
    client: Client, google: GoogleEmulator, *, email: str | None = None
) -> Any:
    """Connect -> Google consent (approved by the emulator) -> callback, like a browser."""
    start = client.post("/settings/calendar/connect/")
    assert start.status_code == 302, start
    redirect = google.auto_approve(start["Location"], email=email)
    parts = urlsplit(redirect)
    return client.get(f"{parts.path}?{parts.query}")


def connection_of(user: User) -> CalendarConnection | None:
    return CalendarConnection.objects.for_workspace(workspace_of(user)).filter(user=user).first()


def reload(appointment: Appointment) -> Appointment | None:
    return (
        Appointment.objects.for_workspace(appointment.workspace).filter(id=appointment.id).first()
    )


def live_events(google: GoogleEmulator, email: str) -> list[dict[str, Any]]:
    return [e for e in google.events_for(email) if e["status"] != "cancelled"]


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))
