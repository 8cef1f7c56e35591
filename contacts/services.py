"""Contact workflows: create, edit, search fields, duplicates, notes, tasks, timeline entries.

Every function takes the workspace (directly or through a record of it), runs in one transaction,
and never takes `request`. Views call `access_*` first for any id that came from a URL or form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Func, JSONField, ProtectedError, Q, TextField, Value
from django.db.models.functions import Cast, Greatest
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from alt.accounts.models import Membership, User, Workspace
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    DuplicateFlag,
    Note,
    PipelineStage,
    Property,
    PropertyLink,
    Source,
    Tag,
    Task,
)

DEFAULT_REGION = "US"


# --- normalisation -------------------------------------------------------------------------------
class InvalidPhone(ValueError):
    pass


def phone_to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """'(415) 555-0123', '415.555.0123', '+1 415 555 0123', '1-415-555-0123' -> '+14155550123'.

    Raises InvalidPhone with a message a person understands.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Phone number is empty.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"“{text}” is not a phone number.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"“{text}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def phone_display(e164: str) -> str:
    """'+14155550134' -> '(415) 555-0134'. Cached: a list page formats 50 numbers per request and
    phonenumbers' parse + format is the costliest thing in a row."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


_DIGITS = re.compile(r"\D+")


def search_text_for(
    first_name: str, last_name: str, emails: Iterable[str], phones: Iterable[str]
) -> str:
    """The one lower-cased string the trigram index searches: names, emails, and each phone both
    in E.164 and as national digits (so '4155550123' and '555-0123' both match)."""
    parts = [first_name, last_name, *emails]
    for e164 in phones:
        digits = _DIGITS.sub("", e164)
        parts.extend([e164, digits, digits[1:] if e164.startswith("+1") else digits])
    return " ".join(p.lower() for p in parts if p)


def search_terms(query: str) -> tuple[list[str], str | None]:
    """Split a search box query into words to match, and the E.164 form if it reads as a phone."""
    query = query.strip()
    phone = None
    if sum(ch.isdigit() for ch in query) >= 7 and not re.search(r"[A-Za-z@]", query):
        try:
            phone = phone_to_e164(query)
        except InvalidPhone:
            phone = None
        digits = _DIGITS.sub("", query)
        return ([digits] if phone is None else []), phone
    return [w.lower() for w in query.split() if w], None


# --- pipeline ------------------------------------------------------------------------------------
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


# --- access --------------------------------------------------------------------------------------
def access_contact(
    workspace: Workspace, contact_id: int | str, *, include_deleted: bool = False
) -> Contact:
    """The workspace's contact with this id, or Http404 (also for another workspace's id)."""
    qs = Contact.objects.for_workspace(workspace)
    if not include_deleted:
        qs = qs.live()
    contact = (
        qs.select_related("stage", "assigned_to").filter(id=contact_id).first()
        if str(contact_id).isdigit()
        else None
    )
    if contact is None:
        raise Http404("No such contact")
    return contact


def access_task(workspace: Workspace, task_id: int) -> Task:
    task = (
        Task.objects.for_workspace(workspace).select_related("contact").filter(id=task_id).first()
    )
    if task is None:
        raise Http404("No such task")
    return task


# --- contacts ------------------------------------------------------------------------------------
@dataclass
class ContactInput:
    first_name: str = ""
    last_name: str = ""
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()  # already E.164
    source: str = Source.MANUAL
    stage: PipelineStage | None = None
    tags: Sequence[str] = ()
    assigned_to: User | None = None
    role: str = ""
    budget_min: int | None = None
    budget_max: int | None = None
    timeframe: str = ""
    custom_fields: dict[str, Any] | None = None
    next_follow_up_on: Any = None
    consent_email: bool = False
    consent_sms: bool = False
    consent_instagram: bool = False


def tags_get_or_create(*, workspace: Workspace, names: Iterable[str]) -> list[Tag]:
    wanted = {n.strip(): None for n in names if n and n.strip()}
    if not wanted:
        return []
    existing = {
        t.name.lower(): t
        for t in Tag.objects.for_workspace(workspace).filter(
            name__in=[*wanted, *[w.lower() for w in wanted]]
        )
    }
    existing.update(
        {
            t.name.lower(): t
            for t in Tag.objects.for_workspace(workspace).filter(
                Q(*[Q(name__iexact=w) for w in wanted], _connector=Q.OR)
            )
        }
    )
    out = []
    for name in wanted:
        tag = existing.get(name.lower())
        if tag is None:
            tag = Tag.objects.create(workspace=workspace, name=name[:40])
            existing[name.lower()] = tag
        out.append(tag)
    return out


def _apply_emails_phones(contact: Contact, emails: Sequence[str], phones: Sequence[str]) -> None:
    emails = list(dict.fromkeys(normalize_email(e) for e in emails if e and e.strip()))
    phones = list(dict.fromkeys(p for p in phones if p))
    ws = contact.workspace
    ContactEmail.objects.for_workspace(ws).filter(contact=contact).exclude(
        email__in=emails
    ).delete()
    ContactPhone.objects.for_workspace(ws).filter(contact=contact).exclude(e164__in=phones).delete()
    have_emails = set(
        ContactEmail.objects.for_workspace(ws)
        .filter(contact=contact)
        .values_list("email", flat=True)
    )
    have_phones = set(
        ContactPhone.objects.for_workspace(ws)
        .filter(contact=contact)
        .values_list("e164", flat=True)
    )
    ContactEmail.objects.for_workspace(ws).bulk_create(
        ContactEmail(workspace=ws, contact=contact, email=e) for e in emails if e not in have_emails
    )
    ContactPhone.objects.for_workspace(ws).bulk_create(
        ContactPhone(workspace=ws, contact=contact, e164=p) for p in phones if p not in have_phones
    )
    ContactEmail.objects.for_workspace(ws).filter(contact=contact).update(is_primary=False)
    ContactPhone.objects.for_workspace(ws).filter(contact=contact).update(is_primary=False)
    if emails:
        ContactEmail.objects.for_workspace(ws).filter(contact=contact, email=emails[0]).update(
            is_primary=True
        )
    if phones:
        ContactPhone.objects.for_workspace(ws).filter(contact=contact, e164=phones[0]).update(
            is_primary=True
        )
    contact.primary_email = emails[0] if emails else ""
    contact.primary_phone = phones[0] if phones else ""


def contact_refresh_search(*, contact: Contact) -> None:
    """Recompute the denormalised primary email/phone and search text from the related rows."""
    ws = contact.workspace
    emails = list(
        ContactEmail.objects.for_workspace(ws)
        .filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("email", flat=True)
    )
    phones = list(
        ContactPhone.objects.for_workspace(ws)
        .filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("e164", flat=True)
    )
    contact.primary_email = emails[0] if emails else ""
    contact.primary_phone = phones[0] if phones else ""
    contact.search_text = search_text_for(contact.first_name, contact.last_name, emails, phones)
    Contact.objects.for_workspace(ws).filter(id=contact.id).update(
        primary_email=contact.primary_email,
        primary_phone=contact.primary_phone,
        search_text=contact.search_text,
    )


def contact_create(
    *, workspace: Workspace, actor: User | None, data: ContactInput, flag_duplicates: bool = True
) -> Contact:
    """Create a contact with its emails, phones and tags; log it on the timeline; flag duplicates.

    No external side effects.
    """
    with transaction.atomic():
        contact = Contact(
            workspace=workspace,
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            stage=data.stage or default_stage(workspace),
            source=data.source,
            assigned_to=data.assigned_to,
            role=data.role,
            budget_min=data.budget_min,
            budget_max=data.budget_max,
            timeframe=data.timeframe,
            custom_fields=data.custom_fields or {},
            next_follow_up_on=data.next_follow_up_on,
            consent_email=data.consent_email,
            consent_sms=data.consent_sms,
            consent_instagram=data.consent_instagram,
        )
        contact.save()
        _apply_emails_phones(contact, data.emails, data.phones)
        contact.search_text = search_text_for(
            contact.first_name,
            contact.last_name,
            [normalize_email(e) for e in data.emails],
            data.phones,
        )
        contact.save(update_fields=["primary_email", "primary_phone", "search_text"])
        if data.tags:
            contact.tags.set(tags_get_or_create(workspace=workspace, names=data.tags))
        activity_record(
            contact=contact,
            kind=Activity.Kind.CREATED,
            actor=actor,
            summary=f"Added from {contact.get_source_display()}",
        )
        if flag_duplicates:
            duplicates_flag(contact=contact)
    return contact


EDITABLE_FIELDS = (
    "first_name", "last_name", "stage", "source", "assigned_to", "role", "budget_min", "budget_max",
    "timeframe", "custom_fields", "next_follow_up_on", "consent_email", "consent_sms", "consent_instagram",
)  # fmt: skip


def contact_update(
    *, contact: Contact, actor: User | None, changes: dict[str, Any], emails: Sequence[str] | None = None,
    phones: Sequence[str] | None = None, tags: Sequence[str] | None = None,
) -> Contact:  # fmt: skip
    """Apply field changes; a stage change is logged on the timeline. Raises ValueError for a field
    that is not editable."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        old_stage = contact.stage
        for field, value in changes.items():
            setattr(contact, field, value)
        contact.save()
        if emails is not None or phones is not None:
            _apply_emails_phones(
                contact,
                emails if emails is not None else [e.email for e in contact.emails.all()],
                phones if phones is not None else [p.e164 for p in contact.phones.all()],
            )
        if tags is not None:
            contact.tags.set(tags_get_or_create(workspace=contact.workspace, names=tags))
        contact_refresh_search(contact=contact)
        if "stage" in changes and changes["stage"] != old_stage:
            activity_record(
                contact=contact, kind=Activity.Kind.STAGE_CHANGED, actor=actor,
                summary=f"Stage: {old_stage.name} → {contact.stage.name}",
                data={"from": old_stage.id, "to": contact.stage.id},
            )  # fmt: skip
        if emails is not None or phones is not None:
            duplicates_flag(contact=contact)
    return contact


