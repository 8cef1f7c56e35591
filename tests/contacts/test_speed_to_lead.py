"""Speed to lead on the dashboard: from a new lead's first message to the first reply a PERSON
sent (automation excluded), median per channel and per agent, this week against last, and the
leads still waiting, oldest first; in a bounded number of queries, cached."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alt.accounts.models import User, Workspace
from contacts.dashboard.speed import speed_to_lead, thread_url
from contacts.inbox.signals import message_received
from contacts.models import Contact, Conversation, Message
from contacts.services import ContactInput, contact_create

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 5, 8, 12, 0, tzinfo=UTC)  # a Wednesday; the week began Monday the 6th
THIS_WEEK = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
LAST_WEEK = datetime(2030, 4, 30, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")

_party = iter(range(10**6))


def lead(
    workspace: Workspace,
    first_at: datetime,
    *,
    channel: str = "instagram",
    replies: list[tuple[timedelta, str, User | None]] = (),  # type: ignore[assignment]
    waiting: bool = False,
    contact: Contact | None = None,
    name: str = "",
) -> Conversation:
    """A conversation that opened with their message at `first_at`, then the given replies
    (delay after the first message, author, who sent it)."""
    conversation = Conversation.objects.create(
        workspace=workspace,
        channel=channel,
        channel_account="17841400000000001",
        party_id=str(next(_party)),
        party_name=name,
        contact=contact,
        last_message_at=first_at,
        last_inbound_at=first_at,
        awaiting_reply_since=first_at if waiting else None,
    )
    messages = [
        Message(
            workspace=workspace, conversation=conversation, channel=channel,
            direction=Message.Direction.INBOUND, author=Message.Author.PARTY,
            status=Message.Status.RECEIVED, text="Is it still available?", sent_at=first_at,
        )
    ]  # fmt: skip
    for delay, author, sender in replies:
        messages.append(
            Message(
                workspace=workspace, conversation=conversation, channel=channel,
                direction=Message.Direction.OUTBOUND, author=author, sent_by=sender,
                status=Message.Status.SENT, text="Yes!", sent_at=first_at + delay,
            )
        )  # fmt: skip
    Message.objects.for_workspace(workspace).bulk_create(messages)
    return conversation


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def measure(workspace: Workspace) -> Any:
    return speed_to_lead(workspace=workspace, tz=UTC_ZONE, now=NOW)


PERSON = Message.Author.PERSON
AUTOMATION = Message.Author.AUTOMATION


def test_medians_count_only_replies_a_person_wrote(
    alice: User, bob: User, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    # This week: Alice answers in 2 and 10 minutes, Bob in 30; one lead got only an automated
    # reply in 5 seconds, then Alice after an hour: the hour counts.
    lead(ws, THIS_WEEK, replies=[(minutes(2), PERSON, alice)])
    lead(ws, THIS_WEEK + minutes(5), replies=[(minutes(10), PERSON, alice)])
    lead(ws, THIS_WEEK + minutes(9), replies=[(minutes(30), PERSON, bob)])
    lead(
        ws, THIS_WEEK + minutes(20),
        replies=[(timedelta(seconds=5), AUTOMATION, None), (minutes(60), PERSON, alice)],
    )  # fmt: skip
    # Answered only by an automation: no speed (unanswered), but still a lead.
    lead(ws, THIS_WEEK + minutes(40), replies=[(timedelta(seconds=3), AUTOMATION, None)])
    # Last week: one lead, 4 hours; an SMS lead, 1 minute (by Bob).
    lead(ws, LAST_WEEK, replies=[(timedelta(hours=4), PERSON, alice)])
    lead(ws, LAST_WEEK, channel="sms", replies=[(minutes(1), PERSON, bob)])
    # Before last week: not counted.
    lead(ws, LAST_WEEK - timedelta(days=3), replies=[(minutes(1), PERSON, alice)])

    speed = measure(ws)

    this, last = speed.overall.this_week, speed.overall.last_week
    assert (this.leads, this.answered) == (5, 4)
    assert this.median_seconds == pytest.approx((10 + 30) / 2 * 60)  # median of 2, 10, 30, 60 min
    assert (last.leads, last.answered) == (2, 2)
    assert last.median_seconds == pytest.approx((240 + 1) / 2 * 60)
    channels = {row.label: row for row in speed.channels}
    assert channels["Instagram"].this_week.median_seconds == pytest.approx(20 * 60)
    assert channels["Instagram"].last_week.median_seconds == pytest.approx(4 * 3600)
    assert channels["SMS"].this_week.leads == 0
    assert channels["SMS"].last_week.median_seconds == pytest.approx(60)
    agents = {row.label: row for row in speed.agents}
    assert set(agents) == {"Alice Agent", "Bob Teammate"}
    assert agents["Alice Agent"].this_week.median_seconds == pytest.approx(10 * 60)
    assert agents["Alice Agent"].this_week.answered == 3
    assert agents["Bob Teammate"].this_week.median_seconds == pytest.approx(30 * 60)
    assert agents["Bob Teammate"].last_week.median_seconds == pytest.approx(60)


def test_a_reply_before_their_first_message_is_not_an_answer(
    alice: User, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    # We wrote first (an outreach), they answered later, and we replied 15 minutes after that.
    conversation = lead(ws, THIS_WEEK, replies=[(minutes(15), PERSON, alice)])
    Message.objects.for_workspace(ws).create(
        workspace=ws, conversation=conversation, channel="instagram",
        direction=Message.Direction.OUTBOUND, author=PERSON, sent_by=alice,
        status=Message.Status.SENT, text="Saw you liked the listing", sent_at=THIS_WEEK - minutes(90),
    )  # fmt: skip

    assert measure(ws).overall.this_week.median_seconds == pytest.approx(15 * 60)


def test_leads_still_waiting_are_listed_oldest_first_with_their_thread(
    alice: User, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    maria = contact_create(
        workspace=ws, actor=alice, data=ContactInput(first_name="Maria", last_name="Lopez")
    )
    newer = lead(ws, THIS_WEEK + timedelta(hours=5), waiting=True, name="Newer Lead")
    oldest = lead(ws, LAST_WEEK, waiting=True, contact=maria)
    middle = lead(ws, THIS_WEEK, waiting=True, name="")
    lead(ws, THIS_WEEK, replies=[(minutes(1), PERSON, alice)])  # answered: not waiting

    speed = measure(ws)

    assert [w.conversation_id for w in speed.waiting] == [oldest.id, middle.id, newer.id]
    assert [w.name for w in speed.waiting] == ["Maria Lopez", middle.party_id, "Newer Lead"]
    assert speed.waiting_total == 3
    assert speed.waiting[0].url == f"/inbox/{oldest.id}/"
    assert thread_url(oldest.id) == f"/inbox/{oldest.id}/"


def test_another_workspaces_leads_are_not_counted(
    alice: User, charlie: User, workspace_of: Any
) -> None:
    lead(workspace_of(charlie), THIS_WEEK, replies=[(minutes(3), PERSON, charlie)], waiting=True)

    speed = measure(workspace_of(alice))

    assert speed.empty
    assert speed.waiting == []


def test_it_is_cached_until_a_message_arrives(alice: User, workspace_of: Any) -> None:
    ws = workspace_of(alice)
    lead(ws, THIS_WEEK, replies=[(minutes(2), PERSON, alice)])
    assert measure(ws).overall.this_week.leads == 1
    second = lead(ws, THIS_WEEK, replies=[(minutes(4), PERSON, alice)])

    with CaptureQueriesContext(connection) as queries:
        cached = measure(ws)
    message_received.send(sender=Message, message=second.messages.first(), created_contact=False)
    fresh = measure(ws)

    assert len(queries) == 0
    assert cached.overall.this_week.leads == 1
    assert fresh.overall.this_week.leads == 2


def test_the_weeks_follow_the_agents_time_zone(alice: User, workspace_of: Any) -> None:
    ws = workspace_of(alice)
    # Sunday 23:30 in Los Angeles is Monday 06:30 UTC: last week for her, this week in UTC.
    lead(ws, datetime(2030, 5, 6, 6, 30, tzinfo=UTC), replies=[(minutes(5), PERSON, alice)])

    la = speed_to_lead(workspace=ws, tz=ZoneInfo("America/Los_Angeles"), now=NOW)
    utc = measure(ws)

    assert (la.overall.this_week.leads, la.overall.last_week.leads) == (0, 1)
    assert (utc.overall.this_week.leads, utc.overall.last_week.leads) == (1, 0)


def test_the_dashboard_card_shows_medians_and_who_is_waiting(
    alice_client: Client, alice: User, bob: User, ws_with_stages: Workspace
) -> None:
    contact_create(workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Ann"))
    with time_machine.travel(NOW, tick=False):
        lead(ws_with_stages, THIS_WEEK, replies=[(minutes(12), PERSON, bob)])
        waiting = lead(
            ws_with_stages, THIS_WEEK, waiting=True, name="\u05de\u05e8\u05d9\u05d4 " + "W" * 140
        )

        page = alice_client.get("/dashboard/").content.decode()

    card = page.split('id="dash-speed"')[1].split("</section>")[0]
    assert "12 min" in card
    assert "Bob Teammate" in card
    assert f'href="/inbox/{waiting.id}/"' in card
    assert "Still waiting (1)" in card


def test_an_empty_workspace_gets_an_explanation(
    alice_client: Client, alice: User, ws_with_stages: Workspace
) -> None:
    contact_create(workspace=ws_with_stages, actor=alice, data=ContactInput(first_name="Ann"))

    page = alice_client.get("/dashboard/").content.decode()

    card = page.split('id="dash-speed"')[1].split("</section>")[0]
    assert "how fast a person on your team answers them" in card


def test_5000_threads_cost_three_queries_and_well_under_a_second(
    alice: User, bob: User, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    conversations = Conversation.objects.for_workspace(ws).bulk_create(
        Conversation(
            workspace=ws, channel="instagram" if i % 4 else "sms", channel_account="1",
            party_id=f"p{i}", last_inbound_at=LAST_WEEK + timedelta(minutes=i * 2),
            awaiting_reply_since=None if i % 10 else LAST_WEEK + timedelta(minutes=i * 2),
        )
        for i in range(5000)
    )  # fmt: skip
    messages = []
    for i, c in enumerate(conversations):
        first = LAST_WEEK + timedelta(minutes=i * 2)
        messages.append(Message(workspace=ws, conversation=c, channel=c.channel, direction="in",
                                author="party", status="received", sent_at=first))  # fmt: skip
        messages.append(Message(workspace=ws, conversation=c, channel=c.channel, direction="out",
                                author="automation", status="sent", sent_at=first + timedelta(seconds=2)))  # fmt: skip
        if i % 10:
            messages.append(Message(workspace=ws, conversation=c, channel=c.channel, direction="out",
                                    author="person", sent_by=alice if i % 3 else bob, status="sent",
                                    sent_at=first + timedelta(minutes=i % 60)))  # fmt: skip
    Message.objects.for_workspace(ws).bulk_create(messages, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_conversation; ANALYZE contacts_message")

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        speed = measure(ws)
        elapsed = time.perf_counter() - started

    assert len(queries) <= 4  # the aggregate, the agents' names, the waiting list and its count
    assert elapsed < 1.0
    total = speed.overall.this_week.leads + speed.overall.last_week.leads
    assert total == 5000
    assert speed.waiting_total == 500


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "no reply"), (0.4, "0 s"), (59, "59 s"), (61, "1 min"), (3600, "1 h"),
     (3900, "1 h 5 min"), (86400 * 2 + 3600 * 4, "2 d 4 h"), (86400 * 3650, "3650 d")],
)  # fmt: skip
def test_durations_read_like_a_person_would_say_them(seconds: float | None, shown: str) -> None:
    from contacts.templatetags.dates import duration

    assert duration(seconds) == shown


def test_a_reply_typed_in_instagrams_own_app_counts_for_the_team_not_for_an_agent(
    alice: User, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    lead(ws, THIS_WEEK, replies=[(minutes(6), PERSON, None)])  # an echo: a person, no ALT user
    lead(ws, THIS_WEEK, replies=[(minutes(2), PERSON, alice)])
    lead(ws, THIS_WEEK, waiting=True)

    speed = measure(ws)

    assert speed.overall.this_week.median_seconds == pytest.approx(4 * 60)
    agents = {row.label: row.this_week for row in speed.agents}
    assert agents["In the Instagram or phone app"].median_seconds == pytest.approx(6 * 60)
    assert agents["Alice Agent"].median_seconds == pytest.approx(2 * 60)
    assert len(agents) == 2


def test_an_empty_workspace_computes_nothing(
    alice_client: Client, ws_with_stages: Workspace
) -> None:
    with CaptureQueriesContext(connection) as queries:
        alice_client.get("/dashboard/")

    assert not any("percentile_cont" in q["sql"] for q in queries.captured_queries)
