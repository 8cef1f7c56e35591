"""Tasks of their own, from the Tasks page: with or without a contact (picked by search), for a
teammate, repeating daily, weekly or monthly; editing, stopping a series, deleting; and the next
occurrence created exactly once when a repeating task is done."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from contacts.models import Activity, Contact, Task
from contacts.normalize import search_text_for
from contacts.services import RepeatRule, task_add, task_complete
from contacts.tasks import task_reminders_deliver
from tests.conftest import workspace_of
from tests.contacts.conftest import bulk_contacts
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LA = "America/Los_Angeles"


def form(alice: User, **changes: Any) -> dict[str, Any]:
    return {
        "title": "Renew my license",
        "due_date": "2031-01-15",
        "due_time": "09:30",
        "repeat": "",
        "contact": "",
        "assigned_to": str(alice.id),
    } | changes


def tasks_in(workspace: Any) -> list[Task]:
    return list(Task.objects.for_workspace(workspace).order_by("due_at", "id"))


def repeating(contact: Contact | None, owner: User, due_at: datetime, repeat: str) -> Task:
    return task_add(
        workspace=workspace_of(owner),
        contact=contact,
        actor=owner,
        title="Check the MLS",
        due_at=due_at,
        repeat=RepeatRule(repeat=repeat, time_zone=owner.timezone),
    )


def next_of(task: Task) -> Task:
    return Task.objects.for_workspace(task.workspace).get(previous=task)


# --- adding from the Tasks page ------------------------------------------------------------------
def test_a_task_without_a_contact_is_added_from_the_tasks_page_in_the_agents_zone(
    alice_client: Client, alice: User
) -> None:
    response = alice_client.post("/tasks/", form(alice))

    [task] = tasks_in(workspace_of(alice))
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    assert task.contact is None
    assert task.assigned_to == alice
    assert task.due_at == datetime(2031, 1, 15, 17, 30, tzinfo=UTC)
    assert task.repeat == ""
    page = alice_client.get("/tasks/").content.decode()
    assert "Renew my license" in page
    assert "No contact" in page


def test_a_task_about_a_contact_found_by_search_is_logged_on_its_timeline(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    picker = alice_client.get("/tasks/", {"contact_q": "mar"}, headers=HTMX).content.decode()
    assert picker.lstrip().startswith('<div class="field field-contact')
    assert f'value="{maria.id}"' in picker

    alice_client.post("/tasks/", form(alice, contact=str(maria.id), title="Send comps"))

    [task] = tasks_in(maria.workspace)
    assert task.contact == maria
    entries = Activity.objects.for_workspace(maria.workspace).filter(kind="task_created")
    assert [e.summary for e in entries] == ["Task: Send comps"]


def test_the_contact_picker_lists_at_most_25_matches_of_the_workspace_only(
    alice_client: Client, alice: User, charlie: User
) -> None:
    rows = [
        {"first_name": "Sam", "last_name": f"Smith{i}", "search_text": search_text_for("Sam", f"Smith{i}", [], [])}
        for i in range(40)
    ]  # fmt: skip
    bulk_contacts(workspace_of(alice), rows)
    theirs = create_contact(
        workspace=workspace_of(charlie), actor=charlie, first_name="Sam", last_name="Smithers"
    )

    picker = alice_client.get("/tasks/", {"contact_q": "smith"}, headers=HTMX).content.decode()
    page = alice_client.get("/tasks/").content.decode()

    assert picker.count("<option") == 26  # "No contact" and 25 of the 40
    assert "Smithers" not in picker
    assert f'value="{theirs.id}"' not in picker
    assert page.count('<option value="') <= 26 + 2 + 4  # contacts, members, repeats: no 40


def test_the_task_can_be_for_a_teammate_but_not_for_someone_outside_the_workspace(
    alice_client: Client, alice: User, bob: User, charlie: User
) -> None:
    outsider = alice_client.post("/tasks/", form(alice, assigned_to=str(charlie.id)))
    teammate = alice_client.post("/tasks/", form(alice, assigned_to=str(bob.id)))

    assert outsider.status_code == 400
    assert "Choose a member of your team." in outsider.content.decode()
    assert teammate.status_code == 302
    [task] = tasks_in(workspace_of(alice))
    assert task.assigned_to == bob
    assert (
        "Task added for Bob Teammate: Renew my license."
        in alice_client.get("/tasks/").content.decode()
    )


def test_another_workspaces_contact_id_is_refused_and_nothing_is_added(
    alice_client: Client, alice: User, charlie: User
) -> None:
    theirs = create_contact(workspace=workspace_of(charlie), actor=charlie, first_name="Zed")

    response = alice_client.post("/tasks/", form(alice, contact=str(theirs.id)))

    assert response.status_code == 404
    assert tasks_in(workspace_of(alice)) == []
    assert tasks_in(workspace_of(charlie)) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"due_date": "9999-12-31"}, "That&#x27;s more than 10 years ahead"),
        ({"due_date": "0026-01-15"}, "Write the year in full, e.g. "),
        ({"title": "x" * 10_000}, "Ensure this value has at most 200 characters (it has 10000)."),
        ({"title": "   "}, "Say what needs doing"),
        (
            {"repeat": "hourly"},
            "Choose how often it repeats from the list.",
        ),
        ({"due_time": "25:99"}, "Enter the time like 09:30 or 2:15 PM."),
        (
            {"due_date": "2031-03-09", "due_time": "02:30"},
            "2:30 AM doesn&#x27;t exist on Mar 9: the clocks go forward that night.",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_added(
    alice_client: Client, alice: User, changes: dict[str, str], message: str
) -> None:
    response = alice_client.post("/tasks/", form(alice, **changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert tasks_in(workspace_of(alice)) == []


def test_a_right_to_left_title_is_kept_and_shown_isolated(
    alice_client: Client, alice: User
) -> None:
    alice_client.post("/tasks/", form(alice, title="להתקשר ללקוח"))

    page = alice_client.get("/tasks/").content.decode()

    [task] = tasks_in(workspace_of(alice))
    assert task.title == "להתקשר ללקוח"
    assert "<bdi>להתקשר ללקוח</bdi>" in page


def test_the_page_shows_tasks_without_a_contact_on_their_own_when_asked(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    soon = timezone.now() + timedelta(days=2)
    task_add(workspace=maria.workspace, contact=maria, actor=alice, title="Call Maria", due_at=soon)
    task_add(workspace=maria.workspace, contact=None, actor=alice, title="Order signs", due_at=soon)

    everything = alice_client.get("/tasks/").content.decode()
    alone = alice_client.get("/tasks/", {"without": "contact"}).content.decode()

    assert "Call Maria" in everything
    assert "Order signs" in everything
    assert "Order signs" in alone
    assert "Call Maria" not in alone


# --- repeating -----------------------------------------------------------------------------------
def test_a_repeating_task_is_added_from_the_page_and_done_gives_the_next_one(
    alice_client: Client, alice: User
) -> None:
    tomorrow = timezone.localdate(timezone.now(), ZoneInfo(LA)) + timedelta(days=1)
    alice_client.post("/tasks/", form(alice, repeat="daily", due_date=tomorrow.isoformat()))
    [task] = tasks_in(workspace_of(alice))

    response = alice_client.post(f"/tasks/{task.id}/complete/", headers=HTMX)

    done, following = tasks_in(workspace_of(alice))
    assert done.completed_at is not None
    assert following.completed_at is None
    assert following.due_at == datetime.combine(
        tomorrow + timedelta(days=1), time(9, 30), tzinfo=ZoneInfo(LA)
    )
    assert following.previous == done
    assert following.title == "Renew my license"
    fragment = response.content.decode()
    assert f'id="task-{done.id}"' in fragment
    assert f'id="task-{following.id}"' in fragment


def test_a_weekly_task_keeps_its_wall_clock_time_when_the_clocks_change(
    alice: User, maria: Contact
) -> None:
    # Monday Mar 3, 2031, 9:00 in Los Angeles (PST); the clocks go forward on Sunday Mar 9.
    task = repeating(maria, alice, datetime(2031, 3, 3, 17, 0, tzinfo=UTC), "weekly")

    with time_machine.travel(datetime(2031, 3, 3, 18, 0, tzinfo=UTC)):
        task_complete(task=task, actor=alice)

    following = next_of(task)
    assert following.due_at == datetime(2031, 3, 10, 16, 0, tzinfo=UTC)  # 9:00 PDT
    assert following.repeat_time == time(9, 0)


def test_a_monthly_task_on_the_31st_falls_on_the_months_last_day_then_back_on_the_31st(
    alice: User,
) -> None:
    task = repeating(None, alice, datetime(2031, 1, 31, 17, 0, tzinfo=UTC), "monthly")
    seen = []
    for _ in range(3):
        with time_machine.travel(task.due_at + timedelta(hours=1)):
            task_complete(task=task, actor=alice)
        task = next_of(task)
        seen.append(task.due_at.date().isoformat())

    assert seen == ["2031-02-28", "2031-03-31", "2031-04-30"]


def test_a_task_done_late_skips_the_occurrences_already_past(alice: User) -> None:
    task = repeating(None, alice, datetime(2031, 1, 1, 17, 0, tzinfo=UTC), "daily")

    with time_machine.travel(datetime(2031, 1, 10, 20, 0, tzinfo=UTC)):
        task_complete(task=task, actor=alice)

    assert next_of(task).due_at == datetime(2031, 1, 11, 17, 0, tzinfo=UTC)


def test_marking_a_repeating_task_done_twice_creates_one_next_occurrence(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    task = repeating(maria, alice, timezone.now(), "daily")

    alice_client.post(f"/tasks/{task.id}/complete/", headers=HTMX)
    alice_client.post(f"/tasks/{task.id}/complete/")

    assert len(tasks_in(maria.workspace)) == 2
    completions = Activity.objects.for_workspace(maria.workspace).filter(kind="task_completed")
    assert completions.count() == 1


def test_the_next_occurrence_of_a_contacts_repeating_task_is_on_their_timeline(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    task = repeating(maria, alice, timezone.now(), "weekly")

    alice_client.post(f"/tasks/{task.id}/complete/")
    alice_client.post(f"/tasks/{task.id}/complete/")

    following = next_of(task)
    added = Activity.objects.for_workspace(maria.workspace).filter(
        kind="task_created", data__task_id=following.id
    )
    assert [a.summary for a in added] == [f"Next: {task.title}"]
    assert datetime.fromisoformat(added[0].data["due_at"]) == following.due_at


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_mark_done_posts_create_one_next_occurrence(alice: User) -> None:
    task = repeating(None, alice, timezone.now(), "daily")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def mark_done() -> None:
        try:
            start.wait(timeout=10)
            task_complete(
                task=Task.objects.for_workspace(task.workspace).get(id=task.id), actor=alice
            )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=mark_done) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    rows = tasks_in(workspace_of(alice))
    assert len(rows) == 2
    assert [t.previous_id for t in rows] == [None, task.id]


def test_the_database_refuses_a_second_next_occurrence(alice: User) -> None:
    task = repeating(None, alice, timezone.now(), "daily")
    task_complete(task=task, actor=alice)
    ws = workspace_of(alice)

    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(workspace=ws, title="Again", due_at=timezone.now(), previous=task)


def test_stopping_a_series_keeps_this_task_and_adds_no_next_one(
    alice_client: Client, alice: User
) -> None:
    task = repeating(None, alice, timezone.now(), "weekly")

    response = alice_client.post(f"/tasks/{task.id}/stop/")
    alice_client.post(f"/tasks/{task.id}/complete/")

    assert response.status_code == 302
    [only] = tasks_in(workspace_of(alice))
    assert only.repeat == ""
    assert only.completed_at is not None


def test_deleting_a_repeating_task_ends_the_series(alice_client: Client, alice: User) -> None:
    task = repeating(None, alice, timezone.now(), "weekly")

    response = alice_client.post(f"/tasks/{task.id}/delete/")

    assert response.status_code == 302
    assert tasks_in(workspace_of(alice)) == []
    assert "The series ends with it." in alice_client.get("/tasks/").content.decode()


# --- editing -------------------------------------------------------------------------------------
def test_editing_a_task_moves_it_and_rearms_its_reminder(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    task = task_add(
        workspace=maria.workspace, contact=maria, actor=alice, title="Call",
        due_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    Task.objects.for_workspace(maria.workspace).filter(id=task.id).update(
        reminded_at=timezone.now()
    )

    page = alice_client.get(f"/tasks/{task.id}/edit/")
    response = alice_client.post(
        f"/tasks/{task.id}/edit/",
        form(alice, title="Call back", due_date="2031-02-01", due_time="08:00", repeat="monthly",
             contact=str(maria.id)),
    )  # fmt: skip

    assert page.status_code == 200
    assert 'value="Call"' in page.content.decode()
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.title == "Call back"
    assert task.due_at == datetime(2031, 2, 1, 16, 0, tzinfo=UTC)
    assert task.reminded_at is None
    assert (task.repeat, task.repeat_day, task.repeat_time) == ("monthly", 1, time(8, 0))


def test_editing_keeps_a_stored_day_outside_the_window_but_refuses_a_new_one(
    alice_client: Client, alice: User
) -> None:
    old = timezone.now() - timedelta(days=800)
    task = task_add(
        workspace=workspace_of(alice), contact=None, actor=alice, title="Old", due_at=old
    )
    old_day = old.astimezone(ZoneInfo(LA)).date().isoformat()

    kept = alice_client.post(f"/tasks/{task.id}/edit/", form(alice, title="Old one", due_date=old_day,
                                                             due_time=old.astimezone(ZoneInfo(LA)).strftime("%H:%M")))  # fmt: skip
    refused = alice_client.post(f"/tasks/{task.id}/edit/", form(alice, due_date="9999-01-01"))

    assert kept.status_code == 302
    assert refused.status_code == 400
    task.refresh_from_db()
    assert task.title == "Old one"


def test_another_workspace_cannot_edit_stop_or_delete_a_task(
    charlie_client: Client, alice: User
) -> None:
    task = repeating(None, alice, timezone.now(), "daily")

    assert charlie_client.get(f"/tasks/{task.id}/edit/").status_code == 404
    assert charlie_client.post(f"/tasks/{task.id}/edit/", form(alice)).status_code == 404
    assert charlie_client.post(f"/tasks/{task.id}/stop/").status_code == 404
    assert charlie_client.post(f"/tasks/{task.id}/delete/").status_code == 404
    [same] = tasks_in(workspace_of(alice))
    assert (same.title, same.repeat) == ("Check the MLS", "daily")


@pytest.mark.parametrize(
    "due_at",
    [datetime(9999, 12, 31, 23, 30, tzinfo=UTC), datetime(1, 1, 1, 0, 0, tzinfo=UTC)],
)
def test_a_repeating_task_stored_at_the_ends_of_time_opens_and_completes_without_a_next_one(
    alice_client: Client, alice: User, due_at: datetime
) -> None:
    ws = workspace_of(alice)
    task = Task.objects.for_workspace(ws).create(
        workspace=ws, assigned_to=alice, title="Forever", due_at=due_at, repeat="daily",
        repeat_time_zone=LA, repeat_time=time(9, 0),
    )  # fmt: skip

    edit = alice_client.get(f"/tasks/{task.id}/edit/")
    listing = alice_client.get("/tasks/")
    done = alice_client.post(f"/tasks/{task.id}/complete/")

    assert edit.status_code == 200
    assert listing.status_code == 200
    assert done.status_code == 302
    if due_at.year == 9999:
        assert tasks_in(ws) == [task]  # no occurrence after the last day datetime can hold


def test_without_javascript_the_search_box_narrows_the_contact_list_of_the_whole_page(
    alice_client: Client, alice: User, maria: Contact
) -> None:
    other = create_contact(workspace=maria.workspace, actor=alice, first_name="Quentin")

    page = alice_client.get("/tasks/", {"contact_q": "lopez"}).content.decode()

    assert page.startswith("<!DOCTYPE html>")
    assert f'<option value="{maria.id}">Maria Lopez</option>' in page
    assert f'value="{other.id}"' not in page


def test_the_service_refuses_an_outsider_as_assignee_and_another_workspaces_contact(
    alice: User, charlie: User
) -> None:
    ws = workspace_of(alice)
    theirs = create_contact(workspace=workspace_of(charlie), actor=charlie, first_name="Zed")
    due = timezone.now() + timedelta(days=1)

    with pytest.raises(ValueError, match="member of the workspace"):
        task_add(
            workspace=ws, contact=None, actor=alice, title="X", due_at=due, assigned_to=charlie
        )
    with pytest.raises(ValueError, match="Choose a contact from this workspace"):
        task_add(workspace=ws, contact=theirs, actor=alice, title="X", due_at=due)

    assert tasks_in(ws) == []


def test_the_reminder_of_a_repeating_task_says_it_repeats(alice: User) -> None:
    repeating(None, alice, timezone.now() - timedelta(minutes=1), "weekly")

    task_reminders_deliver()

    [email] = mail.outbox
    assert email.subject == "Reminder: Check the MLS"
    assert "Repeats: every week. Mark it done and the next one is added." in email.body