def duplicates_flag(*, contact: Contact) -> list[DuplicateFlag]:
    """Flag live contacts of the workspace that share an email or a phone with `contact`."""
    ws = contact.workspace
    emails = list(
        ContactEmail.objects.for_workspace(ws)
        .filter(contact=contact)
        .values_list("email", flat=True)
    )
    phones = list(
        ContactPhone.objects.for_workspace(ws)
        .filter(contact=contact)
        .values_list("e164", flat=True)
    )
    if not emails and not phones:
        return []
    matches: dict[int, str] = {}
    for other_id, email in (
        ContactEmail.objects.for_workspace(ws)
        .filter(email__in=emails)
        .exclude(contact=contact)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .values_list("contact_id", "email")
    ):
        matches.setdefault(other_id, f"Same email {email}")
    for other_id, e164 in (
        ContactPhone.objects.for_workspace(ws)
        .filter(e164__in=phones)
        .exclude(contact=contact)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .values_list("contact_id", "e164")
    ):
        matches.setdefault(other_id, f"Same phone {phone_display(e164)}")
    flags = []
    for other_id, reason in matches.items():
        a, b = sorted((contact.id, other_id))
        flag, _ = DuplicateFlag.objects.for_workspace(ws).get_or_create(
            workspace=ws, contact_a_id=a, contact_b_id=b, defaults={"reason": reason}
        )
        flags.append(flag)
    return flags


