"""The contact list: what a row shows, filters, sorts, keyset pages, htmx fragments, the sidebar,
empty states, and a fixed number of SQL queries whatever the page holds."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services
from contacts.models import Contact, DuplicateFlag, SavedList, Source
from tests.contacts.conftest import add_contact, bulk_contacts, names_on_page, stage_named

pytestmark = pytest.mark.django_db

URL = "/contacts/"


# --- rows ----------------------------------------------------------------------------------------
def test_a_row_shows_name_phone_email_stage_tags_assignee_and_last_activity(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        add_contact(
            ws, "Jane", "Doe", emails=["Jane@Example.com"], phones=["415-555-0134"],
            stage=stage_named(ws, "Qualified"), tags=["Hot lead"], assigned_to=bob,
        )  # fmt: skip

    body = alice_client.get(URL).content.decode()

    assert "Jane Doe" in body
    assert ">JD<" in body  # the initials avatar
    assert "(415) 555-0134" in body
    assert "jane@example.com" in body
    assert "Qualified" in body
    assert "Hot lead" in body
    assert "Bob" in body
    assert "3d ago" in body


def test_a_row_opens_the_contact_page(alice_client: Client, ws: Any) -> None:
    jane = add_contact(ws, "Jane", "Doe")

    body = alice_client.get(URL).content.decode()

    assert f'href="/contacts/{jane.id}/"' in body


def test_the_list_hides_deleted_merged_and_other_workspaces_contacts(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(ws, "Shown", "Lead")
    gone = add_contact(ws, "Deleted", "Lead")
    services.contacts_delete(workspace=ws, ids=[gone.id], actor=None)
    survivor = add_contact(ws, "Survivor", "Lead")
    merged = add_contact(ws, "Merged", "Lead")
    Contact.objects.for_workspace(ws).filter(id=merged.id).update(merged_into=survivor)
    add_contact(workspace_of(charlie), "Charlies", "Lead")

    assert sorted(names_on_page(alice_client, URL)) == ["Shown Lead", "Survivor Lead"]


def _query_count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _rich_contacts(ws: Any, bob: Any, first: int, count: int) -> None:
    stages = [stage_named(ws, name) for name in ("New", "Qualified", "Closed")]
    for i in range(first, first + count):
        add_contact(
            ws, f"Lead{i}", "Person", emails=[f"lead{i}@example.com"],
            phones=[f"+1415555{i:04d}"], stage=stages[i % 3], tags=[f"tag{i % 4}", "buyer"],
            assigned_to=bob if i % 2 else None,
        )  # fmt: skip


def test_the_page_runs_the_same_few_queries_for_3_or_60_contacts(
    alice_client: Client, ws: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    _rich_contacts(ws, bob, 0, 3)
    SavedList.objects.create(workspace=ws, owner=bob, name="Hot", query={"q": "lead"})
    alice_client.get(URL)  # warm caches that are not per request (content types, templates)

    # 11: the lead-source filter reads the workspace's sources (one query, whatever the page).
    with django_assert_max_num_queries(11):
        small = _query_count(alice_client, URL)
    _rich_contacts(ws, bob, 3, 57)
    alice_client.get(URL)  # the writes emptied the cached stage counts and tags: warm again
    with django_assert_max_num_queries(11):
        large = _query_count(alice_client, URL)
    filtered = f"{URL}?q=lead&tag=&sort=name&assignee=unassigned&stale=7"

    assert len(alice_client.get(URL).context["contacts"]) == 50
    assert large == small
    assert _query_count(alice_client, filtered) <= 11


def test_an_htmx_page_of_results_also_runs_a_fixed_number_of_queries(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 2)
    alice_client.get(URL, HTTP_HX_REQUEST="true")  # warm the per-user flags the page caches
    with CaptureQueriesContext(connection) as few:
        alice_client.get(URL, HTTP_HX_REQUEST="true")
    _rich_contacts(ws, bob, 2, 30)
    alice_client.get(URL, HTTP_HX_REQUEST="true")  # the writes emptied the cached tags
    with CaptureQueriesContext(connection) as many:
        alice_client.get(URL, HTTP_HX_REQUEST="true")

    assert len(many.captured_queries) == len(few.captured_queries) <= 10


# --- filters -------------------------------------------------------------------------------------
def test_it_filters_by_stage(alice_client: Client, ws: Any) -> None:
    qualified = stage_named(ws, "Qualified")
    add_contact(ws, "In", "Stage", stage=qualified)
    add_contact(ws, "Other", "Stage")

    assert names_on_page(alice_client, URL, stage=qualified.id) == ["In Stage"]


def test_it_filters_by_source(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "From", "Instagram", source=Source.INSTAGRAM)
    add_contact(ws, "From", "Referral", source=Source.REFERRAL)

    assert names_on_page(alice_client, URL, source="instagram") == ["From Instagram"]


def test_it_filters_by_tag(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Hot", "One", tags=["Hot", "Buyer"])
    add_contact(ws, "Cold", "One", tags=["Buyer"])
    [hot] = services.tags_get_or_create(workspace=ws, names=["Hot"])

    assert names_on_page(alice_client, URL, tag=hot.id) == ["Hot One"]


def test_it_filters_by_assignee_teammate_unassigned_or_me(
    alice_client: Client, ws: Any, alice: Any, bob: Any
) -> None:
    add_contact(ws, "Bobs", "Lead", assigned_to=bob)
    add_contact(ws, "Alices", "Lead", assigned_to=alice)
    add_contact(ws, "Nobodys", "Lead")

    assert names_on_page(alice_client, URL, assignee=bob.id) == ["Bobs Lead"]
    assert names_on_page(alice_client, URL, assignee="unassigned") == ["Nobodys Lead"]
    assert names_on_page(alice_client, URL, assignee="mine") == ["Alices Lead"]


def test_it_filters_contacts_with_no_activity_in_n_days(alice_client: Client, ws: Any) -> None:
    now = timezone.now()
    for name, days in (("Ten", 10), ("Twenty", 20), ("Today", 0)):
        contact = add_contact(ws, name, "Days")
        Contact.objects.for_workspace(ws).filter(id=contact.id).update(
            last_activity_at=now - timedelta(days=days)
        )

    assert sorted(names_on_page(alice_client, URL, stale=7)) == ["Ten Days", "Twenty Days"]
    assert names_on_page(alice_client, URL, stale=14) == ["Twenty Days"]
    assert names_on_page(alice_client, URL, stale=30) == []


def test_it_offers_only_7_14_30_60_90_days_of_inactivity(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Any", "One")

    response = alice_client.get(URL, {"stale": 3})

    assert names_on_page(alice_client, URL, stale=3) == ["Any One"]  # ignored, not applied
    assert response.context["form"].errors["stale"]


def test_it_filters_contacts_whose_follow_up_is_due(alice_client: Client, ws: Any) -> None:
    today = timezone.localdate()
    add_contact(ws, "Overdue", "Lead", next_follow_up_on=today - timedelta(days=2))
    add_contact(ws, "Today", "Lead", next_follow_up_on=today)
    add_contact(ws, "Later", "Lead", next_follow_up_on=today + timedelta(days=5))
    add_contact(ws, "Never", "Lead")

    assert sorted(names_on_page(alice_client, URL, follow_up="1")) == ["Overdue Lead", "Today Lead"]


def test_filters_combine(alice_client: Client, ws: Any, bob: Any) -> None:
    qualified = stage_named(ws, "Qualified")
    add_contact(ws, "Both", "Match", stage=qualified, assigned_to=bob)
    add_contact(ws, "Stage", "Only", stage=qualified)
    add_contact(ws, "Bob", "Only", assigned_to=bob)

    assert names_on_page(alice_client, URL, stage=qualified.id, assignee=bob.id) == ["Both Match"]


def test_another_workspaces_stage_or_tag_id_is_not_a_filter_choice(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(ws, "Alices", "Lead")
    theirs = stage_named(workspace_of(charlie), "New")
    add_contact(workspace_of(charlie), "Charlies", "Lead", stage=theirs, tags=["vip"])
    [their_tag] = services.tags_get_or_create(workspace=workspace_of(charlie), names=["vip"])

    response = alice_client.get(URL, {"stage": theirs.id, "tag": their_tag.id})

    assert [c.name for c in response.context["contacts"]] == ["Alices Lead"]
    assert set(response.context["form"].errors) == {"stage", "tag"}
    assert "Charlies" not in response.content.decode()


# --- sorts and pages -----------------------------------------------------------------------------
def _set(ws: Any, contact: Contact, **fields: Any) -> None:
    Contact.objects.for_workspace(ws).filter(id=contact.id).update(**fields)


def test_each_sort_orders_the_list(alice_client: Client, ws: Any) -> None:
    now, today = timezone.now(), timezone.localdate()
    a = add_contact(ws, "Ann", "Adams")
    b = add_contact(ws, "Ben", "Baker")
    c = add_contact(ws, "Cy", "Clark")
    _set(ws, a, created_at=now - timedelta(days=1), last_activity_at=now - timedelta(days=9),
         next_follow_up_on=today + timedelta(days=3))  # fmt: skip
    _set(ws, b, created_at=now - timedelta(days=3), last_activity_at=now - timedelta(days=1))
    _set(ws, c, created_at=now - timedelta(days=2), last_activity_at=now - timedelta(days=5),
         next_follow_up_on=today)  # fmt: skip

    def order(sort: str) -> list[str]:
        return [n.split()[0] for n in names_on_page(alice_client, URL, sort=sort)]

    assert order("newest") == ["Ann", "Cy", "Ben"]
    assert order("oldest") == ["Ben", "Cy", "Ann"]
    assert order("name") == ["Ann", "Ben", "Cy"]
    assert order("activity") == ["Ben", "Cy", "Ann"]
    assert order("follow_up") == ["Cy", "Ann", "Ben"]  # no follow-up date: last


def _paging_rows(count: int) -> list[dict[str, Any]]:
    """Contacts whose sort keys tie a lot, so only the id can tell neighbours apart."""
    now, today = timezone.now(), timezone.localdate()
    lasts, firsts = ["Lee", "Kim", "Park", ""], ["Ana", "Bo", "Cal"]
    return [
        {
            "first_name": firsts[i % 3],
            "last_name": lasts[i % 4],
            "created_at": now - timedelta(minutes=i % 7),
            "last_activity_at": now - timedelta(hours=i % 5),
            "next_follow_up_on": None if i % 3 == 0 else today + timedelta(days=i % 4),
        }
        for i in range(count)
    ]


SORT_KEY = {
    "newest": (lambda c: (c.created_at, c.id), True),
    "oldest": (lambda c: (c.created_at, c.id), False),
    "name": (lambda c: (c.last_name, c.first_name, c.id), False),
    "activity": (lambda c: (c.last_activity_at, c.id), True),
    "follow_up": (
        lambda c: (c.next_follow_up_on is None, c.next_follow_up_on or date.min, c.id),
        False,
    ),
}


@pytest.mark.parametrize("sort", list(SORT_KEY))
def test_walking_every_page_shows_each_contact_once_in_order(
    alice_client: Client, ws: Any, sort: str
) -> None:
    contacts = bulk_contacts(ws, _paging_rows(120))
    key, descending = SORT_KEY[sort]
    expected = [c.id for c in sorted(contacts, key=key, reverse=descending)]
    seen: list[int] = []
    params: dict[str, str] = {"sort": sort}
    pages = 0
    while True:
        response = alice_client.get(URL, params)
        seen += [c.id for c in response.context["contacts"]]
        pages += 1
        if not response.context["next_page_query"]:
            break
        params = dict(parse_qsl(response.context["next_page_query"]))

    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert seen == expected


@pytest.mark.parametrize("sort", list(SORT_KEY))
def test_walking_a_smart_lists_pages_shows_each_match_once_in_order(
    alice_client: Client, ws: Any, sort: str
) -> None:
    # A filtered page picks its ids first, then reads their rows: both steps keep the order.
    qualified = stage_named(ws, "Qualified")
    [hot, cold] = services.tags_get_or_create(workspace=ws, names=["Hot", "Cold"])
    now = timezone.now()
    rows = _paging_rows(160)
    for i, row in enumerate(rows):
        row["stage"] = qualified if i % 4 else stage_named(ws, "New")
        row["last_activity_at"] -= timedelta(days=40 if i % 5 else 1)
    contacts = bulk_contacts(ws, rows)
    for i, contact in enumerate(contacts):
        contact.tags.add(hot if i % 3 else cold)
        if i % 3 == 1:
            contact.tags.add(cold)  # a second tag must not list the contact twice
    key, descending = SORT_KEY[sort]
    matching = [
        c for c in contacts
        if c.stage_id == qualified.id and hot in c.tags.all()
        and c.last_activity_at < now - timedelta(days=30)
    ]  # fmt: skip
    expected = [c.id for c in sorted(matching, key=key, reverse=descending)]
    seen: list[int] = []
    params = {"sort": sort, "stage": str(qualified.id), "tag": str(hot.id), "stale": "30"}
    while True:
        response = alice_client.get(URL, params)
        seen += [c.id for c in response.context["contacts"]]
        if not response.context["next_page_query"]:
            break
        params = dict(parse_qsl(response.context["next_page_query"]))

    assert len(expected) > 50  # more than one page
    assert seen == expected


def test_a_contact_added_while_paging_does_not_shift_the_next_page(
    alice_client: Client, ws: Any
) -> None:
    bulk_contacts(ws, _paging_rows(60))
    first = alice_client.get(URL)
    first_ids = {c.id for c in first.context["contacts"]}
    add_contact(ws, "Brand", "New")  # newest: would push everything down an OFFSET page

    second = alice_client.get(f"{URL}?{first.context['next_page_query']}")

    second_ids = {c.id for c in second.context["contacts"]}
    assert len(second_ids) == 10
    assert not first_ids & second_ids


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        base64.urlsafe_b64encode(json.dumps(["name", "Lee", "Ana", 5]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["newest", "yesterday", 5]).encode()).decode(),
    ],
)
def test_a_malformed_or_other_sorts_cursor_starts_at_the_first_page(
    alice_client: Client, ws: Any, cursor: str
) -> None:
    bulk_contacts(ws, _paging_rows(5))

    response = alice_client.get(URL, {"cursor": cursor})

    assert response.status_code == 200
    assert len(response.context["contacts"]) == 5


# --- htmx ----------------------------------------------------------------------------------------
def test_a_search_through_htmx_returns_only_the_results(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Jane", "Doe")
    add_contact(ws, "John", "Roe")

    response = alice_client.get(URL, {"q": "jane"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "<html" not in body
    assert "Jane Doe" in body
    assert "John Roe" not in body
    assert "HX-Request" in response["Vary"]


def test_load_more_through_htmx_returns_the_next_rows_only(alice_client: Client, ws: Any) -> None:
    bulk_contacts(ws, _paging_rows(55))
    first = alice_client.get(URL)

    more = alice_client.get(f"{URL}?{first.context['next_page_query']}", HTTP_HX_REQUEST="true")

    body = more.content.decode()
    assert body.lstrip().startswith("<li")
    assert body.count('class="contact-row"') == 5
    assert "Load more" not in body
    assert 'id="bulk-form"' not in body


def test_the_filter_form_updates_the_results_in_place_and_keeps_a_shareable_url(
    alice_client: Client, ws: Any
) -> None:
    add_contact(ws, "Jane", "Doe")

    body = alice_client.get(URL).content.decode()

    assert 'method="get" action="/contacts/"' in body
    assert 'hx-get="/contacts/" hx-target="#contact-results" hx-push-url="true"' in body


# --- sidebar and empty states --------------------------------------------------------------------
def test_the_sidebar_counts_live_contacts_per_stage_and_open_duplicates(
    alice_client: Client, ws: Any
) -> None:
    qualified = stage_named(ws, "Qualified")
    add_contact(ws, "A", "One", stage=qualified)
    add_contact(ws, "B", "Two", stage=qualified)
    gone = add_contact(ws, "C", "Three", stage=qualified)
    services.contacts_delete(workspace=ws, ids=[gone.id], actor=None)
    twin_a = add_contact(ws, "Twin", "A", emails=["twin@example.com"])
    twin_b = add_contact(ws, "Twin", "B", emails=["twin@example.com"])
    services.duplicates_flag(contact=twin_b)

    response = alice_client.get(URL)

    stages = {s.name: s.contact_count for s in response.context["choices"].stages}
    assert stages["Qualified"] == 2
    assert stages["New"] == 2
    assert response.context["choices"].total == 4
    assert response.context["duplicate_count"] == 1
    assert "Duplicates (1)" in response.content.decode()
    assert DuplicateFlag.objects.for_workspace(ws).filter(contact_a=twin_a).exists()


def test_an_empty_workspace_says_how_to_add_contacts(alice_client: Client) -> None:
    body = alice_client.get(URL).content.decode()

    assert "No contacts yet" in body
    assert "Add one or import a CSV" in body
    assert 'href="/contacts/new/"' in body
    assert 'href="/contacts/import/"' in body


def test_a_search_without_matches_says_so_and_offers_to_clear_it(
    alice_client: Client, ws: Any
) -> None:
    add_contact(ws, "Jane", "Doe")

    body = alice_client.get(URL, {"q": "zzzz"}).content.decode()

    assert "No contact matches" in body
    assert "Nothing found for “zzzz”" in body
    assert "No contacts yet" not in body


def test_post_to_the_list_is_not_allowed(alice_client: Client) -> None:
    assert alice_client.post(URL).status_code == 405
