"""Contacts at scale: 50,000 contacts, 20,000 properties and ~500,000 timeline items in one
workspace, 1,000,000 contacts in 20 other workspaces. Pages are timed through Django's full
request handling (middleware, session, view, template) with the test client: server time,
without network, each paired with a bare view in the same process (bench/pages.py)."""

from __future__ import annotations

import io
import os
import resource
import time
from typing import Any
from urllib.parse import urlencode

from django.core.management import call_command
from django.db import connection
from django.test import Client

from bench.common import Row, report
from bench.pages import Page, paired

TARGET_CONTACTS = int(os.environ.get("BENCH_CONTACTS", 50_000))
OTHER_WORKSPACES = int(os.environ.get("BENCH_OTHER_WORKSPACES", 20))
OTHER_CONTACTS_EACH = int(os.environ.get("BENCH_OTHER_CONTACTS_EACH", 50_000))
PROPERTIES = 20_000
HEAVY_TIMELINE = 2_000
TIMELINE_PER_CONTACT = 10  # plus the heavy contact's 2,000: ~500,000 in the workspace
IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", 50_000))
RUNS = int(os.environ.get("BENCH_RUNS", 60))
# Comma-separated words; only pages whose name contains one of them are timed (all when empty).
ONLY_PAGES = [w.strip().lower() for w in os.environ.get("BENCH_PAGES", "").split(",") if w.strip()]
BENCH_EMAIL = "bench@agentleadtracker.test"

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
         "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Donald", "Ashley",
         "Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol",
         "Kevin", "Amanda", "Brian", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Jason", "Rebecca",
         "Priya", "Wei", "Fatima", "Diego", "Aisha", "Hiro", "Olga", "Mateo", "Nia", "Omar"]  # fmt: skip
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
        "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
        "Patel", "Kim", "Chen", "Okafor", "Haddad", "Tanaka", "Ivanova", "Silva", "Mensah", "Farouk",
        "Kowalski", "Novak", "Dubois", "Rossi", "Schmidt", "Larsen", "Murphy", "O'Brien", "Cohen", "Singh",
        "Reyes", "Morales", "Ortiz", "Gutierrez", "Chavez", "Ramos", "Ruiz", "Alvarez", "Castillo", "Jimenez"]  # fmt: skip
AREAS = ["415", "619", "858", "760", "310", "213", "949", "714", "510", "408"]


def _contacts_sql() -> str:
    # One INSERT per workspace: names, a unique email and a valid US phone per row, and the same
    # search_text contacts.services.search_text_for would build ("first last email e164 digits national").
    return """
    WITH src AS (
      SELECT g,
        (%(firsts)s::text[])[1 + g %% 60] AS f,
        (%(lasts)s::text[])[1 + (g / 60) %% 80] AS l,
        '+1' || (%(areas)s::text[])[1 + (g / 4800) %% 10] || (2000000 + (g::bigint * 7919) %% 8000000)::text AS phone
      FROM generate_series(1, %(n)s) AS g
    )
    INSERT INTO contacts_contact (
      workspace_id, first_name, last_name, stage_id, source_id, role, timeframe, custom_fields,
      consent_email, consent_sms, consent_instagram, primary_email, primary_phone, search_text,
      last_activity_at, created_at, updated_at, budget_min, budget_max, next_follow_up_on,
      instagram_handle)
    SELECT %(ws)s, f, l, (%(stages)s::bigint[])[1 + g %% 7],
      (%(sources)s::bigint[])[1 + g %% 7],
      (ARRAY['buyer','seller','both',''])[1 + g %% 4], (ARRAY['now','soon','later',''])[1 + g %% 4], '{}'::jsonb,
      g %% 2 = 0, g %% 3 = 0, g %% 5 = 0,
      lower(f || '.' || l || g || '@example.com'), phone,
      lower(f || ' ' || l || ' ' || f || '.' || l || g || '@example.com ' || phone || ' ' || substr(phone, 2) || ' ' || substr(phone, 3)),
      now() - ((g * 37) %% 180) * interval '1 day', now() - ((g * 13) %% 720) * interval '1 day', now(),
      CASE WHEN g %% 3 = 0 THEN 300000 + (g %% 20) * 50000 END, CASE WHEN g %% 3 = 0 THEN 500000 + (g %% 20) * 50000 END,
      CASE WHEN g %% 4 = 0 THEN current_date + ((g %% 30) - 10) END, ''
    FROM src
    """