# --- timeline, notes, tasks ----------------------------------------------------------------------
def activity_record(
    *, contact: Contact, kind: str, summary: str, actor: User | None = None, body: str = "",
    data: dict[str, Any] | None = None, occurred_at: datetime | None = None,
) -> Activity:  # fmt: skip
    """Add an entry to the contact's timeline and bump its last-activity time."""
    when = occurred_at or timezone.now()
    activity = Activity.objects.create(
        workspace=contact.workspace, contact=contact, kind=kind, summary=summary[:300], body=body,
        actor=actor, data=data or {}, occurred_at=when,
    )  # fmt: skip
    Contact.objects.for_workspace(contact.workspace).filter(
        id=contact.id, last_activity_at__lt=when
    ).update(last_activity_at=when)
    return activity


def note_add(*, contact: Contact, author: User, body: str) -> Note:
    with transaction.atomic():
        note = Note.objects.create(
            workspace=contact.workspace, contact=contact, author=author, body=body.strip()
        )
        activity_record(
            contact=contact,
            kind=Activity.Kind.NOTE,
            actor=author,
            summary="Note",
            body=note.body,
            data={"note_id": note.id},
        )
    return note


def task_add(
    *,
    workspace: Workspace,
    contact: Contact | None,
    actor: User,
    title: str,
    due_at: datetime,
    assigned_to: User | None = None,
) -> Task:
    with transaction.atomic():
        task = Task.objects.create(
            workspace=workspace,
            contact=contact,
            assigned_to=assigned_to or actor,
            title=title.strip(),
            due_at=due_at,
        )
        if contact is not None:
            activity_record(
                contact=contact, kind=Activity.Kind.TASK_CREATED, actor=actor, summary=f"Task: {task.title}",
                data={"task_id": task.id, "due_at": due_at.isoformat()},
            )  # fmt: skip
    return task


