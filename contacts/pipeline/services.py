"""Pipeline stages and custom contact fields (Settings): the defaults of a new workspace, and the
changes an agent makes to them (raising SetupError with a message for the person); and the
pipeline board, a column of lead cards per stage, filtered like the contact list."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.db import IntegrityError, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    Func,
    JSONField,
    OuterRef,
    ProtectedError,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from alt.accounts.models import User, Workspace
from alt.accounts.seams import next_appointments
from contacts.counts import stages_with_counts
from contacts.listing.services import (
    ContactListQuery,
    Sort,
    contacts_filtered,
    cursor_decode,
    cursor_encode,
)
from contacts.models import (
    Contact,
    CustomField,
    LeadSource,
    PipelineStage,
    Source,
    Task,
    contact_name,
)


def pipeline_create_defaults(*, workspace: Workspace) -> list[PipelineStage]:
    """The default stages for a new workspace. Idempotent."""
    existing = PipelineStage.objects.for_workspace(workspace)
    if existing.exists():
        return list(existing)
    return PipelineStage.objects.for_workspace(workspace).bulk_create(
        PipelineStage(workspace=workspace, name=name, position=i, outcome=outcome)
        for i, (name, outcome) in enumerate(PipelineStage.DEFAULTS)
    )


def default_stage(workspace: Workspace) -> PipelineStage:
    stage = PipelineStage.objects.for_workspace(workspace).order_by("position", "id").first()
    if stage is None:
        stage = pipeline_create_defaults(workspace=workspace)[0]
    return stage


MAX_STAGES = 20
MAX_CUSTOM_FIELDS = 30
MAX_LEAD_SOURCES = 60


class SetupError(ValueError):
    """A pipeline or custom-field change that cannot be made; the message is shown to the person."""


def access_stage(workspace: Workspace, stage_id: int | str) -> PipelineStage:
    """The workspace's pipeline stage with this id, or Http404."""
    return PipelineStage.objects.for_workspace(workspace).get_or_404("stage", id=stage_id)


def stage_among(stages: Sequence[PipelineStage], stage_id: int) -> PipelineStage:
    """access_stage for a page that has read the workspace's `stages` already: the one with this
    id, or Http404 (also for another workspace's id), without a query."""
    stage = next((stage for stage in stages if stage.id == stage_id), None)
    if stage is None:
        raise Http404("No such stage")
    return stage


def stage_add(*, workspace: Workspace, name: str, outcome: str) -> PipelineStage:
    """Add a stage at the end of the pipeline. Raises SetupError for a duplicate name or when the
    pipeline already has MAX_STAGES stages."""
    name = name.strip()
    with transaction.atomic():
        stages = PipelineStage.objects.for_workspace(workspace).select_for_update()
        positions = [s.position for s in stages]
        if len(positions) >= MAX_STAGES:
            raise SetupError(f"A pipeline can have up to {MAX_STAGES} stages.")
        try:
            with transaction.atomic():
                return PipelineStage.objects.create(
                    workspace=workspace,
                    name=name,
                    outcome=outcome,
                    position=max(positions, default=-1) + 1,
                )
        except IntegrityError:
            raise SetupError(f"There is already a stage called “{name}”.") from None


def stage_update(*, stage: PipelineStage, name: str, outcome: str) -> PipelineStage:
    """Rename a stage and set its outcome (open, won, lost). Raises SetupError for a duplicate
    name."""
    stage.name = name.strip()
    stage.outcome = outcome
    try:
        with transaction.atomic():
            stage.save(update_fields=["name", "outcome"])
    except IntegrityError:
        raise SetupError(f"There is already a stage called “{stage.name}”.") from None
    return stage


def stage_move(*, stage: PipelineStage, offset: int) -> None:
    """Move a stage `offset` places (-1 up, +1 down), renumbering the pipeline 0..n-1. Moving
    past either end leaves it at the end. New contacts start in the first stage."""
    with transaction.atomic():
        stages = list(
            PipelineStage.objects.for_workspace(stage.workspace)
            .select_for_update()
            .order_by("position", "id")
        )
        index = next(i for i, s in enumerate(stages) if s.id == stage.id)
        stages.insert(max(0, min(len(stages) - 1, index + offset)), stages.pop(index))
        for position, each in enumerate(stages):
            each.position = position
        PipelineStage.objects.for_workspace(stage.workspace).bulk_update(stages, ["position"])


