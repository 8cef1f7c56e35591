"""The dashboard: leads per stage, new this week, stale leads, my tasks due, honest placeholders,
and a first-run state for an empty workspace."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import Contact, PipelineStage
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import (
    ContactInput,
    contact_create,
    contacts_delete,
    task_add,
    task_complete,
)

pytestmark = pytest.mark.django_db


def add_contact(ws: Any, actor: Any, name: str, stage: str = "New", **fields: Any) -> Contact:
    contact = contact_create(
        workspace=ws,
        actor=actor,
        data=ContactInput(
            first_name=name,
            stage=PipelineStage.objects.for_workspace(ws).get(name=stage),
        ),
    )
    if fields:
        Contact.objects.for_workspace(ws).filter(id=contact.id).update(**fields)
    return contact


def stage_counts(page: str) -> dict[str, int]:
    bars = page.split('class="stage-bars"')[1].split("</ul>")[0]
    return {
        name: int(n) for name, n in re.findall(r"<span>([^<]+)</span><strong>(\d+)</strong>", bars)
    }


def test_an_empty_workspace_gets_a_first_run_state(
    alice_client: Client, ws_with_stages: Any
) -> None:
    page = alice_client.get("/dashboard/").content.decode()

    assert "Start your lead list" in page
    assert 'href="/contacts/new/"' in page
    assert 'href="/contacts/import/"' in page
    assert 'href="/settings/workspace/"' in page
    assert "Invite your team" in page
    assert "Leads by stage" not in page


def test_it_counts_live_leads_per_stage_and_new_ones_this_week(
    alice_client: Client, alice: Any, ws_with_stages: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(ws_with_stages, alice, "Ann", "New")
    add_contact(ws_with_stages, alice, "Ben", "New")
    add_contact(ws_with_stages, alice, "Cat", "Showing")
    add_contact(
        ws_with_stages, alice, "Dan", "Closed", created_at=timezone.now() - timedelta(days=30)
    )
    gone = add_contact(ws_with_stages, alice, "Eve", "Showing")
    contacts_delete(workspace=ws_with_stages, ids=[gone.id], actor=alice)
    other = workspace_of(charlie)
    pipeline_create_defaults(workspace=other)
    add_contact(other, charlie, "Zed", "New")

    page = alice_client.get("/dashboard/").content.decode()

    counts = stage_counts(page)
    assert counts["New"] == 2
    assert counts["Showing"] == 1
    assert counts["Closed"] == 1
    assert counts["Lost"] == 0
    assert list(counts) == [
        "New", "Contacted", "Qualified", "Showing", "Under contract", "Closed", "Lost"
    ]  # fmt: skip
    assert re.search(r'<span class="stat-value">4</span><span class="stat-label">leads', page)
    new_this_week = re.search(
        r'stat-value">(\d+)</span><span class="stat-label">new this week', page
    )
    assert new_this_week is not None
    assert int(new_this_week[1]) == 3


def test_stale_leads_are_counted_and_linked_to_the_filtered_list(
    alice_client: Client, alice: Any, ws_with_stages: Any
) -> None:
    add_contact(ws_with_stages, alice, "Fresh")
    add_contact(
        ws_with_stages, alice, "Quiet", last_activity_at=timezone.now() - timedelta(days=15)
    )
    add_contact(
        ws_with_stages, alice, "Silent", last_activity_at=timezone.now() - timedelta(days=40)
    )

    page = alice_client.get("/dashboard/").content.decode()

    assert "<strong>2</strong> leads with no activity for 14 days or more." in page
    assert 'href="/contacts/?stale=14"' in page


def test_it_lists_my_tasks_overdue_and_due_today_only(
    alice_client: Client, alice: Any, bob: Any, ws_with_stages: Any
) -> None:
    maria = add_contact(ws_with_stages, alice, "Maria")
    now = timezone.now()
    for owner, title, due_at in [
        (alice, "Overdue call", now - timedelta(days=2)),
        (alice, "Next week", now + timedelta(days=7)),
        (bob, "Bob's own task", now - timedelta(hours=1)),
    ]:
        task_add(workspace=ws_with_stages, contact=maria, actor=owner, title=title, due_at=due_at)
    done = task_add(
        workspace=ws_with_stages, contact=maria, actor=alice, title="Finished", due_at=now
    )
    task_complete(task=done, actor=alice)

    page = alice_client.get("/dashboard/").content.decode()

    tasks = page.split('id="dash-tasks"')[1].split("</section>")[0]
    assert "Overdue call" in tasks
    assert 'action="/tasks/' in tasks
    assert "Next week" not in tasks
    assert "Bob&#x27;s own task" not in tasks
    assert "Finished" not in tasks


def test_the_placeholders_say_what_will_fill_them(
    alice_client: Client, alice: Any, ws_with_stages: Any
) -> None:
    add_contact(ws_with_stages, alice, "Ann")

    page = alice_client.get("/dashboard/").content.decode()

    # Speed to lead is live: with no messages yet it says what will fill it.
    assert "how fast a person on your team answers them" in page


def test_the_dashboard_costs_a_fixed_number_of_queries(
    alice_client: Client, alice: Any, ws_with_stages: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        contact = add_contact(ws_with_stages, alice, f"Lead {i}")
        task_add(
            workspace=ws_with_stages, contact=contact, actor=alice, title=f"Call {i}",
            due_at=timezone.now() - timedelta(hours=1),
        )  # fmt: skip

    # 11 on a cold session: the calendar and Instagram banners each look once, then are cached.
    with django_assert_max_num_queries(11):
        response = alice_client.get("/dashboard/")

    assert response.status_code == 200
    assert "More tasks due" in response.content.decode()
