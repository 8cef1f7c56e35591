"""`seed_demo` fills the demo login's workspace with consistent, reproducible data, tops it up without
repeating people, and adds nothing when run again."""

from __future__ import annotations

import io
import zoneinfo
from collections import defaultdict
from typing import Any

import phonenumbers
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Max
from django.utils import timezone

from alt.accounts.management.commands.ensure_demo_login import DEMO_EMAIL
from alt.accounts.models import Membership, User
from appointments.models import Appointment
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateFlag,
    Note,
    PipelineStage,
    Property,
    PropertyLink,
    Task,
)
from contacts.normalize import search_text_for

pytestmark = pytest.mark.django_db

SMALL = {"contacts": 60, "properties": 12, "activities_per_contact": 5, "seed": 7}


def _seed(**options: Any) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def _demo_workspace() -> Any:
    user = User.objects.get(email=DEMO_EMAIL)
    return Membership.objects.get(user=user, workspace__name="Demo Realty").workspace


def test_it_fills_the_demo_logins_workspace_and_prints_one_line() -> None:
    output = _seed()

    ws = _demo_workspace()
    assert Contact.objects.for_workspace(ws).count() == 60
    assert Property.objects.for_workspace(ws).count() == 12
    assert output.splitlines()[-1].startswith(
        "seed_demo: Demo Realty: +60 contacts, +12 properties"
    )
    assert Note.objects.for_workspace(ws).exists()
    assert PropertyLink.objects.for_workspace(ws).exists()
    assert Membership.objects.filter(workspace=ws).count() == 2  # the demo agent and a teammate
    # Two near-duplicates, flagged the way contact_create flags them.
    assert DuplicateFlag.objects.for_workspace(ws).count() == 2
    per_stage = dict(
        Contact.objects.for_workspace(ws).values_list("stage__name").annotate(Count("id"))
    )
    assert per_stage["New"] > per_stage.get("Under contract", 0)


def test_every_seeded_contact_is_consistent_with_its_related_rows() -> None:
    _seed()
    ws = _demo_workspace()
    stage_ids = set(PipelineStage.objects.for_workspace(ws).values_list("id", flat=True))
    emails: dict[int, list[str]] = defaultdict(list)
    for contact_id, email in (
        ContactEmail.objects.for_workspace(ws)
        .order_by("-is_primary", "id")
        .values_list("contact_id", "email")
    ):
        emails[contact_id].append(email)
    phones: dict[int, list[str]] = defaultdict(list)
    for contact_id, e164 in (
        ContactPhone.objects.for_workspace(ws)
        .order_by("-is_primary", "id")
        .values_list("contact_id", "e164")
    ):
        phones[contact_id].append(e164)
    newest = dict(
        Activity.objects.for_workspace(ws).values_list("contact_id").annotate(Max("occurred_at"))
    )

    contacts = list(Contact.objects.for_workspace(ws))
    for c in contacts:
        assert c.stage_id in stage_ids
        assert c.primary_email == (emails[c.id][0] if emails[c.id] else "")
        assert c.primary_phone == (phones[c.id][0] if phones[c.id] else "")
        assert c.search_text == search_text_for(
            c.first_name, c.last_name, emails[c.id], phones[c.id]
        )
        if c.primary_email:
            assert c.primary_email in c.search_text
        assert c.last_activity_at == newest[c.id]
        assert c.budget_min is None or c.budget_max is None or c.budget_min <= c.budget_max
    assert sum(bool(c.primary_email) for c in contacts) > 40
    for e164 in {p for values in phones.values() for p in values}:
        number = phonenumbers.parse(e164)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.region_code_for_number(number) == "US"


def test_timeline_entries_point_at_their_notes_and_tasks() -> None:
    _seed()
    ws = _demo_workspace()

    note_ids = set(Note.objects.for_workspace(ws).values_list("id", flat=True))
    task_ids = set(Task.objects.for_workspace(ws).values_list("id", flat=True))
    logged_notes = {
        a.data["note_id"]
        for a in Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.NOTE)
    }
    logged_tasks = {
        a.data["task_id"]
        for a in Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.TASK_CREATED)
    }

    assert logged_notes == note_ids
    assert logged_tasks == task_ids
    open_tasks = Task.objects.for_workspace(ws).filter(completed_at=None)
    owner_zone = zoneinfo.ZoneInfo(User.objects.get(email=DEMO_EMAIL).timezone)
    today = timezone.localdate(timezone=owner_zone)
    assert open_tasks.filter(due_at__lt=timezone.now()).exists()
    assert any(timezone.localdate(t.due_at, owner_zone) == today for t in open_tasks)
    assert Task.objects.for_workspace(ws).exclude(completed_at=None).exists()