def stage_delete(
    *, stage: PipelineStage, move_to: PipelineStage | None = None, actor: User | None = None
) -> int:
    """Delete a stage. Its live contacts move to `move_to` in the same transaction, each with a
    "Stage: A → B" timeline entry by `actor` (contacts_bulk_set_stage); without `move_to` the
    stage must hold no live contact. Contacts in the trash or merged away that still point at it
    move silently to `move_to`, else the first remaining stage (they are invisible, and the stage
    is PROTECTed). Returns how many live contacts moved.

    Raises SetupError naming how many contacts to move first, for a `move_to` that is the stage
    itself or another workspace's, or when it is the last stage.
    """
    # contacts.services imports this module (default_stage), so it is imported here.
    from contacts.services import contacts_bulk_set_stage

    ws = stage.workspace
    if move_to is not None and move_to.workspace_id != ws.id:
        raise SetupError("Choose one of your pipeline's stages to move the contacts to.")
    if move_to is not None and move_to.id == stage.id:
        raise SetupError(f"Choose another stage than {stage.name} to move its contacts to.")
    try:
        with transaction.atomic():
            stages = list(
                PipelineStage.objects.for_workspace(ws)
                .select_for_update()
                .order_by("position", "id")
            )
            if len(stages) == 1:
                raise SetupError("A pipeline needs at least one stage.")
            in_stage = Contact.objects.for_workspace(ws).filter(stage=stage)
            moved = 0
            if move_to is not None:
                live_ids = list(in_stage.live().values_list("id", flat=True))
                moved = len(
                    contacts_bulk_set_stage(workspace=ws, ids=live_ids, stage=move_to, actor=actor)
                )
            else:
                live = in_stage.live().count()
                if live:
                    noun = "contact" if live == 1 else "contacts"
                    raise SetupError(
                        f"Move the {live} {noun} in {stage.name} to another stage first."
                    )
            fallback = move_to or next(s for s in stages if s.id != stage.id)
            # Only the invisible ones: a live contact moved in meanwhile makes the delete fail.
            in_stage.exclude(deleted_at=None, merged_into=None).update(stage=fallback)
            PipelineStage.objects.for_workspace(ws).filter(id=stage.id).delete()
    except (IntegrityError, ProtectedError):
        # A contact was moved into the stage while it was being deleted.
        raise SetupError(f"Contacts were just moved into {stage.name}; try again.") from None
    return moved


def access_custom_field(workspace: Workspace, field_id: int | str) -> CustomField:
    """The workspace's custom field with this id, or Http404."""
    return CustomField.objects.for_workspace(workspace).get_or_404("custom field", id=field_id)


def custom_field_key_for(label: str) -> str:
    """The stable key a label's values are stored under in Contact.custom_fields:
    'Pre-approved amount' -> 'pre_approved_amount' (a label with no letters or digits: 'field')."""
    return slugify(label).replace("-", "_")[:36].strip("_") or "field"


def _free_key(base: str, taken: set[str]) -> str:
    """`base`, or the first of `base_2`, `base_3`... not in `taken` (custom field and lead
    source keys)."""
    key, suffix = base, 2
    while key in taken:
        key, suffix = f"{base}_{suffix}", suffix + 1
    return key


def custom_field_create(
    *, workspace: Workspace, label: str, kind: str, choices: Sequence[str] = ()
) -> CustomField:
    """Add a custom contact field. The key comes from the label and is unique in the workspace
    (a suffix _2, _3... when taken); it never changes on rename, so stored values stay attached.

    Values are stored in Contact.custom_fields[key] as JSON: text and choice as a string, number
    as a number, date as 'YYYY-MM-DD', yes_no as true/false. `choices` is kept only for kind
    "choice", which needs at least two. Raises SetupError.
    """
    label = label.strip()
    options = _clean_choices(choices) if kind == CustomField.Kind.CHOICE else []
    if kind == CustomField.Kind.CHOICE and len(options) < 2:
        raise SetupError("A choice field needs at least two choices.")
    with transaction.atomic():
        fields = list(CustomField.objects.for_workspace(workspace).select_for_update())
        if len(fields) >= MAX_CUSTOM_FIELDS:
            raise SetupError(f"A workspace can have up to {MAX_CUSTOM_FIELDS} custom fields.")
        if any(f.label.lower() == label.lower() for f in fields):
            raise SetupError(f"There is already a field called “{label}”.")
        key = _free_key(custom_field_key_for(label), {f.key for f in fields})
        return CustomField.objects.create(
            workspace=workspace,
            key=key,
            label=label,
            kind=kind,
            choices=options,
            position=max((f.position for f in fields), default=-1) + 1,
        )


