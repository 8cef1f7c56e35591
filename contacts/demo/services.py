"""Realistic demo data: a San Diego agent's workspace, for `manage.py seed_demo` (the `make run`
demo login) and for benchmarks that need tens of thousands of contacts.

Rows are built in Python and written in bulk: contacts, notes and tasks with `bulk_create` in
batches of 2,000 (their ids are needed), emails, phones, tags, property links and timeline entries
with PostgreSQL COPY. Contacts are processed in chunks, so memory stays bounded whatever the size.
The denormalised contact columns stay exactly what contacts.services would write: primary email
and phone, `search_text_for(...)`, and `last_activity_at` = the newest timeline entry.

Phones are fictional: 555-0100..555-0199 in every valid US area code (San Diego's first), which
phonenumbers accepts and which never reach a real person: 38,100 numbers; beyond that they repeat.
Emails use the reserved example.com/.net/.org domains.

Everything comes from one `random.Random` and one Faker seeded from `seed` and what the workspace
already holds, so a run is reproducible and a top-up adds new people rather than the same ones.
"""

from __future__ import annotations

import json
import random
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import Any, NamedTuple

import phonenumbers
from django.db import connection, models, transaction
from django.utils import timezone
from faker import Faker

from alt.accounts.models import Membership, User, Workspace
from alt.accounts.signals import demo_seeded
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    LeadSource,
    Note,
    PipelineStage,
    Property,
    PropertyLink,
    Source,
    Tag,
    Task,
    created_summary,
)
from contacts.normalize import InvalidPhone, phone_to_e164, search_text_for
from contacts.pipeline.services import (
    custom_field_create,
    lead_source_for_key,
    pipeline_create_defaults,
)
from contacts.properties.services import PROPERTY_LINK_SUMMARIES, property_street_line
from contacts.services import ContactInput, contact_create, tags_get_or_create

BATCH = 2_000
DAYS = 90

