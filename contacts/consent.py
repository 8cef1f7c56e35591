"""A contact's consent per channel (ConsentEvent history, Consent state, Contact.consent_<channel>).

`consent_record` is the only writer: it appends the event, moves the state when the event says
so, and keeps the contact's boolean mirror in step, in one transaction. Channels (SMS keywords,
Twilio's 21610, Instagram's window) and people (the contact form, imports) all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from alt.accounts.models import User
from contacts.models import Consent, ConsentEvent, Contact

if TYPE_CHECKING:
    from alt.accounts.models import Workspace

# What each event does to the state; events not listed (HELP, a window opening, a bounce) are
# history only.
_STATE_AFTER: dict[str, str] = {
    ConsentEvent.Kind.OPT_IN: Consent.State.OPTED_IN,
    ConsentEvent.Kind.START: Consent.State.OPTED_IN,
    ConsentEvent.Kind.OPT_OUT: Consent.State.OPTED_OUT,
    ConsentEvent.Kind.STOP: Consent.State.OPTED_OUT,
    ConsentEvent.Kind.CARRIER_BLOCKED: Consent.State.OPTED_OUT,
}

# Contact's boolean mirror of each channel's state.
_MIRROR = {
    Consent.Channel.SMS: "consent_sms",
    Consent.Channel.INSTAGRAM: "consent_instagram",
    Consent.Channel.EMAIL: "consent_email",
}


def consent_record(
    contact: Contact,
    channel: str,
    kind: str,
    *,
    address: str = "",
    detail: str = "",
    by: User | None = None,
) -> Consent:
    """Record `kind` for the contact on `channel` and return its consent, state moved as the event
    says. `detail` is the person-readable source ("Texted STOP", "Ticked on the contact form")."""
    now = timezone.now()
    with transaction.atomic():
        consent, _ = Consent.objects.for_workspace(contact.workspace).get_or_create(
            contact=contact, channel=channel, defaults={"workspace": contact.workspace}
        )
        consent = (
            Consent.objects.for_workspace(contact.workspace).select_for_update().get(pk=consent.pk)
        )
        ConsentEvent.objects.create(
            workspace=contact.workspace,
            consent=consent,
            kind=kind,
            address=address[:254],
            detail=detail[:300],
            by=by,
            at=now,
        )
        new_state = _STATE_AFTER.get(kind)
        if new_state is not None:
            consent.state = new_state
            consent.source = (detail or ConsentEvent.Kind(kind).label)[:200]
            if new_state == Consent.State.OPTED_IN:
                consent.opted_in_at = now
            else:
                consent.opted_out_at = now
            consent.updated_at = now
            consent.save(
                update_fields=["state", "source", "opted_in_at", "opted_out_at", "updated_at"]
            )
            field = _MIRROR[Consent.Channel(channel)]
            Contact.objects.for_workspace(contact.workspace).filter(pk=contact.pk).update(
                **{field: new_state == Consent.State.OPTED_IN}
            )
            setattr(contact, field, new_state == Consent.State.OPTED_IN)
    return consent


def sms_refusal(contact: Contact | None) -> str:
    """Why an SMS to this contact must not be sent (plain words), or "" when it may be.

    Opted out (STOP, 21610) refuses every text, a person's too: carriers require it. Automated
    texts (reminders, bulk) additionally need agreement; `automated=True` callers check
    `contact.consent_sms` themselves through `sms_automated_refusal`."""
    if contact is None:
        return ""
    state = (
        Consent.objects.for_workspace(contact.workspace)
        .filter(contact=contact, channel=Consent.Channel.SMS)
        .values_list("state", flat=True)
        .first()
    )
    if state == Consent.State.OPTED_OUT:
        return (
            "This contact opted out of text messages (they texted STOP). "
            "Nothing is sent until they text START."
        )
    return ""


def sms_automated_refusal(contact: Contact | None) -> str:
    """Why an automated text (a reminder, a bulk send) must not go to this contact, or ""."""
    if contact is None:
        return "No contact is linked to this number."
    refusal = sms_refusal(contact)
    if refusal:
        return refusal
    if not contact.consent_sms:
        return "This contact has not agreed to text messages."
    return ""


# --- reading it back: the contact page ----------------------------------------------------------
HISTORY_SHOWN = 20
# The opt-outs a person on our side may not undo with a tick alone: carriers require the START.
_THEIR_OPT_OUTS = (ConsentEvent.Kind.STOP, ConsentEvent.Kind.CARRIER_BLOCKED)


@dataclass(frozen=True)
class ChannelConsent:
    """One channel's consent as the contact page shows it: the state, what last changed it, and
    the newest HISTORY_SHOWN events (`older` more not shown)."""

    channel: str
    label: str
    state: str
    source: str
    opted_in_at: datetime | None
    opted_out_at: datetime | None
    last_change: ConsentEvent | None
    history: list[ConsentEvent]
    older: int


def consent_overview(
    contact: Contact, *, workspace: Workspace | None = None
) -> list[ChannelConsent]:
    """SMS, Instagram and email consent of `contact` (a channel never recorded: "Not asked"), in
    one query whatever the history's length: each channel's newest HISTORY_SHOWN events with their
    consent and its event count (a Consent exists only from its first event). `workspace`: the
    contact's, when the caller has it loaded already."""
    # Plain SQL: the ORM's compile of two window annotations cost more than the query itself,
    # on the page every agent opens most (issue 9's contact page budget).
    consent_table, event_table = Consent._meta.db_table, ConsentEvent._meta.db_table
    user_table = User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.id, e.kind, e.address, e.detail, e.at, e.by_id, u.full_name, u.email,
                   c.id, c.channel, c.state, c.source, c.opted_in_at, c.opted_out_at, e.total
            FROM (SELECT ev.*, row_number() OVER w AS rank, count(*) OVER (PARTITION BY
                         ev.consent_id) AS total
                  FROM {event_table} ev JOIN {consent_table} cs ON cs.id = ev.consent_id
                  WHERE ev.workspace_id = %s AND cs.contact_id = %s
                  WINDOW w AS (PARTITION BY ev.consent_id ORDER BY ev.at DESC, ev.id DESC)) e
            JOIN {consent_table} c ON c.id = e.consent_id
            LEFT JOIN {user_table} u ON u.id = e.by_id
            WHERE e.rank <= %s
            ORDER BY e.consent_id, e.at DESC, e.id DESC
            """,  # noqa: S608 (table names are ours; values are bound)
            [(workspace or contact.workspace).id, contact.id, HISTORY_SHOWN],
        )
        rows = cursor.fetchall()
    history: dict[str, list[ConsentEvent]] = {}
    consents: dict[str, Consent] = {}
    totals: dict[str, int] = {}
    for (eid, kind, address, detail, at, by_id, by_name, by_email,
         cid, channel, state, source, opted_in_at, opted_out_at, total) in rows:  # fmt: skip
        consent = consents.get(channel)
        if consent is None:
            consent = consents[channel] = Consent(
                id=cid, contact_id=contact.id, channel=channel, state=state, source=source,
                opted_in_at=opted_in_at, opted_out_at=opted_out_at,
            )  # fmt: skip
            totals[channel] = total
        event = ConsentEvent(
            id=eid, consent_id=cid, kind=kind, address=address, detail=detail, at=at, by_id=by_id
        )
        event.by = User(id=by_id, full_name=by_name, email=by_email) if by_id else None
        history.setdefault(channel, []).append(event)
    overview = []
    for channel in (Consent.Channel.SMS, Consent.Channel.INSTAGRAM, Consent.Channel.EMAIL):
        events = history.get(channel, [])
        consent = consents.get(channel)
        overview.append(
            ChannelConsent(
                channel=channel,
                label=str(channel.label),
                state=consent.state if consent else Consent.State.UNKNOWN,
                source=consent.source if consent else "",
                opted_in_at=consent.opted_in_at if consent else None,
                opted_out_at=consent.opted_out_at if consent else None,
                last_change=next((e for e in events if e.kind in _STATE_AFTER), None),
                history=events,
                older=max(totals.get(channel, 0) - len(events), 0),
            )
        )
    return overview


def sms_opt_out_by_them(contact: Contact) -> ConsentEvent | None:
    """The STOP (or the carrier's 21610) that opted the contact out of SMS, when that is the
    current state: ticking "Agreed to SMS" then needs an explicit confirmation. None otherwise."""
    consent = (
        Consent.objects.for_workspace(contact.workspace)
        .filter(contact=contact, channel=Consent.Channel.SMS)
        .first()
    )
    if consent is None or consent.state != Consent.State.OPTED_OUT:
        return None
    last = (
        ConsentEvent.objects.for_workspace(contact.workspace)
        .filter(consent=consent, kind__in=list(_STATE_AFTER))
        .order_by("-at", "-id")
        .first()
    )
    return last if last is not None and last.kind in _THEIR_OPT_OUTS else None


# --- many at once: imports and merges -----------------------------------------------------------
def consent_record_bulk(
    contacts: Sequence[Contact], channel: str, kind: str, *, detail: str, by: User | None = None
) -> None:
    """`consent_record` for many contacts of one workspace at once (an import): a constant number
    of queries, whatever their count. Same rules: events appended, states moved, the contacts'
    boolean mirror kept in step (on the rows and on the given objects). An agreement skips the
    contacts who opted out of the channel."""
    if not contacts:
        return
    workspace = contacts[0].workspace
    new_state = _STATE_AFTER.get(kind)
    now = timezone.now()
    ids = [c.id for c in contacts]
    with transaction.atomic():
        scoped = Consent.objects.for_workspace(workspace)
        scoped.bulk_create(
            [Consent(workspace=workspace, contact_id=i, channel=channel) for i in ids],
            ignore_conflicts=True,
        )
        consents = list(scoped.select_for_update().filter(contact_id__in=ids, channel=channel))
        if new_state == Consent.State.OPTED_IN:
            # Harsher: an opt-out stands until the contact (START) or a person who confirms it on
            # the contact form says otherwise; a bulk agreement never lifts one.
            consents = [c for c in consents if c.state != Consent.State.OPTED_OUT]
            ids = [c.contact_id for c in consents]
            contacts = [c for c in contacts if c.id in set(ids)]
        ConsentEvent.objects.for_workspace(workspace).bulk_create(
            [
                ConsentEvent(
                    workspace=workspace, consent=c, kind=kind, detail=detail[:300], by=by, at=now
                )
                for c in consents
            ]
        )
        if new_state is None:
            return
        moved: dict[str, object] = {
            "state": new_state,
            "source": (detail or ConsentEvent.Kind(kind).label)[:200],
            "updated_at": now,
        }
        moved["opted_in_at" if new_state == Consent.State.OPTED_IN else "opted_out_at"] = now
        scoped.filter(id__in=[c.id for c in consents]).update(**moved)
        field = _MIRROR[Consent.Channel(channel)]
        agreed = new_state == Consent.State.OPTED_IN
        Contact.objects.for_workspace(workspace).filter(id__in=ids).update(**{field: agreed})
        for contact in contacts:
            setattr(contact, field, agreed)


def consents_merge(*, survivor: Contact, merged: Contact) -> dict[str, Any]:
    """Carry `merged`'s consent over to `survivor` (a merge): a channel only `merged` has a record
    of has already moved with its rows (contacts.merging); for a channel both have, `merged`'s
    events join the survivor's history and the harsher state wins: if either side opted out, the
    survivor is opted out; else either side's agreement counts. Keeps the survivor's mirror.

    Returns what consents_merge_undo needs to put it back (JSON)."""
    workspace = survivor.workspace
    scoped = Consent.objects.for_workspace(workspace)
    events = ConsentEvent.objects.for_workspace(workspace)
    undo: dict[str, Any] = {"events": {}, "before": {}}
    with transaction.atomic():
        mine = {c.channel: c for c in scoped.select_for_update().filter(contact=survivor)}
        for theirs in scoped.select_for_update().filter(contact=merged):
            own = mine.get(theirs.channel)
            if own is None:  # not moved by the caller: nothing to join it to
                continue
            ids = list(events.filter(consent=theirs).values_list("id", flat=True))
            events.filter(id__in=ids).update(consent=own)
            undo["events"][str(theirs.id)] = ids
            if _harsher(own, theirs) is theirs:
                undo["before"][str(own.id)] = {
                    name: _iso(getattr(own, name)) for name in _STATE_FIELDS
                }
                for name in _STATE_FIELDS:
                    setattr(own, name, getattr(theirs, name))
                own.updated_at = timezone.now()
                own.save(update_fields=[*_STATE_FIELDS, "updated_at"])
        consent_mirror_refresh(survivor)
    return undo


def consents_merge_undo(*, survivor: Contact, merged: Contact, undo: dict[str, Any]) -> None:
    """Put back what consents_merge changed: `merged`'s events to its own records, the survivor's
    states as they were; both contacts' mirrors refreshed."""
    workspace = survivor.workspace
    scoped = Consent.objects.for_workspace(workspace)
    with transaction.atomic():
        for consent_id, ids in undo.get("events", {}).items():
            ConsentEvent.objects.for_workspace(workspace).filter(id__in=ids).update(
                consent_id=int(consent_id)
            )
        for consent_id, before in undo.get("before", {}).items():
            values = {
                name: (
                    datetime.fromisoformat(v) if isinstance(v, str) and name.endswith("_at") else v
                )
                for name, v in before.items()
            }
            scoped.filter(id=int(consent_id)).update(**values)
        consent_mirror_refresh(survivor)
        consent_mirror_refresh(merged)


def consent_mirror_refresh(contact: Contact) -> None:
    """Set the contact's boolean mirror of every channel from its Consent records (after rows
    moved between contacts: a merge and its undo)."""
    states = dict(
        Consent.objects.for_workspace(contact.workspace)
        .filter(contact=contact)
        .values_list("channel", "state")
    )
    values = {
        field: states.get(channel) == Consent.State.OPTED_IN for channel, field in _MIRROR.items()
    }
    Contact.objects.for_workspace(contact.workspace).filter(id=contact.id).update(**values)
    for field, value in values.items():
        setattr(contact, field, value)


_STATE_FIELDS = ("state", "source", "opted_in_at", "opted_out_at")


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _harsher(a: Consent, b: Consent) -> Consent:
    order = {Consent.State.OPTED_OUT: 2, Consent.State.OPTED_IN: 1, Consent.State.UNKNOWN: 0}
    return b if order[Consent.State(b.state)] > order[Consent.State(a.state)] else a
