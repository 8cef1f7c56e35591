"""The contact's timeline: every kind of entry, newest first, keyset pages of 50, and a contact page
whose query count does not grow with the timeline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Activity, Contact
from contacts.services import activity_record, note_add, task_add

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def add_entries(contact: Contact, count: int, actor: Any) -> None:
    """`count` entries one minute apart, all older than the contact's "created" entry."""
    start = contact.created_at - timedelta(minutes=count + 1)
    Activity.objects.for_workspace(contact.workspace).bulk_create(
        Activity(
            workspace=contact.workspace, contact=contact, kind=Activity.Kind.MESSAGE_IN,
            summary=f"Message {i:03d}", actor=actor, occurred_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    )  # fmt: skip


def summaries(html: str) -> list[str]:
    return re.findall(r"Message (\d{3})", html)


def test_entries_show_newest_first_with_their_label_actor_and_relative_time(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    activity_record(
        contact=maria, kind=Activity.Kind.AI_ACTION, summary="Drafted a reply",
        occurred_at=timezone.now() - timedelta(hours=3),
    )  # fmt: skip
    note_add(contact=maria, author=alice, body="Loves the backyard")
    task_add(
        workspace=maria.workspace, contact=maria, actor=alice, title="Send comps",
        due_at=timezone.now() + timedelta(days=1),
    )  # fmt: skip

    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    timeline = page.split('id="timeline-list"')[1]

    labels = re.findall(r'class="tl-entry tl-(\w+)"', timeline)
    assert labels == ["task_created", "note", "created", "ai_action"]
    assert "Task added</strong> · Task: Send comps" in timeline
    assert "Loves the backyard" in timeline
    assert "AI</strong> · Drafted a reply" in timeline
    assert "Alice Agent" in timeline
    assert "Automatic" in timeline  # the AI entry has no person behind it
    assert "just now" in timeline
    assert "3\xa0hours ago" in timeline


def test_a_note_is_escaped_and_keeps_its_line_breaks(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    note_add(contact=maria, author=alice, body="Line one\nLine <b>two</b> & <script>x</script>")

    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert "Line one<br>Line &lt;b&gt;two&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page


def test_the_contact_page_costs_the_same_queries_with_3_or_300_timeline_entries(
    alice_client: Client, alice: Any, maria: Contact, django_assert_num_queries: Any
) -> None:
    add_entries(maria, 2, alice)
    alice_client.get(f"/contacts/{maria.id}/")  # warm the per-user flags the page caches
    with CaptureQueriesContext(connection) as small:
        alice_client.get(f"/contacts/{maria.id}/")
    add_entries(maria, 297, alice)

    with django_assert_num_queries(7):  # with the consent section
        response = alice_client.get(f"/contacts/{maria.id}/")

    with CaptureQueriesContext(connection) as large:
        alice_client.get(f"/contacts/{maria.id}/")
    assert response.status_code == 200
    assert len(summaries(response.content.decode())) == 49  # and the "created" entry
    assert len(large.captured_queries) == len(small.captured_queries)
    activity_queries = [q for q in large.captured_queries if '"contacts_activity"' in q["sql"]]
    assert len(activity_queries) == 1
    assert 'JOIN "accounts_user"' in activity_queries[0]["sql"]


def test_show_older_pages_through_the_timeline_by_keyset_without_gaps_or_repeats(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    add_entries(maria, 120, alice)

    first = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    cursor = re.search(r'hx-get="/contacts/\d+/timeline/\?before=([\d.]+)"', first)
    assert cursor is not None
    second = alice_client.get(f"/contacts/{maria.id}/timeline/?before={cursor[1]}", headers=HTMX)
    second_html = second.content.decode()
    cursor2 = re.search(r"\?before=([\d.]+)", second_html)
    assert cursor2 is not None
    third_html = alice_client.get(
        f"/contacts/{maria.id}/timeline/?before={cursor2[1]}", headers=HTMX
    ).content.decode()

    assert "<html" not in second_html
    assert 'class="tl-more"' in second_html
    assert 'class="tl-more"' not in third_html
    seen = summaries(first) + summaries(second_html) + summaries(third_html)
    assert seen == [f"{i:03d}" for i in range(119, -1, -1)]
    assert "Contact created" in first


def test_an_older_page_is_one_query_for_its_entries(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    add_entries(maria, 80, alice)
    first = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    cursor = re.search(r"\?before=([\d.]+)", first)
    assert cursor is not None

    with CaptureQueriesContext(connection) as queries:
        alice_client.get(f"/contacts/{maria.id}/timeline/?before={cursor[1]}", headers=HTMX)

    assert len([q for q in queries.captured_queries if '"contacts_activity"' in q["sql"]]) == 1


def test_without_javascript_show_older_opens_the_contact_page_at_that_point(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    add_entries(maria, 60, alice)
    first = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    link = re.search(r'href="(/contacts/\d+/\?before=[\d.]+)#timeline"', first)
    assert link is not None

    older = alice_client.get(link[1]).content.decode()

    assert summaries(older) == [f"{i:03d}" for i in range(10, -1, -1)]
    assert "Back to newest" in older
    assert alice_client.get(f"/contacts/{maria.id}/timeline/").status_code == 302


def test_a_malformed_cursor_shows_the_newest_entries(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    add_entries(maria, 3, alice)

    response = alice_client.get(f"/contacts/{maria.id}/?before=99999999999999999999999.x")

    assert response.status_code == 200
    assert summaries(response.content.decode()) == ["002", "001", "000"]


def test_an_entry_is_just_now_for_a_minute_then_says_how_long_ago_in_words(
    alice_client: Client, alice: Any, maria: Contact
) -> None:
    now = timezone.now()
    activity_record(contact=maria, kind=Activity.Kind.AI_ACTION, summary="A", occurred_at=now)
    activity_record(
        contact=maria, kind=Activity.Kind.AI_ACTION, summary="B",
        occurred_at=now - timedelta(days=400, hours=5),
    )  # fmt: skip

    with time_machine.travel(now + timedelta(seconds=59), tick=False):
        first = alice_client.get(f"/contacts/{maria.id}/").content.decode()
    with time_machine.travel(now + timedelta(seconds=60), tick=False):
        later = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert re.findall(r">([^<]*)</time>", first)[0] == "just now"
    assert re.findall(r">([^<]*)</time>", later)[0] == "1\xa0minute ago"
    assert "1\xa0year, 1\xa0month ago" in later


def test_entries_at_the_ends_of_the_calendar_show_as_stored_without_breaking_the_page(
    alice_client: Client, maria: Contact
) -> None:
    for year, month, day in ((9999, 12, 31), (1, 1, 1)):
        activity_record(
            contact=maria, kind=Activity.Kind.AI_ACTION, summary=f"Year {year}",
            occurred_at=datetime(year, month, day, 0, 30, tzinfo=UTC),
        )  # fmt: skip

    response = alice_client.get(f"/contacts/{maria.id}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'title="Thu, Dec 30, 9999, 4:30 PM">just now</time>' in page  # Los Angeles
    assert (
        '<time datetime="0001-01-01T00:30:00+00:00" title="Mon, Jan 1, 0001, 12:30 AM UTC">' in page
    )
