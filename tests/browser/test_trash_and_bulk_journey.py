"""In a real browser, on a phone and a desktop: bulk-tag every contact matching a filter (more
than one page of them) after a confirmation that states how many, then delete a contact from its
page and bring it back from Recently deleted. And a set above the inline limit, run by a real
Celery worker while the job's progress bar polls until it is done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from contacts.models import Activity, Contact
from tests.browser.conftest import sign_in
from tests.contacts.conftest import add_contact, bulk_contacts

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_bulk_tag_every_match_of_a_filter_then_delete_and_restore_a_contact(
    width: int,
    live_server: Any,
    alice: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    bulk_contacts(ws, [{"first_name": f"Web{i:02d}", "source": "website"} for i in range(55)])
    maria = add_contact(ws, "Maria", "Lopez", emails=["maria@example.com"], tags=["Buyer"])
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, alice, live_server.url)

    # Every match of the filter, not only the 50 on the page.
    page.goto(f"{live_server.url}/contacts/?source=website")
    expect(page.locator(".contact-row")).to_have_count(50)
    expect(page.locator(".js-select-matching")).to_be_hidden()
    page.check(".js-select-all")
    expect(page.locator(".js-select-matching")).to_contain_text("Select all matching this filter")
    page.check(".js-scope-matching")
    page.click(".bulk-actions > summary")
    page.fill("#bulk-tag", "Hot")
    page.click("button[name=action][value=tag]")

    expect(page.locator(".bulk-confirm h2")).to_have_text(
        "Add the tag “Hot” to all 55 contacts matching this filter?"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot("confirm-all-matching")
    page.click("text=Yes, 55 contacts")
    expect(page.locator(".flash-success")).to_contain_text("Tagged 55 contacts “Hot”.")
    assert "source=website" in page.url
    tagged = Contact.objects.for_workspace(ws).filter(tags__name="Hot")
    assert tagged.count() == 55
    assert not tagged.filter(id=maria.id).exists()

    # Delete from the contact page (its dialog promises the undo), restore from Recently deleted.
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.click(".delete-contact button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Maria Lopez moved to the trash.")
    assert asked == ["Delete Maria Lopez? You can undo this for 24 hours."]
    page.click(".flash-success >> text=Recently deleted")

    expect(page.locator("h1")).to_have_text("Recently deleted")
    row = page.locator(".trash-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Maria Lopez")
    expect(row).to_contain_text("by Alice Agent")
    expect(row).to_contain_text("erased in 23")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot("recently-deleted")
    row.get_by_role("button", name="Restore Maria Lopez").click()

    expect(page.locator(".flash-success")).to_contain_text("Restored 1 contact.")
    expect(page.locator(".trash-row")).to_have_count(0)
    screenshot("restored")
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    expect(page.locator("body")).to_contain_text("Restored from Recently deleted")
    expect(page.locator("body")).to_contain_text("maria@example.com")
    screenshot("contact-back")
    back = Contact.objects.for_workspace(ws).get(id=maria.id)
    assert back.deleted_at is None
    assert [t.name for t in back.tags.all()] == ["Buyer"]
    assert (
        Activity.objects.for_workspace(ws)
        .filter(contact=maria, kind=Activity.Kind.RESTORED, actor=alice)
        .exists()
    )


@pytest.mark.worker
def test_a_large_set_runs_in_the_real_worker_while_a_progress_bar_polls_until_done(
    celery_worker: Any,
    live_server: Any,
    alice: Any,
    workspace_of: Any,
    page: Page,
    settings: Any,
    screenshot: Callable[[str], Path],
) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 10  # read by the live server, which runs in this process
    ws = workspace_of(alice)
    bulk_contacts(ws, [{"first_name": f"Web{i:02d}", "source": "website"} for i in range(55)])
    page.set_viewport_size({"width": 1280, "height": 844})
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/contacts/?source=website")
    page.check(".js-select-all")
    page.check(".js-scope-matching")
    page.click(".bulk-actions > summary")
    page.select_option("#bulk-stage", label="Qualified")
    page.click("button[name=action][value=stage]")
    page.click("text=Yes, 55 contacts")

    assert "/contacts/bulk/jobs/" in page.url  # more than the inline limit: sent to the worker
    expect(page.locator("#bulk-progress h2")).to_have_text("Done", timeout=30_000)
    expect(page.locator("#bulk-progress")).not_to_have_attribute("hx-trigger", "every 1s")
    expect(page.locator("#bulk-progress")).to_contain_text("Moved 55 contacts to Qualified.")
    screenshot("bulk-job-done")
    assert Contact.objects.for_workspace(ws).filter(stage__name="Qualified").count() == 55