def custom_field_update(
    *, field: CustomField, label: str, choices: Sequence[str] = ()
) -> CustomField:
    """Rename a custom field (its key and kind stay), and for a choice field replace its choices.
    Contacts keep a value that is no longer a choice until it is next edited. Raises SetupError."""
    label = label.strip()
    clash = (
        CustomField.objects.for_workspace(field.workspace)
        .filter(label__iexact=label)
        .exclude(id=field.id)
        .exists()
    )
    if clash:
        raise SetupError(f"There is already a field called “{label}”.")
    field.label = label
    if field.kind == CustomField.Kind.CHOICE:
        options = _clean_choices(choices)
        if len(options) < 2:
            raise SetupError("A choice field needs at least two choices.")
        field.choices = options
    field.save(update_fields=["label", "choices"])
    return field


def custom_field_delete(*, field: CustomField) -> int:
    """Delete a custom field and remove its value from every contact of the workspace (so a new
    field that reuses the key starts empty). Returns how many contacts had a value."""
    ws = field.workspace
    with transaction.atomic():
        cleared = (
            Contact.objects.for_workspace(ws)
            .filter(custom_fields__has_key=field.key)
            .update(
                custom_fields=Func(
                    F("custom_fields"),
                    Cast(Value(field.key), TextField()),
                    template="(%(expressions)s)",
                    arg_joiner=" - ",
                    output_field=JSONField(),
                )
            )
        )
        CustomField.objects.for_workspace(ws).filter(id=field.id).delete()
    return cleared


def _clean_choices(choices: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(c.strip()[:60] for c in choices if c and c.strip()))[:50]


# --- the pipeline board --------------------------------------------------------------------------
BOARD_PAGE_SIZE = 25
# A column lists its most recently active leads first: the order of the (workspace, stage,
# last_activity_at) index of live contacts, so a column page reads one short index range.
BOARD_SORT = Sort.ACTIVITY
# What a card shows of its lead (and sorts and pages it by), read as plain rows: a board builds up
# to 175 cards, and making a model instance of each cost more than the rest of their query.
_CARD_COLUMNS = (
    "id", "stage_id", "first_name", "last_name", "primary_email", "primary_phone", "source_id",
    "budget_min", "budget_max", "last_contacted_at", "last_activity_at",
)  # fmt: skip
_NEXT_TASK = ("next_task_title", "next_task_due_at")


@dataclass(frozen=True)
class NextStep:
    """What is next with a lead: its earliest open task (perhaps overdue) or its next appointment,
    whichever comes first."""

    kind: str  # "task" or "appointment"
    title: str
    at: datetime

    @property
    def is_overdue(self) -> bool:
        return self.kind == "task" and self.at < timezone.now()


@dataclass(slots=True)
class CardContact:
    """A lead as its card shows it: the row's _CARD_COLUMNS, its earliest open task (as
    _with_next_task reads it) and its lead source's name."""

    id: int
    stage_id: int
    first_name: str
    last_name: str
    primary_email: str
    primary_phone: str
    source_id: int | None
    budget_min: int | None
    budget_max: int | None
    last_contacted_at: datetime | None
    last_activity_at: datetime
    next_task_title: str | None = None
    next_task_due_at: datetime | None = None
    source_name: str = ""

    @property
    def name(self) -> str:
        return contact_name(self.first_name, self.last_name, self.primary_email, self.primary_phone)

    def get_source_display(self) -> str:
        return self.source_name


@dataclass
class BoardCard:
    contact: CardContact
    next_step: NextStep | None


@dataclass
class BoardColumn:
    stage: PipelineStage
    cards: list[BoardCard]
    next_cursor: str  # "" when the column has no more cards
    count: int | None = None  # live contacts of the stage that match the filters


def board_query(query: ContactListQuery, *, cursor: str = "") -> ContactListQuery:
    """The list's query as the board runs it: most recent activity first (whatever sort the list
    had), from the column cursor `cursor` (a malformed one starts at the top)."""
    return dataclasses.replace(query, sort=BOARD_SORT, cursor=cursor_decode(cursor, BOARD_SORT))


