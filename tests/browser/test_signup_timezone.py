"""Sign-up preselects the browser's time zone and keeps the one the agent chooses instead."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from alt.accounts.models import User


@pytest.mark.browser
def test_sign_up_preselects_the_browsers_time_zone_and_keeps_a_change(
    live_server: Any, browser: Browser, resend: Any
) -> None:
    context = browser.new_context(timezone_id="Europe/Lisbon")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server.url}/accounts/signup/")
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Lisbon")

        page.get_by_label("Full name").fill("Lena Sousa")
        page.get_by_label("Email").fill("lena.sousa@example.com")
        page.get_by_label("Password").fill("tagus-river-7731")
        page.get_by_label("Time zone").select_option("Atlantic/Azores")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    finally:
        context.close()

    assert errors == []
    assert User.objects.get(email="lena.sousa@example.com").timezone == "Atlantic/Azores"
