"""Pipeline stages and custom contact fields (Settings): the defaults of a new workspace, and the
changes an agent makes to them. Raises SetupError with a message for the person."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Func, JSONField, ProtectedError, TextField, Value
from django.db.models.functions import Cast
from django.utils.text import slugify

from alt.accounts.models import Workspace
from contacts.models import Contact, CustomField, LeadSource, PipelineStage, Source


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


def stage_delete(*, stage: PipelineStage) -> None:
    """Delete a stage that no live contact is in. Contacts in the trash or merged away that still
    point at it move to the first remaining stage (they are invisible, and the stage is PROTECTed).

    Raises SetupError naming how many contacts to move first, or when it is the last stage.
    """
    ws = stage.workspace
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
            live = in_stage.live().count()
            if live:
                noun = "contact" if live == 1 else "contacts"
                raise SetupError(f"Move the {live} {noun} in {stage.name} to another stage first.")
            fallback = next(s for s in stages if s.id != stage.id)
            in_stage.update(stage=fallback)
            PipelineStage.objects.for_workspace(ws).filter(id=stage.id).delete()
    except (IntegrityError, ProtectedError):
        # A contact was moved into the stage while it was being deleted.
        raise SetupError(f"Contacts were just moved into {stage.name}; try again.") from None


def access_custom_field(workspace: Workspace, field_id: int | str) -> CustomField:
    """The workspace's custom field with this id, or Http404."""
    return CustomField.objects.for_workspace(workspace).get_or_404("custom field", id=field_id)


def custom_field_key_for(label: str) -> str:
    """The stable key a label's values are stored under in Contact.custom_fields:
    'Pre-approved amount' -> 'pre_approved_amount' (a label with no letters or digits: 'field')."""
    return slugify(label).replace("-", "_")[:36].strip("_") or "field"


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
        taken = {f.key for f in fields}
        base = key = custom_field_key_for(label)
        suffix = 2
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
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
    lead_sources_create_defaults(workspace=workspace)
    sources = LeadSource.objects.for_workspace(workspace)
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
        taken = {s.key for s in sources}
        base = key = lead_source_key_for(name)
        suffix = 2
        while key in taken:
            key, suffix = f"{base}_{suffix}", suffix + 1
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