def board_columns(
    workspace: Workspace,
    query: ContactListQuery,
    *,
    user: User,
    stages: Sequence[PipelineStage],
    sources: Sequence[LeadSource],
    size: int = BOARD_PAGE_SIZE,
) -> list[BoardColumn]:
    """The first page of every column of `stages` (only the filtered stage's when the query names
    one), with counts; cards carry their source from `sources`, the workspace's, and their next
    step. A fixed number of queries whatever the number of stages or cards, none of them counting
    every live contact:

    - the cards with their next tasks: one query, which picks the first ones of each stage with
      a LIMITed range of the (workspace, stage, last_activity_at) index of live contacts;
    - the counts: unfiltered, the ones the stages carry (list_choices(with_counts=True), from
      contacts.counts' cache; one more query for `stages` without them); filtered, a grouped count
      of what matches;
    - searched, or filtered by tag or source, the cards' ids and the counts come instead from one
      pass over the matches: those filters are matched through an index of their own (trigram,
      the tag table, the source's key), which each stage's range would run again;
    - the cards' next appointments (the appointments seam).
    """
    query = dataclasses.replace(query, sort=BOARD_SORT, cursor=None)
    shown = [s for s in stages if not query.stage or s.id == query.stage]
    if not shown:
        return []
    matches = contacts_filtered(workspace, query, user=user)
    first_ids: QuerySet[Any] | list[int]
    if _matched_by_own_index(query):
        first_ids, counts = _ranked_once(matches, size + 1)
    else:
        first_ids = _first_of_each_stage(workspace, matches, shown, size + 1)
        filtered = dataclasses.replace(query, stage=None).is_filtered
        counts = stage_counts(workspace, query, user=user) if filtered else _live_counts(stages)
    cards = Contact.objects.for_workspace(workspace).filter(id__in=first_ids)
    rows = _card_rows(_with_next_task(workspace, cards), sources)
    by_stage: dict[int, list[CardContact]] = {stage.id: [] for stage in shown}
    for contact in sorted(rows, key=lambda c: (c.last_activity_at, c.id), reverse=True):
        # A stage added since `stages` was read has no column yet.
        if contact.stage_id in by_stage:
            by_stage[contact.stage_id].append(contact)
    steps = next_steps(workspace, rows)
    return [
        _column(stage, by_stage[stage.id], size, steps, count=counts.get(stage.id, 0))
        for stage in shown
    ]


def _matched_by_own_index(query: ContactListQuery) -> bool:
    return bool(query.q or query.tag or query.source)


def _first_of_each_stage(
    workspace: Workspace, matches: QuerySet[Contact], stages: Sequence[PipelineStage], size: int
) -> QuerySet[Any]:
    """A subquery of the ids of the first `size` of `matches` (in their order) in each of
    `stages`: an array of them per stage row, unnested."""
    first = ArraySubquery(matches.filter(stage_id=OuterRef("id")).values("id")[:size])
    return (
        PipelineStage.objects.for_workspace(workspace)
        .filter(id__in=[stage.id for stage in stages])
        .annotate(first_ids=Func(first, function="unnest"))
        .values("first_ids")
    )


class _Head(Func):
    """The first `size` items of an array."""

    template = "(%(expressions)s)[1:%(size)s]"


def _ranked_once(matches: QuerySet[Contact], size: int) -> tuple[list[int], dict[int, int]]:
    """The ids of the first `size` of each stage among `matches`, most recently active first, and
    how many matches each stage holds: one grouped pass over the matches, cut in PostgreSQL."""
    first_ids = _Head(
        ArrayAgg("id", order_by=(F("last_activity_at").desc(), F("id").desc())),
        size=size,
        output_field=ArrayField(BigIntegerField()),
    )
    per_stage = list(
        matches.order_by()
        .values("stage_id")
        .annotate(n=Count("*"), first_ids=first_ids)
        .values_list("stage_id", "n", "first_ids")
    )
    ids = [contact_id for _stage, _n, first in per_stage for contact_id in first]
    return ids, {stage_id: n for stage_id, n, _first in per_stage}


def _live_counts(stages: Sequence[PipelineStage]) -> dict[int, int]:
    """The live contacts of each stage, as the stages carry them (contacts.counts)."""
    if not all(hasattr(stage, "contact_count") for stage in stages):
        stages = stages_with_counts(stages[0].workspace) if stages else []
    counted = ((stage.id, getattr(stage, "contact_count", 0)) for stage in stages)
    return {stage_id: n for stage_id, n in counted if n}


