"""Notes and tasks from the contact page, the task list, completing tasks, and the reminder emails
sent at the due time, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from alt.lib.errors import IntegrationError
from contacts.models import Activity, Contact, Note, Task
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create, task_add, task_complete
from contacts.tasks import task_reminders_claim, task_reminders_deliver, task_reminders_send
from tests.conftest import wait_for
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def maria(ws_with_stages: Any, alice: Any) -> Contact:
    """Maria with a phone."""
    return create_contact(
        workspace=ws_with_stages,
        actor=alice,
        first_name="Maria",
        last_name="Lopez",
        phones=["+14155550123"],
    )


def new_task(contact: Contact, owner: Any, title: str, due_at: datetime) -> Task:
    return task_add(
        workspace=contact.workspace, contact=contact, actor=owner, title=title, due_at=due_at
    )


def tasks_of(contact: Contact) -> list[Task]:
    return list(Task.objects.for_workspace(contact.workspace).filter(contact=contact))


# --- notes ---------------------------------------------------------------------------------------
def test_a_note_added_with_htmx_returns_its_timeline_entry_and_a_fresh_form(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.post(
        f"/contacts/{maria.id}/notes/", {"body": "Wants a yard\nfor the dog"}, headers=HTMX
    )

    fragment = response.content.decode()
    [note] = Note.objects.for_workspace(maria.workspace).filter(contact=maria)
    assert response.status_code == 200
    assert note.body == "Wants a yard\nfor the dog"
    assert fragment.lstrip().startswith('<li class="tl-entry tl-note">')
    assert "Wants a yard<br>for the dog" in fragment
    assert 'id="note-form"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "Wants a yard</textarea>" not in fragment


def test_an_empty_note_is_refused_with_a_clear_error(alice_client: Client, maria: Contact) -> None:
    with_htmx = alice_client.post(f"/contacts/{maria.id}/notes/", {"body": "   "}, headers=HTMX)
    without = alice_client.post(f"/contacts/{maria.id}/notes/", {"body": ""})

    assert with_htmx.status_code == 200
    assert with_htmx["HX-Retarget"] == "#note-form"
    assert with_htmx["HX-Reswap"] == "outerHTML"
    assert "Write something before saving the note." in with_htmx.content.decode()
    assert without.status_code == 400
    assert "Write something before saving the note." in without.content.decode()
    assert not Note.objects.for_workspace(maria.workspace).exists()


def test_without_htmx_a_note_returns_to_the_contact_page(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.post(f"/contacts/{maria.id}/notes/", {"body": "Called, no answer"})

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{maria.id}/"
    assert "Called, no answer" in alice_client.get(response["Location"]).content.decode()


# --- tasks ---------------------------------------------------------------------------------------
def test_a_task_is_due_at_the_time_the_agent_entered_in_her_time_zone(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    assert alice.timezone == "America/Los_Angeles"

    response = alice_client.post(
        f"/contacts/{maria.id}/tasks/",
        {"title": "Send comps", "due_date": "2031-01-15", "due_time": "09:30"},
        headers=HTMX,
    )

    [task] = tasks_of(maria)
    assert task.due_at == datetime(2031, 1, 15, 17, 30, tzinfo=UTC)
    assert task.assigned_to == alice
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<li class="tl-entry tl-task_created">')
    assert 'hx-swap-oob="beforeend:#open-tasks"' in fragment
    assert f'id="task-{task.id}"' in fragment
    assert "Wed, Jan 15, 2031, 9:30 AM" in fragment  # her time zone; not this year: the year


def test_a_task_follows_the_agents_own_time_zone(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    alice.timezone = "America/New_York"
    alice.save()

    alice_client.post(
        f"/contacts/{maria.id}/tasks/",
        {"title": "Call back", "due_date": "2031-07-04", "due_time": "2:15 PM"},
    )

    [task] = tasks_of(maria)
    assert task.due_at == datetime(2031, 7, 4, 18, 15, tzinfo=UTC)


def test_a_task_without_a_valid_due_date_or_title_is_refused(
    alice_client: Client, maria: Contact
) -> None:
    missing = alice_client.post(f"/contacts/{maria.id}/tasks/", {"title": "Call", "due_date": ""})
    invalid = alice_client.post(
        f"/contacts/{maria.id}/tasks/",
        {"title": "", "due_date": "next Tuesday", "due_time": "25:99"},
        headers=HTMX,
    )

    assert missing.status_code == 400
    assert "Pick a due date." in missing.content.decode()
    page = invalid.content.decode()
    assert invalid["HX-Retarget"] == "#task-form"
    assert "Enter the due date like 2025-03-14." in page
    assert "Enter the time like 09:30 or 2:15 PM." in page
    assert "Say what needs doing" in page
    assert tasks_of(maria) == []


def test_the_task_list_groups_my_open_tasks_into_overdue_today_and_upcoming(
    alice_client: Client, alice: Any, bob: Any, maria: Contact
) -> None:
    # Tomorrow at 18:00 UTC: 10:00 or 11:00 in Los Angeles (within the session's lifetime).
    morning = (timezone.now() + timedelta(days=1)).replace(hour=18, minute=0, second=0)
    with time_machine.travel(morning, tick=False):
        now = timezone.now()
        new_task(maria, alice, "Overdue call", now - timedelta(hours=2))
        new_task(maria, alice, "Tonight's follow-up", now + timedelta(hours=10))  # 20:00 or 21:00
        new_task(maria, alice, "Tomorrow's showing", now + timedelta(hours=15))  # after midnight
        new_task(maria, bob, "Bob's task", now + timedelta(hours=1))
        done = new_task(maria, alice, "Already done", now - timedelta(hours=1))
        task_complete(task=done, actor=alice)

        page = alice_client.get("/tasks/").content.decode()

    overdue = page.split('id="tasks-overdue"')[1].split("</section>")[0]
    today = page.split('id="tasks-today"')[1].split("</section>")[0]
    upcoming = page.split('id="tasks-upcoming"')[1].split("</section>")[0]
    assert "Overdue call" in overdue
    assert "Tonight&#x27;s follow-up" in today
    assert "Tomorrow&#x27;s showing" in upcoming
    assert "Bob&#x27;s task" not in page
    assert "Already done" not in page
    assert "Maria Lopez" in overdue


def test_the_task_list_has_an_empty_state(alice_client: Client, alice: Any) -> None:
    page = alice_client.get("/tasks/").content.decode()

    assert "You have no open tasks." in page


def test_completing_a_task_twice_logs_it_once(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    task = new_task(maria, alice, "Send comps", timezone.now())

    first = alice_client.post(f"/tasks/{task.id}/complete/", headers=HTMX)
    second = alice_client.post(f"/tasks/{task.id}/complete/", {"next": f"/contacts/{maria.id}/"})

    task.refresh_from_db()
    assert task.completed_at is not None
    assert 'class="row task-row is-done"' in first.content.decode()
    assert second["Location"] == f"/contacts/{maria.id}/"
    completions = Activity.objects.for_workspace(maria.workspace).filter(kind="task_completed")
    assert completions.count() == 1


def test_completing_redirects_only_to_this_site(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    task = new_task(maria, alice, "Send comps", timezone.now())

    response = alice_client.post(f"/tasks/{task.id}/complete/", {"next": "https://evil.example/"})

    assert response["Location"] == "/tasks/"


def test_completing_only_answers_posts_from_the_tasks_workspace(
    alice_client: Client, charlie_client: Client, alice: Any, maria: Contact
) -> None:
    task = new_task(maria, alice, "Send comps", timezone.now())

    assert alice_client.get(f"/tasks/{task.id}/complete/").status_code == 405
    assert charlie_client.post(f"/tasks/{task.id}/complete/").status_code == 404
    task.refresh_from_db()
    assert task.completed_at is None


# --- reminders -----------------------------------------------------------------------------------
def test_a_due_task_is_emailed_once_even_if_the_sweep_runs_twice(
    alice: Any, maria: Contact, settings: Any
) -> None:
    task = new_task(maria, alice, "Call about the offer", timezone.now() - timedelta(minutes=1))

    task_reminders_send.apply()
    task_reminders_send.apply()

    [email] = mail.outbox
    assert email.to == ["alice@example.com"]
    assert email.subject == "Reminder: Call about the offer · Maria Lopez"
    assert "Call about the offer" in email.body
    assert "Maria Lopez" in email.body
    assert f"{settings.SITE_URL}/contacts/{maria.id}/" in email.body
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_a_second_claim_finds_nothing_left_to_claim(alice: Any, maria: Contact) -> None:
    task = new_task(maria, alice, "Call", timezone.now() - timedelta(minutes=1))

    first = task_reminders_claim(now=timezone.now())
    second = task_reminders_claim(now=timezone.now())

    assert first == {maria.workspace.id: [task.id]}
    assert second == {}


def test_a_completed_task_is_not_emailed(alice: Any, maria: Contact) -> None:
    task = new_task(maria, alice, "Call", timezone.now() - timedelta(minutes=5))
    task_complete(task=task, actor=alice)

    task_reminders_send.apply()

    assert mail.outbox == []


def test_a_future_task_is_emailed_only_when_it_falls_due(alice: Any, maria: Contact) -> None:
    due_at = timezone.now() + timedelta(hours=2)
    new_task(maria, alice, "Open house prep", due_at)

    task_reminders_send.apply()
    assert mail.outbox == []

    with time_machine.travel(due_at + timedelta(seconds=30)):
        task_reminders_send.apply()

    assert [m.subject for m in mail.outbox] == ["Reminder: Open house prep · Maria Lopez"]


def test_the_reminder_goes_to_the_assignee_in_their_time_zone(
    alice: Any, bob: Any, maria: Contact
) -> None:
    bob.timezone = "America/Chicago"
    bob.save()
    due_at = datetime(2031, 1, 15, 15, 0, tzinfo=UTC)
    task_add(
        workspace=maria.workspace, contact=maria, actor=alice, title="Bob calls",
        due_at=due_at, assigned_to=bob,
    )  # fmt: skip

    with time_machine.travel(due_at + timedelta(seconds=10)):
        task_reminders_deliver()

    [email] = mail.outbox
    assert email.to == ["bob@example.com"]
    assert "Wed, Jan 15, 9:00 AM (America/Chicago)" in email.body


def test_a_transient_mail_failure_releases_the_claim_for_the_next_run(
    alice: Any, maria: Contact, resend: Any
) -> None:
    task = new_task(maria, alice, "Call", timezone.now() - timedelta(minutes=1))
    resend.fail_next(503, {"name": "application_error", "message": "down"}, times=10)

    with pytest.raises(IntegrationError):
        task_reminders_deliver()

    task.refresh_from_db()
    assert task.reminded_at is None
    resend.reset()
    assert task_reminders_deliver() == 1
    assert len(resend.sent_to("alice@example.com")) == 1


@pytest.mark.worker
def test_a_real_worker_emails_the_reminder_through_resend(
    celery_worker: Any, resend: Any, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    contact = contact_create(workspace=ws, actor=alice, data=ContactInput(first_name="Wendy"))
    task = new_task(contact, alice, "Worker reminder", timezone.now() - timedelta(seconds=5))

    task_reminders_send.delay()

    [email] = wait_for(lambda: resend.sent_to("alice@example.com"), timeout=30)
    assert email["subject"] == "Reminder: Worker reminder · Wendy"
    assert f"/contacts/{contact.id}/" in email["text"]
    task.refresh_from_db()
    assert task.reminded_at is not None


def test_a_reminder_is_not_emailed_to_an_assignee_who_has_left_the_workspace(
    alice: Any, bob: Any, maria: Contact
) -> None:
    due_at = timezone.now() - timedelta(minutes=1)
    task_add(
        workspace=maria.workspace, contact=maria, actor=alice, title="Bob calls back",
        due_at=due_at, assigned_to=bob,
    )  # fmt: skip
    new_task(maria, alice, "Alice calls back", due_at)
    bob.memberships.filter(workspace=maria.workspace).delete()

    task_reminders_deliver()

    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
