"""The pipeline board: a column per stage of lead cards (name, source, last contact, next task or
appointment, budget), most recently active first, 25 at a time; the list's filters; a move (the
"Move to…" form, which a dropped card also posts) changes the stage through the bulk stage
service, so the timeline records it; another workspace's contacts and stages are not found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alt.accounts.seams import next_appointments
from contacts.listing.services import ContactListQuery, Sort
from contacts.models import Activity, Contact, LeadSource, PipelineStage, Source, Tag
from contacts.pipeline import services as board
from contacts.pipeline.services import lead_sources_create_defaults
from contacts.services import task_add, task_complete
from tests.contacts.conftest import add_contact, bulk_contacts, stage_named
from tests.factories import create_appointment

pytestmark = pytest.mark.django_db

URL = "/pipeline/"


def _stage(ws: Any, name: str) -> PipelineStage:
    return stage_named(ws, name)


def _sources(ws: Any) -> list[LeadSource]:
    return list(LeadSource.objects.for_workspace(ws))


def _stages(ws: Any) -> list[PipelineStage]:
    _stage(ws, "New")
    return list(PipelineStage.objects.for_workspace(ws).order_by("position", "id"))


def _aged(ws: Any, stage_name: str, count: int, *, prefix: str = "Lead") -> list[Contact]:
    """`count` contacts in a stage, the first the most recently active."""
    now = timezone.now()
    contacts = bulk_contacts(
        ws,
        [
            {"first_name": f"{prefix}{i:02d}", "last_activity_at": now - timedelta(hours=i)}
            for i in range(count)
        ],
    )
    stage = _stage(ws, stage_name)
    Contact.objects.for_workspace(ws).filter(id__in=[c.id for c in contacts]).update(stage=stage)
    return contacts


def _contacted(ws: Any, contact: Contact, when: Any) -> None:
    Contact.objects.for_workspace(ws).filter(id=contact.id).update(last_contacted_at=when)


def _column(columns: list[board.BoardColumn], name: str) -> board.BoardColumn:
    return next(c for c in columns if c.stage.name == name)


def _names(column: board.BoardColumn) -> list[str]:
    return [card.contact.first_name for card in column.cards]


# --- services ------------------------------------------------------------------------------------
def test_a_column_shows_its_25_most_recently_active_leads_and_pages_on_from_a_cursor(
    ws: Any, alice: Any
) -> None:
    _aged(ws, "Qualified", 30)
    _aged(ws, "New", 2, prefix="Fresh")

    columns = board.board_columns(
        ws, ContactListQuery(), user=alice, stages=_stages(ws), sources=_sources(ws)
    )
    qualified = _column(columns, "Qualified")
    query = board.board_query(ContactListQuery(), cursor=qualified.next_cursor)
    second = board.board_column_page(
        ws, query, user=alice, stage=qualified.stage, sources=_sources(ws)
    )

    assert [c.stage.name for c in columns][:3] == ["New", "Contacted", "Qualified"]
    assert _names(qualified) == [f"Lead{i:02d}" for i in range(25)]
    assert qualified.count == 30
    assert _names(_column(columns, "New")) == ["Fresh00", "Fresh01"]
    assert _column(columns, "New").next_cursor == ""
    assert _names(second) == [f"Lead{i:02d}" for i in range(25, 30)]
    assert second.next_cursor == ""


def test_a_malformed_or_foreign_cursor_starts_the_column_at_the_top(ws: Any, alice: Any) -> None:
    _aged(ws, "New", 3)
    new = _stage(ws, "New")

    for token in ("garbage", "W10", "x" * 500):
        page = board.board_column_page(
            ws,
            board.board_query(ContactListQuery(), cursor=token),
            user=alice,
            stage=new,
            sources=_sources(ws),
        )
        assert _names(page) == ["Lead00", "Lead01", "Lead02"]


def test_the_board_takes_the_lists_filters_and_counts_only_what_matches(
    ws: Any, alice: Any, bob: Any
) -> None:
    qualified = _stage(ws, "Qualified")
    add_contact(ws, "Ann", "Buyer", stage=qualified, source=Source.WEBSITE, tags=["Hot"])
    add_contact(ws, "Ben", "Buyer", stage=qualified, source=Source.WEBSITE, assigned_to=bob)
    add_contact(ws, "Cat", "Seller", source=Source.WEBSITE, tags=["Hot"])
    add_contact(ws, "Dan", "Buyer", stage=qualified, source=Source.REFERRAL, tags=["Hot"])
    hot = Tag.objects.for_workspace(ws).get(name="Hot")
    stages = _stages(ws)

    by_source = board.board_columns(
        ws,
        ContactListQuery(source=Source.WEBSITE, tag=hot.id),
        user=alice,
        stages=stages,
        sources=_sources(ws),
    )
    searched = board.board_columns(
        ws, ContactListQuery(q="buyer"), user=alice, stages=stages, sources=_sources(ws)
    )
    bobs = board.board_columns(
        ws, ContactListQuery(assignee=str(bob.id)), user=alice, stages=stages, sources=_sources(ws)
    )

    assert _names(_column(by_source, "Qualified")) == ["Ann"]
    assert _column(by_source, "Qualified").count == 1
    assert _names(_column(by_source, "New")) == ["Cat"]
    assert sorted(_names(_column(searched, "Qualified"))) == ["Ann", "Ben", "Dan"]
    assert _column(searched, "New").count == 0
    assert _names(_column(bobs, "Qualified")) == ["Ben"]
    assert board.stage_counts(ws, ContactListQuery(q="buyer"), user=alice) == {qualified.id: 3}


def test_a_stage_filter_shows_that_stages_column_alone(ws: Any, alice: Any) -> None:
    showing = _stage(ws, "Showing")
    add_contact(ws, "Sam", "Showing", stage=showing)

    columns = board.board_columns(
        ws, ContactListQuery(stage=showing.id), user=alice, stages=_stages(ws), sources=_sources(ws)
    )

    assert [(c.stage.name, _names(c)) for c in columns] == [("Showing", ["Sam"])]


def test_deleted_merged_and_other_workspaces_leads_stay_off_the_board(
    ws: Any, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    shown = add_contact(ws, "Shown", "Lead")
    gone = add_contact(ws, "Gone", "Lead")
    Contact.objects.for_workspace(ws).filter(id=gone.id).update(deleted_at=timezone.now())
    merged = add_contact(ws, "Merged", "Lead")
    Contact.objects.for_workspace(ws).filter(id=merged.id).update(merged_into=shown)
    add_contact(workspace_of(charlie), "Charlies", "Lead")

    columns = board.board_columns(
        ws, ContactListQuery(), user=alice, stages=_stages(ws), sources=_sources(ws)
    )

    assert [card.contact.name for c in columns for card in c.cards] == ["Shown Lead"]
    assert _column(columns, "New").count == 1


def test_the_next_step_is_the_earliest_open_task_or_upcoming_appointment(
    ws: Any, alice: Any
) -> None:
    now = timezone.now()
    task_first, appointment_first, done_only, past_only = (
        add_contact(ws, name, "Lead") for name in ("Tia", "Abe", "Don", "Pat")
    )
    task_add(
        workspace=ws,
        contact=task_first,
        actor=alice,
        title="Call back",
        due_at=now + timedelta(hours=2),
    )
    create_appointment(
        contact=task_first,
        workspace=ws,
        actor=alice,
        title="Tour",
        starts_at=now + timedelta(days=1),
    )
    task_add(
        workspace=ws,
        contact=appointment_first,
        actor=alice,
        title="Send listings",
        due_at=now + timedelta(days=3),
    )
    create_appointment(
        contact=appointment_first,
        workspace=ws,
        actor=alice,
        title="Open house",
        starts_at=now + timedelta(days=1),
    )
    done = task_add(workspace=ws, contact=done_only, actor=alice, title="Done", due_at=now)
    task_complete(task=done, actor=alice)
    create_appointment(
        contact=past_only,
        workspace=ws,
        actor=alice,
        title="Old tour",
        starts_at=now - timedelta(days=2),
    )
    overdue = add_contact(ws, "Ova", "Lead")
    task_add(workspace=ws, contact=overdue, actor=alice, title="Late call", due_at=now - timedelta(days=1))  # fmt: skip

    steps = board.next_steps(
        ws, [c.id for c in (task_first, appointment_first, done_only, past_only, overdue)]
    )

    assert (steps[task_first.id].kind, steps[task_first.id].title) == ("task", "Call back")
    assert (steps[appointment_first.id].kind, steps[appointment_first.id].title) == (
        "appointment",
        "Open house",
    )
    assert done_only.id not in steps
    assert past_only.id not in steps
    assert steps[overdue.id].is_overdue
    assert not steps[task_first.id].is_overdue  # fmt: skip


def test_the_next_appointment_seam_answers_for_many_contacts_in_one_scoped_query(
    ws: Any, alice: Any, charlie: Any, workspace_of: Any, django_assert_num_queries: Any
) -> None:
    now = timezone.now()
    contacts = [add_contact(ws, f"Lead{i}", "Person") for i in range(5)]
    for i, contact in enumerate(contacts):
        for days in (3, 1 + i):
            create_appointment(
                contact=contact, workspace=ws, actor=alice, title=f"Tour {i}/{days}",
                starts_at=now + timedelta(days=days),
            )  # fmt: skip
    ids = [c.id for c in contacts]

    with django_assert_num_queries(1):
        upcoming = next_appointments(ws, ids)

    assert {cid: u.title for cid, u in upcoming.items()} == {
        contacts[0].id: "Tour 0/1",
        contacts[1].id: "Tour 1/2",
        contacts[2].id: "Tour 2/3",
        contacts[3].id: "Tour 3/3",
        contacts[4].id: "Tour 4/3",
    }
    assert next_appointments(workspace_of(charlie), ids) == {}
    with django_assert_num_queries(0):
        assert next_appointments(ws, []) == {}


# --- the page ------------------------------------------------------------------------------------
def _query_count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _rich(ws: Any, alice: Any, bob: Any, first: int, count: int) -> None:
    stages = [_stage(ws, name) for name in ("New", "Qualified", "Showing", "Closed")]
    now = timezone.now()
    for i in range(first, first + count):
        contact = add_contact(
            ws, f"Lead{i}", "Person", stage=stages[i % 4], tags=["buyer"], assigned_to=bob,
            budget_min=400_000 + i, budget_max=600_000,
        )  # fmt: skip
        _contacted(ws, contact, now - timedelta(days=i))
        task_add(workspace=ws, contact=contact, actor=alice, title=f"Call {i}", due_at=now)
        create_appointment(contact=contact, workspace=ws, actor=alice, title=f"Tour {i}")


def test_the_board_runs_the_same_few_queries_for_3_or_30_leads(
    alice_client: Client, ws: Any, alice: Any, bob: Any
) -> None:
    _rich(ws, alice, bob, 0, 3)
    alice_client.get(URL)  # warm caches that are not per request (content types, templates)

    small = _query_count(alice_client, URL)
    _rich(ws, alice, bob, 3, 27)
    large = _query_count(alice_client, URL)
    filtered = _query_count(alice_client, f"{URL}?q=lead&tag=&assignee=unassigned&stale=7")

    assert len(alice_client.get(URL).content.decode().split('class="board-card"')) == 31
    assert large == small
    # Session, user and membership (every signed-in page), then the board's own seven: stages,
    # tags and members (the filters), the cards of every column, counts, tasks, appointments.
    assert small <= 3 + 7
    assert filtered <= small


def test_a_column_page_runs_the_same_few_queries_for_3_or_25_cards(
    alice_client: Client, ws: Any, alice: Any, bob: Any
) -> None:
    _rich(ws, alice, bob, 0, 3)
    url = f"/pipeline/stages/{_stage(ws, 'New').id}/"
    alice_client.get(url)

    small = _query_count(alice_client, url)
    _rich(ws, alice, bob, 3, 100)
    large = _query_count(alice_client, url)

    assert alice_client.get(url).content.decode().count('class="board-card"') == 25
    assert large == small
    # Session, user, membership; the stage; stages, tags, members; cards, tasks, appointments.
    assert small <= 3 + 1 + 3 + 3


def test_a_card_shows_name_source_last_contact_next_step_and_budget(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    now = timezone.now()
    contact = add_contact(
        ws, "Maria", "Lopez", source=Source.OPEN_HOUSE, budget_min=450_000, budget_max=1_250_000,
    )  # fmt: skip
    _contacted(ws, contact, now - timedelta(days=3))
    create_appointment(contact=contact, workspace=ws, actor=alice, title="Tour of Elm St", starts_at=now + timedelta(days=2))  # fmt: skip
    bare = add_contact(ws, "Bare", "Lead")

    body = alice_client.get(URL).content.decode()

    card = body.split(f'id="card-{contact.id}"')[1].split("</li>")[0]
    assert "Maria Lopez" in card
    assert "Open house" in card
    assert "3d ago" in card
    assert "$450k–$1.25M" in card  # noqa: RUF001
    assert "Appointment: Tour of Elm St" in card
    bare_card = body.split(f'id="card-{bare.id}"')[1].split("</li>")[0]
    assert "Nothing planned" in bare_card
    assert "Not yet" in bare_card
    assert "Budget" not in bare_card


def test_a_lead_with_extreme_values_does_not_break_the_board(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    contact = add_contact(
        ws, "ש" * 80, "x" * 80, budget_min=2**31 - 1, budget_max=2**31 - 1,
    )  # fmt: skip
    task_add(
        workspace=ws, contact=contact, actor=alice, title="t" * 200,
        due_at=timezone.now().replace(year=9999, month=12, day=30),
    )  # fmt: skip

    response = alice_client.get(URL)

    assert response.status_code == 200
    assert "$2.15B" in response.content.decode()


def test_show_more_pages_a_column_keeping_the_filters(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    _aged(ws, "New", 27)
    add_contact(ws, "Filtered", "Out", source=Source.REFERRAL)
    new = _stage(ws, "New")

    first = alice_client.get(URL, {"source": "manual"})
    column = next(c for c in first.context["columns"] if c.stage.id == new.id)
    more_url = f"/pipeline/stages/{new.id}/?source=manual&cursor={column.next_cursor}"
    partial = alice_client.get(more_url, HTTP_HX_REQUEST="true")
    plain = alice_client.get(more_url)

    assert f'href="{more_url.replace("&", "&amp;")}"' in first.content.decode()
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert partial.content.decode().count('class="board-card"') == 2
    assert "Lead25" in partial.content.decode()
    assert "Lead26" in partial.content.decode()
    assert "Back to the board" in plain.content.decode()
    assert _names(plain.context["column"]) == ["Lead25", "Lead26"]


def test_the_board_and_the_list_switch_to_each_other_keeping_the_filters(
    alice_client: Client, ws: Any
) -> None:
    _stage(ws, "New")
    lead_sources_create_defaults(workspace=ws)  # a workspace's preset sources, "website" among them

    listing = alice_client.get("/contacts/", {"q": "maria", "source": "website"}).content.decode()
    board_page = alice_client.get(URL, {"q": "maria", "source": "website"}).content.decode()

    assert 'href="/pipeline/?q=maria&amp;source=website"' in listing
    assert 'href="/contacts/?q=maria&amp;source=website"' in board_page
    assert 'href="/pipeline/"' in alice_client.get("/dashboard/").content.decode()


# --- moving a lead -------------------------------------------------------------------------------
def _move(client: Client, contact: Contact, stage: Any, **extra: Any) -> Any:
    data = {
        "contact": contact.id,
        "stage": getattr(stage, "id", stage),
        "next": extra.pop("next", URL + "?q=lead"),
    }
    return client.post("/pipeline/move/", data, **extra)


def test_moving_a_lead_changes_its_stage_logs_it_and_returns_to_the_board(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    lead = add_contact(ws, "Lead", "Person")
    qualified = _stage(ws, "Qualified")

    response = _move(alice_client, lead, qualified)

    lead.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == "/pipeline/?q=lead"
    assert lead.stage == qualified
    entry = Activity.objects.for_workspace(ws).get(contact=lead, kind=Activity.Kind.STAGE_CHANGED)
    assert (entry.summary, entry.actor) == ("Stage: New → Qualified", alice)


def test_an_htmx_move_answers_with_the_card_in_its_new_stage(alice_client: Client, ws: Any) -> None:
    lead = add_contact(ws, "Lead", "Person")
    showing = _stage(ws, "Showing")

    response = _move(alice_client, lead, showing, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-stage-id="{showing.id}"' in body
    assert f'name="contact" value="{lead.id}"' in body
    assert 'name="next" value="/pipeline/?q=lead"' in body
    assert "<html" not in body


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/pipeline/",
        "//evil.example/pipeline/",
        "/contacts/",
        "/pipeline/../settings/",
    ],
)
def test_a_move_never_returns_anywhere_but_the_board(
    alice_client: Client, ws: Any, next_url: str
) -> None:
    lead = add_contact(ws, "Lead", "Person")

    response = _move(alice_client, lead, _stage(ws, "Lost"), next=next_url)

    assert response["Location"] == URL


@pytest.mark.parametrize("stage", ["", "abc", "99999999999999999999", "-1"])
def test_a_move_to_no_or_a_bad_stage_is_refused_and_changes_nothing(
    alice_client: Client, ws: Any, stage: str
) -> None:
    lead = add_contact(ws, "Lead", "Person")

    page = _move(alice_client, lead, stage, follow=True)
    partial = _move(alice_client, lead, stage, HTTP_HX_REQUEST="true")

    lead.refresh_from_db()
    assert lead.stage.name == "New"
    assert "Choose" in page.content.decode()
    assert partial.status_code == 400
    assert partial.content.decode().startswith("Choose")


@pytest.mark.promise("SEC-3")
def test_another_workspaces_lead_or_stage_is_not_found_and_not_moved(
    alice_client: Client, charlie_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    alices = add_contact(ws, "Alices", "Lead")
    charlies = add_contact(workspace_of(charlie), "Charlies", "Lead")
    charlies_stage = _stage(workspace_of(charlie), "Lost")

    moved_theirs = _move(alice_client, charlies, _stage(ws, "Lost"))
    into_theirs = _move(alice_client, alices, charlies_stage, follow=True)
    column = alice_client.get(f"/pipeline/stages/{charlies_stage.id}/")

    alices.refresh_from_db()
    charlies.refresh_from_db()
    assert moved_theirs.status_code == 404
    assert "Choose one of your pipeline" in into_theirs.content.decode()
    assert alices.stage.name == "New"
    assert charlies.stage.name == "New"
    assert column.status_code == 404
    assert not Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.STAGE_CHANGED).exists()


def test_the_board_and_its_moves_need_a_signed_in_member(client: Client, ws: Any) -> None:
    lead = add_contact(ws, "Lead", "Person")

    responses = [client.get(URL), _move(client, lead, _stage(ws, "Lost"))]

    assert [r.status_code for r in responses] == [302, 302]
    lead.refresh_from_db()
    assert lead.stage.name == "New"


def test_the_sort_param_of_the_list_is_kept_but_the_board_orders_by_activity(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    _aged(ws, "New", 3)

    response = alice_client.get(URL, {"sort": Sort.NAME})

    column = response.context["columns"][0]
    assert _names(column) == ["Lead00", "Lead01", "Lead02"]
    assert 'href="/contacts/?sort=name"' in response.content.decode()


@pytest.mark.parametrize("contact_id", ["", "abc", "-3", "99999999999999999999"])
def test_a_move_of_no_or_a_malformed_lead_is_not_found(
    alice_client: Client, ws: Any, contact_id: str
) -> None:
    response = alice_client.post(
        "/pipeline/move/", {"contact": contact_id, "stage": _stage(ws, "Lost").id}
    )

    assert response.status_code == 404