def task_complete(*, task: Task, actor: User) -> Task:
    """Mark done (state guard: completing twice logs once)."""
    with transaction.atomic():
        updated = (
            Task.objects.for_workspace(task.workspace)
            .filter(id=task.id, completed_at=None)
            .update(completed_at=timezone.now())
        )
        task.refresh_from_db()
        if updated and task.contact is not None:
            activity_record(
                contact=task.contact,
                kind=Activity.Kind.TASK_COMPLETED,
                actor=actor,
                summary=f"Done: {task.title}",
                data={"task_id": task.id},
            )
    return task


# --- properties ----------------------------------------------------------------------------------
PROPERTY_LINK_SUMMARIES = {
    PropertyLink.Role.INTERESTED: "Interested in {address}",
    PropertyLink.Role.OWNER: "Owner of {address}",
    PropertyLink.Role.BUYER: "Buyer of {address}",
}


@dataclass
class PropertyInput:
    street: str
    city: str
    state: str
    zip_code: str
    unit: str = ""
    price: int | None = None
    beds: int | None = None
    baths: Decimal | None = None
    sqft: int | None = None
    mls_number: str = ""
    status: str = Property.Status.ACTIVE


def property_street_line(prop: Property) -> str:
    """'12 Oak St' or '12 Oak St #4': how a property is named on timelines and in messages."""
    if not prop.unit:
        return prop.street
    unit = f"#{prop.unit}" if prop.unit[:1].isdigit() else prop.unit
    return f"{prop.street} {unit}"


def access_property(workspace: Workspace, property_id: int | str) -> Property:
    """The workspace's property with this id, or Http404 (also for another workspace's id)."""
    prop = (
        Property.objects.for_workspace(workspace).filter(id=property_id).first()
        if str(property_id).isdigit()
        else None
    )
    if prop is None:
        raise Http404("No such property")
    return prop


def property_create(*, workspace: Workspace, data: PropertyInput) -> Property:
    """Add a property to the workspace. No side effects beyond the row."""
    return Property.objects.create(workspace=workspace, **asdict(data))


def property_update(*, property: Property, data: PropertyInput) -> Property:
    """Replace the property's facts with `data`. Its links to contacts are kept."""
    for field, value in asdict(data).items():
        setattr(property, field, value)
    property.save()
    return property


def property_link(
    *, property: Property, contact: Contact, role: str, actor: User | None
) -> tuple[PropertyLink, bool]:
    """Link a contact to a property as interested, owner or buyer, and log it on the contact's
    timeline ("Interested in 12 Oak St"). Linking twice in the same role changes nothing and logs
    once. Returns (link, created). Raises ValueError if the two belong to different workspaces."""
    if property.workspace_id != contact.workspace_id:
        raise ValueError("The property and the contact are in different workspaces.")
    summary = PROPERTY_LINK_SUMMARIES[PropertyLink.Role(role)]
    with transaction.atomic():
        link, created = PropertyLink.objects.for_workspace(property.workspace).get_or_create(
            workspace=property.workspace, property=property, contact=contact, role=role
        )
        if created:
            activity_record(
                contact=contact, kind=Activity.Kind.UPDATED, actor=actor,
                summary=summary.format(address=property_street_line(property)),
                data={"property_id": property.id, "role": role},
            )  # fmt: skip
    return link, created


