"""What the contact list and the dashboard cost per load: a fixed number of queries (at most 8)
whatever the page holds, stage counts read from the cache until a contact of the workspace is
written, and the filter drawer's selects written out in Python with the HTML Django's templates
would give."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse, set_script_prefix

from alt.accounts.templatetags.fixed_urls import id_url
from contacts import services
from contacts.listing.forms import (
    ContactListForm,
    PlainCheckboxInput,
    PlainHiddenInput,
    PlainSelect,
    PlainTextInput,
)
from contacts.listing.services import ContactListQuery, ListChoices, contacts_page
from contacts.models import Contact, SavedList, Tag
from contacts.pipeline.services import (
    lead_source_add,
    lead_source_delete,
    lead_source_rename,
    stage_add,
    stage_delete,
    stage_move,
    stage_update,
)
from contacts.templatetags.contact_list import contact_rows, fixed_url
from tests.contacts.conftest import add_contact, stage_named
from tests.contacts.test_list import _rich_contacts

pytestmark = pytest.mark.django_db

LIST = "/contacts/"
DASHBOARD = "/dashboard/"
BOARD = "/pipeline/"


def _queries(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def _counts_contacts(sql: list[str]) -> bool:
    """A query counted contacts per stage (the stages with their counts)."""
    return any("COUNT(" in q and 'FROM "contacts_pipelinestage"' in q for q in sql)


def _counts_any(sql: list[str]) -> bool:
    """A query counted something (the board's columns: cached stage counts or a grouped count)."""
    return any("COUNT(" in q for q in sql)


# --- a fixed number of queries --------------------------------------------------------------------
def test_the_list_runs_the_same_queries_for_5_or_50_rows_and_at_most_8(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 5)
    SavedList.objects.create(workspace=ws, owner=bob, name="Hot", query={"q": "lead"})
    alice_client.get(LIST)  # warm: templates, content types, the stage counts
    five = _queries(alice_client, LIST)
    _rich_contacts(ws, bob, 5, 45)
    alice_client.get(LIST)  # the writes above emptied the cached counts and tags: warm again
    fifty = _queries(alice_client, LIST)

    assert len(alice_client.get(LIST).context["contacts"]) == 50
    assert len(fifty) == len(five) <= 8


@pytest.mark.parametrize(
    "params", ["q=lead", "q=415555", "stage=STAGE&tag=TAG&stale=7", "sort=name&assignee=mine"]
)
def test_searches_and_smart_lists_also_run_at_most_8_queries(
    alice_client: Client, ws: Any, bob: Any, params: str
) -> None:
    _rich_contacts(ws, bob, 0, 20)
    tag = Tag.objects.for_workspace(ws).get(name="buyer")
    url = f"{LIST}?" + params.replace("STAGE", str(stage_named(ws, "New").id)).replace(
        "TAG", str(tag.id)
    )
    alice_client.get(url)

    assert len(_queries(alice_client, url)) <= 8


def test_the_dashboard_runs_at_most_8_queries(alice_client: Client, ws: Any, bob: Any) -> None:
    _rich_contacts(ws, bob, 0, 5)
    alice_client.get(DASHBOARD)

    assert len(_queries(alice_client, DASHBOARD)) <= 8


# --- stage counts come from the cache until a write ----------------------------------------------
def test_the_list_counts_stages_once_and_again_after_a_write(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 6)  # New, Qualified, Closed: 2 each
    first = _queries(alice_client, LIST)
    second = _queries(alice_client, LIST)
    gone = Contact.objects.for_workspace(ws).filter(first_name="Lead0").get()
    services.contacts_delete(workspace=ws, ids=[gone.id], actor=None)
    third = _queries(alice_client, LIST)
    page = alice_client.get(LIST).content.decode()

    assert _counts_contacts(first)
    assert not _counts_contacts(second)
    assert _counts_contacts(third)
    assert '<span>All contacts</span><span class="count">5</span>' in page
    assert '<span>New</span><span class="count">1</span>' in page


@pytest.mark.parametrize(
    "write",
    [
        "create",
        "stage",
        "restore",
        "bulk_stage",
    ],
)
def test_every_write_path_makes_the_next_load_recount(
    alice_client: Client, ws: Any, bob: Any, write: str
) -> None:
    jane = add_contact(ws, "Jane", "Doe", stage=stage_named(ws, "New"))
    if write == "restore":
        services.contacts_delete(workspace=ws, ids=[jane.id], actor=None)
    alice_client.get(LIST)
    assert not _counts_contacts(_queries(alice_client, LIST))

    qualified = stage_named(ws, "Qualified")
    if write == "create":
        add_contact(ws, "John", "Roe", stage=qualified)
    elif write == "stage":
        jane.stage = qualified
        jane.save()
    elif write == "restore":
        services.contacts_restore(workspace=ws, ids=[jane.id])
    else:
        services.contacts_bulk_set_stage(workspace=ws, ids=[jane.id], stage=qualified, actor=None)

    assert _counts_contacts(_queries(alice_client, LIST))
    page = alice_client.get(LIST).content.decode()
    counted = "New" if write == "restore" else "Qualified"
    assert f'<span>{counted}</span><span class="count">1</span>' in page


def test_the_dashboard_counts_once_and_again_after_a_write(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 3)
    alice_client.get(DASHBOARD)
    second = _queries(alice_client, DASHBOARD)
    add_contact(ws, "Late", "Comer", stage=stage_named(ws, "New"))
    third = _queries(alice_client, DASHBOARD)
    page = alice_client.get(DASHBOARD).content.decode()

    assert not _counts_contacts(second)
    assert _counts_contacts(third)
    assert '<span class="stat-value">4</span><span class="stat-label">leads' in page


def test_a_workspaces_counts_are_its_own(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    add_contact(ws, "Jane", "Doe", stage=stage_named(ws, "New"))
    alice_client.get(LIST)
    other = workspace_of(charlie)
    add_contact(other, "Zed", "Other", stage=stage_named(other, "New"))

    assert not _counts_contacts(_queries(alice_client, LIST))
    assert '<span>New</span><span class="count">1</span>' in alice_client.get(LIST).content.decode()


# --- the filter drawer's selects ------------------------------------------------------------------
class _TemplateSelects(ContactListForm):
    """The same form with Django's own template-rendered widgets, as the reference."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        django_widgets: dict[type[Any], type[forms.Widget]] = {
            PlainTextInput: forms.TextInput,
            PlainCheckboxInput: forms.CheckboxInput,
            PlainHiddenInput: forms.HiddenInput,
        }
        for field in self.fields.values():
            if isinstance(field.widget, PlainSelect):
                widget = forms.Select(attrs=field.widget.attrs)
                widget.choices = field.widget.choices
                field.widget = widget
            elif type(field.widget) in django_widgets:
                attrs = {**field.widget.attrs, "type": field.widget.input_type}
                field.widget = django_widgets[type(field.widget)](attrs=attrs)
            field.hidden_widget = forms.HiddenInput


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"stage": "STAGE", "tag": "TAG", "sort": "name", "stale": "30", "assignee": "mine"},
        {"stage": "999999", "source": "<script>", "sort": '"><b>'},
        {"q": '"><script>alert(1)</script> & \u05d7\u05dd', "follow_up": "on", "cursor": "<x>"},
        {"q": "Maria", "follow_up": "", "sort": "name"},
    ],
)
def test_the_plain_selects_render_what_djangos_templates_render(
    ws: Any, bob: Any, data: dict[str, str]
) -> None:
    new = stage_named(ws, "New")
    [tag] = services.tags_get_or_create(workspace=ws, names=['<b>"Hot" & \u05d7\u05dd</b>'])
    choices = ListChoices(stages=[new], tags=[tag], members=[bob])
    data = {k: v.replace("STAGE", str(new.id)).replace("TAG", str(tag.id)) for k, v in data.items()}

    plain = ContactListForm(data, choices=choices)
    reference = _TemplateSelects(data, choices=choices)
    plain.is_valid()
    reference.is_valid()

    for name in ("q", "stage", "source", "tag", "assignee", "stale", "follow_up", "sort", "cursor"):
        assert str(plain[name]) == str(reference[name]), name
    assert plain["sort"].as_hidden() == reference["sort"].as_hidden()
    assert "&lt;b&gt;&quot;Hot&quot; &amp; \u05d7\u05dd&lt;/b&gt;" in str(plain["tag"])


# --- the rows, written out in Python -------------------------------------------------------------
def test_the_python_rows_render_what_the_row_template_renders(
    ws: Any, bob: Any, alice: Any
) -> None:
    alice.full_name = ""  # the assignee's email stands in for a missing name
    alice.save()
    awkward = '<b>"O\'Brien" & Co</b>'
    add_contact(
        ws, "Jane", "Doe", emails=["jane@example.com"], phones=["415-555-0134"],
        stage=stage_named(ws, "Closed"), tags=["Hot lead", awkward], assigned_to=bob,
    )  # fmt: skip
    add_contact(ws, awkward, "\u05db\u05d4\u05df", phones=["+44 20 7946 0958"], assigned_to=alice)
    add_contact(ws, "", "", emails=["only@example.com"])
    add_contact(ws, "", "")  # "Unnamed contact", no reach, no tags, unassigned
    add_contact(ws, "x" * 80, "y" * 80, tags=["z" * 40])
    contacts = contacts_page(ws, ContactListQuery(), user=bob).contacts
    detail_url = ("/contacts/", "/")

    for contact in contacts:
        reference = render_to_string(
            "contacts/_contact_row.html", {"contact": contact, "detail_url": detail_url}
        )
        assert contact_rows([contact], detail_url) == reference, contact.name
    assert len(contacts) == 5
    assert "&lt;b&gt;&quot;O&#x27;Brien&quot; &amp; Co&lt;/b&gt;" in contact_rows(
        contacts, detail_url
    )


def test_the_board_counts_its_columns_from_the_cache_until_a_write(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 6)  # New, Qualified, Closed: 2 each
    first = _queries(alice_client, BOARD)
    second = _queries(alice_client, BOARD)
    filtered = _queries(alice_client, f"{BOARD}?q=Lead")
    gone = Contact.objects.for_workspace(ws).filter(first_name="Lead0").get()
    services.contacts_delete(workspace=ws, ids=[gone.id], actor=None)
    third = _queries(alice_client, BOARD)

    assert _counts_any(first)
    assert not _counts_any(second)
    assert _counts_any(filtered)  # a filtered board counts what matches
    assert _counts_any(third)
    # Cached, the stages cost no query; counting, the one query reads them with their counts.
    assert len(third) == len(second) + 1


def _reads_stages_or_tags(sql: list[str]) -> list[str]:
    """The queries that read the stages or the tags themselves (not a contact's tag names)."""
    return [
        q for q in sql if q.startswith(('SELECT "contacts_pipelinestage"', 'SELECT "contacts_tag"'))
    ]


def test_stages_and_tags_come_from_the_cache_until_one_is_written(
    alice_client: Client, alice: Any, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 3)
    alice_client.get(LIST)
    assert _reads_stages_or_tags(_queries(alice_client, LIST)) == []
    assert _reads_stages_or_tags(_queries(alice_client, BOARD)) == []

    def stage_names(url: str) -> list[str]:
        return [stage.name for stage in alice_client.get(url).context["choices"].stages]

    def column_names() -> list[str]:
        return [column.stage.name for column in alice_client.get(BOARD).context["columns"]]

    def tag_names() -> list[str]:
        return [tag.name for tag in alice_client.get(LIST).context["choices"].tags]

    added = stage_add(workspace=ws, name="Nurture", outcome="open")
    assert "Nurture" in stage_names(LIST)
    stage_update(stage=added, name="Long nurture", outcome="open")
    assert "Long nurture" in column_names()
    stage_move(stage=stage_named(ws, "Long nurture"), offset=-1)
    assert column_names()[-2:] == ["Long nurture", "Lost"]
    stage_delete(stage=stage_named(ws, "Long nurture"), move_to=stage_named(ws, "New"), actor=alice)
    assert "Long nurture" not in stage_names(LIST)

    jane = add_contact(ws, "Jane", "Doe", stage=stage_named(ws, "New"))
    services.contacts_bulk_tag(workspace=ws, ids=[jane.id], tag_name="waterfront")
    assert "waterfront" in tag_names()
    Tag.objects.for_workspace(ws).filter(name="waterfront").update(name="lakefront")
    assert "lakefront" in tag_names()
    Tag.objects.for_workspace(ws).get(name="lakefront").delete()
    assert "lakefront" not in tag_names()


def test_a_workspaces_stages_and_tags_are_its_own(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    alice_client.get(LIST)
    Tag.objects.create(workspace=workspace_of(charlie), name="charlies-only")
    stage_add(workspace=workspace_of(charlie), name="Charlie's stage", outcome="open")

    choices = alice_client.get(LIST).context["choices"]

    assert "charlies-only" not in [tag.name for tag in choices.tags]
    assert "Charlie's stage" not in [stage.name for stage in choices.stages]


def test_the_source_filter_comes_from_the_cache_until_a_source_is_written(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    _rich_contacts(ws, bob, 0, 2)
    first = _queries(alice_client, LIST)
    second = _queries(alice_client, LIST)
    source = lead_source_add(workspace=ws, name="Billboard")
    added = alice_client.get(LIST).content.decode()
    lead_source_rename(source=source, name="Bus bench")
    renamed = alice_client.get(LIST).content.decode()
    lead_source_delete(source=source)
    deleted = alice_client.get(LIST).content.decode()

    assert any("contacts_leadsource" in q for q in first)
    assert not any("contacts_leadsource" in q for q in second)
    assert ">Billboard</option>" in added
    assert ">Bus bench</option>" in renamed
    assert "Billboard" not in renamed
    assert "Bus bench" not in deleted


# --- what the planner knows ----------------------------------------------------------------------
def test_the_planner_knows_that_a_stage_belongs_to_one_workspace() -> None:
    # Without these statistics PostgreSQL multiplies the selectivities of the workspace and the
    # stage, expects ~20x too few contacts in a stage and picks a plan that reads every row of
    # the stage from the table (migration 0010).
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.stxkind, array_agg(a.attname ORDER BY a.attname)
               FROM pg_statistic_ext s
               JOIN pg_attribute a ON a.attrelid = s.stxrelid AND a.attnum = ANY(s.stxkeys)
               WHERE s.stxname = 'contact_ws_stage_deps' GROUP BY s.stxkind"""
        )
        rows = cursor.fetchall()

    assert len(rows) == 1
    kinds, columns = rows[0]
    assert "f" in kinds  # functional dependencies
    assert columns == ["stage_id", "workspace_id"]


def test_a_fixed_url_is_reversed_once_per_script_prefix() -> None:
    assert fixed_url("contacts:list") == "/contacts/"
    set_script_prefix("/crm/")
    try:
        assert fixed_url("contacts:list") == "/crm/contacts/"
    finally:
        set_script_prefix("/")
    assert fixed_url("contacts:list") == "/contacts/"


def test_an_id_url_is_the_url_of_that_id_under_each_script_prefix() -> None:
    assert id_url("contacts:board_column", 42) == reverse("contacts:board_column", args=[42])
    assert id_url("contacts:detail", 7) == "/contacts/7/"
    set_script_prefix("/crm/")
    try:
        assert id_url("contacts:detail", 7) == "/crm/contacts/7/"
    finally:
        set_script_prefix("/")
    assert id_url("contacts:detail", 987654321) == "/contacts/987654321/"
