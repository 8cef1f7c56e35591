"""Settings pages on a phone: every page fits the screen with nothing under the tab bar, and a
pending email change shows both addresses within the security policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from alt.accounts.models import Invite
from tests.browser.conftest import sign_in

SETTINGS_PAGES = [
    ("settings", "/settings/", "Settings"),
    ("profile", "/settings/account/", "Profile"),
    ("workspace", "/settings/workspace/", "Workspace & team"),
    ("email", "/accounts/email/", "Email Address"),
    ("password", "/accounts/password/change/", "Change Password"),
    ("two-factor", "/accounts/2fa/", "Two-Factor Authentication"),
]

# Measured in the page: how wide the document is, and on a phone whether the fixed tab bar
# hides the end of the page once scrolled to the bottom.
LAYOUT = """() => {
  window.scrollTo(0, document.documentElement.scrollHeight);
  const tabs = document.querySelector(".mainnav");
  const last = document.querySelector(".footer > :last-child");
  return {
    width: document.documentElement.scrollWidth,
    tabsFixed: getComputedStyle(tabs).position === "fixed",
    tabsTop: tabs.getBoundingClientRect().top,
    lastBottom: last.getBoundingClientRect().bottom,
  };
}"""


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_every_settings_page_fits_the_screen_and_nothing_hides_under_the_tab_bar(
    width: int,
    live_server: Any,
    alice: Any,
    bob: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    _token, token_hash = Invite.new_token()
    Invite.objects.create(
        workspace=workspace_of(alice),
        email="dana.new.hire@example.com",
        token_hash=token_hash,
        invited_by=alice,
        expires_at=Invite.default_expiry(),
    )
    sign_in(page, alice, live_server.url)
    page.set_viewport_size({"width": width, "height": 844})

    for name, path, heading in SETTINGS_PAGES:
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        screenshot(f"{name}-{width}")
        layout = page.evaluate(LAYOUT)
        assert layout["width"] <= width, f"{path} scrolls sideways at {width} px"
        assert layout["tabsFixed"] == (width < 760)
        if layout["tabsFixed"]:
            assert layout["lastBottom"] <= layout["tabsTop"], f"the tab bar hides {path}"


@pytest.mark.browser
def test_a_pending_email_change_shows_both_addresses_within_the_security_policy(
    live_server: Any, alice: Any, page: Page, screenshot: Callable[[str], Path]
) -> None:
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/accounts/email/")
    page.get_by_label("New email address").fill("alice@newbrokerage.example.com")
    page.get_by_role("button", name="Change Email").click()

    expect(page.get_by_label("Changing to")).to_have_value("alice@newbrokerage.example.com")
    expect(page.get_by_label("Current email")).to_have_value("alice@example.com")
    expect(page.get_by_role("button", name="Re-send Verification")).to_be_visible()
    screenshot("email-change-pending")


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_removing_a_teammate_with_a_hostile_name_fits_the_screen(
    width: int,
    live_server: Any,
    alice: Any,
    bob: Any,
    workspace_of: Any,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    from alt.accounts.models import Membership

    # Right-to-left text, an override character and one unbroken word as long as a name may be.
    bob.full_name = "\u202ebob \u05d3\u05d5\u05d3 " + "W" * 140
    bob.save(update_fields=["full_name"])
    membership = Membership.objects.get(user=bob, workspace=workspace_of(alice))
    sign_in(page, alice, live_server.url)
    page.set_viewport_size({"width": width, "height": 844})

    for name, path in (
        ("workspace", "/settings/workspace/"),
        ("remove", f"/settings/workspace/members/{membership.id}/remove/"),
    ):
        page.goto(live_server.url + path)
        screenshot(f"{name}-hostile-{width}")
        layout = page.evaluate(LAYOUT)
        assert layout["width"] <= width, f"{path} scrolls sideways at {width} px"
