"""The contact list's query: GET parameters -> a validated ContactListQuery -> one keyset page.

The list page, its CSV export and saved smart lists all go through this module, so the three
mean the same thing by "the current list". A page is one query on an index that starts with the
workspace (see Contact.Meta.indexes), whatever the page number: pagination is by keyset (the
sort key and id of the last row seen), never by OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Prefetch, Q

from alt.accounts.models import User, Workspace
from alt.lib.versioned_cache import Entry, entries, entry, value_of
from contacts.counts import stage_entries, stages_of, stages_with_counts
from contacts.models import (
    Contact,
    ContactEmail,
    ContactPhone,
    ContactQuerySet,
    CustomField,
    LeadSource,
    PipelineStage,
    SavedList,
    Tag,
    lead_sources_scope,
    tags_scope,
)
from contacts.normalize import phone_display

PAGE_SIZE = 50
STALE_DAYS = (7, 14, 30, 60, 90)
ASSIGNEE_MINE = "mine"
ASSIGNEE_UNASSIGNED = "unassigned"


class Sort(models.TextChoices):
    NEWEST = "newest", "Newest first"
    OLDEST = "oldest", "Oldest first"
    NAME = "name", "Name A–Z"  # noqa: RUF001 (an en dash, as typeset)
    ACTIVITY = "activity", "Last activity"
    FOLLOW_UP = "follow_up", "Follow-up date"


# The columns each sort orders by, with `True` for descending. Every order ends with id, so it is
# total and a cursor names exactly one place in it.
SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    Sort.NEWEST: (("created_at", True), ("id", True)),
    Sort.OLDEST: (("created_at", False), ("id", False)),
    Sort.NAME: (("last_name", False), ("first_name", False), ("id", False)),
    Sort.ACTIVITY: (("last_activity_at", True), ("id", True)),
    # Contacts without a follow-up date come last.
    Sort.FOLLOW_UP: (("next_follow_up_on", False), ("id", False)),
}
_DATETIME_KEYS = {"created_at", "last_activity_at"}


@dataclass(frozen=True)
class ContactListQuery:
    """What the agent asked the list for. Every value is already validated."""

    q: str = ""
    stage: int | None = None
    source: str = ""
    tag: int | None = None
    assignee: str = ""  # "", "mine", "unassigned" or a teammate's user id
    stale_days: int | None = None
    follow_up_due: bool = False
    sort: str = Sort.NEWEST
    cursor: tuple[Any, ...] | None = field(default=None, compare=False)

    @property
    def is_filtered(self) -> bool:
        """Anything narrows the list (the sort does not)."""
        return bool(
            self.q
            or self.stage
            or self.source
            or self.tag
            or self.assignee
            or self.stale_days
            or self.follow_up_due
        )

    def params(self) -> dict[str, str]:
        """The non-default parameters as GET values, without the cursor: for links, the export
        and saved lists."""
        values = {
            "q": self.q,
            "stage": str(self.stage or ""),
            "source": self.source,
            "tag": str(self.tag or ""),
            "assignee": self.assignee,
            "stale": str(self.stale_days or ""),
            "follow_up": "1" if self.follow_up_due else "",
            "sort": "" if self.sort == Sort.NEWEST else self.sort,
        }
        return {key: value for key, value in values.items() if value}

    def urlencode(self, **extra: str) -> str:
        return urlencode({**self.params(), **extra})

    @classmethod
    def from_params(cls, params: dict[str, str]) -> ContactListQuery:
        """The query back from params() stored earlier (a bulk job's filter), already validated
        when it was stored. Raises ValueError for values params() cannot have produced."""
        sort = params.get("sort") or Sort.NEWEST
        if sort not in SORT_KEYS:
            raise ValueError(f"Unknown sort {sort!r}")
        return cls(
            q=str(params.get("q", "")),
            stage=int(params["stage"]) if params.get("stage") else None,
            source=str(params.get("source", "")),
            tag=int(params["tag"]) if params.get("tag") else None,
            assignee=str(params.get("assignee", "")),
            stale_days=int(params["stale"]) if params.get("stale") else None,
            follow_up_due=params.get("follow_up") == "1",
            sort=sort,
        )


def contacts_of(workspace: Workspace) -> ContactQuerySet:
    return Contact.objects.for_workspace(workspace)


# --- choices: what the filters offer ------------------------------------------------------------
@dataclass
class ListChoices:
    """The workspace's stages (with live contact counts when asked), tags and members: loaded once
    per request and shared by the filter form, the sidebar and the bulk-action bar."""

    stages: list[PipelineStage]
    tags: list[Tag]
    members: list[User]
    sources: list[LeadSource] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(getattr(stage, "contact_count", 0) for stage in self.stages)


def list_choices(workspace: Workspace, *, with_counts: bool = False) -> ListChoices:
    """The stages (with counts when asked, each carrying its live contacts as `contact_count`:
    contacts.counts), tags, members and lead sources. Stages, counts, tags and sources come from
    the cache, all in one round trip, while none of their rows is written (each model's writes
    bump its scope); the members are one query, and each cache miss one more."""
    stages_e, counts_e, sources_e, tags_e = entries(
        *stage_entries(workspace),
        (lead_sources_scope(workspace.id), "all"),
        (tags_scope(workspace.id), "all"),
    )
    if with_counts:
        stages = stages_with_counts(workspace, (stages_e, counts_e))
    else:
        stages = stages_of(workspace, stages_e)
    members = User.objects.filter(memberships__workspace=workspace).order_by("full_name", "id")
    return ListChoices(
        stages=stages,
        tags=tags_of(workspace, tags_e),
        members=list(members),
        sources=lead_sources_of(workspace, sources_e),
    )


def tags_of(workspace: Workspace, found: Entry | None = None) -> list[Tag]:
    """The workspace's tags by name, from the cache until one of them is written (Tag's writes
    bump tags_scope; `found`, when the page read it already), else one query."""
    rows = value_of(
        found or entry(tags_scope(workspace.id), "all"),
        lambda: list(
            Tag.objects.for_workspace(workspace).order_by("name").values_list("id", "name")
        ),
    )
    return [Tag(id=id_, workspace=workspace, name=name) for id_, name in rows]


def lead_sources_of(workspace: Workspace, found: Entry | None = None) -> list[LeadSource]:
    """The workspace's lead sources in their order, from the cache until one of them is written
    (LeadSource's writes bump lead_sources_scope; `found`, when the page read it already): a list
    page runs no query for them. Cached as plain tuples, rebuilt as unsaved-looking instances
    that carry their ids."""
    rows = value_of(
        found or entry(lead_sources_scope(workspace.id), "all"),
        lambda: list(
            LeadSource.objects.for_workspace(workspace)
            .order_by("position", "id")
            .values_list("id", "key", "name", "position")
        ),
    )
    return [
        LeadSource(id=id_, workspace_id=workspace.id, key=key, name=name, position=position)
        for id_, key, name, position in rows
    ]


# --- the queryset and its pages ------------------------------------------------------------------
class _InArray(Func):
    """`value = ANY(array)`: a condition on an array computed once (ArraySubquery)."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def contacts_filtered(
    workspace: Workspace, query: ContactListQuery, *, user: User
) -> ContactQuerySet:
    """The workspace's live contacts matching `query`, in its sort order (no cursor applied)."""
    qs = contacts_of(workspace).live()
    if query.q:
        qs = qs.search(query.q)
    if query.stage:
        qs = qs.filter(stage_id=query.stage)
    if query.source:
        # By the source's key, which survives a rename: saved lists and links keep working.
        qs = qs.filter(source__key=query.source)
    if query.tag and query.q:
        # With a search, the tag's contacts as one array computed first (an InitPlan): the
        # trigram index finds the words and each match is checked against the array. As a
        # semi-join PostgreSQL could pick a merge join walking every contact's primary key, of
        # every workspace, betting the search's matches were spread evenly (300 ms at 50k).
        tagged_ids = Contact.tags.through.objects.filter(tag_id=query.tag).values("contact_id")
        qs = qs.filter(_InArray(F("id"), ArraySubquery(tagged_ids)))
    elif query.tag:
        # EXISTS, a semi-join: the page's id subquery (contacts_page) stays on the contact's
        # own indexes and probes the tag's, and a contact can never come back twice.
        tagged = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag_id=query.tag)
        qs = qs.filter(Exists(tagged))
    if query.assignee == ASSIGNEE_MINE:
        qs = qs.filter(assigned_to=user)
    elif query.assignee == ASSIGNEE_UNASSIGNED:
        qs = qs.filter(assigned_to=None)
    elif query.assignee:
        qs = qs.filter(assigned_to_id=int(query.assignee))
    if query.stale_days:
        qs = qs.stale(query.stale_days)
    if query.follow_up_due:
        qs = qs.follow_up_due()
    return qs.order_by(*_ordering(query.sort))