def build(rebuild: bool) -> dict[str, Any]:
    from alt.accounts.models import User, Workspace
    from alt.accounts.services import workspace_create_for_user
    from contacts.models import Contact, PipelineStage, Tag
    from contacts.pipeline.services import lead_source_for_key, pipeline_create_defaults

    call_command("migrate", verbosity=0)
    user = User.objects.filter(email=BENCH_EMAIL).first()
    if user is not None and not rebuild:
        workspace = user.memberships.get().workspace
        if Contact.objects.for_workspace(workspace).count() >= TARGET_CONTACTS:
            return {"user": user, "workspace": workspace, "built_s": 0.0}
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_workspace, accounts_user CASCADE")
    user = User.objects.create_user(BENCH_EMAIL, "bench-password-2026", full_name="Bench Agent")
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=BENCH_EMAIL, verified=True, primary=True)
    workspace = workspace_create_for_user(user=user, name="Bench Realty")
    others = [Workspace.objects.create(name=f"Other {i}") for i in range(OTHER_WORKSPACES)]
    for ws in others:
        pipeline_create_defaults(workspace=ws)
    with connection.cursor() as cursor:
        for ws, n in [(workspace, TARGET_CONTACTS), *[(o, OTHER_CONTACTS_EACH) for o in others]]:
            stages = list(PipelineStage.objects.for_workspace(ws).values_list("id", flat=True))
            keys = ("instagram", "sms", "website", "referral", "open_house", "manual", "import")
            sources = [lead_source_for_key(workspace=ws, key=key).id for key in keys]
            cursor.execute(
                _contacts_sql(),
                {
                    "ws": ws.id,
                    "n": n,
                    "firsts": FIRST,
                    "lasts": LAST,
                    "areas": AREAS,
                    "stages": stages,
                    "sources": sources,
                },
            )
        cursor.execute("""INSERT INTO contacts_contactemail (workspace_id, contact_id, email, label, is_primary)
                          SELECT workspace_id, id, primary_email, '', true FROM contacts_contact""")
        cursor.execute("""INSERT INTO contacts_contactphone (workspace_id, contact_id, e164, label, is_primary)
                          SELECT workspace_id, id, primary_phone, 'mobile', true FROM contacts_contact""")
        tags = [Tag.objects.create(workspace=workspace, name=name) for name in
                ["first-time buyer", "relocation", "investor", "pre-approved", "luxury", "downsizing",
                 "cash buyer", "va loan", "condo", "waterfront", "referral", "hot"]]  # fmt: skip
        cursor.execute(
            """INSERT INTO contacts_contact_tags (contact_id, tag_id)
               SELECT id, (%s::bigint[])[1 + id %% 12] FROM contacts_contact WHERE workspace_id = %s AND id %% 3 = 0""",
            [[t.id for t in tags], workspace.id],
        )
        heavy_id = (
            Contact.objects.for_workspace(workspace)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        cursor.execute(
            """INSERT INTO contacts_activity (workspace_id, contact_id, kind, occurred_at, actor_id, summary, body, data)
               SELECT %(ws)s, %(heavy)s, (ARRAY['note','stage_changed','task_created','task_completed','updated'])[1 + k %% 5],
                      now() - k * interval '37 minutes', %(user)s, 'Timeline entry ' || k, 'Called about the listing on Oak St. #' || k, '{}'::jsonb
               FROM generate_series(1, %(n)s) AS k""",
            {"ws": workspace.id, "heavy": heavy_id, "user": user.id, "n": HEAVY_TIMELINE},
        )
        cursor.execute(
            """INSERT INTO contacts_activity (workspace_id, contact_id, kind, occurred_at, actor_id, summary, body, data)
               SELECT c.workspace_id, c.id, (ARRAY['note','stage_changed','task_created','created','updated'])[1 + k %% 5],
                      c.created_at + k * interval '3 days', %(user)s, 'Entry ' || k, '', '{}'::jsonb
               FROM contacts_contact c CROSS JOIN generate_series(1, %(per)s) AS k
               WHERE c.workspace_id = %(ws)s AND c.id <> %(heavy)s""",
            {"ws": workspace.id, "heavy": heavy_id, "user": user.id, "per": TIMELINE_PER_CONTACT},
        )
        cursor.execute(
            """INSERT INTO contacts_property (workspace_id, street, unit, city, state, zip_code, price, beds, baths, sqft, mls_number, status, created_at)
               SELECT %(ws)s, (100 + g) || ' ' || (ARRAY['Oak','Pine','Maple','Cedar','Elm','Palm','Ocean','Bay'])[1 + g %% 8] || ' St', '',
                      (ARRAY['San Diego','La Jolla','Carlsbad','Encinitas','Chula Vista'])[1 + g %% 5], 'CA', (92100 + g %% 90)::text,
                      400000 + (g %% 60) * 25000, 1 + g %% 5, 1 + (g %% 4) * 0.5, 700 + (g %% 30) * 100, 'SD' || (240000 + g), 'active', now() - (g %% 400) * interval '1 day'
               FROM generate_series(1, %(n)s) AS g""",
            {"ws": workspace.id, "n": PROPERTIES},
        )
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"user": user, "workspace": workspace, "built_s": round(time.monotonic() - started, 1)}