def board_column_page(
    workspace: Workspace,
    query: ContactListQuery,
    *,
    user: User,
    stage: PipelineStage,
    sources: Sequence[LeadSource],
    size: int = BOARD_PAGE_SIZE,
) -> BoardColumn:
    """One page of `stage`'s column after `query.cursor` (see board_query), its cards carrying
    their source from `sources`, the workspace's: one query for the cards with their next tasks,
    one for their next appointments."""
    query = dataclasses.replace(query, sort=BOARD_SORT, stage=stage.id)
    contacts = contacts_filtered(workspace, query, user=user)
    if query.cursor is not None:
        last_activity_at, last_id = query.cursor
        contacts = contacts.filter(
            Q(last_activity_at__lt=last_activity_at)
            | Q(last_activity_at=last_activity_at, id__lt=last_id)
        )
    rows = _card_rows(_with_next_task(workspace, contacts), sources, limit=size + 1)
    return _column(stage, rows, size, next_steps(workspace, rows))


def _card_rows(
    contacts: QuerySet[Contact], sources: Sequence[LeadSource], *, limit: int | None = None
) -> list[CardContact]:
    """`contacts` (as _with_next_task gave them, the first `limit`) as plain card rows, each
    with its lead source's name from the workspace's `sources` (the page has loaded them for its
    filters, so the source costs no join and no query)."""
    names = {source.id: source.name for source in sources}
    rows = contacts.values(*_CARD_COLUMNS, *_NEXT_TASK)
    return [
        CardContact(**row, source_name=names.get(row["source_id"], ""))
        for row in (rows if limit is None else rows[:limit])
    ]


def _column(
    stage: PipelineStage,
    rows: list[CardContact],
    size: int,
    steps: dict[int, NextStep],
    *,
    count: int | None = None,
) -> BoardColumn:
    next_cursor = cursor_encode(rows[size - 1], BOARD_SORT) if len(rows) > size else ""
    cards = [BoardCard(contact, steps.get(contact.id)) for contact in rows[:size]]
    return BoardColumn(stage=stage, cards=cards, next_cursor=next_cursor, count=count)


def board_card(workspace: Workspace, contact_id: int) -> BoardCard:
    """One card, as the board shows it (after a move): two queries."""
    contact = (
        _with_next_task(workspace, Contact.objects.for_workspace(workspace).filter(id=contact_id))
        .values(*_CARD_COLUMNS, *_NEXT_TASK, source_name=Coalesce("source__name", Value("")))
        .get()
    )
    card = CardContact(**contact)
    return BoardCard(card, next_steps(workspace, [card]).get(card.id))


def stage_counts(workspace: Workspace, query: ContactListQuery, *, user: User) -> dict[int, int]:
    """How many live contacts matching `query` each stage holds (stages without any are left
    out), in one query. Unfiltered (but for the stage), the workspace's cached per-stage counts
    (contacts.counts), so the board never counts every live contact on each load; filtered, one
    grouped count of what matches."""
    if not dataclasses.replace(query, stage=None).is_filtered:
        cached = ((s.id, getattr(s, "contact_count", 0)) for s in stages_with_counts(workspace))
        return {stage_id: n for stage_id, n in cached if n}
    counted = (
        contacts_filtered(workspace, query, user=user)
        .order_by()
        .values_list("stage_id")
        .annotate(n=Count("*"))
    )
    return dict(counted)


