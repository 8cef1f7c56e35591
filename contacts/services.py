"""Contact workflows: create, edit, duplicate flags, delete and undo, bulk edits from the list,
notes, tasks and timeline entries. Normalisation is in contacts/normalize.py; each feature
(properties, pipeline, imports, merging, ...) has its own services module in its package.

Every function takes the workspace (directly or through a record of it), runs in one transaction,
and never takes `request`. Views call `access_*` first for any id that came from a URL or form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from contacts.consent import consent_record
from contacts.models import (
    Activity,
    ConsentEvent,
    Contact,
    ContactChannel,
    ContactEmail,
    ContactPhone,
    ContactQuerySet,
    DuplicateFlag,
    LeadSource,
    Note,
    PipelineStage,
    Source,
    Tag,
    Task,
    created_summary,
)
from contacts.normalize import normalize_email, phone_display, search_text_for
from contacts.pipeline.services import default_stage, lead_source_for_key
from contacts.recurrence import next_due_at


# --- access --------------------------------------------------------------------------------------
def access_contact(
    workspace: Workspace,
    contact_id: int | str,
    *,
    include_deleted: bool = False,
    with_reach: bool = False,
) -> Contact:
    """The workspace's contact with this id, or Http404 (also for another workspace's id).
    `with_reach` also reads, in the same query, its emails and phones (main one first) and tag
    names, as the lists `contact.email_list`, `contact.phone_list` and `contact.tag_names`."""
    qs = Contact.objects.for_workspace(workspace)
    if not include_deleted:
        qs = qs.live()
    if with_reach:
        reach = {name: RawSQL(sql, ()) for name, sql in _REACH_SQL.items()}  # noqa: S611 (no values)
        qs = qs.annotate(**reach)
    return qs.select_related("stage", "assigned_to", "source").get_or_404("contact", id=contact_id)


def _reach_sql() -> dict[str, str]:
    # Written as SQL because the same three ArraySubquery()s cost ~0.75 ms more per contact page
    # to build and compile in the ORM than the query takes in PostgreSQL. Each row is held to the
    # contact's own workspace, which the outer queryset is scoped to by for_workspace().
    contact, email, phone, tag, tagged = (
        f'"{m._meta.db_table}"'
        for m in (Contact, ContactEmail, ContactPhone, Tag, Contact.tags.through)
    )
    mine = f"x.contact_id = {contact}.id AND x.workspace_id = {contact}.workspace_id"
    return {
        "email_list": f"""ARRAY(SELECT x.email FROM {email} x WHERE {mine}
            ORDER BY x.is_primary DESC, x.id)""",  # noqa: S608 (table names are ours, no values)
        "phone_list": f"""ARRAY(SELECT x.e164 FROM {phone} x WHERE {mine}
            ORDER BY x.is_primary DESC, x.id)""",  # noqa: S608 (table names are ours, no values)
        "tag_names": f"""ARRAY(SELECT t.name FROM {tag} t JOIN {tagged} x ON x.tag_id = t.id
            WHERE x.contact_id = {contact}.id AND t.workspace_id = {contact}.workspace_id
            ORDER BY t.name)""",  # noqa: S608 (table names are ours, no values)
    }


_REACH_SQL = _reach_sql()


def access_task(workspace: Workspace, task_id: int) -> Task:
    """The workspace's task with this id, or Http404 (also for another workspace's id)."""
    tasks = Task.objects.for_workspace(workspace).select_related("contact")
    return tasks.get_or_404("task", id=task_id)


# --- contacts ------------------------------------------------------------------------------------
@dataclass
class ContactInput:
    first_name: str = ""
    last_name: str = ""
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()  # already E.164
    # A LeadSource, or the key of one (Source.INSTAGRAM...; added to the workspace if missing).
    source: str | LeadSource | None = Source.MANUAL
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
    time_zone: str = ""  # IANA; blank: quiet hours guess it from the phone's area code


# The contact form's consent boxes and the channel each records (contacts.consent).
CONSENT_FIELDS = {
    "consent_email": "email",
    "consent_sms": "sms",
    "consent_instagram": "instagram",
}


def _consent_ticks(
    contact: Contact, ticks: dict[str, bool], actor: User | None, *, detail: str = ""
) -> None:
    """Record each consent box whose tick differs from the contact's state, through
    contacts.consent.consent_record (the only writer of consent)."""
    who = (actor.full_name or actor.email) if actor is not None else "ALT"
    for field, agreed in ticks.items():
        if bool(agreed) == getattr(contact, field):
            continue
        kind = ConsentEvent.Kind.OPT_IN if agreed else ConsentEvent.Kind.OPT_OUT
        verb = "Ticked" if agreed else "Unticked"
        consent_record(
            contact,
            CONSENT_FIELDS[field],
            kind,
            detail=detail or f"{verb} on the contact form by {who}",
            by=actor,
        )


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


def _emails_phones(contact: Contact) -> tuple[list[str], list[str]]:
    """The contact's email addresses and E.164 phone numbers, the primary one first in each."""
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
    return emails, phones


