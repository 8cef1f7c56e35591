"""The contact's timeline: every kind of entry, newest first, keyset pages of 50, and a contact page
whose query count does not grow with the timeline."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
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
    alice_client: Client, alice: Any, maria: Contact, django_assert_max_num_queries: Any
) -> None:
    add_entries(maria, 2, alice)
    alice_client.get(f"/contacts/{maria.id}/")  # warm the per-user flags the page caches
    with CaptureQueriesContext(connection) as small:
        alice_client.get(f"/contacts/{maria.id}/")
    add_entries(maria, 297, alice)

    with django_assert_max_num_queries(10):
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
