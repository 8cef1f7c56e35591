"""Properties: adding and editing with a structured US address and prices typed as agents say them,
the searchable list in keyset pages with constant queries, linking contacts by role (logged on
their timeline, once), and nothing of Alice's reachable by Charlie."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Activity, Property, PropertyLink
from contacts.properties.services import property_link
from tests.factories import create_contact, create_property

pytestmark = pytest.mark.django_db

VALID = {
    "street": "12 Oak St",
    "unit": "",
    "city": "San Diego",
    "state": "CA",
    "zip_code": "92104",
    "price": "$1,250,000",
    "beds": "3",
    "baths": "2.5",
    "sqft": "1,850",
    "mls_number": "240012345SD",
    "status": "active",
}


def _property(workspace: Any, **fields: Any) -> Property:
    """12 Oak St, San Diego, CA 92104 unless `fields` say otherwise."""
    return create_property(workspace=workspace, **fields)


def _contact(workspace: Any, user: Any, first: str, email: str) -> Any:
    return create_contact(
        workspace=workspace, actor=user, first_name=first, last_name="Buyer", emails=[email]
    )


def test_it_adds_a_property_with_a_structured_us_address(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    response = alice_client.post(
        "/properties/new/", {**VALID, "zip_code": "92104 1234", "unit": "4B"}
    )

    prop = Property.objects.for_workspace(workspace_of(alice)).get()
    assert response.status_code == 302
    assert response["Location"] == f"/properties/{prop.id}/"
    assert (prop.street, prop.unit, prop.city, prop.state) == ("12 Oak St", "4B", "San Diego", "CA")
    assert prop.zip_code == "92104-1234"
    assert (prop.price, prop.beds, prop.baths, prop.sqft) == (1_250_000, 3, Decimal("2.5"), 1850)
    assert prop.mls_number == "240012345SD"


def test_a_price_can_be_typed_the_way_agents_say_it(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    alice_client.post("/properties/new/", {**VALID, "price": "850k", "mls_number": ""})

    assert Property.objects.for_workspace(workspace_of(alice)).get().price == 850_000


@pytest.mark.parametrize(
    ("field", "value", "explanation"),
    [
        ("zip_code", "9210", "A ZIP code is 5 digits (92101) or ZIP+4 (92101-1234)."),
        ("zip_code", "92101-12", "A ZIP code is 5 digits (92101) or ZIP+4 (92101-1234)."),
        ("zip_code", "ABCDE", "A ZIP code is 5 digits (92101) or ZIP+4 (92101-1234)."),
        ("state", "XX", "Choose a US state from the list."),
        ("state", "California", "Choose a US state from the list."),
        ("state", "", "Choose the state."),
        ("baths", "2.25", "Bathrooms go in half steps, like 2 or 2.5."),
        ("baths", "-1", "Bathrooms go from 0 to 50."),
        ("baths", "two", "Enter the number of bathrooms, like 2 or 2.5."),
        ("beds", "-1", "Bedrooms can&#x27;t be negative."),
        ("price", "a lot", "Enter the price in dollars, like 850000, $850,000 or 850k."),
        ("sqft", "big", "Enter the living area in square feet, like 1850."),
        ("street", "", "Enter the street address, like 12 Oak St."),
        ("mls_number", "24 00 12", "An MLS number uses only letters, digits and dashes."),
    ],
)
def test_the_form_rejects_bad_input_and_explains_it(
    alice_client: Client, alice: Any, workspace_of: Any, field: str, value: str, explanation: str
) -> None:
    response = alice_client.post("/properties/new/", {**VALID, field: value})

    assert response.status_code == 400
    assert explanation in response.content.decode()
    assert not Property.objects.for_workspace(workspace_of(alice)).exists()


def test_an_mls_number_already_used_in_the_workspace_is_refused(
    alice_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    _property(workspace_of(alice), street="9 Elm Ave", mls_number="240012345SD")
    _property(workspace_of(charlie), street="1 Other Rd", mls_number="250000001SD")

    taken = alice_client.post("/properties/new/", VALID)
    other_workspace = alice_client.post("/properties/new/", {**VALID, "mls_number": "250000001SD"})

    assert taken.status_code == 400
    assert "9 Elm Ave, San Diego, CA 92104 already has MLS number 240012345SD." in (
        taken.content.decode()
    )
    assert other_workspace.status_code == 302


def test_editing_changes_the_facts_and_keeps_the_links(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    prop = _property(ws, mls_number="240012345SD", price=900_000, baths=Decimal("2.0"))
    zelda = _contact(ws, alice, "Zelda", "zelda@example.com")
    property_link(property=prop, contact=zelda, role="interested", actor=alice)

    form_page = alice_client.get(f"/properties/{prop.id}/edit/")
    response = alice_client.post(
        f"/properties/{prop.id}/edit/", {**VALID, "price": "875000", "status": "pending"}
    )

    prop.refresh_from_db()
    assert 'value="900,000"' in form_page.content.decode()
    assert 'value="2"' in form_page.content.decode()
    assert response.status_code == 302
    assert (prop.price, prop.status) == (875_000, "pending")
    assert PropertyLink.objects.for_workspace(ws).filter(property=prop).count() == 1


def test_the_list_searches_street_city_zip_and_mls_and_filters_by_status(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    _property(ws, street="12 Oak St", zip_code="92104", mls_number="240000001SD")
    _property(ws, street="400 Prospect St", city="La Jolla", zip_code="92037", status="sold")
    _property(ws, street="77 Garnet Ave", zip_code="92109", mls_number="PTP2401234")

    def streets(query: str) -> list[str]:
        page = alice_client.get(f"/properties/?{query}").content.decode()
        return [s for s in ("12 Oak St", "400 Prospect St", "77 Garnet Ave") if s in page]

    assert streets("q=oak") == ["12 Oak St"]
    assert streets("q=la+jolla") == ["400 Prospect St"]
    assert streets("q=9210") == ["12 Oak St", "77 Garnet Ave"]
    assert streets("q=ptp2401234") == ["77 Garnet Ave"]
    assert streets("status=sold") == ["400 Prospect St"]
    assert streets("q=st&status=active") == ["12 Oak St"]
    assert streets("q=nowhere") == []


def test_the_list_is_newest_first_in_keyset_pages_of_fifty(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    start = timezone.now()
    for i in range(120):
        _property(ws, street=f"{i} Page St", created_at=start - timedelta(minutes=i))

    seen: list[str] = []
    url = "/properties/"
    pages = 0
    while url:
        response = alice_client.get(url)
        pages += 1
        page = [p.street for p in response.context["properties"]]
        seen += page
        cursor = response.context["next_cursor"]
        url = f"/properties/?after={cursor}" if cursor else ""

    assert pages == 3
    assert seen == [f"{i} Page St" for i in range(120)]


def test_the_list_runs_the_same_queries_whatever_the_page_or_data_size(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    zelda = _contact(ws, alice, "Zelda", "zelda@example.com")
    _property(ws, street="1 First St")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    alice_client.get("/properties/")  # warm the per-user flags the page caches
    small = queries("/properties/")
    for i in range(80):
        prop = _property(ws, street=f"{i} More St")
        property_link(property=prop, contact=zelda, role="interested", actor=alice)
    first_page = alice_client.get("/properties/")
    cursor = first_page.context["next_cursor"]

    assert queries("/properties/") == small
    assert queries(f"/properties/?after={cursor}") == small
    assert queries("/properties/?q=more&status=active") == small
    assert "1 contact" in first_page.content.decode()


def test_an_htmx_search_returns_only_the_results(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    _property(workspace_of(alice), street="12 Oak St")

    response = alice_client.get("/properties/?q=oak", headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "12 Oak St" in body
    assert "<html" not in body
    assert 'id="property-results"' not in body


def test_the_detail_page_shows_the_facts_and_contacts_by_role(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    prop = _property(ws, price=1_250_000, beds=3, baths=Decimal("2.5"), sqft=1850)
    owner = _contact(ws, alice, "Olive", "olive@example.com")
    buyer = _contact(ws, alice, "Ivan", "ivan@example.com")
    property_link(property=prop, contact=owner, role="owner", actor=alice)
    property_link(property=prop, contact=buyer, role="interested", actor=alice)

    body = alice_client.get(f"/properties/{prop.id}/").content.decode()

    assert "$1,250,000" in body
    assert "2.5" in body
    assert "1,850" in body
    owner_at, interested_at = body.index("<h3>Owner</h3>"), body.index("<h3>Interested</h3>")
    assert owner_at < body.index("Olive Buyer") < interested_at < body.index("Ivan Buyer")


def test_linking_a_contact_logs_it_on_the_contacts_timeline(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    prop = _property(ws, street="12 Oak St")
    zelda = _contact(ws, alice, "Zelda", "zelda@example.com")

    response = alice_client.post(
        f"/properties/{prop.id}/links/", {"contact": zelda.id, "role": "interested"}
    )

    assert response.status_code == 302
    link = PropertyLink.objects.for_workspace(ws).get()
    assert (link.property, link.contact, link.role) == (prop, zelda, "interested")
    entry = Activity.objects.for_workspace(ws).filter(contact=zelda).order_by("-id").first()
    assert entry is not None
    assert entry.summary == "Interested in 12 Oak St"
    assert entry.actor == alice
    assert entry.data == {"property_id": prop.id, "role": "interested"}


def test_the_timeline_names_the_role_and_the_unit(alice: Any, workspace_of: Any) -> None:
    ws = workspace_of(alice)
    prop = _property(ws, street="500 W Harbor Dr", unit="1204")
    zelda = _contact(ws, alice, "Zelda", "zelda@example.com")

    property_link(property=prop, contact=zelda, role="owner", actor=alice)
    property_link(property=prop, contact=zelda, role="buyer", actor=alice)

    summaries = set(
        Activity.objects.for_workspace(ws)
        .filter(contact=zelda, data__property_id=prop.id)
        .values_list("summary", flat=True)
    )
    assert summaries == {"Owner of 500 W Harbor Dr #1204", "Buyer of 500 W Harbor Dr #1204"}


def test_linking_twice_in_the_same_role_logs_once(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    prop = _property(ws)
    zelda = _contact(ws, alice, "Zelda", "zelda@example.com")

    for _ in range(2):
        alice_client.post(
            f"/properties/{prop.id}/links/", {"contact": zelda.id, "role": "interested"}
        )

    assert PropertyLink.objects.for_workspace(ws).count() == 1
    assert Activity.objects.for_workspace(ws).filter(data__property_id=prop.id).count() == 1


def test_a_link_needs_a_contact_and_says_so(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    prop = _property(workspace_of(alice))

    response = alice_client.post(f"/properties/{prop.id}/links/", {"role": "interested"})

    assert response.status_code == 400
    assert "Choose a contact to link." in response.content.decode()


def test_linking_only_answers_post(alice_client: Client, alice: Any, workspace_of: Any) -> None:
    prop = _property(workspace_of(alice))

    assert alice_client.get(f"/properties/{prop.id}/links/").status_code == 405


@pytest.mark.promise("SEC-3")
def test_charlie_cannot_link_to_alices_property(
    charlie_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    prop = _property(workspace_of(alice))
    his = _contact(workspace_of(charlie), charlie, "Carl", "carl@example.com")

    response = charlie_client.post(
        f"/properties/{prop.id}/links/", {"contact": his.id, "role": "interested"}
    )

    assert response.status_code == 404
    assert not PropertyLink.objects.for_workspace(workspace_of(alice)).exists()
    assert not PropertyLink.objects.for_workspace(workspace_of(charlie)).exists()


@pytest.mark.promise("SEC-3")
def test_charlie_cannot_link_alices_contact_to_his_property(
    charlie_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    zelda = _contact(workspace_of(alice), alice, "Zelda", "zelda@example.com")
    his_property = _property(workspace_of(charlie), street="1 Charlie Way")
    timeline_before = Activity.objects.for_workspace(workspace_of(alice)).count()

    response = charlie_client.post(
        f"/properties/{his_property.id}/links/", {"contact": zelda.id, "role": "owner"}
    )

    assert response.status_code == 404
    assert not PropertyLink.objects.for_workspace(workspace_of(charlie)).exists()
    assert Activity.objects.for_workspace(workspace_of(alice)).count() == timeline_before


@pytest.mark.promise("SEC-3")
def test_charlie_cannot_see_or_edit_alices_property(
    charlie_client: Client, alice: Any, workspace_of: Any
) -> None:
    prop = _property(workspace_of(alice), street="742 Evergreen Terrace")

    assert charlie_client.get(f"/properties/{prop.id}/").status_code == 404
    assert charlie_client.post(f"/properties/{prop.id}/edit/", VALID).status_code == 404
    assert "742 Evergreen Terrace" not in charlie_client.get("/properties/?q=742").content.decode()
    prop.refresh_from_db()
    assert prop.street == "742 Evergreen Terrace"


def test_the_contact_picker_lists_only_the_workspaces_live_contacts(
    alice_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    prop = _property(ws)
    _contact(ws, alice, "Zelda", "zelda@example.com")
    gone = _contact(ws, alice, "Gone", "gone@example.com")
    gone.deleted_at = timezone.now()
    gone.save()
    _contact(workspace_of(charlie), charlie, "Carl", "carl@example.com")

    page = alice_client.get(f"/properties/{prop.id}/").content.decode()
    found = alice_client.get(
        f"/properties/{prop.id}/?contact_q=zelda@example", headers={"HX-Request": "true"}
    ).content.decode()
    nothing = alice_client.get(
        f"/properties/{prop.id}/?contact_q=carl", headers={"HX-Request": "true"}
    ).content.decode()

    assert "Zelda Buyer" in page
    assert "Gone Buyer" not in page
    assert "Carl" not in page
    assert "Zelda Buyer" in found
    assert "<html" not in found
    assert "Carl" not in nothing
    deleted = alice_client.post(
        f"/properties/{prop.id}/links/", {"contact": gone.id, "role": "interested"}
    )
    assert deleted.status_code == 404