def _apply_emails_phones(contact: Contact, emails: Sequence[str], phones: Sequence[str]) -> None:
    emails = list(dict.fromkeys(normalize_email(e) for e in emails if e and e.strip()))
    phones = list(dict.fromkeys(p for p in phones if p))
    ws = contact.workspace
    ContactEmail.objects.for_workspace(ws).filter(contact=contact).exclude(
        email__in=emails
    ).delete()
    ContactPhone.objects.for_workspace(ws).filter(contact=contact).exclude(e164__in=phones).delete()
    have_emails, have_phones = map(set, _emails_phones(contact))
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
    emails, phones = _emails_phones(contact)
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
            source=(
                lead_source_for_key(workspace=workspace, key=data.source)
                if isinstance(data.source, str)
                else data.source
            ),
            assigned_to=data.assigned_to,
            role=data.role,
            budget_min=data.budget_min,
            budget_max=data.budget_max,
            timeframe=data.timeframe,
            custom_fields=data.custom_fields or {},
            next_follow_up_on=data.next_follow_up_on,
            time_zone=data.time_zone,
        )
        contact.save()
        _consent_ticks(
            contact,
            {field: getattr(data, field) for field in CONSENT_FIELDS},
            actor,
        )
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
            summary=created_summary(contact.source),
        )
        if flag_duplicates:
            duplicates_flag(contact=contact)
    return contact


# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
EDITABLE_FIELDS = (
    "first_name", "last_name", "stage", "source", "assigned_to", "role", "budget_min", "budget_max",
    "timeframe", "custom_fields", "next_follow_up_on", "consent_email", "consent_sms", "consent_instagram",
    "time_zone",
)  # fmt: skip


