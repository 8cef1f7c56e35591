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
@pytest.mark.parametrize(
    "query",
    [
        ContactListQuery(),  # each stage's index range, the cached counts
        ContactListQuery(source="manual"),  # by source: the matches read once, ranked per stage
        ContactListQuery(assignee="unassigned"),  # each stage's range, filtered; a grouped count
    ],
    ids=["unfiltered", "searched", "filtered"],
)
def test_a_column_shows_its_25_most_recently_active_leads_and_pages_on_from_a_cursor(
    ws: Any, alice: Any, query: ContactListQuery
) -> None:
    _aged(ws, "Qualified", 30)
    _aged(ws, "New", 2, prefix="Fresh")

    columns = board.board_columns(ws, query, user=alice, stages=_stages(ws), sources=_sources(ws))
    qualified = _column(columns, "Qualified")
    query = board.board_query(query, cursor=qualified.next_cursor)
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


def _steps_on_the_board(ws: Any, alice: Any, query: ContactListQuery) -> dict[int, Any]:
    columns = board.board_columns(ws, query, user=alice, stages=_stages(ws), sources=_sources(ws))
    return {card.contact.id: card.next_step for c in columns for card in c.cards if card.next_step}


def _steps_on_a_column_page(ws: Any, alice: Any, query: ContactListQuery) -> dict[int, Any]:
    column = board.board_column_page(
        ws, board.board_query(query), user=alice, stage=_stage(ws, "New"), sources=_sources(ws)
    )
    return {card.contact.id: card.next_step for card in column.cards if card.next_step}


@pytest.mark.parametrize(
    ("read", "query"),
    [
        (_steps_on_the_board, ContactListQuery()),
        (_steps_on_the_board, ContactListQuery(q="lead")),  # read once, ranked per stage
        (_steps_on_the_board, ContactListQuery(assignee="unassigned")),  # per-stage ranges
        (_steps_on_a_column_page, ContactListQuery()),
    ],
)
def test_the_next_step_is_the_earliest_open_task_or_upcoming_appointment(
    ws: Any, alice: Any, read: Any, query: ContactListQuery
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
    task_add(workspace=ws, contact=task_first, actor=alice, title="Later", due_at=now + timedelta(hours=5))  # fmt: skip
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

    steps = read(ws, alice, query)

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

    searched_url = f"{URL}?q=lead&tag={Tag.objects.for_workspace(ws).get().id}"
    filtered_url = f"{URL}?assignee={bob.id}&stale=0"
    small = [_query_count(alice_client, url) for url in (URL, searched_url, filtered_url)]
    _rich(ws, alice, bob, 3, 27)
    alice_client.get(URL)  # the writes above made this load count the stages again
    large = [_query_count(alice_client, url) for url in (URL, searched_url, filtered_url)]

    assert len(alice_client.get(URL).content.decode().split('class="board-card"')) == 31
    for url in (searched_url, filtered_url):
        assert alice_client.get(url).content.decode().count('class="board-card"') == 30
    assert large == small
    # Session, user and membership (every signed-in page), then the board's own five: stages
    # with their (cached) counts, tags and members (the filters), the cards of every column with
    # their next tasks, and their appointments; a filtered board also counts what matches.
    assert small[0] <= 3 + 5
    assert small[1] <= 3 + 6
    assert small[2] <= 3 + 6


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
    # Session, user, membership; stages (the column's among them), tags, members; the cards with
    # their next tasks, their appointments.
    assert small <= 3 + 3 + 2


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
    assert f'href="/pipeline/move/?next=%2Fpipeline%2F%3Fq%3Dlead&amp;contact={lead.id}"' in body
    assert "<form" not in body
    assert "<html" not in body


def test_the_board_has_one_move_menu_which_every_cards_link_opens(
    alice_client: Client, ws: Any
) -> None:
    leads = _aged(ws, "New", 30)

    body = alice_client.get(URL, {"source": "manual"}).content.decode()

    assert body.count("<dialog") == 1
    assert body.count('class="js-move') == 1
    menu = body.split("<dialog")[1].split("</dialog>")[0]
    assert 'name="contact" value=""' in menu
    assert 'name="next" value="/pipeline/?source=manual"' in menu
    assert menu.count("<option") == 1 + PipelineStage.objects.for_workspace(ws).count()
    for lead in leads[:25]:
        link = f'href="/pipeline/move/?next=%2Fpipeline%2F%3Fsource%3Dmanual&amp;contact={lead.id}"'
        card = body.split(f'id="card-{lead.id}"')[1].split("</li>")[0]
        assert link in card
        assert f'<span class="visually-hidden"> ({lead.name})</span>' in card


def test_without_javascript_a_cards_move_link_is_a_page_that_moves_the_lead(
    alice_client: Client, ws: Any
) -> None:
    lead = add_contact(ws, "Lead", "Person")
    showing = _stage(ws, "Showing")

    page = alice_client.get(
        "/pipeline/move/", {"contact": str(lead.id), "next": "/pipeline/?q=lead"}
    )
    body = page.content.decode()
    form = body.split('class="card stack board-move-page"')[1].split("</form>")[0]
    moved = alice_client.post("/pipeline/move/", _fields_of(form, stage=str(showing.id)))

    assert page.status_code == 200
    assert 'Move <span dir="auto">Lead Person</span> to…' in body
    assert "Now in New." in body
    assert f'<option value="{showing.id}">Showing</option>' in form
    assert moved.status_code == 302
    assert moved["Location"] == "/pipeline/?q=lead"
    lead.refresh_from_db()
    assert lead.stage == showing


def _fields_of(form: str, **chosen: str) -> dict[str, str]:
    """The hidden fields of a form's HTML, and the values `chosen` for its other fields."""
    import re

    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)
    return {**dict(hidden), **chosen}


