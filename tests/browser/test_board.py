"""The pipeline board in a real browser: on a desktop a lead is dragged across the board to
another stage; on a phone the columns scroll sideways and the board's one "Move to…" menu, opened
from a card, moves a lead. Either way the card lands on top of its new column, the counts follow
and the timeline records it. Without JavaScript, "Move to…" is a page of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Activity, Contact, Source
from contacts.services import task_add
from tests.browser.conftest import sign_in
from tests.contacts.conftest import add_contact, stage_named

pytestmark = pytest.mark.browser


def _pipeline(ws: Any, alice: Any) -> Contact:
    """A few leads over three stages; returns Maria, in New."""
    qualified = stage_named(ws, "Qualified")
    add_contact(ws, "Jane", "Doe", stage=qualified, source=Source.REFERRAL, budget_min=300_000)
    add_contact(ws, "Omar", "Haddad", stage=stage_named(ws, "Showing"), source=Source.INSTAGRAM)
    add_contact(ws, "سارا", "אברהם", source=Source.WEBSITE)  # right-to-left names
    maria = add_contact(
        ws, "Maria", "Lopez", source=Source.OPEN_HOUSE, budget_min=450_000, budget_max=600_000
    )
    task_add(workspace=ws, contact=maria, actor=alice, title="Send listings", due_at=timezone.now())
    return maria


def _column(page: Page, name: str) -> Any:
    return page.locator(".board-column", has=page.locator("h2", has_text=name))


def test_a_lead_dragged_across_the_board_lands_in_its_new_stage(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    maria = _pipeline(ws, alice)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/pipeline/")
    screenshot("board")
    card = page.locator(f"#card-{maria.id}")
    expect(_column(page, "New").locator(".count")).to_have_text("2")
    expect(_column(page, "Qualified").locator(".count")).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    new_box = _column(page, "New").bounding_box()
    qualified_box = _column(page, "Qualified").bounding_box()
    assert new_box is not None
    assert qualified_box is not None
    assert abs(new_box["y"] - qualified_box["y"]) < 1  # side by side

    card.drag_to(_column(page, "Qualified").locator(".board-cards"))

    moved = _column(page, "Qualified").locator(".board-card").first
    expect(moved).to_contain_text("Maria Lopez")
    expect(_column(page, "New").locator(f"#card-{maria.id}")).to_have_count(0)
    expect(_column(page, "Qualified").locator(".count")).to_have_text("2")
    expect(_column(page, "New").locator(".count")).to_have_text("1")
    expect(page.locator("#board-status")).to_have_text("Moved Maria Lopez to Qualified.")
    screenshot("dragged")
    maria.refresh_from_db()
    assert maria.stage.name == "Qualified"
    entry = Activity.objects.for_workspace(ws).get(contact=maria, kind=Activity.Kind.STAGE_CHANGED)
    assert entry.summary == "Stage: New → Qualified"

    page.reload()
    expect(_column(page, "Qualified").locator(".board-card").first).to_contain_text("Maria Lopez")


def test_on_a_phone_the_move_to_menu_moves_a_lead_and_columns_scroll_sideways(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    maria = _pipeline(ws, alice)
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/pipeline/")
    screenshot("board-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    board = page.locator("[data-board]")
    assert board.evaluate("el => el.scrollWidth > el.clientWidth")
    assert board.evaluate("el => getComputedStyle(el).scrollSnapType").startswith("x")

    card = page.locator(f"#card-{maria.id}")
    card.get_by_role("link", name="Move to… (Maria Lopez)").click()
    menu = page.get_by_role("dialog", name="Move Maria Lopez to…")
    expect(menu).to_be_visible()
    expect(menu.get_by_label("Stage")).to_be_focused()
    menu.get_by_label("Stage").select_option(label="Showing")
    screenshot("menu-open")
    menu.get_by_role("button", name="Move").click()

    moved = _column(page, "Showing").locator(".board-card").first
    expect(moved).to_contain_text("Maria Lopez")
    expect(menu).to_be_hidden()
    expect(moved.locator(".board-card-name")).to_be_focused()
    expect(_column(page, "Showing").locator(".count")).to_have_text("2")
    expect(page.locator("#board-status")).to_have_text("Moved Maria Lopez to Showing.")
    screenshot("moved")
    maria.refresh_from_db()
    assert maria.stage.name == "Showing"

    # Another card opens the same menu, named for it; Cancel closes it, back on that card's link.
    jane = page.locator(".board-card", has_text="Jane Doe")
    jane.get_by_role("link", name="Move to… (Jane Doe)").click()
    expect(page.get_by_role("dialog", name="Move Jane Doe to…")).to_be_visible()
    page.get_by_role("dialog").get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(jane.get_by_role("link", name="Move to… (Jane Doe)")).to_be_focused()
    assert Contact.objects.for_workspace(ws).get(first_name="Jane").stage.name == "Qualified"


def test_without_javascript_move_to_is_a_page_of_its_own(
    live_server: Any, alice: Any, workspace_of: Any, browser: Any
) -> None:
    ws = workspace_of(alice)
    maria = _pipeline(ws, alice)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/pipeline/")
    page.locator(f"#card-{maria.id}").get_by_role("link", name="Move to… (Maria Lopez)").click()
    expect(page.get_by_role("heading", name="Move Maria Lopez to…")).to_be_visible()
    page.get_by_label("Stage").select_option(label="Showing")
    page.get_by_role("button", name="Move").click()

    expect(page.locator(".flash-success")).to_have_text("Moved Maria Lopez to Showing.")
    expect(_column(page, "Showing").locator(f"#card-{maria.id}")).to_have_count(1)
    context.close()


def test_deleting_a_stage_that_holds_leads_moves_them_in_the_same_step(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    _pipeline(ws, alice)
    showing = stage_named(ws, "Showing")
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/settings/pipeline/")
    page.on("dialog", lambda dialog: dialog.accept())

    row = page.locator(".stage-row", has=page.locator(f"#move-to-{showing.id}"))
    row.locator(".stage-delete > summary").click()
    row.locator("select[name=move_to]").select_option(label="Qualified")
    screenshot("delete-with-move")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row.locator("button[value=delete]").click()

    expect(page.locator(".flash-success")).to_have_text(
        "Deleted the stage Showing and moved 1 contact to Qualified."
    )
    page.goto(f"{live_server.url}/pipeline/")
    expect(page.locator(".board-column h2", has_text="Showing")).to_have_count(0)
    expect(_column(page, "Qualified").locator(".board-card")).to_have_count(2)
    omar = Contact.objects.for_workspace(ws).get(first_name="Omar")
    assert omar.stage.name == "Qualified"
    entry = Activity.objects.for_workspace(ws).get(contact=omar, kind=Activity.Kind.STAGE_CHANGED)
    assert entry.summary == "Stage: Showing → Qualified"


def test_show_more_loads_the_rest_of_a_column_and_those_cards_drag_too(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ws = workspace_of(alice)
    for i in range(27):
        add_contact(ws, f"Lead{i:02d}", "Person")
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, alice, live_server.url)

    page.goto(f"{live_server.url}/pipeline/")
    new = _column(page, "New")
    expect(new.locator(".board-card")).to_have_count(25)
    new.get_by_role("link", name="Show more").click()
    expect(new.locator(".board-card")).to_have_count(27)
    expect(new.get_by_role("link", name="Show more")).to_have_count(0)
    oldest = new.locator(".board-card").last
    expect(oldest).to_contain_text("Lead00")

    target = _column(page, "Contacted").locator(".board-cards")
    box = target.bounding_box()
    assert box is not None
    # Dropped level with the card, low in the stretched column: no scrolling mid-drag.
    oldest.drag_to(target, target_position={"x": box["width"] / 2, "y": box["height"] - 40})

    expect(_column(page, "Contacted").locator(".board-card").first).to_contain_text("Lead00")
    expect(new.locator(".count")).to_have_text("26")
    screenshot("after-show-more-and-drag")
    assert Contact.objects.for_workspace(ws).get(first_name="Lead00").stage.name == "Contacted"