# (neighborhood, city, ZIP, median price, share of condos)
NEIGHBORHOODS = [
    ("North Park", "San Diego", "92104", 1_050_000, 0.3),
    ("Hillcrest", "San Diego", "92103", 850_000, 0.7),
    ("Mission Hills", "San Diego", "92103", 1_650_000, 0.1),
    ("South Park", "San Diego", "92102", 1_150_000, 0.2),
    ("Normal Heights", "San Diego", "92116", 1_000_000, 0.3),
    ("Kensington", "San Diego", "92116", 1_450_000, 0.05),
    ("University Heights", "San Diego", "92116", 950_000, 0.5),
    ("Point Loma", "San Diego", "92106", 1_750_000, 0.1),
    ("Ocean Beach", "San Diego", "92107", 1_300_000, 0.3),
    ("Pacific Beach", "San Diego", "92109", 1_400_000, 0.4),
    ("Clairemont", "San Diego", "92117", 1_050_000, 0.15),
    ("Bay Park", "San Diego", "92110", 1_250_000, 0.1),
    ("Tierrasanta", "San Diego", "92124", 1_100_000, 0.2),
    ("Mira Mesa", "San Diego", "92126", 950_000, 0.3),
    ("Rancho Bernardo", "San Diego", "92128", 1_200_000, 0.25),
    ("Carmel Valley", "San Diego", "92130", 1_900_000, 0.2),
    ("Little Italy", "San Diego", "92101", 900_000, 0.95),
    ("East Village", "San Diego", "92101", 700_000, 0.95),
    ("Bankers Hill", "San Diego", "92101", 1_000_000, 0.7),
    ("La Jolla", "La Jolla", "92037", 2_600_000, 0.3),
    ("Del Mar", "Del Mar", "92014", 3_200_000, 0.2),
    ("Coronado", "Coronado", "92118", 2_800_000, 0.3),
    ("Encinitas", "Encinitas", "92024", 2_000_000, 0.2),
    ("Chula Vista", "Chula Vista", "91910", 850_000, 0.3),
    ("Escondido", "Escondido", "92025", 800_000, 0.2),
]
# A few real streets of each neighborhood; house numbers are made up.
STREETS = {
    "North Park": ["University Ave", "30th St", "Upas St", "Utah St", "Kansas St"],
    "Hillcrest": ["Fifth Ave", "Robinson Ave", "Park Blvd", "Washington St"],
    "Mission Hills": ["Fort Stockton Dr", "Sunset Blvd", "Juniper St", "Stephens St"],
    "South Park": ["Juniper St", "Grape St", "Fern St", "Beech St"],
    "Normal Heights": ["Adams Ave", "Felton St", "Hawley Blvd", "Madison Ave"],
    "Kensington": ["Marlborough Dr", "Terrace Dr", "Vista St", "Edgeware Rd"],
    "University Heights": ["Park Blvd", "Monroe Ave", "Alabama St", "Florida St"],
    "Point Loma": ["Catalina Blvd", "Rosecrans St", "Talbot St", "Evergreen St"],
    "Ocean Beach": ["Newport Ave", "Voltaire St", "Sunset Cliffs Blvd", "Santa Monica Ave"],
    "Pacific Beach": ["Garnet Ave", "Cass St", "Mission Blvd", "Felspar St", "Reed Ave"],
    "Clairemont": ["Clairemont Dr", "Genesee Ave", "Burgener Blvd", "Balboa Ave"],
    "Bay Park": ["Morena Blvd", "Milton St", "Galveston St"],
    "Tierrasanta": ["Tierrasanta Blvd", "Santo Rd", "Via Valarta"],
    "Mira Mesa": ["Mira Mesa Blvd", "Black Mountain Rd", "Westview Pkwy"],
    "Rancho Bernardo": ["Bernardo Center Dr", "Pomerado Rd", "Rancho Bernardo Rd"],
    "Carmel Valley": ["Del Mar Heights Rd", "Carmel Valley Rd", "El Camino Real"],
    "Little Italy": ["India St", "Kettner Blvd", "Columbia St", "State St"],
    "East Village": ["Market St", "Park Blvd", "J St", "Island Ave"],
    "Bankers Hill": ["Fourth Ave", "Third Ave", "Laurel St", "Maple St"],
    "La Jolla": ["Prospect St", "Girard Ave", "Pearl St", "Nautilus St", "Torrey Pines Rd"],
    "Del Mar": ["Camino Del Mar", "Ocean Ave", "Stratford Ct", "Crest Rd"],
    "Coronado": ["Orange Ave", "Ocean Blvd", "Adella Ave", "Glorietta Blvd"],
    "Encinitas": ["Coast Hwy 101", "Neptune Ave", "Leucadia Blvd", "Santa Fe Dr"],
    "Chula Vista": ["Third Ave", "H St", "Otay Lakes Rd", "E St"],
    "Escondido": ["Grand Ave", "Broadway", "Valley Pkwy", "Citrus Ave"],
}
# The weighted tables and phrase lists below keep several rows to a line (fmt: skip): ruff format
# would give each row its own line and make them five times as long to scan.
PROPERTY_STATUSES = [("active", 45), ("coming_soon", 10), ("pending", 15), ("sold", 20), ("off_market", 10)]  # fmt: skip
TAGS = [
    ("first-time buyer", 22), ("pre-approved", 20), ("relocation", 12), ("investor", 10),
    ("cash buyer", 6), ("downsizing", 8), ("luxury", 6), ("VA loan", 6), ("open house", 10),
]  # fmt: skip
SOURCES = [
    (Source.INSTAGRAM, 25), (Source.WEBSITE, 20), (Source.REFERRAL, 15), (Source.OPEN_HOUSE, 12),
    (Source.SMS, 10), (Source.MANUAL, 13), (Source.IMPORT, 5),
]  # fmt: skip
ROLES = [("buyer", 55), ("seller", 20), ("both", 15), ("", 10)]
TIMEFRAMES = [("now", 25), ("soon", 30), ("later", 20), ("someday", 10), ("", 15)]
DEFAULT_STAGE_WEIGHTS = [30, 22, 14, 10, 6, 8, 10]  # New .. Lost: most leads are early
TIMELINE_KINDS = [
    (Activity.Kind.NOTE, 28), (Activity.Kind.MESSAGE_IN, 18), (Activity.Kind.MESSAGE_OUT, 18),
    (Activity.Kind.TASK_CREATED, 12), (Activity.Kind.APPOINTMENT, 10),
    (Activity.Kind.AI_ACTION, 8), (Activity.Kind.UPDATED, 6),
]  # fmt: skip
NOTES = [
    "Wants a yard for the dog; open to {hood} or nearby.",
    "Pre-approved up to ${price}. Lender is sending the letter this week.",
    "Prefers single-story. Parents may move in next year.",
    "Loved the light at the {hood} showing, worried about street parking.",
    "Lease ends in {month}; needs to close before then.",
    "Selling a condo first, contingent offer likely.",
    "Works downtown, wants under 25 minutes to the office.",
    "Asked about school ratings around {hood}.",
    "Left a voicemail, will try again after 5pm.",
    "Cash offer possible if the price is right. Flexible on close date.",
    "Needs 3 bedrooms minimum, home office is a must.",
    "Met at the {hood} open house; first-time buyer, lots of questions about closing costs.",
]  # fmt: skip
MESSAGES_IN = [
    "Hi! Is the {hood} place still available?", "Can we see it Saturday morning?",
    "What are the HOA fees on that one?", "We'd like to make an offer, what's next?",
    "Thanks for the tour yesterday!", "Any new listings in {hood} under ${price}?",
    "Could you send the disclosures?", "Is there a garage or just street parking?",
]  # fmt: skip
MESSAGES_OUT = [
    "Yes, still available. Want to see it this weekend?",
    "Here are three new listings in {hood} that fit your budget.",
    "Confirming our showing tomorrow at 10am.",
    "Just checking in: any questions after the open house?",
    "The sellers accepted! Sending next steps by email.",
    "Great news, the appraisal came in at value.",
]  # fmt: skip
TASK_TITLES = [
    "Call back about {hood} listings", "Send comps for {hood}", "Follow up after the showing",
    "Ask for the pre-approval letter", "Schedule a listing presentation",
    "Send the disclosure packet", "Check in about the inspection", "Book a second showing",
]  # fmt: skip
AI_LINES = [
    ("AI drafted a follow-up", "Hi {first}, great meeting you! Here are a few homes in {hood} you might like."),
    ("AI summarised the conversation", "Interested in {hood}, budget around ${price}, timeline 3 to 6 months."),
    ("AI suggested a next step", "Offer a second showing and send comparable sales."),
]  # fmt: skip
DEMO_FIELDS = [
    ("Preferred neighborhood", CustomField.Kind.CHOICE, [n[0] for n in NEIGHBORHOODS[:10]]),
    ("Pre-approved amount", CustomField.Kind.NUMBER, []),
    ("Has a dog", CustomField.Kind.YES_NO, []),
    ("Lease ends", CustomField.Kind.DATE, []),
]
CHANNELS = [("instagram", "Instagram DM"), ("sms", "SMS"), ("email", "Email")]
_LOCAL_PART = re.compile(r"[^a-z0-9.]+")


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