@pytest.mark.parametrize("next_url", ["https://evil.example/pipeline/", "/contacts/", ""])
def test_the_move_page_leads_back_to_the_board_only(
    alice_client: Client, ws: Any, next_url: str
) -> None:
    lead = add_contact(ws, "Lead", "Person")

    body = alice_client.get("/pipeline/move/", {"contact": str(lead.id), "next": next_url}).content
    text = body.decode()

    assert 'name="next" value="/pipeline/"' in text
    assert 'href="/pipeline/">Cancel</a>' in text
    assert "evil" not in text


@pytest.mark.promise("SEC-3")
@pytest.mark.parametrize("contact_id", ["", "abc", "-3", "99999999999999999999"])
def test_the_move_page_of_a_malformed_or_another_workspaces_lead_is_not_found(
    alice_client: Client, charlie_client: Client, ws: Any, contact_id: str
) -> None:
    alices = add_contact(ws, "Alices", "Lead")

    theirs = charlie_client.get("/pipeline/move/", {"contact": alices.id})
    malformed = alice_client.get("/pipeline/move/", {"contact": contact_id})

    assert theirs.status_code == 404
    assert "Alices" not in theirs.content.decode()
    assert malformed.status_code == 404


def test_a_card_escapes_what_the_agent_typed(alice_client: Client, ws: Any, alice: Any) -> None:
    lead_sources_create_defaults(workspace=ws)
    source = LeadSource.objects.for_workspace(ws).get(key="website")
    source.name = "Ads & <i>more</i>"
    source.save(update_fields=["name"])
    lead = add_contact(ws, "<script>alert(1)</script>", 'O"Neil', source=Source.WEBSITE)
    task_add(workspace=ws, contact=lead, actor=alice, title="<b>call</b>", due_at=timezone.now())

    body = alice_client.get(URL).content.decode()
    card = body.split(f'id="card-{lead.id}"')[1].split("</li>")[0]

    assert "<script>" not in body.split("<main")[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&quot;Neil</a>" in card
    assert "(&lt;script&gt;alert(1)&lt;/script&gt; O&quot;Neil)</span>" in card
    assert "<dd>Ads &amp; &lt;i&gt;more&lt;/i&gt;</dd>" in card
    assert (
        "Overdue task: &lt;b&gt;call&lt;/b&gt; · " in card
        or "Task: &lt;b&gt;call&lt;/b&gt; · " in card
    )


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