def test_a_seeded_contacts_phone_is_found_typed_in_another_format() -> None:
    _seed()
    ws = _demo_workspace()
    contact = Contact.objects.for_workspace(ws).exclude(primary_phone="").order_by("id").first()
    assert contact is not None
    national = phonenumbers.format_number(
        phonenumbers.parse(contact.primary_phone), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    dotted = national.replace("(", "").replace(") ", ".").replace("-", ".")

    for typed in (national, dotted, contact.primary_phone[2:]):
        found = Contact.objects.for_workspace(ws).live().search(typed)
        assert contact in found, typed


def test_running_it_again_adds_nothing() -> None:
    _seed()
    ws = _demo_workspace()
    before = (
        Contact.objects.for_workspace(ws).count(),
        Property.objects.for_workspace(ws).count(),
        Activity.objects.for_workspace(ws).count(),
        User.objects.count(),
    )

    output = _seed()

    after = (
        Contact.objects.for_workspace(ws).count(),
        Property.objects.for_workspace(ws).count(),
        Activity.objects.for_workspace(ws).count(),
        User.objects.count(),
    )
    assert after == before
    assert "+0 contacts, +0 properties" in output


def test_if_empty_leaves_a_workspace_with_contacts_alone() -> None:
    _seed(contacts=5, properties=2)
    ws = _demo_workspace()

    output = _seed(contacts=50, properties=10, if_empty=True)

    assert "already has contacts; nothing to do" in output
    assert Contact.objects.for_workspace(ws).count() == 5
    assert Property.objects.for_workspace(ws).count() == 2


def test_it_tops_up_to_the_asked_numbers_without_repeating_people() -> None:
    _seed()
    ws = _demo_workspace()

    _seed(contacts=90, properties=15)

    assert Contact.objects.for_workspace(ws).count() == 90
    assert Property.objects.for_workspace(ws).count() == 15
    emails = list(ContactEmail.objects.for_workspace(ws).values_list("email", flat=True))
    assert len(emails) == len(set(emails))


def test_it_can_seed_another_members_workspace_reproducibly(
    alice: Any, charlie: Any, workspace_of: Any
) -> None:
    _seed(email=alice.email, contacts=30, properties=5)
    _seed(email=charlie.email, contacts=30, properties=5)

    def people(user: Any) -> list[tuple[str, str, str]]:
        return sorted(
            Contact.objects.for_workspace(workspace_of(user)).values_list(
                "first_name", "last_name", "primary_email"
            )
        )

    assert len(people(alice)) == 30
    assert people(alice) == people(charlie)
    assert not User.objects.filter(email=DEMO_EMAIL).exists()


def test_an_unknown_email_is_an_error() -> None:
    with pytest.raises(CommandError, match=r"No user with the email nobody@example\.com"):
        _seed(email="nobody@example.com")


def test_the_demo_has_past_and_upcoming_appointments_with_its_contacts() -> None:
    _seed()
    ws = _demo_workspace()
    now = timezone.now()
    appointments = list(Appointment.objects.for_workspace(ws).live().select_related("contact"))
    members = set(Membership.objects.filter(workspace=ws).values_list("user_id", flat=True))

    assert any(a.ends_at < now for a in appointments)
    assert any(a.starts_at > now for a in appointments)
    assert {a.contact.workspace_id for a in appointments} == {ws.id}
    assert {a.agent_id for a in appointments} <= members
    # Not synced yet: connecting Google Calendar pushes the upcoming ones.
    assert {a.sync_state for a in appointments} == {Appointment.Sync.OFF}
    logged = Activity.objects.for_workspace(ws).filter(
        kind="appointment", data__appointment_id__in=[a.id for a in appointments]
    )
    assert logged.count() == len(appointments)


def test_seeding_again_adds_no_appointments() -> None:
    _seed()
    ws = _demo_workspace()
    before = Appointment.objects.for_workspace(ws).count()

    _seed(contacts=80)

    assert Contact.objects.for_workspace(ws).count() == 80
    assert Appointment.objects.for_workspace(ws).count() == before
