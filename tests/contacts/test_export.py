"""CSV export of the current list: the same filters as the page, every page of it, streamed, only
the workspace's own contacts, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from django.test import Client

from contacts.listing.services import EXPORT_COLUMNS, csv_cell
from contacts.models import Contact, Source
from tests.contacts.conftest import add_contact, bulk_contacts, stage_named

pytestmark = pytest.mark.django_db

URL = "/contacts/export.csv"


def export(client: Client, **params: Any) -> list[dict[str, str]]:
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == EXPORT_COLUMNS
    return list(reader)


def test_it_exports_every_column_of_a_contact(alice_client: Client, ws: Any, bob: Any) -> None:
    add_contact(
        ws, "Jane", "Doe", emails=["jane@example.com", "jd@work.test"],
        phones=["415-555-0134", "212-555-0187"], stage=stage_named(ws, "Qualified"),
        source=Source.OPEN_HOUSE, tags=["Hot", "Buyer"], assigned_to=bob, role="buyer",
        budget_min=500000, budget_max=750000, timeframe="soon",
        next_follow_up_on=date(2026, 5, 1),
    )  # fmt: skip

    [row] = export(alice_client)

    assert row["first_name"] == "Jane"
    assert row["last_name"] == "Doe"
    assert row["emails"] == "jane@example.com; jd@work.test"
    assert row["phones"] == "(415) 555-0134; (212) 555-0187"
    assert row["stage"] == "Qualified"
    assert row["source"] == "Open house"
    assert row["tags"] == "Buyer; Hot"
    assert row["assigned_to"] == "bob@example.com"
    assert row["role"] == "buyer"
    assert (row["budget_min"], row["budget_max"]) == ("500000", "750000")
    assert row["timeframe"] == "soon"
    assert row["next_follow_up_on"] == "2026-05-01"
    assert row["created_at"].startswith(str(date.today().year))


def test_it_is_a_download(alice_client: Client) -> None:
    response = alice_client.get(URL)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
     "\tTabbed", "\rReturned"],
)  # fmt: skip
def test_cells_that_look_like_formulas_are_escaped(
    alice_client: Client, ws: Any, value: str
) -> None:
    contact = add_contact(ws, "Jane", "Doe")
    # Forms and imports strip names; a raw value shows that export does not rely on it.
    Contact.objects.for_workspace(ws).filter(id=contact.id).update(first_name=value)

    [row] = export(alice_client)

    assert row["first_name"] == "'" + value
    assert row["last_name"] == "Doe"


def test_a_formula_in_a_tag_or_email_is_escaped_too(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Jane", "Doe", emails=["=cmd@example.com"], tags=["=HYPERLINK(1)"])

    [row] = export(alice_client)

    assert row["tags"] == "'=HYPERLINK(1)"
    assert row["emails"] == "'=cmd@example.com"


def test_csv_cell_leaves_ordinary_text_and_numbers_alone() -> None:
    assert csv_cell("Jane") == "Jane"
    assert csv_cell("a=b") == "a=b"
    assert csv_cell(500000) == "500000"
    assert csv_cell(None) == ""
    assert csv_cell("=1+1") == "'=1+1"


def test_it_exports_the_current_filtered_list(alice_client: Client, ws: Any) -> None:
    qualified = stage_named(ws, "Qualified")
    add_contact(ws, "Jane", "Qualified", stage=qualified)
    add_contact(ws, "John", "Qualified", stage=qualified)
    add_contact(ws, "Jane", "New")

    rows = export(alice_client, stage=qualified.id, q="jane")

    assert [(r["first_name"], r["last_name"]) for r in rows] == [("Jane", "Qualified")]


def test_it_exports_every_page_in_the_lists_order(alice_client: Client, ws: Any) -> None:
    bulk_contacts(ws, [{"first_name": f"P{i:03d}", "last_name": "Zed"} for i in range(130)])

    rows = export(alice_client, sort="name")

    assert len(rows) == 130
    assert [r["first_name"] for r in rows] == [f"P{i:03d}" for i in range(130)]


def test_it_never_exports_another_workspaces_or_deleted_contacts(
    alice_client: Client, charlie_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(ws, "Alices", "Lead")
    gone = add_contact(ws, "Deleted", "Lead")
    Contact.objects.for_workspace(ws).filter(id=gone.id).update(deleted_at="2026-01-01T00:00Z")
    add_contact(workspace_of(charlie), "Charlies", "Lead")

    assert [r["first_name"] for r in export(alice_client)] == ["Alices"]
    assert [r["first_name"] for r in export(charlie_client)] == ["Charlies"]
    assert [r["first_name"] for r in export(charlie_client, q="alices")] == []


def test_the_list_links_to_the_export_of_what_it_shows(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Jane", "Doe")

    body = alice_client.get("/contacts/", {"q": "jane", "sort": "name"}).content.decode()

    assert 'href="/contacts/export.csv?q=jane&amp;sort=name"' in body