# --- pipeline and custom fields (Settings) -------------------------------------------------------
MAX_STAGES = 20
MAX_CUSTOM_FIELDS = 30


class SetupError(ValueError):
    """A pipeline or custom-field change that cannot be made; the message is shown to the person."""


def access_stage(workspace: Workspace, stage_id: int | str) -> PipelineStage:
    """The workspace's pipeline stage with this id, or Http404."""
    stage = (
        PipelineStage.objects.for_workspace(workspace).filter(id=stage_id).first()
        if str(stage_id).isdigit()
        else None
    )
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
    field = (
        CustomField.objects.for_workspace(workspace).filter(id=field_id).first()
        if str(field_id).isdigit()
        else None
    )
    if field is None:
        raise Http404("No such custom field")
    return field


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
            workspace=workspace, key=key, label=label, kind=kind, choices=options,
            position=max((f.position for f in fields), default=-1) + 1,
        )  # fmt: skip


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
                    F("custom_fields"), Cast(Value(field.key), TextField()),
                    template="(%(expressions)s)", arg_joiner=" - ", output_field=JSONField(),
                )
            )
        )  # fmt: skip
        CustomField.objects.for_workspace(ws).filter(id=field.id).delete()
    return cleared


def _clean_choices(choices: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(c.strip()[:60] for c in choices if c and c.strip()))[:50]


# --- delete and undo -----------------------------------------------------------------------------
def contacts_delete(*, workspace: Workspace, ids: list[int], actor: User | None) -> list[int]:
    """Soft-delete the workspace's live contacts among `ids` (ids of another workspace are
    ignored): they leave every list at once and can be restored for CONTACT_UNDO_HOURS, after
    which the hourly purge erases them. Returns the ids deleted. No external side effects."""
    with transaction.atomic():
        contacts = Contact.objects.for_workspace(workspace)
        live = contacts.live().filter(id__in=ids)
        deleted = list(live.select_for_update().values_list("id", flat=True))
        Contact.objects.for_workspace(workspace).filter(id__in=deleted).update(
            deleted_at=timezone.now()
        )
    return deleted


def contacts_restore(*, workspace: Workspace, ids: list[int]) -> int:
    """Undo a delete of the workspace's contacts among `ids` deleted less than
    CONTACT_UNDO_HOURS ago. Returns how many came back (0 once the window has passed)."""
    window_start = timezone.now() - timedelta(hours=settings.CONTACT_UNDO_HOURS)
    return (
        Contact.objects.for_workspace(workspace)
        .filter(id__in=ids, deleted_at__gte=window_start)
        .update(deleted_at=None)
    )


# --- bulk actions (the contact list) -------------------------------------------------------------
def _live_contact_ids(workspace: Workspace, ids: Iterable[int]) -> list[int]:
    """The ids among `ids` of the workspace's live contacts: every bulk action starts here, so an
    id of another workspace, or of a deleted or merged contact, does nothing."""
    contacts = Contact.objects.for_workspace(workspace)
    return list(contacts.live().filter(id__in=list(ids)).values_list("id", flat=True))


def contacts_bulk_tag(*, workspace: Workspace, ids: Iterable[int], tag_name: str) -> int:
    """Add the tag `tag_name` (created if the workspace has none by that name, any case) to the
    workspace's live contacts among `ids`. Returns how many contacts gained it. Raises ValueError
    for a blank name."""
    if not tag_name.strip():
        raise ValueError("A tag needs a name.")
    ContactTag = Contact.tags.through
    with transaction.atomic():
        [tag] = tags_get_or_create(workspace=workspace, names=[tag_name])
        contact_ids = _live_contact_ids(workspace, ids)
        have = set(
            ContactTag.objects.filter(tag_id=tag.id, contact_id__in=contact_ids).values_list(
                "contact_id", flat=True
            )
        )
        added = [i for i in contact_ids if i not in have]
        ContactTag.objects.bulk_create(
            [ContactTag(contact_id=i, tag_id=tag.id) for i in added], ignore_conflicts=True
        )
    return len(added)