def _ordering(sort: str) -> list[Any]:
    order: list[Any] = []
    for name, descending in SORT_KEYS[sort]:
        column = F(name)
        order.append(column.desc() if descending else column.asc(nulls_last=True))
    return order


def _after(keys: tuple[tuple[str, bool], ...], values: tuple[Any, ...]) -> Q:
    """Rows after `values` in the order `keys`: (a, b, id) > (x, y, z) spelled out, plus a
    redundant `a >= x` so PostgreSQL can start the index scan at the cursor."""

    def strictly_after(i: int) -> Q:
        name, descending = keys[i]
        beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": values[i]})
        if i == len(keys) - 1:
            return beyond
        return beyond | (Q(**{name: values[i]}) & strictly_after(i + 1))

    name, descending = keys[0]
    return Q(**{f"{name}__{'lte' if descending else 'gte'}": values[0]}) & strictly_after(0)


def _after_cursor(sort: str, cursor: tuple[Any, ...]) -> Q:
    keys = SORT_KEYS[sort]
    if sort != Sort.FOLLOW_UP:
        return _after(keys, cursor)
    follow_up_on, last_id = cursor
    if follow_up_on is None:  # already among the dateless contacts, which come last
        return Q(next_follow_up_on=None, id__gt=last_id)
    return _after(keys, cursor) | Q(next_follow_up_on=None)