def _measure_import(data: dict[str, Any]) -> Row:
    """Import IMPORT_ROWS new contacts through the importer service, in-process (the same
    `import_run` the Celery task calls; queueing is skipped so no broker message is left behind)."""
    from contacts.imports import services as importer
    from contacts.models import CustomField, ImportJob

    buf = io.StringIO()
    buf.write("First name,Last name,Email,Phone,Tags\n")
    for i in range(IMPORT_ROWS):
        # 628 is not among the generated contacts' area codes: every row is new.
        buf.write(f"Ima{i},Port{i},import{i}@bench.example.com,+1628{2000000 + i},imported\n")
    content = buf.getvalue().encode()
    workspace, user = data["workspace"], data["user"]
    job = importer.import_upload_create(
        workspace=workspace, actor=user, filename="bench.csv", content=content
    )
    job.mapping = {
        str(k): v
        for k, v in importer.import_mapping_guess(
            job.headers, CustomField.objects.for_workspace(workspace)
        ).items()
    }
    job.dedupe = ImportJob.Dedupe.SKIP
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "dedupe", "status"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    importer.import_run(workspace_id=workspace.id, import_id=job.id)
    elapsed = time.monotonic() - started
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    job.refresh_from_db()
    ok = job.status == "done" and job.created_count == IMPORT_ROWS and elapsed <= 60
    row = Row(name=f"CSV import of {IMPORT_ROWS:,} rows", target="≤ 60 s, memory bounded", ok=ok)
    row.extra = {
        "seconds": round(elapsed, 1),
        "status": job.status,
        "created": job.created_count,
        "file_mb": round(len(content) / 1e6, 1),
        "peak_rss_growth_mb": round(rss_growth_mb, 1),
    }
    # Leave the dataset as it was for the next run.
    from contacts.models import Contact

    Contact.objects.for_workspace(workspace).filter(
        primary_email__endswith="@bench.example.com"
    ).delete()
    return row


def run(rebuild: bool = False) -> None:
    from contacts.models import Activity, Contact, PipelineStage, Property, Tag

    data = build(rebuild)
    workspace, user = data["workspace"], data["user"]
    with connection.cursor() as cursor:
        # As autovacuum would have by now: a previous run's import left dead rows behind.
        cursor.execute("VACUUM ANALYZE contacts_contact")
    client = Client()
    client.force_login(user)
    heavy = Contact.objects.for_workspace(workspace).order_by("id").first()
    assert heavy is not None
    sample = Contact.objects.for_workspace(workspace).order_by("id")[
        min(12_345, TARGET_CONTACTS - 1)
    ]
    national = sample.primary_phone[2:]
    phone_typed = f"({national[:3]}) {national[3:6]}-{national[6:]}"
    stage = PipelineStage.objects.for_workspace(workspace).order_by("position")[2]
    tag = Tag.objects.for_workspace(workspace).order_by("id").first()
    assert tag is not None

    from contacts.listing import services as listing

    saved = listing.saved_lists_for(workspace)
    smart = next((s for s in saved if s.name == "Bench smart list"), None) or (
        listing.saved_list_create(
            workspace=workspace,
            owner=user,
            name="Bench smart list",
            query=listing.ContactListQuery(stage=stage.id, tag=tag.id, stale_days=30),
        )
    )
    timeline = Activity.objects.for_workspace(workspace).filter(contact=heavy).count()
    phone_q = phone_typed.replace(" ", "+").replace("(", "%28").replace(")", "%29")
    # One line per page; the pipeline board joins with one more.
    pages = [
        Page("contact list (first 50)", "/contacts/"),
        Page("contact list sorted by name", "/contacts/?sort=name"),
        Page("search by name", f"/contacts/?q={sample.first_name}+{sample.last_name[:4]}"),
        Page("search by phone (typed with punctuation)", f"/contacts/?q={phone_q}"),
        Page("saved smart list (stage+tag+stale)", f"/contacts/?{urlencode(smart.query)}"),
        Page(f"contact page ({timeline:,} timeline items)", f"/contacts/{heavy.id}/"),
        Page("dashboard", "/dashboard/"),
        Page("pipeline board (25 cards a column)", "/pipeline/"),
        Page(
            "pipeline board, searched and filtered",
            f"/pipeline/?q={sample.first_name}&tag={tag.id}",
        ),
        Page("pipeline column page", f"/pipeline/stages/{stage.id}/"),
        Page("property list", "/properties/"),
    ]
    if ONLY_PAGES:
        pages = [p for p in pages if any(w in p.name.lower() for w in ONLY_PAGES)]
    rows = paired(client, pages, bare_url=f"/bench/bare/rows/{workspace.id}/", rounds=RUNS)
    if IMPORT_ROWS:  # BENCH_IMPORT_ROWS=0 times the pages only
        rows.append(_measure_import(data))
    meta = {
        "contacts_in_workspace": Contact.objects.for_workspace(workspace).count(),
        "contacts_in_other_workspaces": OTHER_WORKSPACES * OTHER_CONTACTS_EACH,
        "properties": Property.objects.for_workspace(workspace).count(),
        "timeline_items": Activity.objects.for_workspace(workspace).count(),
        "data_build_seconds": data["built_s"],
        "rounds": RUNS,
    }
    report("contacts", rows, meta)
