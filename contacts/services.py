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

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    DuplicateFlag,
    LeadSource,
    Note,
    PipelineStage,
    Source,
    Tag,
    Task,
)
from contacts.normalize import normalize_email, phone_display, search_text_for
from contacts.pipeline.services import default_stage, lead_source_for_key


# --- access --------------------------------------------------------------------------------------
def access_contact(
    workspace: Workspace, contact_id: int | str, *, include_deleted: bool = False
) -> Contact:
    """The workspace's contact with this id, or Http404 (also for another workspace's id)."""
    qs = Contact.objects.for_workspace(workspace)
    if not include_deleted:
        qs = qs.live()
    return qs.select_related("stage", "assigned_to", "source").get_or_404("contact", id=contact_id)


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
            summary=f"Added from {contact.get_source_display() or 'no source'}",
        )
        if flag_duplicates:
            duplicates_flag(contact=contact)
    return contact


# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
EDITABLE_FIELDS = (
    "first_name", "last_name", "stage", "source", "assigned_to", "role", "budget_min", "budget_max",
    "timeframe", "custom_fields", "next_follow_up_on", "consent_email", "consent_sms", "consent_instagram",
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
                contact=contact,
                kind=Activity.Kind.TASK_CREATED,
                actor=actor,
                summary=f"Task: {task.title}",
                data={"task_id": task.id, "due_at": due_at.isoformat()},
            )
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
