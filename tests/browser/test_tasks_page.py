"""The Tasks page in a phone-sized browser: find a contact by typing (htmx), add a repeating task,
mark it done and see the next one; nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Task
from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_an_agent_adds_a_repeating_task_about_a_contact_found_by_typing(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    for first in ("Maria", "Mark", "Nadia"):
        contact_create(
            workspace=ws, actor=alice, data=ContactInput(first_name=first, last_name="Lopez")
        )
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/tasks/")
    page.get_by_label("Find a contact").fill("nad")
    expect(page.locator("#id_contact option")).to_have_count(2)  # "No contact" and Nadia
    page.locator("#id_contact").select_option(label="Nadia Lopez")
    page.get_by_label("Task", exact=True).fill("Weekly check-in")
    page.get_by_label("Due date", exact=True).fill(
        (timezone.localdate() + timedelta(days=2)).isoformat()
    )
    page.get_by_label("Time", exact=True).fill("09:30")
    page.get_by_label("Repeat", exact=True).select_option(label="Every week")
    page.get_by_role("button", name="Add task").click()

    row = page.locator(".task-row", has_text="Weekly check-in")
    expect(row).to_contain_text("Nadia Lopez")
    expect(row).to_contain_text("Every week")
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= 390
    screenshot("tasks-390")

    row.get_by_role("button", name="Mark “Weekly check-in” done").click()
    expect(page.locator(".task-row.is-done")).to_contain_text("Weekly check-in")
    expect(page.locator(".task-row:not(.is-done)", has_text="Weekly check-in")).to_have_count(1)
    assert Task.objects.for_workspace(ws).filter(completed_at=None).count() == 1
