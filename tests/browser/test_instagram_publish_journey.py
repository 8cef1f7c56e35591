"""Publishing to Instagram in a real browser: compose a post with an uploaded JPEG, see it
publishing, see the list update without a reload when the worker finishes (htmx polling), and
retry a failed one; a PNG is refused on the form with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.instagram.images import tiny_jpeg
from integrations.instagram.models import InstagramAccount, InstagramPost
from tests.browser.conftest import sign_in
from tests.conftest import Outbox

pytestmark = pytest.mark.browser


def test_compose_publish_watch_the_state_change_and_retry(
    live_server: Any, alice: Any, workspace_of: Any, page: Page, outbox: Outbox
) -> None:
    ws = workspace_of(alice)
    InstagramAccount.objects.create(
        workspace=ws, ig_user_id="17841400000000001", username="sunset_realty",
        access_token="IGAA-test", connected_by=alice, connected_at=timezone.now(),
    )  # fmt: skip
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/settings/social/instagram/posts/")
    page.get_by_role("link", name="New post or story").click()

    # A PNG is refused with the reason, and nothing is stored.
    page.get_by_label("Caption").fill("Open house Sunday")
    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "house.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)}
    )
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator("[data-error-summary]")).to_contain_text("Instagram accepts JPEG only")
    assert not InstagramPost.objects.for_workspace(ws).exists()

    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "house.jpg", "mimeType": "image/jpeg", "buffer": tiny_jpeg(1080, 1080)}
    )
    page.get_by_role("button", name="Publish now").click()

    expect(page).to_have_url(f"{live_server.url}/settings/social/instagram/posts/")
    row = page.locator(".instagram-post").first
    expect(row).to_contain_text("Publishing")
    expect(row).to_contain_text("Open house Sunday")
    assert outbox.names() == ["instagram_post_publish"]

    # The worker gives up on it (as after a 9004): the list shows it without a reload.
    post = InstagramPost.objects.for_workspace(ws).get()
    InstagramPost.objects.for_workspace(ws).filter(id=post.id).update(
        state="failed", error="Instagram could not fetch the image, or it is not a JPEG."
    )
    expect(row).to_contain_text("Failed", timeout=10_000)
    expect(row).to_contain_text("could not fetch the image")

    row.get_by_role("button", name="Retry").click()
    expect(page.locator(".instagram-post").first).to_contain_text("Publishing")
    post.refresh_from_db()
    assert (post.state, post.attempt) == ("publishing", 2)
    assert outbox.names() == ["instagram_post_publish", "instagram_post_publish"]
