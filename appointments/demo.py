"""Appointments' share of the demo workspace (alt.accounts.signals.demo_seeded, connected in
apps.py): a few weeks of past appointments and two weeks of upcoming ones with the seeded
contacts, so a trial sees an agenda, and sees Calendar Sync push the upcoming ones when it
connects Google Calendar (the connect catches up every upcoming appointment not yet synced).

Made through appointment_create, so each is valid and on its contact's timeline like any other.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from alt.accounts.models import User, Workspace
from appointments.models import Appointment
from appointments.services import appointment_create
from contacts.models import Contact, Property

PAST = 6
UPCOMING = 8
_HOURS = (9, 10, 11, 13, 14, 15, 16)
_KINDS = [
    (Appointment.Kind.TOUR, 5),
    (Appointment.Kind.CALL, 3),
    (Appointment.Kind.LISTING, 2),
    (Appointment.Kind.OPEN_HOUSE, 1),
]
_MINUTES = {"tour": 60, "call": 30, "listing": 90, "open_house": 180, "other": 60}


def seed_demo_appointments(
    sender: Any, *, workspace: Workspace, owner: User, seed: int, **kwargs: Any
) -> list[Appointment]:
    """Book PAST appointments over the last three weeks and UPCOMING ones over the next two,
    on weekdays in business hours of the owner's time zone, mostly the owner's (some the
    teammate's). Adds nothing to a workspace that already has appointments."""
    if Appointment.objects.for_workspace(workspace).exists():
        return []
    contacts = list(Contact.objects.for_workspace(workspace).live().order_by("id")[:200])
    if not contacts:
        return []
    rng = random.Random(f"{seed}:appointments")  # noqa: S311 (demo data, not secrets)
    agents = list(User.objects.filter(memberships__workspace=workspace).order_by("memberships__id"))
    properties = list(Property.objects.for_workspace(workspace).order_by("id")[:50])
    tz = ZoneInfo(owner.timezone)
    today = timezone.localdate(timezone.now(), tz)
    days = [*_weekdays(today, -21, -1, rng, PAST), *_weekdays(today, 1, 14, rng, UPCOMING)]
    booked = []
    with transaction.atomic():
        for day in days:
            kind = rng.choices([k for k, _ in _KINDS], weights=[w for _, w in _KINDS])[0]
            contact = rng.choice(contacts)
            starts_at = datetime.combine(day, time(rng.choice(_HOURS)), tzinfo=tz)
            prop = rng.choice(properties) if properties and kind != "call" else None
            teammate = [a for a in agents if a.id != owner.id][:1]
            agent = teammate[0] if teammate and rng.random() < 0.2 else owner
            booked.append(
                appointment_create(
                    workspace=workspace,
                    actor=owner,
                    agent=agent,
                    contact=contact,
                    kind=kind,
                    title=f"{Appointment.Kind(kind).label} with {contact.name}"[:200],
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=_MINUTES[kind]),
                    location=str(prop)[:300] if prop else "",
                    property=prop,
                )
            )
    return booked


def _weekdays(today: date, first: int, last: int, rng: random.Random, count: int) -> list[date]:
    """`count` weekdays between today+first and today+last (repeats allowed), in order."""
    choices = [
        today + timedelta(days=offset)
        for offset in range(first, last + 1)
        if (today + timedelta(days=offset)).weekday() < 5
    ]
    return sorted(rng.choice(choices) for _ in range(count))
