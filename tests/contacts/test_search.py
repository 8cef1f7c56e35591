"""Search on the contact list: a phone number in any format, part of a name or an email, several
words; never another workspace's contacts; and only conditions the trigram index can serve."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from contacts.models import Contact, ContactQuerySet
from contacts.normalize import search_terms
from tests.contacts.conftest import add_contact, names_on_page

pytestmark = pytest.mark.django_db


def contacts_of(workspace: Any) -> ContactQuerySet:
    return Contact.objects.for_workspace(workspace)


URL = "/contacts/"


@pytest.fixture
def ws(alice: Any, workspace_of: Any) -> Any:
    workspace = workspace_of(alice)
    add_contact(
        workspace, "Jane", "Doe", emails=["jane.doe@example.com"], phones=["(415) 555-0134"]
    )
    add_contact(workspace, "John", "Roe", emails=["jroe@mail.test"], phones=["(212) 555-0187"])
    add_contact(workspace, "Mary Jane", "Watson", emails=["mj@example.org"])
    return workspace


@pytest.mark.parametrize(
    "typed",
    ["(415) 555-0134", "415.555.0134", "+1 415 555 0134", "1-415-555-0134", "4155550134",
     "555-0134", "+14155550134", "415-555-0134", " 415 555 0134 "],
)  # fmt: skip
def test_a_phone_typed_in_any_format_finds_the_contact(
    alice_client: Client, ws: Any, typed: str
) -> None:
    assert names_on_page(alice_client, URL, q=typed) == ["Jane Doe"]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("jan", ["Jane Doe", "Mary Jane Watson"]),
        ("DOE", ["Jane Doe"]),
        ("wats", ["Mary Jane Watson"]),
        ("jane.doe@exa", ["Jane Doe"]),
        ("jroe@mail.test", ["John Roe"]),
        ("example.org", ["Mary Jane Watson"]),
        ("jane doe", ["Jane Doe"]),
        ("doe jane", ["Jane Doe"]),
        ("mary watson", ["Mary Jane Watson"]),
        ("jane roe", []),
    ],
)
def test_part_of_a_name_or_email_or_several_words_finds_the_contact(
    alice_client: Client, ws: Any, typed: str, found: list[str]
) -> None:
    assert sorted(names_on_page(alice_client, URL, q=typed)) == found


def test_a_phone_from_another_contact_does_not_match(alice_client: Client, ws: Any) -> None:
    assert names_on_page(alice_client, URL, q="(415) 555-0199") == []


def test_search_never_returns_another_workspaces_contact(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(
        workspace_of(charlie), "Jane", "Charlies", emails=["jane@charlie.test"],
        phones=["(415) 555-0134"],
    )  # fmt: skip

    assert names_on_page(alice_client, URL, q="jane") == ["Mary Jane Watson", "Jane Doe"]
    assert names_on_page(alice_client, URL, q="4155550134") == ["Jane Doe"]
    assert names_on_page(alice_client, URL, q="charlie") == []


def test_search_keeps_the_other_filters(alice_client: Client, ws: Any) -> None:
    assert names_on_page(alice_client, URL, q="jane", assignee="unassigned", sort="name") == [
        "Jane Doe",
        "Mary Jane Watson",
    ]


def test_the_search_box_keeps_what_was_typed(alice_client: Client, ws: Any) -> None:
    body = alice_client.get(URL, {"q": "415.555.0134"}).content.decode()

    assert 'value="415.555.0134"' in body


@pytest.mark.parametrize("typed", ["jane doe", "555-0134", "jane.doe@exa"])
def test_every_search_condition_is_a_like_on_search_text_for_the_trigram_index(
    ws: Any, typed: str
) -> None:
    sql, _params = contacts_of(ws).search(typed).query.sql_with_params()
    where = sql.split(" WHERE ", 1)[1]
    words, e164 = search_terms(typed)

    conditions = [c.strip("() ") for c in where.split(" AND ")]
    assert [c for c in conditions if "search_text" in c] == [
        '"contacts_contact"."search_text"::text LIKE %s'
    ] * (len(words) + bool(e164))
    assert all("search_text" in c or '"workspace_id" =' in c for c in conditions)


@pytest.mark.parametrize("typed", ["jane doe", "555-0134", "jane.doe@exa"])
def test_the_trigram_index_can_serve_every_search(ws: Any, typed: str) -> None:
    sql, params = contacts_of(ws).search(typed).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        # On a test-sized table the planner prefers any btree on workspace_id, or reading the
        # table; take those away (inside the test's transaction, rolled back) to ask only
        # whether the trigram index can answer these conditions.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'contacts_contact' "
            "AND indexdef LIKE '%%btree (workspace_id%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Bitmap Index Scan on contact_search_trgm" in plan


@pytest.mark.parametrize("typed", ["(415) 555-0134", "+1 415 555 0134", "4155550134"])
def test_a_whole_phone_number_is_an_exact_lookup_on_the_phone_index(ws: Any, typed: str) -> None:
    sql, params = contacts_of(ws).search(typed).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "search_text" not in sql
    assert "+14155550134" in params
    assert "contact_phone_ws_e164" in plan


def test_a_search_with_a_tag_finds_only_contacts_that_match_both(
    alice_client: Client, ws: Any, charlie: Any
) -> None:
    from tests.conftest import workspace_of

    add_contact(ws, "Ronald", "Tagged", tags=["Hot"])
    add_contact(ws, "Ronald", "Untagged")
    add_contact(ws, "Maria", "Tagged", tags=["Hot"])
    theirs = add_contact(workspace_of(charlie), "Ronald", "Elsewhere")
    hot = ws_tag(ws, "Hot")
    # A bad row linking another workspace's contact to this tag must still not show it.
    Contact.tags.through.objects.create(contact_id=theirs.id, tag_id=hot.id)

    board = alice_client.get(f"/pipeline/?q=ronald&tag={hot.id}")

    assert names_on_page(alice_client, "/contacts/", q="ronald", tag=hot.id) == ["Ronald Tagged"]
    assert "Ronald Tagged" in board.content.decode()
    assert "Untagged" not in board.content.decode()
    assert "Elsewhere" not in board.content.decode()


def ws_tag(ws: Any, name: str) -> Any:
    from contacts.models import Tag

    return Tag.objects.for_workspace(ws).get(name=name)
