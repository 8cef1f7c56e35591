"""Issue 9's done-when, in a browser: an agent imports a messy Latin-1 CSV with unknown stages and
sources, maps them, gets the good rows in and downloads the rejected ones, then re-imports ALT's
own export and finds every field intact.

The imports run through the broker and a real `celery worker` process; the page learns they
finished only by polling.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact, ContactEmail, ContactPhone, CustomField, ImportJob
from contacts.pipeline.services import lead_sources_create_defaults, pipeline_create_defaults
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# Excel on Windows saves "CSV" in Windows-1252: accents are single bytes, not UTF-8.
MESSY = (
    "Name,E-mail,Mobile,Stage,Source,Agent,Tags,Lender,Email opt-in\n"
    "José Müller,jose@example.com,(415) 555-0101,New lead,Zillow,bob@example.com,vip,Chase,yes\n"
    "Renée Côté,renee@example.com,+44 20 7946 0958,New lead,Billboard,,vip; relocation,,no\n"
    "Zoë Ñúñez,zoe@example.com,415.555.0103,Hot,Zillow,bob@example.com,,Wells,yes\n"
    "Bad Email,not-an-email,,New lead,Zillow,,,,\n"
    "Ann Lee,ann@example.com,555-12,Hot,Billboard,,,,\n"
    "Tom Ng,tom@example.com,415-555-0106,Qualified,Open house,,open house,,no\n"
).encode("cp1252")


def _fields(contact: Contact) -> dict[str, Any]:
    ws = contact.workspace
    return {
        "name": (contact.first_name, contact.last_name),
        "emails": [e.email for e in ContactEmail.objects.for_workspace(ws).filter(contact=contact)],
        "phones": [p.e164 for p in ContactPhone.objects.for_workspace(ws).filter(contact=contact)],
        "stage": contact.stage.name,
        "source": contact.get_source_display(),
        "assigned_to": contact.assigned_to_id,
        "tags": sorted(t.name for t in contact.tags.all()),
        "consent_email": contact.consent_email,
        "custom_fields": contact.custom_fields,
    }


def _live_fields(ws: Any) -> dict[str, dict[str, Any]]:
    return {c.primary_email: _fields(c) for c in Contact.objects.for_workspace(ws).live()}


def _upload(page: Page, url: str, name: str, content: bytes) -> None:
    page.goto(f"{url}/contacts/import/")
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content}
    )
    page.get_by_role("button", name="Upload and map columns").click()


def test_an_agent_imports_a_messy_file_then_reimports_alts_export_intact(
    live_server: Any,
    celery_worker: Any,
    alice: Any,
    bob: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    pipeline_create_defaults(workspace=ws)
    lead_sources_create_defaults(workspace=ws)
    CustomField.objects.create(workspace=ws, key="lender", label="Lender")
    sign_in(page, alice, live_server.url)

    # 1. The messy file: read as Windows-1252, columns guessed, values to map.
    _upload(page, live_server.url, "from-excel.csv", MESSY)
    expect(page.locator("body")).to_contain_text("José Müller")
    page.get_by_role("button", name="Import 6 rows").click()
    expect(page.get_by_role("heading", name="Map values")).to_be_visible()
    new_lead = page.get_by_label("New lead", exact=True)
    expect(new_lead.locator("xpath=ancestor::li")).to_contain_text("3 rows")
    new_lead.select_option(label="New")  # an existing stage
    expect(page.get_by_label("Hot", exact=True)).to_have_value("new")  # created
    expect(page.get_by_label("Billboard", exact=True)).to_have_value("new")  # created
    screenshot("import-values-390")
    page.get_by_role("button", name="Import 6 rows").click()

    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(page.locator(".import-counts")).to_contain_text("Added4")
    expect(page.locator("body")).to_contain_text("2 rows had a problem and were not imported.")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download rejected rows (CSV)").first.click()
    rejected = Path(download_info.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(rejected)))
    assert rows[0][-1] == "Reason"
    assert [r[0] for r in rows[1:]] == ["Bad Email", "Ann Lee"]
    assert "is not a valid phone number" in rows[2][-1]
    jose = Contact.objects.for_workspace(ws).get(primary_email="jose@example.com")
    assert (jose.first_name, jose.last_name, jose.stage.name) == ("José", "Müller", "New")
    assert (jose.assigned_to, jose.custom_fields, jose.consent_email) == (
        bob,
        {"lender": "Chase"},
        True,
    )
    renee = Contact.objects.for_workspace(ws).get(primary_email="renee@example.com")
    assert (renee.get_source_display(), renee.stage.name) == ("Billboard", "New")
    assert (
        Contact.objects.for_workspace(ws).get(primary_email="zoe@example.com").stage.name == "Hot"
    )
    screenshot("import-partial-done-390")

    # 2. ALT's own export, the import undone, the export imported: every field as it was.
    before = _live_fields(ws)
    export = page.request.get(f"{live_server.url}/contacts/export.csv").body()
    first = ImportJob.objects.for_workspace(ws).get()
    page.goto(f"{live_server.url}/contacts/import/{first.id}/")
    page.get_by_role("button", name="Undo this import").click()
    expect(page.locator("body")).to_contain_text("Import undone: 4 contacts removed")
    assert not Contact.objects.for_workspace(ws).live().exists()

    _upload(page, live_server.url, "alt-export.csv", export)
    page.get_by_role("button", name="Import 4 rows").click()
    expect(page.get_by_role("heading", name="Map values")).to_be_visible()
    page.get_by_role("button", name="Import 4 rows").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(page.locator(".import-counts")).to_contain_text("Added4")

    assert _live_fields(ws) == before
    assert before["renee@example.com"]["phones"] == ["+442079460958"]
    screenshot("import-reimported-390")