def contacts_bulk_untag(*, workspace: Workspace, ids: Iterable[int], tag_name: str) -> int:
    """Remove the workspace's tag named `tag_name` (any case) from its live contacts among `ids`.
    The tag itself is kept. Returns how many contacts lost it (0 if there is no such tag)."""
    tag = Tag.objects.for_workspace(workspace).filter(name__iexact=tag_name.strip()).first()
    if tag is None:
        return 0
    ContactTag = Contact.tags.through
    with transaction.atomic():
        contact_ids = _live_contact_ids(workspace, ids)
        removed, _ = ContactTag.objects.filter(tag_id=tag.id, contact_id__in=contact_ids).delete()
    return removed


def contacts_bulk_set_stage(
    *, workspace: Workspace, ids: Iterable[int], stage: PipelineStage, actor: User | None
) -> int:
    """Move the workspace's live contacts among `ids` to `stage`, logging "Stage: A → B" on each
    moved contact's timeline (as contact_update does) and bumping its last activity. Contacts
    already in the stage are left alone. Returns how many moved. Raises ValueError for a stage of
    another workspace."""
    if stage.workspace_id != workspace.id:
        raise ValueError("The stage belongs to another workspace.")
    with transaction.atomic():
        moving = list(
            Contact.objects.for_workspace(workspace)
            .live()
            .filter(id__in=list(ids))
            .exclude(stage=stage)
            .select_related("stage")
            .select_for_update(of=("self",))
        )
        if not moving:
            return 0
        now = timezone.now()
        Contact.objects.for_workspace(workspace).filter(id__in=[c.id for c in moving]).update(
            stage=stage, last_activity_at=Greatest(F("last_activity_at"), Value(now))
        )
        Activity.objects.for_workspace(workspace).bulk_create(
            Activity(
                workspace=workspace, contact=contact, kind=Activity.Kind.STAGE_CHANGED,
                actor=actor, occurred_at=now, summary=f"Stage: {contact.stage.name} → {stage.name}",
                data={"from": contact.stage_id, "to": stage.id},
            )
            for contact in moving
        )  # fmt: skip
    return len(moving)


def contacts_bulk_assign(*, workspace: Workspace, ids: Iterable[int], assignee: User | None) -> int:
    """Assign the workspace's live contacts among `ids` to `assignee`, a member of the workspace
    (None: unassign). Returns how many changed hands. Raises ValueError if `assignee` is not a
    member of the workspace."""
    if (
        assignee is not None
        and not Membership.objects.filter(workspace=workspace, user=assignee).exists()
    ):
        raise ValueError("Contacts can only be assigned to a member of the workspace.")
    with transaction.atomic():
        contact_ids = _live_contact_ids(workspace, ids)
        return (
            Contact.objects.for_workspace(workspace)
            .filter(id__in=contact_ids)
            .exclude(assigned_to=assignee)
            .update(assigned_to=assignee)
        )


def contacts_purge_deleted(*, batch_size: int = 500) -> int:
    """Erase for good every contact deleted more than CONTACT_UNDO_HOURS ago, in every workspace,
    `batch_size` contacts per transaction (their emails, phones, notes, tasks, timeline and links
    go with them through the foreign keys' CASCADE). Safe to run twice or concurrently: each batch
    re-checks deleted_at when it deletes, so a contact restored meanwhile is kept. Returns how many
    contacts were erased."""
    cutoff = timezone.now() - timedelta(hours=settings.CONTACT_UNDO_HOURS)
    erased = 0
    # Workspace by workspace, so even this sweep reads contacts through for_workspace().
    for workspace in Workspace.objects.order_by("id").only("id").iterator():
        expired = Contact.objects.for_workspace(workspace).filter(deleted_at__lt=cutoff)
        while batch := list(expired.order_by("id").values_list("id", flat=True)[:batch_size]):
            with transaction.atomic():
                _, by_model = (
                    Contact.objects.for_workspace(workspace)
                    .filter(id__in=batch, deleted_at__lt=cutoff)
                    .delete()
                )
            erased += by_model.get(Contact._meta.label, 0)
            if len(batch) < batch_size:
                break
    return erased