def contact_update(
    *,
    contact: Contact,
    actor: User | None,
    changes: dict[str, Any],
    emails: Sequence[str] | None = None,
    phones: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> Contact:
    """Apply field changes; a stage change is logged on the timeline. Raises ValueError for a field
    that is not editable."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    ticks = {f: bool(changes.pop(f)) for f in list(changes) if f in CONSENT_FIELDS}
    with transaction.atomic():
        old_stage = contact.stage
        for field, value in changes.items():
            setattr(contact, field, value)
        contact.save()
        # Consent moves only through contacts.consent (history kept, the mirror in step).
        _consent_ticks(contact, ticks, actor)
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
                contact=contact,
                kind=Activity.Kind.STAGE_CHANGED,
                actor=actor,
                summary=f"Stage: {old_stage.name} → {contact.stage.name}",
                data={"from": old_stage.id, "to": contact.stage.id},
            )
        if emails is not None or phones is not None:
            duplicates_flag(contact=contact)
    return contact


def duplicates_flag(*, contact: Contact) -> list[DuplicateFlag]:
    """Flag live contacts of the workspace that share an email or a phone with `contact`."""
    ws = contact.workspace
    emails, phones = _emails_phones(contact)
    if not emails and not phones:
        return []
    matches: dict[int, str] = {}
    for other_id, email in _others_with(contact, ContactEmail, "email", emails):
        matches.setdefault(other_id, f"Same email {email}")
    for other_id, e164 in _others_with(contact, ContactPhone, "e164", phones):
        matches.setdefault(other_id, f"Same phone {phone_display(e164)}")
    flags = []
    for other_id, reason in matches.items():
        a, b = sorted((contact.id, other_id))
        flag, _ = DuplicateFlag.objects.for_workspace(ws).get_or_create(
            workspace=ws, contact_a_id=a, contact_b_id=b, defaults={"reason": reason}
        )
        flags.append(flag)
    return flags


def _others_with(
    contact: Contact, model: type[ContactChannel], field: str, values: list[str]
) -> list[tuple[int, str]]:
    """(contact id, value) for each of `values` that a live other contact of the workspace has,
    read from ContactEmail.email or ContactPhone.e164."""
    return list(
        model.objects.for_workspace(contact.workspace)
        .filter(**{f"{field}__in": values})
        .exclude(contact=contact)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .values_list("contact_id", field)
    )


# --- timeline, notes, tasks ----------------------------------------------------------------------
def activity_record(
    *,
    contact: Contact,
    kind: str,
    summary: str,
    actor: User | None = None,
    body: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Activity:
    """Add an entry to the contact's timeline and bump its last-activity time."""
    when = occurred_at or timezone.now()
    activity = Activity.objects.create(
        workspace=contact.workspace,
        contact=contact,
        kind=kind,
        summary=summary[:300],
        body=body,
        actor=actor,
        data=data or {},
        occurred_at=when,
    )
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


@dataclass(frozen=True)
class RepeatRule:
    """How a task repeats: `repeat` (Task.Repeat) at the wall-clock time of its due moment in
    `time_zone`; a monthly series on the day of the month it is first due."""

    repeat: str = ""
    time_zone: str = "UTC"


def _repeat_fields(due_at: datetime, rule: RepeatRule) -> dict[str, Any]:
    if rule.repeat not in Task.Repeat.values:
        raise ValueError(f"Not a repeat: {rule.repeat!r}")
    if not rule.repeat:
        return {"repeat": "", "repeat_time_zone": "", "repeat_time": None, "repeat_day": None}
    local = due_at.astimezone(ZoneInfo(rule.time_zone))
    return {
        "repeat": rule.repeat,
        "repeat_time_zone": rule.time_zone,
        "repeat_time": local.time().replace(tzinfo=None),
        "repeat_day": local.day if rule.repeat == Task.Repeat.MONTHLY else None,
    }


def _check_assignee(workspace: Workspace, assignee: User | None) -> None:
    if (
        assignee is not None
        and not Membership.objects.filter(workspace=workspace, user=assignee).exists()
    ):
        raise ValueError("A task can only be assigned to a member of the workspace.")


def _check_task_contact(workspace: Workspace, contact: Contact | None) -> None:
    if contact is not None and (
        contact.workspace_id != workspace.id or contact.deleted_at or contact.merged_into_id
    ):
        raise ValueError("Choose a contact from this workspace.")


def task_add(
    *,
    workspace: Workspace,
    contact: Contact | None,
    actor: User,
    title: str,
    due_at: datetime,
    assigned_to: User | None = None,
    repeat: RepeatRule | None = None,
) -> Task:
    """Add a task (about `contact`, or on its own) for `assigned_to` (default: the actor); one
    about a contact is logged on its timeline. `repeat` makes it the first of a series. Its
    reminder is emailed at `due_at` by the reminder sweep. Raises ValueError for an assignee who is
    not a member, a contact of another workspace or an unknown repeat."""
    _check_assignee(workspace, assigned_to)
    _check_task_contact(workspace, contact)
    with transaction.atomic():
        task = Task.objects.create(
            workspace=workspace,
            contact=contact,
            assigned_to=assigned_to or actor,
            title=title.strip(),
            due_at=due_at,
            **_repeat_fields(due_at, repeat or RepeatRule()),
        )
        if contact is not None:
            activity_record(
                contact=contact,
                kind=Activity.Kind.TASK_CREATED,
                actor=actor,
                summary=f"Task: {task.title}",
                data={"task_id": task.id, "due_at": due_at.isoformat()},
            )
    return task


def task_update(
    *,
    task: Task,
    title: str,
    due_at: datetime,
    contact: Contact | None,
    assigned_to: User | None,
    repeat: RepeatRule,
) -> Task:
    """Change a task. A new due time re-arms its reminder (reminded_at cleared) and restarts the
    series' wall clock from it. Raises ValueError as task_add does."""
    workspace = task.workspace
    _check_assignee(workspace, assigned_to)
    _check_task_contact(workspace, contact)
    with transaction.atomic():
        locked = Task.objects.for_workspace(workspace).select_for_update().get(id=task.id)
        rearm = locked.due_at != due_at
        locked.title = title.strip()
        locked.due_at = due_at
        locked.contact = contact
        locked.assigned_to = assigned_to or locked.assigned_to
        # Unchanged, a series keeps its clock and day (this occurrence may be on a Feb 28).
        if rearm or repeat.repeat != locked.repeat:
            for name, value in _repeat_fields(due_at, repeat).items():
                setattr(locked, name, value)
        if rearm:
            locked.reminded_at = None
        locked.save()
    return locked


def task_stop_repeating(*, task: Task) -> Task:
    """End a task's series: this occurrence stays, completing it creates no next one."""
    Task.objects.for_workspace(task.workspace).filter(id=task.id).update(
        **_repeat_fields(task.due_at, RepeatRule())
    )
    task.refresh_from_db()
    return task


def task_delete(*, task: Task) -> None:
    """Delete a task (its timeline entries stay). Deleting the open occurrence of a repeating
    task ends the series: there is no other row to create a next one."""
    Task.objects.for_workspace(task.workspace).filter(id=task.id).delete()


def task_complete(*, task: Task, actor: User) -> Task:
    """Mark done; for a repeating task, create the next occurrence. State guard under a row lock
    (SELECT ... FOR UPDATE WHERE completed_at IS NULL): completing twice, even concurrently,
    completes, logs and creates the next occurrence once (Task.previous is also unique)."""
    with transaction.atomic():
        locked = (
            Task.objects.for_workspace(task.workspace)
            .select_for_update()
            .filter(id=task.id, completed_at=None)
            .first()
        )
        if locked is not None:
            locked.completed_at = timezone.now()
            locked.save(update_fields=["completed_at"])
            if locked.contact is not None:
                activity_record(
                    contact=locked.contact,
                    kind=Activity.Kind.TASK_COMPLETED,
                    actor=actor,
                    summary=f"Done: {locked.title}",
                    data={"task_id": locked.id},
                )
            if locked.repeat:
                following = _next_occurrence(locked)
                if following is not None and following.contact is not None:
                    activity_record(
                        contact=following.contact,
                        kind=Activity.Kind.TASK_CREATED,
                        actor=actor,
                        summary=f"Next: {following.title}",
                        data={"task_id": following.id, "due_at": following.due_at.isoformat()},
                    )
        task.refresh_from_db()
    return task


def task_next_occurrence(*, task: Task) -> Task | None:
    """The open occurrence that completing `task` created, if any."""
    return (
        Task.objects.for_workspace(task.workspace)
        .filter(previous=task, completed_at=None)
        .select_related("contact")
        .first()
    )


def _next_occurrence(done: Task) -> Task | None:
    assert done.completed_at is not None
    assert done.repeat_time is not None
    due_at = next_due_at(
        due_at=done.due_at,
        repeat=done.repeat,
        time_zone=done.repeat_time_zone,
        wall_time=done.repeat_time,
        anchor_day=done.repeat_day,
        after=done.completed_at,
    )
    if due_at is None:
        return None
    return Task.objects.create(
        workspace=done.workspace,
        contact=done.contact,
        assigned_to=done.assigned_to,
        title=done.title,
        due_at=due_at,
        repeat=done.repeat,
        repeat_time_zone=done.repeat_time_zone,
        repeat_time=done.repeat_time,
        repeat_day=done.repeat_day,
        previous=done,
    )


# --- delete, restore and "Recently deleted" ----------------------------------------------------
def undo_window_start() -> datetime:
    """Contacts deleted at or after this moment can still be restored."""
    return timezone.now() - timedelta(hours=settings.CONTACT_UNDO_HOURS)


def contacts_delete(*, workspace: Workspace, ids: list[int], actor: User | None) -> list[int]:
    """Soft-delete the workspace's live contacts among `ids` (ids of another workspace are
    ignored), recording who deleted them: they leave every list at once, show in "Recently
    deleted" and can be restored for CONTACT_UNDO_HOURS, after which the hourly purge erases
    them. Returns the ids deleted. No external side effects."""
    with transaction.atomic():
        contacts = Contact.objects.for_workspace(workspace)
        live = contacts.live().filter(id__in=ids)
        deleted = list(live.select_for_update().values_list("id", flat=True))
        Contact.objects.for_workspace(workspace).filter(id__in=deleted).update(
            deleted_at=timezone.now(), deleted_by=actor
        )
    return deleted


def contacts_recently_deleted(workspace: Workspace) -> ContactQuerySet:
    """The workspace's deleted contacts that can still be restored, newest delete first, with
    who deleted them. Merged contacts are not here: a merge is undone from its own page."""
    return (
        Contact.objects.for_workspace(workspace)
        .filter(deleted_at__gte=undo_window_start(), merged_into=None)
        .select_related("deleted_by")
        .annotate(
            restorable_until=ExpressionWrapper(
                F("deleted_at") + timedelta(hours=settings.CONTACT_UNDO_HOURS),
                output_field=DateTimeField(),
            )
        )
        .order_by("-deleted_at", "-id")
    )


def contacts_restore(
    *, workspace: Workspace, ids: Iterable[int], actor: User | None = None
) -> list[int]:
    """Undo a delete of the workspace's contacts among `ids` deleted less than
    CONTACT_UNDO_HOURS ago: they come back with everything they had (emails, phones, tags, notes,
    tasks, timeline), and each gets a "Restored" timeline entry. Returns the ids restored (none
    once the window has passed, for a live contact or another workspace's). No external side
    effects."""
    ids = list(ids)
    with transaction.atomic():
        contacts = Contact.objects.for_workspace(workspace)
        restoring = list(
            contacts.filter(id__in=ids, deleted_at__gte=undo_window_start(), merged_into=None)
            .select_for_update()
            .values_list("id", flat=True)
        )
        if not restoring:
            return []
        contacts.filter(id__in=restoring).update(deleted_at=None, deleted_by=None)
        # Bookkeeping, not a touch with the lead: last_activity_at is left alone, so a restored
        # contact is exactly as stale as before its delete.
        Activity.objects.for_workspace(workspace).bulk_create(
            Activity(
                workspace=workspace,
                contact_id=contact_id,
                kind=Activity.Kind.RESTORED,
                actor=actor,
                summary="Restored from Recently deleted",
            )
            for contact_id in restoring
        )
    return restoring


# --- bulk actions (the contact list) -------------------------------------------------------------
# Each returns what it changed, per contact, so that a bulk job can record its undo.
def _live_contact_ids(workspace: Workspace, ids: Iterable[int]) -> list[int]:
    """The ids among `ids` of the workspace's live contacts: every bulk action starts here, so an
    id of another workspace, or of a deleted or merged contact, does nothing."""
    contacts = Contact.objects.for_workspace(workspace)
    return list(contacts.live().filter(id__in=list(ids)).values_list("id", flat=True))


def contacts_bulk_tag(*, workspace: Workspace, ids: Iterable[int], tag_name: str) -> list[int]:
    """Add the tag `tag_name` (created if the workspace has none by that name, any case) to the
    workspace's live contacts among `ids`. Returns the ids of the contacts that gained it. Raises
    ValueError for a blank name."""
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
    return added


def contacts_bulk_untag(*, workspace: Workspace, ids: Iterable[int], tag_name: str) -> list[int]:
    """Remove the workspace's tag named `tag_name` (any case) from its live contacts among `ids`.
    The tag itself is kept. Returns the ids of the contacts that lost it (none if there is no
    such tag)."""
    tag = Tag.objects.for_workspace(workspace).filter(name__iexact=tag_name.strip()).first()
    if tag is None:
        return []
    ContactTag = Contact.tags.through
    with transaction.atomic():
        contact_ids = _live_contact_ids(workspace, ids)
        links = ContactTag.objects.filter(tag_id=tag.id, contact_id__in=contact_ids)
        removed = list(links.values_list("contact_id", flat=True))
        links.delete()
    return removed


def contacts_bulk_set_stage(
    *, workspace: Workspace, ids: Iterable[int], stage: PipelineStage, actor: User | None
) -> dict[int, int]:
    """Move the workspace's live contacts among `ids` to `stage`, logging "Stage: A → B" on each
    moved contact's timeline (as contact_update does) and bumping its last activity. Contacts
    already in the stage are left alone. Returns {moved contact id: its previous stage id}.
    Raises ValueError for a stage of another workspace."""
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
            return {}
        now = timezone.now()
        Contact.objects.for_workspace(workspace).filter(id__in=[c.id for c in moving]).update(
            stage=stage, last_activity_at=Greatest(F("last_activity_at"), Value(now))
        )
        Activity.objects.for_workspace(workspace).bulk_create(
            Activity(
                workspace=workspace,
                contact=contact,
                kind=Activity.Kind.STAGE_CHANGED,
                actor=actor,
                occurred_at=now,
                summary=f"Stage: {contact.stage.name} → {stage.name}",
                data={"from": contact.stage_id, "to": stage.id},
            )
            for contact in moving
        )
    return {contact.id: contact.stage_id for contact in moving}


def contacts_bulk_assign(
    *, workspace: Workspace, ids: Iterable[int], assignee: User | None
) -> dict[int, int | None]:
    """Assign the workspace's live contacts among `ids` to `assignee`, a member of the workspace
    (None: unassign). Returns {contact id that changed hands: its previous assignee's id or
    None}. Raises ValueError if `assignee` is not a member of the workspace."""
    if (
        assignee is not None
        and not Membership.objects.filter(workspace=workspace, user=assignee).exists()
    ):
        raise ValueError("Contacts can only be assigned to a member of the workspace.")
    with transaction.atomic():
        changing = (
            Contact.objects.for_workspace(workspace)
            .live()
            .filter(id__in=list(ids))
            .exclude(assigned_to=assignee)
        )
        previous: dict[int, int | None] = dict(
            changing.select_for_update().values_list("id", "assigned_to_id")
        )
        Contact.objects.for_workspace(workspace).filter(id__in=list(previous)).update(
            assigned_to=assignee
        )
    return previous


def contacts_purge_deleted(*, batch_size: int = 500) -> int:
    """Erase for good every contact deleted more than CONTACT_UNDO_HOURS ago, in every workspace,
    `batch_size` contacts per transaction (their emails, phones, notes, tasks, timeline and links
    go with them through the foreign keys' CASCADE). Safe to run twice or concurrently: each batch
    re-checks deleted_at when it deletes, so a contact restored meanwhile is kept. Returns how many
    contacts were erased."""
    cutoff = undo_window_start()
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
