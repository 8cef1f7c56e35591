"""Duplicates and merging: merge one contact into another, undo a merge, dismiss a flag.

A merge moves every row that points at the merged contact (found from the model graph, so
records added by later features, such as messages or appointments, move too) to the survivor and
records their ids, so `merge_undo` can move exactly those rows back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.tenancy import TenantModel
from contacts.consent import consents_merge, consents_merge_undo
from contacts.models import Activity, Contact, DuplicateFlag, Merge
from contacts.normalize import phone_display
from contacts.services import activity_record, contact_refresh_search


class MergeError(ValueError):
    """The merge (or its undo) is not possible; the message says why, for a person."""


# --- access --------------------------------------------------------------------------------------
def access_duplicate_flag(workspace: Workspace, flag_id: int | str) -> DuplicateFlag:
    return DuplicateFlag.objects.for_workspace(workspace).get_or_404("duplicate", id=flag_id)


def access_merge(workspace: Workspace, merge_id: int | str) -> Merge:
    merges = Merge.objects.for_workspace(workspace).select_related("survivor", "merged")
    return merges.get_or_404("merge", id=merge_id)


def duplicate_dismiss(*, flag: DuplicateFlag) -> DuplicateFlag:
    """Mark a pair as not duplicates; it leaves the duplicates page. No other side effects."""
    DuplicateFlag.objects.for_workspace(flag.workspace).filter(id=flag.id).update(
        status=DuplicateFlag.Status.DISMISSED
    )
    flag.status = DuplicateFlag.Status.DISMISSED
    return flag


# --- what the agent chooses ----------------------------------------------------------------------
# Fields the agent picks a side for. Budget is one choice (both bounds) so that the range stays
# valid; custom fields are chosen key by key ("custom:<key>").
CHOICE_FIELDS: list[tuple[str, str]] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("stage", "Stage"),
    ("source", "Source"),
    ("assigned_to", "Assigned to"),
    ("role", "Buyer / seller"),
    ("budget", "Budget"),
    ("timeframe", "Timeframe"),
    ("next_follow_up_on", "Next follow-up"),
]
# Consent is not chosen: contacts.consent.consents_merge keeps both histories, the harsher state.
CUSTOM_PREFIX = "custom:"
SURVIVOR, MERGED = "survivor", "merged"
# The survivor's fields a merge can change, recorded before it so that undo can restore them.
# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
SNAPSHOT_FIELDS = (
    "first_name", "last_name", "stage", "source", "assigned_to", "role", "budget_min", "budget_max",
    "timeframe", "custom_fields", "next_follow_up_on", "consent_email", "consent_sms",
    "consent_instagram", "last_contacted_at", "last_activity_at",
)  # fmt: skip


@dataclass
class FieldChoice:
    """One field on which the two contacts differ, as the merge page shows it."""

    name: str
    label: str
    survivor_value: str
    merged_value: str
    default: str  # SURVIVOR or MERGED


def _display(contact: Contact, name: str) -> str:
    if _is_empty(_value(contact, name)):
        return ""
    if name.startswith(CUSTOM_PREFIX):
        value = (contact.custom_fields or {}).get(name.removeprefix(CUSTOM_PREFIX))
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, int | float):  # a number field: 54298 reads 54,298
            return (
                f"{value:,}"
                if isinstance(value, float) and not value.is_integer()
                else f"{int(value):,}"
            )
        return "" if value is None else str(value)
    if name == "budget":
        low, high = contact.budget_min, contact.budget_max
        if low is None and high is None:
            return ""
        # Worded as on the contact page: "$450,000 to $600,000", "$450,000 and up", "up to $54,298".
        if high is None:
            return f"${low:,} and up"
        if low is None:
            return f"up to ${high:,}"
        return f"${low:,} to ${high:,}"
    if name == "assigned_to":
        user = contact.assigned_to
        return user.get_full_name() or user.email if user else ""
    if name.startswith("consent_"):
        return "Yes" if getattr(contact, name) else "No"
    if name == "next_follow_up_on":
        value = contact.next_follow_up_on
        return value.strftime("%b %-d, %Y") if value else ""
    display = getattr(contact, f"get_{name}_display", None)
    return str(display() if display else getattr(contact, name) or "")


def _value(contact: Contact, name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (contact.custom_fields or {}).get(name.removeprefix(CUSTOM_PREFIX))
    if name == "budget":
        return (contact.budget_min, contact.budget_max)
    return getattr(contact, _field(name).attname)


def merge_field_choices(
    *, survivor: Contact, merged: Contact, labels: dict[str, str] | None = None
) -> list[FieldChoice]:
    """The fields on which the contacts differ. Each defaults to the survivor's value, unless the
    survivor has none and the merged contact has one (a merge never drops a value by default).
    `labels` names custom fields by key."""
    keys = sorted({*(survivor.custom_fields or {}), *(merged.custom_fields or {})})
    names = [
        *CHOICE_FIELDS,
        *(
            (f"{CUSTOM_PREFIX}{k}", (labels or {}).get(k, k.replace("_", " ").capitalize()))
            for k in keys
        ),
    ]
    choices = []
    for name, label in names:
        mine, theirs = _value(survivor, name), _value(merged, name)
        if mine == theirs:
            continue
        default = MERGED if _is_empty(mine) and not _is_empty(theirs) else SURVIVOR
        choices.append(
            FieldChoice(name, label, _display(survivor, name), _display(merged, name), default)
        )
    return choices


def _is_empty(value: Any) -> bool:
    return value in (None, "", (None, None))


def _field(name: str) -> models.Field[Any, Any]:
    field = Contact._meta.get_field(name)
    assert isinstance(field, models.Field)  # a concrete field, never a reverse relation
    return field


# --- the related rows ----------------------------------------------------------------------------
# Relations a merge does not move: the merge records and flags describe the pair itself, and
# merged_into points from a merged contact to its survivor.
_NOT_MOVED = {"contacts.DuplicateFlag", "contacts.Merge", "contacts.Contact"}


def _relations() -> Iterator[tuple[type[models.Model], models.ForeignKey[Any, Any]]]:
    """Every (model, foreign key) pointing at Contact, hidden ones (the tags' through table)
    included."""
    for rel in Contact._meta.get_fields(include_hidden=True):
        if (
            rel.is_relation
            and rel.auto_created
            and not rel.concrete
            and (rel.one_to_many or rel.one_to_one)
            and rel.related_model._meta.label not in _NOT_MOVED  # type: ignore[union-attr]
        ):
            yield rel.related_model, rel.field  # type: ignore[misc, union-attr]


def _rows_of(model: type[models.Model], workspace: Workspace) -> models.QuerySet[Any]:
    if issubclass(model, TenantModel):
        return model.objects.for_workspace(workspace)
    # Not a tenant model (the tags' through table): rows are reached through their contact.
    return model._default_manager.all()


def _unique_sets(model: type[models.Model], fk: models.ForeignKey[Any, Any]) -> list[list[str]]:
    """For each unique constraint that includes the contact, its other fields: a row can move
    only if the survivor has no row with the same values for them."""
    sets = [list(fields) for fields in model._meta.unique_together if fk.name in fields]
    sets += [
        list(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and fk.name in c.fields
    ]
    if fk.unique:
        sets.append([fk.name])
    return [[f for f in fields if f != fk.name] for fields in sets]


def _move(
    model: type[models.Model], fk: models.ForeignKey[Any, Any], source: Contact, target: Contact
) -> list[int]:
    """Move source's rows of `model` to target (skipping rows target already has an equal of);
    the ids moved."""
    rows = _rows_of(model, source.workspace)
    mine = rows.filter(**{fk.name: source})
    sets = _unique_sets(model, fk)
    if sets:
        columns = sorted({f for fields in sets for f in fields})
        taken = [
            {tuple(r[f] for f in fields) for r in rows.filter(**{fk.name: target}).values(*columns)}
            for fields in sets
        ]
        ids = [
            r["pk"]
            for r in mine.values("pk", *columns)
            if not any(
                tuple(r[f] for f in fields) in t for fields, t in zip(sets, taken, strict=True)
            )
        ]
    else:
        ids = list(mine.values_list("pk", flat=True))
    if ids:
        rows.filter(pk__in=ids).update(**{fk.name: target})
    return ids


# --- snapshot of the survivor --------------------------------------------------------------------
def _snapshot(contact: Contact) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in SNAPSHOT_FIELDS:
        attname = _field(name).attname
        value = getattr(contact, attname)
        if isinstance(value, date | datetime):
            value = value.isoformat()
        elif isinstance(value, dict):
            value = dict(value)
        out[attname] = value
    return out


def _restore(contact: Contact, snapshot: dict[str, Any]) -> list[str]:
    fields = []
    for attname, value in snapshot.items():
        field = _field(attname.removesuffix("_id"))
        setattr(contact, field.attname, None if value is None else field.to_python(value))
        fields.append(field.name)
    return fields


# --- merge and undo ------------------------------------------------------------------------------
def contact_merge(
    *, survivor: Contact, merged: Contact, choices: dict[str, str], actor: User | None
) -> Merge:
    """Merge `merged` into `survivor`, in one transaction.

    Every row pointing at `merged` moves to the survivor (emails and phones it does not have yet,
    notes, tasks, timeline, property links, tags, and any later feature's records), `choices`
    (field name -> "survivor" | "merged") picks each differing value, `merged` is hidden
    (merged_into), the pair's duplicate flag is resolved, a "merged" entry is added to the
    timeline and the search fields are refreshed. Everything needed to undo it is recorded on the
    returned Merge. Raises MergeError (same contact, another workspace, already merged).
    """
    if survivor.id == merged.id:
        raise MergeError("A contact can't be merged with itself.")
    if survivor.workspace_id != merged.workspace_id:
        raise MergeError("These contacts belong to different workspaces.")
    unknown = {
        n for n in choices if n not in dict(CHOICE_FIELDS) and not n.startswith(CUSTOM_PREFIX)
    }
    if unknown:
        raise MergeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    ws = survivor.workspace
    with transaction.atomic():
        locked = {
            c.id: c
            for c in Contact.objects.for_workspace(ws)
            .select_for_update()
            .filter(id__in=[survivor.id, merged.id], deleted_at=None, merged_into=None)
            .order_by("id")
        }
        if len(locked) != 2:
            raise MergeError("One of these contacts was deleted or already merged.")
        survivor, merged = locked[survivor.id], locked[merged.id]
        before = _snapshot(survivor)
        moved: dict[str, list[int]] = {}
        unset_primary: dict[str, list[int]] = {}
        for model, fk in _relations():
            label = model._meta.label
            ids = _move(model, fk, merged, survivor)
            if ids:
                moved[label] = ids
            if ids and any(f.name == "is_primary" for f in model._meta.fields):
                # The survivor keeps its own primary email and phone.
                rows = _rows_of(model, ws).filter(pk__in=ids, is_primary=True)
                unset_primary[label] = list(rows.values_list("pk", flat=True))
                rows.update(is_primary=False)
        consent_undo = consents_merge(survivor=survivor, merged=merged)
        _apply_choices(survivor, merged, choices)
        survivor.last_contacted_at = max(
            (d for d in (survivor.last_contacted_at, merged.last_contacted_at) if d), default=None
        )
        survivor.last_activity_at = max(survivor.last_activity_at, merged.last_activity_at)
        survivor.save()
        Contact.objects.for_workspace(ws).filter(id=merged.id).update(merged_into=survivor)
        flag = _pair_flag(survivor, merged)
        merge = Merge.objects.create(
            workspace=ws, survivor=survivor, merged=merged, actor=actor, survivor_before=before
        )
        activity = activity_record(
            contact=survivor,
            kind=Activity.Kind.MERGED,
            actor=actor,
            summary=f"Merged {merged.name} into this contact",
            data={"merge_id": merge.id, "merged_id": merged.id},
        )
        merge.moved = {
            "rows": moved,
            "unset_primary": unset_primary,
            "activity_id": activity.id,
            "flag": {"id": flag.id, "status": flag.status} if flag else None,
            "consent": consent_undo,
        }
        merge.save(update_fields=["moved"])
        if flag is not None:
            DuplicateFlag.objects.for_workspace(ws).filter(id=flag.id).update(
                status=DuplicateFlag.Status.MERGED
            )
        contact_refresh_search(contact=survivor)
        contact_refresh_search(contact=merged)
    return merge


def _pair_flag(one: Contact, other: Contact) -> DuplicateFlag | None:
    a, b = sorted((one.id, other.id))
    return (
        DuplicateFlag.objects.for_workspace(one.workspace)
        .filter(contact_a_id=a, contact_b_id=b)
        .first()
    )


def _apply_choices(survivor: Contact, merged: Contact, choices: dict[str, str]) -> None:
    custom = dict(survivor.custom_fields or {})
    for name, side in choices.items():
        if side != MERGED:
            continue
        if name == "budget":
            survivor.budget_min, survivor.budget_max = merged.budget_min, merged.budget_max
        elif name.startswith(CUSTOM_PREFIX):
            key = name.removeprefix(CUSTOM_PREFIX)
            if key in (merged.custom_fields or {}):
                custom[key] = merged.custom_fields[key]
            else:
                custom.pop(key, None)
        else:
            attname = _field(name).attname
            setattr(survivor, attname, getattr(merged, attname))
    survivor.custom_fields = custom


def merge_undo(*, merge: Merge, actor: User | None) -> bool:
    """Undo a merge: every recorded row moves back, the survivor's fields are restored, the
    merged contact reappears, the duplicate flag is reopened and the "merged" timeline entry is
    removed. Undoing twice does nothing (returns False the second time). Raises MergeError when
    the survivor has since been merged into another contact (undo that merge first)."""
    ws = merge.workspace
    with transaction.atomic():
        merge = Merge.objects.for_workspace(ws).select_for_update().get(id=merge.id)
        if merge.undone_at is not None:
            return False
        contacts = {
            c.id: c
            for c in Contact.objects.for_workspace(ws)
            .select_for_update()
            .filter(id__in=[merge.survivor_id, merge.merged_id])
            .order_by("id")
        }
        survivor, merged = contacts[merge.survivor_id], contacts[merge.merged_id]
        if survivor.merged_into_id is not None:
            raise MergeError(
                f"{survivor.name} was merged into another contact since; undo that merge first."
            )
        relations = {model._meta.label: (model, fk) for model, fk in _relations()}
        for label, ids in merge.moved.get("rows", {}).items():
            model, fk = relations.get(label) or (apps.get_model(label), None)
            name = fk.name if fk is not None else "contact"
            _rows_of(model, ws).filter(pk__in=ids, **{name: survivor}).update(**{name: merged})
        for label, ids in merge.moved.get("unset_primary", {}).items():
            _rows_of(apps.get_model(label), ws).filter(pk__in=ids).update(is_primary=True)
        if merge.moved.get("activity_id"):
            Activity.objects.for_workspace(ws).filter(id=merge.moved["activity_id"]).delete()
        flag = merge.moved.get("flag")
        if flag:
            DuplicateFlag.objects.for_workspace(ws).filter(id=flag["id"]).update(
                status=flag["status"]
            )
        survivor.save(update_fields=[*_restore(survivor, merge.survivor_before), "updated_at"])
        Contact.objects.for_workspace(ws).filter(id=merged.id).update(merged_into=None)
        merged.merged_into = None
        consents_merge_undo(survivor=survivor, merged=merged, undo=merge.moved.get("consent") or {})
        contact_refresh_search(contact=survivor)
        contact_refresh_search(contact=merged)
        merge.undone_at = timezone.now()
        merge.save(update_fields=["undone_at"])
    return True


@dataclass
class MergeSide:
    """What the merge page shows of one contact."""

    contact: Contact
    emails: list[str]
    phones: list[str]
    tags: list[str]
    counts: dict[str, int]  # "singular,plural" noun -> how many (the template's `counted` filter)


def merge_sides(*, survivor: Contact, merged: Contact) -> tuple[MergeSide, MergeSide]:
    """Both contacts' emails, phones, tags and how many notes, tasks, timeline entries and
    property links each has (what the merge will bring together)."""
    return _side(survivor), _side(merged)


def _side(contact: Contact) -> MergeSide:
    counts = {
        "note": contact.notes.count(),
        "task": contact.tasks.count(),
        "timeline entry,timeline entries": contact.activities.count(),
        "property,properties": contact.property_links.count(),
    }
    return MergeSide(
        contact=contact,
        emails=[e.email for e in contact.emails.all()],
        phones=[phone_display(p.e164) for p in contact.phones.all()],
        tags=[t.name for t in contact.tags.all()],
        counts={label: n for label, n in counts.items() if n},
    )
