"""Instagram insights (EXTERNAL_APIS.md §3.9): refreshed daily by beat per connected account,
stored per day and per post as Meta gives them (no data is not 0), shown on the dashboard."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from contacts.pipeline.services import pipeline_create_defaults
from contacts.services import ContactInput, contact_create
from integrations.instagram.client import DEPRECATED_METRICS
from integrations.instagram.insights import insights_due_claim, insights_refresh
from integrations.instagram.models import InstagramAccount, InstagramDailyInsight, InstagramMedia
from integrations.instagram.tasks import instagram_insights_refresh, instagram_insights_refresh_due
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram.media import _metric_value
from tests.conftest import Outbox

pytestmark = pytest.mark.django_db


def refresh(account: InstagramAccount) -> None:
    insights_refresh(workspace_id=account.workspace_id, account_id=account.id)


def add_media(
    account: InstagramAccount, ig: InstagramEmulator, *, story: bool = False, caption: str = ""
) -> InstagramMedia:
    media_id = ig.add_published_media(account.ig_user_id, story=story, caption=caption)
    return InstagramMedia.objects.create(
        workspace=account.workspace,
        account=account,
        media_id=media_id,
        media_product_type="STORY" if story else "FEED",
        caption=caption,
        posted_at=timezone.now() - timedelta(days=2),
    )


def days_of(account: InstagramAccount) -> dict[Any, dict[str, int]]:
    rows = InstagramDailyInsight.objects.for_workspace(account.workspace).filter(account=account)
    return {row.date: row.metrics for row in rows}


def metrics_asked(ig: InstagramEmulator) -> set[str]:
    return {
        metric
        for r in ig.requests
        if r.path.endswith("/insights")
        for metric in r.query["metric"][0].split(",")
    }


def test_a_refresh_stores_30_days_of_account_metrics_and_each_recent_posts(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = add_media(ig_account, ig)
    story = add_media(ig_account, ig, story=True)

    refresh(ig_account)

    days = days_of(ig_account)
    today = timezone.now().astimezone(UTC).date()
    assert sorted(days) == [today - timedelta(days=n) for n in range(30, 0, -1)]
    yesterday = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    expected_reach = _metric_value(ig_account.ig_user_id, "reach", str(int(yesterday.timestamp())))
    assert days[today - timedelta(days=1)]["reach"] == expected_reach
    assert set(days[today - timedelta(days=1)]) >= {"reach", "views", "accounts_engaged"}
    post.refresh_from_db()
    story.refresh_from_db()
    assert post.insights["total_interactions"] == _metric_value(post.media_id, "total_interactions")
    assert set(post.insights) == {
        "reach", "likes", "comments", "saved", "shares", "total_interactions", "views"
    }  # fmt: skip
    assert set(story.insights) == {"reach", "shares", "total_interactions", "views", "replies"}
    assert post.insights_at is not None
    # Deprecated since v22 (§3.9): never asked for.
    assert metrics_asked(ig) & DEPRECATED_METRICS == set()


def test_no_data_is_stored_as_absent_not_as_zero(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    fresh = add_media(ig_account, ig)
    ig.media_without_data.add(fresh.media_id)
    today = timezone.now().astimezone(UTC).date()
    quiet_day = datetime.combine(today - timedelta(days=5), datetime.min.time(), tzinfo=UTC)
    ig.account_days_without_data.add(int(quiet_day.timestamp()))

    refresh(ig_account)

    fresh.refresh_from_db()
    assert fresh.insights == {}
    assert fresh.insights_at is not None
    assert days_of(ig_account)[quiet_day.date()] == {}


def test_not_enough_viewers_is_a_fact_not_an_error_to_retry(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    quiet = add_media(ig_account, ig)
    busy = add_media(ig_account, ig)
    ig.media_with_few_viewers.add(quiet.media_id)

    instagram_insights_refresh.run(ig_account.workspace_id, ig_account.id)  # raises nothing

    quiet.refresh_from_db()
    busy.refresh_from_db()
    ig_account.refresh_from_db()
    assert quiet.insights == {}
    assert quiet.insights_at is not None  # asked and answered: no numbers yet
    assert busy.insights["reach"] > 0
    assert ig_account.status == "connected"
    assert len(ig.requests_to("GET", rf"/{quiet.media_id}/insights$")) == 1


def test_the_next_days_refresh_fetches_only_the_days_meta_may_still_change(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    with time_machine.travel(time.time(), tick=False) as traveller:
        refresh(ig_account)
        ig.requests.clear()
        traveller.shift(timedelta(days=1))
        refresh(ig_account)

    account_calls = ig.requests_to("GET", rf"/{ig_account.ig_user_id}/insights$")
    # The new day plus the two before it again (data may lag up to 48 h).
    assert len(account_calls) == 3
    assert len(days_of(ig_account)) == 31


def test_a_dead_token_marks_the_account_and_stops(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    ig.revoke_tokens(ig_account.ig_user_id)

    refresh(ig_account)

    ig_account.refresh_from_db()
    assert ig_account.status == "needs_reconnect"
    assert len(ig.requests) == 1


def test_the_hourly_beat_job_claims_each_account_once_a_day(
    ig_account: InstagramAccount, ig: InstagramEmulator, outbox: Outbox
) -> None:
    with time_machine.travel(time.time(), tick=False) as traveller:
        instagram_insights_refresh_due.run()
        instagram_insights_refresh_due.run()  # an hour later, or a second beat
        traveller.shift(timedelta(hours=23))
        assert insights_due_claim() == []
        traveller.shift(timedelta(hours=1, seconds=1))
        again = insights_due_claim()

    assert outbox.sent == [(instagram_insights_refresh, (ig_account.workspace_id, ig_account.id))]
    assert again == [(ig_account.workspace_id, ig_account.id)]


def test_a_disconnected_account_is_neither_claimed_nor_refreshed(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    InstagramAccount.objects.for_workspace(ig_account.workspace).filter(id=ig_account.id).update(
        status=InstagramAccount.Status.DISCONNECTED, access_token=""
    )

    assert insights_due_claim() == []
    refresh(ig_account)

    assert ig.requests == []


def dashboard_with_insights(client: Client, account: InstagramAccount, alice: Any) -> str:
    pipeline_create_defaults(workspace=account.workspace)
    contact_create(workspace=account.workspace, actor=alice, data=ContactInput(first_name="Ann"))
    return client.get("/dashboard/").content.decode()


def test_the_dashboard_card_charts_30_days_and_lists_the_top_posts(
    alice_client: Client, alice: Any, ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    captions = ["Sunset listing", "Open house", "Sold!"]
    medias = [add_media(ig_account, ig, caption=c) for c in captions]
    refresh(ig_account)
    ranked = sorted(medias, key=lambda m: -_metric_value(m.media_id, "total_interactions"))

    page = dashboard_with_insights(alice_client, ig_account, alice)

    card = page.split('id="dash-instagram"')[1].split("</section>")[0]
    assert '<svg class="insights-chart"' in card
    assert 'role="img"' in card
    assert (
        '<title id="insights-chart-title">Daily reach and views of @sunset_realty</title>' in card
    )
    assert card.count("<polyline") == 2
    assert card.count('<th scope="row">') == 30  # the values, for screen readers
    top = card.split("Top posts")[1]
    positions = [top.index(m.caption) for m in ranked]
    assert positions == sorted(positions)


def test_a_day_without_data_breaks_the_line_instead_of_drawing_zero(
    alice_client: Client, alice: Any, ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    today = timezone.now().astimezone(UTC).date()
    gap = datetime.combine(today - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    ig.account_days_without_data.add(int(gap.timestamp()))
    refresh(ig_account)

    page = dashboard_with_insights(alice_client, ig_account, alice)

    card = page.split('id="dash-instagram"')[1].split("</section>")[0]
    assert card.count("<polyline") == 4  # reach and views, each in two pieces
    assert card.count('<th scope="row">') == 29


def test_no_card_without_an_account(alice_client: Client, alice: Any, ws_with_stages: Any) -> None:
    contact_create(workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Ann"))

    page = alice_client.get("/dashboard/").content.decode()

    assert 'id="dash-instagram"' not in page


def test_before_the_first_refresh_the_card_says_so(
    alice_client: Client, alice: Any, ig_account: InstagramAccount
) -> None:
    page = dashboard_with_insights(alice_client, ig_account, alice)

    card = page.split('id="dash-instagram"')[1].split("</section>")[0]
    assert "No insights yet" in card
    assert "<svg" not in card


def test_the_dashboard_with_both_cards_costs_a_fixed_number_of_queries(
    alice_client: Client,
    alice: Any,
    ig_account: InstagramAccount,
    ig: InstagramEmulator,
    django_assert_max_num_queries: Any,
) -> None:
    from contacts.models import Conversation, Message

    for i in range(12):
        add_media(ig_account, ig, caption=f"Listing {i}")
    refresh(ig_account)
    pipeline_create_defaults(workspace=ig_account.workspace)
    contact_create(workspace=ig_account.workspace, actor=alice, data=ContactInput(first_name="Ann"))
    now = timezone.now()
    for i in range(15):
        conversation = Conversation.objects.create(
            workspace=ig_account.workspace, channel="instagram", channel_account="1",
            party_id=str(i), last_inbound_at=now, awaiting_reply_since=now if i % 2 else None,
        )  # fmt: skip
        Message.objects.for_workspace(ig_account.workspace).create(
            workspace=ig_account.workspace, conversation=conversation, channel="instagram",
            direction="in", author="party", status="received", sent_at=now - timedelta(hours=1),
        )  # fmt: skip
        if not i % 2:
            Message.objects.for_workspace(ig_account.workspace).create(
                workspace=ig_account.workspace, conversation=conversation, channel="instagram",
                direction="out", author="person", sent_by=alice, status="sent", sent_at=now,
            )  # fmt: skip

    # 14 measured: the dashboard's own, the insights card's three (account, days, top posts),
    # speed to lead's, cold (aggregate, agents' names, waiting list, its count), and the Instagram
    # reconnect banner's first, cached lookup. Not per post or lead.
    with django_assert_max_num_queries(14):
        page = alice_client.get("/dashboard/").content.decode()

    assert 'id="dash-instagram"' in page
    assert "Still waiting (7)" in page