SAN_DIEGO_AREA_CODES = ("619", "858", "760", "442")


@cache
def fictional_phones() -> tuple[str, ...]:
    """Every 555-01xx number of every valid US area code, San Diego's area codes first."""
    first = list(SAN_DIEGO_AREA_CODES)
    areas = first + [str(a) for a in range(200, 1000) if str(a) not in first]
    valid = []
    for area in areas:
        try:
            e164 = phone_to_e164(f"+1{area}5550100")
        except InvalidPhone:
            continue
        if area in first or _is_us(e164):
            valid.append(area)
    return tuple(f"+1{area}55501{n:02d}" for area in valid for n in range(100))


def _is_us(e164: str) -> bool:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164)) == "US"


# --- the plan: what a run knows about the workspace ----------------------------------------------
@dataclass
class SeedPlan:
    workspace: Workspace
    owner: User
    teammate: User | None
    stages: list[PipelineStage]
    tags: list[Tag]
    fields: list[CustomField]
    properties: list[tuple[int, str, str]]  # id, street line, status
    rng: random.Random
    fake: Faker
    now: datetime
    today: date
    first_names: list[str]
    last_names: list[str]
    used_emails: set[str]
    phones: Iterator[str]
    stage_weights: list[int] = field(default_factory=list)
    sources: dict[str, LeadSource] = field(default_factory=dict)


@dataclass
class SeedCounts:
    contacts: int = 0
    properties: int = 0
    activities: int = 0
    notes: int = 0
    tasks: int = 0
    links: int = 0

    def add(self, other: SeedCounts) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Entry(NamedTuple):
    """A timeline row to COPY (an Activity without the model instance overhead)."""

    contact: Contact
    kind: str
    occurred_at: datetime
    actor_id: int | None
    summary: str
    body: str
    data: dict[str, Any]


class LinkRow(NamedTuple):
    contact: Contact
    property_id: int
    role: str
    created_at: datetime


@dataclass
class ContactBundle:
    """One contact and everything hanging off it, before any of it has an id."""

    contact: Contact
    emails: list[str]
    phones: list[str]
    tag_ids: list[int]
    notes: list[tuple[Note, Entry]] = field(default_factory=list)
    tasks: list[tuple[Task, list[Entry]]] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    activities: list[Entry] = field(default_factory=list)


def demo_teammate(workspace: Workspace) -> User | None:
    """The workspace's second member, or a demo teammate (agent, no usable password) when the
    owner is alone, so some leads can be assigned to someone else."""
    members = list(
        Membership.objects.filter(workspace=workspace).select_related("user").order_by("id")
    )
    if len(members) > 1:
        return members[1].user
    email = f"sam.teammate.{workspace.id}@agentleadtracker.test"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, None, full_name="Sam Rivera")
    Membership.objects.get_or_create(
        user=user, workspace=workspace, defaults={"role": Membership.Role.AGENT}
    )
    return user