# What a row of the list shows and what its cursor holds (every sort's keys): a page loads these
# columns only, not the search text, custom fields or the assignee's password hash. A column read
# but not listed here costs a query per row, which the list's query-count tests catch.
PAGE_COLUMNS = (
    "id", "workspace_id", "first_name", "last_name", "primary_email", "primary_phone",
    "created_at", "last_activity_at", "next_follow_up_on",
    "stage__name", "stage__outcome", "assigned_to__full_name", "assigned_to__email",
)  # fmt: skip


@dataclass
class ContactPage:
    contacts: list[Contact]
    next_cursor: str  # "" on the last page


def contacts_page(
    workspace: Workspace, query: ContactListQuery, *, user: User, size: int = PAGE_SIZE
) -> ContactPage:
    """One page of the list in one query, whatever the page size or the workspace's size: the
    rows with their stage and assignee joined and their tag names (`tag_names`, by name) as an
    array, which PostgreSQL reads for the page's rows only.

    A filtered list first picks the page's ids in a subquery, then reads those rows: the ids of
    a stage's quiet contacts come from an index alone (contact_ws_stage_live), where reading the
    whole rows of every match to keep 50 of them cost ~10 ms at 50k contacts. Not for a search,
    which reads each match's row to check its text anyway."""
    qs = contacts_filtered(workspace, query, user=user)
    if query.cursor is not None:
        qs = qs.filter(_after_cursor(query.sort, query.cursor))
    if query.is_filtered and not query.q:
        page_ids = qs.values("pk")[: size + 1]
        qs = contacts_of(workspace).filter(pk__in=page_ids).order_by(*_ordering(query.sort))
    tag_names = ArraySubquery(
        Tag.objects.for_workspace(workspace)
        .filter(contacts=OuterRef("pk"))
        .order_by("name")
        .values("name")
    )
    qs = qs.select_related("stage", "assigned_to").only(*PAGE_COLUMNS).annotate(tag_names=tag_names)
    rows = list(qs[: size + 1])
    next_cursor = cursor_encode(rows[size - 1], query.sort) if len(rows) > size else ""
    return ContactPage(contacts=rows[:size], next_cursor=next_cursor)


def cursor_encode(contact: object, sort: str) -> str:
    """The cursor after `contact` (a Contact, or a row with the sort's columns) in `sort`."""
    values: list[Any] = [sort]
    for name, _descending in SORT_KEYS[sort]:
        value = getattr(contact, name)
        values.append(value.isoformat() if isinstance(value, date) else value)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(token: str, sort: str) -> tuple[Any, ...] | None:
    """The sort-key values a cursor carries, or None for a cursor that is malformed or belongs
    to another sort (the list then starts at the first page)."""
    if not token or len(token) > 400:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(raw, list) or raw[:1] != [sort]:
            return None
        keys = SORT_KEYS[sort]
        if len(raw) != len(keys) + 1:
            return None
        return tuple(
            _cursor_value(name, value) for (name, _), value in zip(keys, raw[1:], strict=True)
        )
    except (ValueError, TypeError, binascii.Error, OverflowError):
        return None


