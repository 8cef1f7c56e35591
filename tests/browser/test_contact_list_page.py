"""The contact list in a real browser, on a phone and a desktop: it fits the screen, search
updates the results in place with a shareable URL, and select-all plus a bulk action work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact
from tests.browser.conftest import sign_in
from tests.contacts.conftest import add_contact, stage_named

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_search_filters_in_place_and_a_bulk_tag_reaches_every_selected_row(
    width: int,
    live_server: Any,
    alice: Any,
    bob: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    ws = workspace_of(alice)
    qualified = stage_named(ws, "Qualified")
    add_contact(
        ws, "Jane", "Doe-Ramirez", emails=["jane.doe.ramirez@example.com"],
        phones=["(415) 555-0134"], stage=qualified, tags=["Pre-approved", "Buyer"],
        assigned_to=bob,
    )  # fmt: skip
    for i in range(6):
        add_contact(ws, f"Lead{i}", "Person", emails=[f"lead{i}@example.com"], tags=["Open house"])
    page.set_viewport_size({"width": width, "height": 844})
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/contacts/")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.locator(".contact-row")).to_have_count(7)

    page.fill("#id_q", "415.555.0134")
    expect(page.locator(".contact-row")).to_have_count(1)
    expect(page.locator(".contact-row")).to_contain_text("(415) 555-0134")
    assert "q=415.555.0134" in page.url

    page.fill("#id_q", "person")
    expect(page.locator(".contact-row")).to_have_count(6)
    page.check(".js-select-all")
    expect(page.locator(".js-selected-count")).to_have_text("(6 selected)")
    page.click(".bulk-actions > summary")
    page.fill("#bulk-tag", "Hot")
    page.click("button[name=action][value=tag]")
    expect(page.locator(".flash-success")).to_contain_text("Tagged 6 contacts")
    # Screenshots last: Playwright leaves style="" on inputs, which a later htmx settle would
    # copy and the Content-Security-Policy would (rightly) refuse.
    screenshot("tagged")
    page.goto(f"{live_server.url}/contacts/?q=415.555.0134")
    screenshot("searched")
    page.goto(f"{live_server.url}/contacts/")
    screenshot("list")

    tagged = Contact.objects.for_workspace(ws).filter(tags__name="Hot")
    assert set(tagged.values_list("last_name", flat=True)) == {"Person"}
    assert tagged.count() == 6