def seed_plan(*, workspace: Workspace, owner: User, seed: int) -> SeedPlan:
    """Load what the workspace already has (stages, tags, fields, properties, used emails and
    phones) and seed the random sources from `seed` and those counts."""
    pipeline_create_defaults(workspace=workspace)
    stages = list(PipelineStage.objects.for_workspace(workspace).order_by("position", "id"))
    tags = tags_get_or_create(workspace=workspace, names=[name for name, _ in TAGS])
    if not CustomField.objects.for_workspace(workspace).exists():
        for label, kind, choices in DEMO_FIELDS:
            custom_field_create(workspace=workspace, label=label, kind=kind, choices=choices)
    fields = list(CustomField.objects.for_workspace(workspace))
    props = list(
        Property.objects.for_workspace(workspace)
        .order_by("id")
        .values_list("id", "street", "unit", "status")
    )
    existing = Contact.objects.for_workspace(workspace).count()
    rng = random.Random(f"{seed}:{existing}:{len(props)}")  # noqa: S311 (demo data, not secrets)
    fake = Faker("en_US")
    fake.seed_instance(rng.randrange(2**31))
    used_phones = set(ContactPhone.objects.for_workspace(workspace).values_list("e164", flat=True))
    pool = [p for p in fictional_phones() if p not in used_phones]
    now = timezone.now()
    return SeedPlan(
        workspace=workspace,
        owner=owner,
        teammate=demo_teammate(workspace),
        stages=stages,
        tags=tags,
        fields=fields,
        rng=rng,
        fake=fake,
        now=now,
        today=timezone.localdate(now, zoneinfo.ZoneInfo(owner.timezone)),
        properties=[
            (pid, property_street_line(Property(street=s, unit=u)), st) for pid, s, u, st in props
        ],
        first_names=[fake.first_name() for _ in range(1500)],
        last_names=[fake.last_name() for _ in range(1500)],
        used_emails=set(
            ContactEmail.objects.for_workspace(workspace).values_list("email", flat=True)
        ),
        phones=_cycle(_phone_order(rng, pool) or list(fictional_phones())),
        stage_weights=_stage_weights(stages),
        sources={key: lead_source_for_key(workspace=workspace, key=key) for key, _w in SOURCES},
    )


def _phone_order(rng: random.Random, pool: list[str]) -> list[str]:
    """Mostly local numbers, with one out-of-area number (a relocation lead) in six."""
    local = [p for p in pool if p[2:5] in SAN_DIEGO_AREA_CODES]
    away = [p for p in pool if p[2:5] not in SAN_DIEGO_AREA_CODES]
    rng.shuffle(local)
    rng.shuffle(away)
    mixed = []
    for i, number in enumerate(local):
        if i % 5 == 4 and away:
            mixed.append(away.pop())
        mixed.append(number)
    return mixed + away


def _cycle(items: list[str]) -> Iterator[str]:
    while True:
        yield from items