def _with_next_task(workspace: Workspace, contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """`contacts` each with its earliest open task as `next_task_title` and `next_task_due_at`
    (None without one), read in the contacts' own query: per card, one probe of the tasks'
    contact index."""
    open_tasks = (
        Task.objects.for_workspace(workspace)
        .filter(contact=OuterRef("pk"), completed_at=None)
        .order_by("due_at", "id")
    )
    return contacts.annotate(
        next_task_title=Subquery(open_tasks.values("title")[:1]),
        next_task_due_at=Subquery(open_tasks.values("due_at")[:1]),
    )


def next_steps(workspace: Workspace, contacts: Sequence[CardContact]) -> dict[int, NextStep]:
    """Each contact's next step (see NextStep), for those among `contacts` (as _with_next_task
    gave them) that have one: their earliest open task or their next appointment (one query,
    through the appointments seam; none for no contacts), whichever comes first."""
    steps = {}
    for contact in contacts:
        if contact.next_task_due_at is not None:
            title = contact.next_task_title or ""
            steps[contact.id] = NextStep("task", title, contact.next_task_due_at)
    for contact_id, upcoming in next_appointments(workspace, [c.id for c in contacts]).items():
        task = steps.get(contact_id)
        if task is None or upcoming.starts_at < task.at:
            steps[contact_id] = NextStep("appointment", upcoming.title, upcoming.starts_at)
    return steps


# --- lead sources --------------------------------------------------------------------------------
def lead_sources_create_defaults(*, workspace: Workspace) -> list[LeadSource]:
    """The preset lead sources (Zillow, Realtor.com, ... Manual) of a new workspace. Idempotent."""
    existing = LeadSource.objects.for_workspace(workspace)
    if existing.exists():
        return list(existing)
    return LeadSource.objects.for_workspace(workspace).bulk_create(
        LeadSource(workspace=workspace, key=key, name=name, position=i)
        for i, (key, name) in enumerate(LeadSource.DEFAULTS)
    )


def lead_source_for_key(*, workspace: Workspace, key: str) -> LeadSource:
    """The workspace's source with this key, added at the end of the list when missing (the app's
    own keys, such as "sms" or "import", are added the first time a contact needs them)."""
    sources = LeadSource.objects.for_workspace(workspace)
    # One query on the hot path (every contact created): a workspace holding the key has its
    # presets already, so they are only ensured when the key is missing.
    found = sources.filter(key=key).first()
    if found is not None:
        return found
    lead_sources_create_defaults(workspace=workspace)
    found = sources.filter(key=key).first()
    if found is not None:
        return found
    name = Source(key).label if key in Source.values else key.replace("_", " ").capitalize()
    position = (sources.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    with transaction.atomic():
        source, _created = sources.get_or_create(
            workspace=workspace,
            key=key,
            defaults={"name": _free_source_name(workspace, str(name)), "position": position},
        )
    return source


def _free_source_name(workspace: Workspace, name: str) -> str:
    taken = {
        n.lower()
        for n in LeadSource.objects.for_workspace(workspace).values_list("name", flat=True)
    }
    candidate, suffix = name, 2
    while candidate.lower() in taken:
        candidate, suffix = f"{name} ({suffix})", suffix + 1
    return candidate


def lead_source_key_for(name: str) -> str:
    """'Realtor.com' -> 'realtor_com' (no letters or digits: 'source')."""
    return slugify(name).replace("-", "_")[:36].strip("_") or "source"


def access_lead_source(workspace: Workspace, source_id: int | str) -> LeadSource:
    """The workspace's lead source with this id, or Http404."""
    return LeadSource.objects.for_workspace(workspace).get_or_404("lead source", id=source_id)


def lead_source_add(*, workspace: Workspace, name: str) -> LeadSource:
    """Add a lead source at the end of the list; its key comes from the name (a suffix _2, _3...
    when taken) and never changes. Raises SetupError for a duplicate name or a full list."""
    name = name.strip()
    with transaction.atomic():
        sources = list(LeadSource.objects.for_workspace(workspace).select_for_update())
        if len(sources) >= MAX_LEAD_SOURCES:
            raise SetupError(f"A workspace can have up to {MAX_LEAD_SOURCES} lead sources.")
        if any(s.name.lower() == name.lower() for s in sources):
            raise SetupError(f"There is already a source called “{name}”.")
        key = _free_key(lead_source_key_for(name), {s.key for s in sources})
        return LeadSource.objects.create(
            workspace=workspace,
            key=key,
            name=name,
            position=max((s.position for s in sources), default=-1) + 1,
        )


def lead_source_rename(*, source: LeadSource, name: str) -> LeadSource:
    """Rename a lead source (its key stays, so saved filters keep working). Raises SetupError for
    a duplicate name."""
    source.name = name.strip()
    try:
        with transaction.atomic():
            source.save(update_fields=["name"])
    except IntegrityError:
        raise SetupError(f"There is already a source called “{source.name}”.") from None
    return source


def lead_source_delete(*, source: LeadSource) -> int:
    """Delete a lead source; its contacts keep no source. Returns how many contacts had it."""
    with transaction.atomic():
        count = (
            Contact.objects.for_workspace(source.workspace)
            .filter(source=source)
            .update(source=None)
        )
        LeadSource.objects.for_workspace(source.workspace).filter(id=source.id).delete()
    return count