def _cursor_value(name: str, value: Any) -> Any:
    if name == "id":
        if type(value) is not int or not 0 < value < 2**63:
            raise ValueError(name)
        return value
    if name in _DATETIME_KEYS:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(name)
        return moment
    if name == "next_follow_up_on":
        return None if value is None else date.fromisoformat(value)
    if not isinstance(value, str):
        raise ValueError(name)
    return value


# --- saved smart lists ---------------------------------------------------------------------------
def saved_lists_for(workspace: Workspace) -> list[SavedList]:
    """The workspace's saved lists, shared by the team, by name."""
    return list(
        SavedList.objects.for_workspace(workspace).select_related("owner").order_by("name", "id")
    )


def access_saved_list(workspace: Workspace, saved_list_id: int | str) -> SavedList:
    """The workspace's saved list with this id, or Http404 (also for another workspace's id)."""
    return SavedList.objects.for_workspace(workspace).get_or_404("list", id=saved_list_id)


def saved_list_create(
    *, workspace: Workspace, owner: User, name: str, query: ContactListQuery
) -> SavedList:
    """Save `query` (its validated parameters, never raw GET data) under `name`."""
    return SavedList.objects.create(
        workspace=workspace, owner=owner, name=name.strip()[:60], query=query.params()
    )


def saved_list_delete(*, saved_list: SavedList) -> None:
    """Delete a saved list; the contacts it showed are untouched."""
    SavedList.objects.for_workspace(saved_list.workspace).filter(id=saved_list.id).delete()


# --- CSV export ----------------------------------------------------------------------------------
# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
EXPORT_COLUMNS = [
    "first_name", "last_name", "emails", "phones", "stage", "source", "tags", "assigned_to",
    "role", "budget_min", "budget_max", "timeframe", "next_follow_up_on", "consent_email",
    "consent_sms", "consent_instagram", "created_at",
]  # fmt: skip
# Then one column per custom field, named so that the import maps it back to the same field.
EXPORT_CUSTOM_PREFIX = "custom:"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell that a spreadsheet will not run: text starting like a formula gets a leading
    apostrophe (=HYPERLINK(...) -> '=HYPERLINK(...))."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(
    workspace: Workspace, query: ContactListQuery, *, user: User
) -> Iterator[list[str]]:
    """The header, then one row per contact of the list (all pages), read 2,000 contacts at a
    time with their emails, phones and tags prefetched per batch. Every cell goes through
    csv_cell. The CSV import reads it back losslessly (contacts.imports recognises every
    column, and drops the apostrophe csv_cell adds)."""
    fields = list(CustomField.objects.for_workspace(workspace).order_by("position", "id"))
    qs = (
        contacts_filtered(workspace, query, user=user)
        .select_related("stage", "assigned_to", "source")
        .prefetch_related(
            # Scoped like every query; the models' Meta ordering puts the primary one first.
            Prefetch("emails", queryset=ContactEmail.objects.for_workspace(workspace)),
            Prefetch("phones", queryset=ContactPhone.objects.for_workspace(workspace)),
            "tags",
        )
    )
    yield [*EXPORT_COLUMNS, *(f"{EXPORT_CUSTOM_PREFIX}{f.key}" for f in fields)]
    for contact in qs.iterator(chunk_size=2000):
        row = [
            contact.first_name,
            contact.last_name,
            "; ".join(e.email for e in contact.emails.all()),
            "; ".join(phone_display(p.e164) for p in contact.phones.all()),
            contact.stage.name,
            contact.get_source_display(),
            "; ".join(t.name for t in contact.tags.all()),
            contact.assigned_to.email if contact.assigned_to else "",
            contact.role,
            contact.budget_min,
            contact.budget_max,
            contact.timeframe,
            contact.next_follow_up_on.isoformat() if contact.next_follow_up_on else "",
            _yes_no(contact.consent_email),
            _yes_no(contact.consent_sms),
            _yes_no(contact.consent_instagram),
            contact.created_at.isoformat(timespec="seconds"),
            *(_custom_cell(contact.custom_fields.get(f.key)) for f in fields),
        ]
        yield [csv_cell(value) for value in row]


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _custom_cell(value: Any) -> str:
    # Stored as JSON: text, a number, "YYYY-MM-DD" or true/false (contacts.custom_fields).
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value)
    return str(value)