def _stage_weights(stages: list[PipelineStage]) -> list[int]:
    if [s.name for s in stages] == [name for name, _ in PipelineStage.DEFAULTS]:
        return DEFAULT_STAGE_WEIGHTS
    open_count = sum(s.outcome == PipelineStage.Outcome.OPEN for s in stages)
    weights, rank = [], 0
    for stage in stages:
        if stage.outcome == PipelineStage.Outcome.OPEN:
            weights.append(max(2, 30 - rank * (25 // max(1, open_count))))
            rank += 1
        else:
            weights.append(8)
    return weights


# --- row builders --------------------------------------------------------------------------------
def build_property(plan: SeedPlan) -> Property:
    """One San Diego listing with a believable price for its neighborhood and size."""
    rng = plan.rng
    hood, city, zip_code, median, condo_share = rng.choice(NEIGHBORHOODS)
    condo = rng.random() < condo_share
    beds = rng.choice([1, 1, 2, 2, 2, 3]) if condo else rng.choice([2, 3, 3, 3, 4, 4, 5])
    sqft = int(rng.uniform(550, 700) * beds + rng.uniform(0, 350)) // 10 * 10
    if not condo:
        sqft += rng.randrange(200, 700, 10)
    baths = Decimal(max(1, beds - rng.choice([1, 0, 0]))) + rng.choice([Decimal(0), Decimal("0.5")])
    typical = 1_100 if condo else 1_750
    # Condos sell at a discount to the neighborhood's (house-led) median.
    price = median * (0.65 if condo else 1) * (sqft / typical) ** 0.8 * rng.uniform(0.85, 1.2)
    price = int(round(price, -4)) - rng.choice([0, 0, 1_000, 10_000])
    created_at = plan.now - timedelta(days=rng.uniform(0, DAYS + 30))
    return Property(
        workspace=plan.workspace,
        street=f"{rng.randrange(100, 9999)} {rng.choice(STREETS[hood])}",
        unit=f"{rng.randrange(1, 30)}{rng.choice('ABCD')}" if condo else "",
        city=city,
        state="CA",
        zip_code=zip_code,
        price=max(price, 100_000),
        beds=beds,
        baths=baths,
        sqft=sqft,
        status=_pick(rng, PROPERTY_STATUSES),
        created_at=created_at,
        mls_number=f"{rng.choice(['24', '25'])}{rng.randrange(10**7):07d}SD",
    )


def build_contact(plan: SeedPlan, activities_per_contact: int) -> ContactBundle:
    """One lead with emails, phones, tags, and about `activities_per_contact` timeline entries
    (created, stage changes, notes, messages, tasks, showings, AI actions), plus links to
    properties and the entries they log."""
    rng, now = plan.rng, plan.now
    first, last = rng.choice(plan.first_names), rng.choice(plan.last_names)
    source = _pick(rng, SOURCES)
    stage_index = rng.choices(range(len(plan.stages)), weights=plan.stage_weights)[0]
    stage = plan.stages[stage_index]
    role = _pick(rng, ROLES)
    created_at = now - timedelta(days=rng.uniform(0.1, DAYS))
    emails = _emails(plan, first, last) if rng.random() < 0.88 else []
    phones = [next(plan.phones) for _ in range(rng.choice([0, 1, 1, 1, 1, 1, 1, 2]))]
    phones = list(dict.fromkeys(phones))
    assignee = _pick(rng, [(plan.owner, 55), (plan.teammate, 30), (None, 15)])
    budget_min = budget_max = None
    if role in ("buyer", "both") and rng.random() < 0.75:
        budget_min = rng.randrange(400_000, 2_500_000, 25_000)
        budget_max = int(budget_min * rng.uniform(1.1, 1.5)) // 25_000 * 25_000
    is_open = stage.outcome == PipelineStage.Outcome.OPEN
    contact = Contact(
        workspace=plan.workspace,
        first_name=first,
        last_name=last,
        stage=stage,
        source=plan.sources[source],
        assigned_to=assignee,
        role=role,
        budget_min=budget_min,
        budget_max=budget_max,
        timeframe=_pick(rng, TIMEFRAMES),
        custom_fields=_custom_values(plan),
        next_follow_up_on=plan.today + timedelta(days=rng.randint(-10, 21))
        if is_open and rng.random() < 0.7
        else None,
        consent_email=bool(emails) and rng.random() < 0.7,
        consent_sms=bool(phones) and rng.random() < 0.6,
        consent_instagram=source == Source.INSTAGRAM,
        primary_email=emails[0] if emails else "",
        primary_phone=phones[0] if phones else "",
        search_text=search_text_for(first, last, emails, phones),
        created_at=created_at,
        last_activity_at=created_at,
    )
    count = rng.randint(2, 3) if rng.random() < 0.5 else rng.randint(0, 1)
    tag_ids = [t.id for t in rng.sample(plan.tags, k=min(count, len(plan.tags)))]
    bundle = ContactBundle(contact=contact, emails=emails, phones=phones, tag_ids=tag_ids)
    _timeline(plan, bundle, stage_index, activities_per_contact)
    _links(plan, bundle)
    every = [*bundle.activities, *(a for _n, a in bundle.notes)]
    every += [a for _t, acts in bundle.tasks for a in acts]
    contact.last_activity_at = max(a.occurred_at for a in every)
    outgoing = [a.occurred_at for a in every if a.kind == Activity.Kind.MESSAGE_OUT]
    contact.last_contacted_at = max(outgoing, default=None)
    return bundle


def _emails(plan: SeedPlan, first: str, last: str) -> list[str]:
    rng = plan.rng
    local = _LOCAL_PART.sub("", f"{first}.{last}".lower()) or "lead"
    domains = ["example.com", "example.net", "example.org"]
    count = 2 if rng.random() < 0.1 else 1
    out: list[str] = []
    while len(out) < count:
        email = f"{local}@{rng.choice(domains)}"
        if email in plan.used_emails:
            email = f"{local}{rng.randrange(2, 10_000)}@{rng.choice(domains)}"
        if email not in plan.used_emails:
            plan.used_emails.add(email)
            out.append(email)
    return out


def _custom_values(plan: SeedPlan) -> dict[str, Any]:
    rng, values = plan.rng, {}
    for f in plan.fields:
        if rng.random() > 0.45:
            continue
        if f.kind == CustomField.Kind.CHOICE and f.choices:
            values[f.key] = rng.choice(f.choices)
        elif f.kind == CustomField.Kind.NUMBER:
            values[f.key] = rng.randrange(400_000, 2_000_000, 25_000)
        elif f.kind == CustomField.Kind.YES_NO:
            values[f.key] = rng.random() < 0.4
        elif f.kind == CustomField.Kind.DATE:
            values[f.key] = (plan.today + timedelta(days=rng.randint(20, 300))).isoformat()
        elif f.kind == CustomField.Kind.TEXT:
            values[f.key] = plan.fake.catch_phrase()
    return values


def _stage_path(plan: SeedPlan, final_index: int) -> list[PipelineStage]:
    """The stages a lead went through to reach its current one, in order."""
    stages, rng = plan.stages, plan.rng
    open_stages = [s for s in stages if s.outcome == PipelineStage.Outcome.OPEN]
    final = stages[final_index]
    if final.outcome == PipelineStage.Outcome.OPEN:
        return open_stages[: open_stages.index(final) + 1]
    reached = (
        len(open_stages)
        if final.outcome == PipelineStage.Outcome.WON
        else rng.randint(1, len(open_stages) or 1)
    )
    return [*open_stages[:reached], final]


def _timeline(plan: SeedPlan, bundle: ContactBundle, stage_index: int, count: int) -> None:
    rng, contact = plan.rng, bundle.contact
    start = contact.created_at
    span = max(1.0, (plan.now - start).total_seconds())
    times = sorted(
        start + timedelta(seconds=rng.uniform(60, span)) for _ in range(max(0, count - 1))
    )
    path = _stage_path(plan, stage_index)
    changes = list(pairwise(path))[-len(times) :] if times else []
    kinds = ["stage"] * len(changes) + [
        _pick(rng, TIMELINE_KINDS) for _ in range(len(times) - len(changes))
    ]
    rng.shuffle(kinds)
    hood, price = rng.choice(NEIGHBORHOODS)[0], f"{rng.randrange(6, 30) * 50_000:,}"
    words = {
        "hood": hood,
        "price": price,
        "first": contact.first_name,
        "month": rng.choice(["March", "June", "August", "October"]),
    }
    actor = contact.assigned_to or plan.owner
    bundle.activities.append(
        _activity(
            plan,
            contact,
            Activity.Kind.CREATED,
            start,
            created_summary(contact.source),
            actor=actor,
        )
    )
    changes_iter = iter(changes)
    for when, kind in zip(times, kinds, strict=True):
        if kind == "stage":
            old, new = next(changes_iter)
            bundle.activities.append(
                _activity(
                    plan,
                    contact,
                    Activity.Kind.STAGE_CHANGED,
                    when,
                    f"Stage: {old.name} → {new.name}",
                    actor=actor,
                    data={"from": old.id, "to": new.id},
                )
            )
        elif kind == Activity.Kind.NOTE:
            body = rng.choice(NOTES).format(**words)
            note = Note(
                workspace=plan.workspace, contact=contact, author=actor, body=body, created_at=when
            )
            bundle.notes.append(
                (note, _activity(plan, contact, kind, when, "Note", actor=actor, body=body))
            )
        elif kind == Activity.Kind.TASK_CREATED:
            bundle.tasks.append(
                _task(plan, contact, actor, when, rng.choice(TASK_TITLES).format(**words))
            )
        elif kind in (Activity.Kind.MESSAGE_IN, Activity.Kind.MESSAGE_OUT):
            channel, label = rng.choice(CHANNELS)
            incoming = kind == Activity.Kind.MESSAGE_IN
            body = rng.choice(MESSAGES_IN if incoming else MESSAGES_OUT).format(**words)
            summary = f"{label} {'received' if incoming else 'sent'}"
            bundle.activities.append(
                _activity(
                    plan,
                    contact,
                    kind,
                    when,
                    summary,
                    actor=None if incoming else actor,
                    body=body,
                    data={"channel": channel},
                )
            )
        elif kind == Activity.Kind.APPOINTMENT:
            place = rng.choice(plan.properties)[1] if plan.properties else f"the {hood} office"
            bundle.activities.append(
                _activity(plan, contact, kind, when, f"Showing at {place}", actor=actor)
            )
        elif kind == Activity.Kind.AI_ACTION:
            summary, body = rng.choice(AI_LINES)
            bundle.activities.append(
                _activity(
                    plan, contact, kind, when, summary, actor=actor, body=body.format(**words)
                )
            )
        else:
            bundle.activities.append(
                _activity(
                    plan,
                    contact,
                    kind,
                    when,
                    "Details edited",
                    actor=actor,
                    body="Budget and timeframe updated.",
                )
            )


def _task(
    plan: SeedPlan, contact: Contact, actor: User, when: datetime, title: str
) -> tuple[Task, list[Entry]]:
    """A task added at `when`: older ones are mostly done; open ones are overdue, due today, or
    due in the next two weeks."""
    rng, now = plan.rng, plan.now
    done = (now - when).days > 7 and rng.random() < 0.6
    if done:
        due_at = when + timedelta(days=rng.uniform(0.5, 5))
        finished = due_at + timedelta(hours=rng.uniform(-12, 24))
        completed_at: datetime | None = max(when, min(now, finished))
    else:
        completed_at = None
        bucket = rng.random()
        if bucket < 0.35:
            due_at = now - timedelta(hours=rng.uniform(1, 240))
        elif bucket < 0.6:
            end_of_day = datetime.combine(
                plan.today, time(20, 0), zoneinfo.ZoneInfo(plan.owner.timezone)
            )
            due_at = (
                now + (end_of_day - now) * rng.uniform(0.1, 0.9)
                if end_of_day > now
                else now - timedelta(minutes=rng.uniform(5, 120))
            )
        else:
            due_at = now + timedelta(hours=rng.uniform(20, 24 * 14))
    task = Task(
        workspace=plan.workspace,
        contact=contact,
        assigned_to=contact.assigned_to or plan.owner,
        title=title,
        due_at=due_at,
        completed_at=completed_at,
        created_at=when,
        # A past reminder counts as sent, so the reminder sweeper does not email the whole backlog.
        reminded_at=due_at if due_at <= now else None,
    )
    entries = [
        _activity(plan, contact, Activity.Kind.TASK_CREATED, when, f"Task: {title}", actor=actor)
    ]
    if completed_at is not None:
        entries.append(
            _activity(
                plan,
                contact,
                Activity.Kind.TASK_COMPLETED,
                completed_at,
                f"Done: {title}",
                actor=actor,
            )
        )
    return task, entries


def _links(plan: SeedPlan, bundle: ContactBundle) -> None:
    if not plan.properties:
        return
    rng, contact = plan.rng, bundle.contact
    wanted: list[tuple[tuple[int, str, str], str]] = []
    if contact.role in ("buyer", "both") and rng.random() < 0.45:
        wanted += [
            (rng.choice(plan.properties), PropertyLink.Role.INTERESTED)
            for _ in range(rng.randint(1, 3))
        ]
    if contact.role in ("seller", "both") and rng.random() < 0.35:
        wanted.append((rng.choice(plan.properties), PropertyLink.Role.OWNER))
    if contact.stage.outcome == PipelineStage.Outcome.WON and contact.role in ("buyer", "both"):
        sold = [p for p in plan.properties if p[2] in ("sold", "pending")] or plan.properties
        wanted.append((rng.choice(sold), PropertyLink.Role.BUYER))
    seen = set()
    span = max(60.0, (plan.now - contact.created_at).total_seconds())
    for (prop_id, street, _status), role in wanted:
        if (prop_id, role) in seen:
            continue
        seen.add((prop_id, role))
        when = contact.created_at + timedelta(seconds=rng.uniform(30, span))
        bundle.links.append(LinkRow(contact, prop_id, str(role), when))
        summary = PROPERTY_LINK_SUMMARIES[PropertyLink.Role(role)].format(address=street)
        bundle.activities.append(
            _activity(
                plan,
                contact,
                Activity.Kind.UPDATED,
                when,
                summary,
                actor=contact.assigned_to,
                data={"property_id": prop_id, "role": str(role)},
            )
        )


def _activity(
    plan: SeedPlan,
    contact: Contact,
    kind: str,
    when: datetime,
    summary: str,
    *,
    actor: User | None,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> Entry:
    return Entry(
        contact, str(kind), when, actor.id if actor else None, summary[:300], body, data or {}
    )


# --- writing -------------------------------------------------------------------------------------
def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert rows (tuples of database values for `fields`, JSON as text) with PostgreSQL COPY;
    no ids come back. Several times faster than bulk_create for the big leaf tables."""
    meta = model._meta
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(f).column)  # type: ignore[union-attr, arg-type]
        for f in fields
    )
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def copy_instances(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances with COPY, ids drawn from the table's sequence first and set on
    them (what bulk_create does, without its per-value preparation cost). Foreign keys to
    instances saved since assignment are picked up; auto_now fields get the current time."""
    if not objs:
        return
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
    fields = list(meta.concrete_fields)
    now = timezone.now()

    def value(obj: models.Model, f: models.Field[Any, Any]) -> Any:
        if getattr(f, "auto_now", False):
            return now
        current = getattr(obj, f.attname)
        if current is None and f.is_relation and f.is_cached(obj):  # type: ignore[attr-defined]
            related = f.get_cached_value(obj)  # type: ignore[attr-defined]
            current = related.pk if related is not None else None
            setattr(obj, f.attname, current)
        return json.dumps(current) if isinstance(f, models.JSONField) else current

    copy_rows(model, [f.name for f in fields], ([value(o, f) for f in fields] for o in objs))


def insert_bundles(plan: SeedPlan, bundles: list[ContactBundle]) -> SeedCounts:
    """Write built contacts and everything hanging off them, in one transaction."""
    ws_id = plan.workspace.id
    with transaction.atomic():
        copy_instances(Contact, [b.contact for b in bundles])
        # The first email and phone are primary and labelled apart from the rest.
        for model, column, attr, first_label, other_label in (
            (ContactEmail, "email", "emails", "personal", "work"),
            (ContactPhone, "e164", "phones", "mobile", "home"),
        ):
            copy_rows(
                model,
                ["workspace", "contact", column, "label", "is_primary"],
                (
                    (ws_id, b.contact.id, value, first_label if i == 0 else other_label, i == 0)
                    for b in bundles
                    for i, value in enumerate(getattr(b, attr))
                ),
            )
        copy_rows(
            Contact.tags.through,
            ["contact", "tag"],
            ((b.contact.id, tag_id) for b in bundles for tag_id in b.tag_ids),
        )
        notes = [(note, entry) for b in bundles for note, entry in b.notes]
        copy_instances(Note, [n for n, _ in notes])
        for note, entry in notes:
            entry.data["note_id"] = note.id
        tasks = [(task, entries) for b in bundles for task, entries in b.tasks]
        copy_instances(Task, [t for t, _ in tasks])
        for task, entries in tasks:
            for entry in entries:
                entry.data.update(task_id=task.id, due_at=task.due_at.isoformat())
        links = copy_rows(
            PropertyLink,
            ["workspace", "property", "contact", "role", "created_at"],
            (
                (ws_id, link.property_id, link.contact.id, link.role, link.created_at)
                for b in bundles
                for link in b.links
            ),
        )
        entries = [
            *(a for b in bundles for a in b.activities),
            *(entry for _n, entry in notes),
            *(entry for _t, group in tasks for entry in group),
        ]
        copy_rows(
            Activity,
            ["workspace", "contact", "kind", "occurred_at", "actor", "summary", "body", "data"],
            (
                (
                    ws_id,
                    e.contact.id,
                    e.kind,
                    e.occurred_at,
                    e.actor_id,
                    e.summary,
                    e.body,
                    json.dumps(e.data),
                )
                for e in entries
            ),
        )
    return SeedCounts(
        contacts=len(bundles),
        activities=len(entries),
        notes=len(notes),
        tasks=len(tasks),
        links=links,
    )


def seed_workspace(
    *,
    workspace: Workspace,
    owner: User,
    contacts: int,
    properties: int,
    activities_per_contact: int,
    seed: int = 2026,
    chunk_size: int = BATCH,
) -> SeedCounts:
    """Top the workspace up to `contacts` contacts and `properties` properties (counting what is
    already there, so running it twice adds nothing the second time). Two of a first seeding's
    contacts are near-duplicates made through contact_create, so the duplicates page has work."""
    added = SeedCounts()
    have_properties = Property.objects.for_workspace(workspace).count()
    missing = contacts - Contact.objects.for_workspace(workspace).count()
    if properties <= have_properties and missing <= 0:
        return added
    plan = seed_plan(workspace=workspace, owner=owner, seed=seed)
    if properties > have_properties:
        new = [build_property(plan) for _ in range(properties - have_properties)]
        with transaction.atomic():
            copy_instances(Property, new)
        plan.properties += [(p.id, property_street_line(p), p.status) for p in new]
        added.properties = len(new)
    twins = 2 if missing >= 50 else 0
    last: list[ContactBundle] = []
    for start in range(0, max(0, missing - twins), chunk_size):
        size = min(chunk_size, missing - twins - start)
        last = [build_contact(plan, activities_per_contact) for _ in range(size)]
        added.add(insert_bundles(plan, last))
    reachable = [b for b in last if b.phones or b.emails]
    for bundle in plan.rng.sample(reachable, k=min(twins, len(reachable))):
        _twin(plan, bundle)
        added.add(SeedCounts(contacts=1, activities=1))
    if added.contacts:
        # Apps above contacts add theirs (appointments: past and upcoming ones) through the seam.
        demo_seeded.send(sender=Workspace, workspace=workspace, owner=owner, seed=seed)
    return added


def _twin(plan: SeedPlan, bundle: ContactBundle) -> Contact:
    """The same person entered again (same phone or email, a shorter first name)."""
    original = bundle.contact
    same_phone = bool(bundle.phones)
    return contact_create(
        workspace=plan.workspace,
        actor=plan.owner,
        data=ContactInput(
            first_name=original.first_name[:3]
            if len(original.first_name) > 4
            else original.first_name,
            last_name=original.last_name,
            emails=[] if same_phone else bundle.emails[:1],
            phones=bundle.phones[:1],
            source=Source.OPEN_HOUSE,
            stage=plan.stages[0],
        ),
    )
