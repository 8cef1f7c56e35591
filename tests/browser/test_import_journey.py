"""An agent's first morning: import a CSV on a phone, watch the real Celery worker fill the
progress bar, find a lead by a phone number typed the way it was said aloud, fix the lead in
place, and log a note and a task.

The import runs through the broker and a real `celery worker` process (no eager mode); the page
learns it finished only by polling, as it does in production.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Contact, ImportJob, Note, Task
from contacts.pipeline.services import pipeline_create_defaults
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]

ROWS = 400


def _csv() -> bytes:
    lines = ["First name,Last name,Email,Mobile,Stage,Tags"]
    for i in range(ROWS - 1):
        lines.append(
            f"Lead{i},Person{i},lead{i}@example.com,+1 628 555 {1000 + i:04d},New,open house"
        )
    # The lead the agent is looking for, with her number written the way a spreadsheet holds it.
    lines.append("Rosa,Diaz,ROSA.DIAZ@Example.com,(415) 555-0142,Qualified,vip")
    return ("\n".join(lines) + "\n").encode()


def test_an_agent_imports_a_csv_finds_a_lead_by_phone_and_works_the_lead(
    live_server: Any,
    celery_worker: Any,
    alice: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/contacts/import/")
    page.get_by_label("CSV file").set_input_files(
        {"name": "open-house-leads.csv", "mimeType": "text/csv", "buffer": _csv()}
    )
    page.get_by_role("button", name="Upload and map columns").click()

    # The mapping page guessed every column and previews the first rows.
    expect(page.get_by_role("button", name=f"Import {ROWS} rows")).to_be_visible()
    expect(page.locator("body")).to_contain_text("lead0@example.com")
    page.get_by_role("button", name=f"Import {ROWS} rows").click()
    # The Stage and Tags values found: existing stages suggested, new tags to create.
    expect(page.get_by_role("heading", name="Map values")).to_be_visible()
    page.get_by_role("button", name=f"Import {ROWS} rows").click()

    # The worker runs the import; the progress section polls until it says so.
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(page.locator(".import-counts")).to_contain_text(str(ROWS))
    job = ImportJob.objects.for_workspace(ws).get()
    assert job.status == ImportJob.Status.DONE
    assert job.created_count == ROWS
    assert Contact.objects.for_workspace(ws).live().count() == ROWS
    screenshot("import-finished")

    page.get_by_role("link", name="Go to contacts").click()
    page.fill("#id_q", "415.555.0142")
    results = page.locator("#contact-results")
    expect(results).to_contain_text("Rosa Diaz")
    expect(results).not_to_contain_text("Lead0 ")
    results.get_by_role("link", name="Rosa Diaz").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Diaz")
    expect(page.locator("#contact-header a[href='tel:+14155550142']")).to_be_visible()
    expect(page.locator("#contact-header .stage-badge")).to_have_text("Qualified")

    page.get_by_role("link", name="Edit contact details").click()
    page.get_by_label("Last name").fill("Diaz-Moreno")
    page.locator("#section-details").get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Diaz-Moreno")

    page.get_by_role("link", name="Add note").click()
    page.locator("#id_body").fill("Met at the Elm St open house; wants a yard")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#timeline-list .tl-note").first).to_contain_text("wants a yard")

    page.get_by_role("link", name="Add task").click()
    page.locator("#id_title").fill("Send Elm St comps")
    page.locator("#id_due_date").fill((timezone.localdate() + timedelta(days=1)).isoformat())
    page.locator("#id_due_time").fill("09:00")
    page.get_by_role("button", name="Add task").click()
    expect(page.locator("#open-tasks")).to_contain_text("Send Elm St comps")
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= 390
    screenshot("lead-worked-390")

    rosa = Contact.objects.for_workspace(ws).get(primary_phone="+14155550142")
    assert rosa.last_name == "Diaz-Moreno"
    assert rosa.primary_email == "rosa.diaz@example.com"
    assert Note.objects.for_workspace(ws).get(contact=rosa).body.endswith("wants a yard")
    assert Task.objects.for_workspace(ws).get(contact=rosa).title == "Send Elm St comps"
