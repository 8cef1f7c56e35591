"""The import that forgives (issue 9): files in the encodings they really arrive in, the exports
agents bring, good rows in and rejected rows back as a CSV with a reason, values mapped one by
one, undo for a day, and jobs whose worker died picked up again."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.imports import services as importer
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    ImportJob,
    LeadSource,
    Note,
    PipelineStage,
    Tag,
)
from contacts.pipeline.services import lead_sources_create_defaults, pipeline_create_defaults
from tests.contacts.conftest import add_contact, errors_of, run_import, source_key, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(ws: Any, alice: Any, django_capture_on_commit_callbacks: Any) -> Any:
    def run(text: str | bytes, **kwargs: Any) -> ImportJob:
        return run_import(ws, alice, text, capture=django_capture_on_commit_callbacks, **kwargs)

    return run


def names(ws: Any) -> list[str]:
    return sorted(c.name for c in Contact.objects.for_workspace(ws).live())


def rejected_rows(job: ImportJob) -> list[list[str]]:
    text = importer.import_rejected_csv(job=job).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def post_upload(client: Client, content: bytes, name: str = "leads.csv") -> Any:
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("contacts:import_upload"), {"file": upload})


# --- encodings and broken files -----------------------------------------------------------------
LATIN = "First name,Last name,Email,Notes\nJosé,Müller,jose@example.com,Señora Ñúñez\n"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (LATIN.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + LATIN.encode("utf-8"), "utf-8"),
        (LATIN.encode("utf-16"), "utf-16"),
        (LATIN.encode("latin-1"), "cp1252"),
        (LATIN.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "latin-1", "windows-1252"],
)
def test_each_encoding_files_arrive_in_is_read(
    ws: Any, run: Any, content: bytes, encoding: str
) -> None:
    job = run(content)

    assert (job.status, job.encoding, job.headers[0]) == ("done", encoding, "First name")
    contact = Contact.objects.for_workspace(ws).get()
    assert (contact.first_name, contact.last_name) == ("José", "Müller")
    assert Note.objects.for_workspace(ws).get().body == "Señora Ñúñez"


def test_windows_1252_curly_quotes_dashes_and_euro_signs_are_read(ws: Any, run: Any) -> None:
    text = "Name,Notes\nRenée Dubois,“Call after 5” – budget €400k\n"  # noqa: RUF001

    job = run(text.encode("cp1252"))

    assert job.status == "done"
    assert Note.objects.for_workspace(ws).get().body == "“Call after 5” – budget €400k"  # noqa: RUF001


@pytest.mark.parametrize(
    "text",
    ["Name;Notes\nFrançois;ça coûte 5€\n", "Name\nØystein Ærø\n", "Name\nçà\n"],
)
def test_short_windows_1252_files_are_not_mistaken_for_another_code_page(text: str) -> None:
    assert importer.import_file_decode(text.encode("cp1252")) == (text, "cp1252")


def test_a_png_renamed_csv_says_it_is_not_a_csv(alice_client: Client, ws: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 8

    response = post_upload(alice_client, png, "contacts.csv")

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "This file is not a CSV file (it is a PNG image). In your spreadsheet or CRM use "
        "Export / Save As → CSV, and upload that file."
    ]
    assert not ImportJob.objects.for_workspace(ws).exists()


def test_binary_data_without_a_known_signature_is_not_a_csv(ws: Any, alice: Any) -> None:
    with pytest.raises(importer.ImportFileError, match="it looks like binary data, not text"):
        upload(ws, alice, bytes(range(256)) * 8)


def test_a_nul_byte_is_reported_with_its_line_number(alice_client: Client) -> None:
    content = b"Name,Email\nAnn Lee,ann@example.com\nBob\x00 Lee,bob@example.com\n"

    response = post_upload(alice_client, content)

    assert response.context["form"].errors["file"] == [
        "Line 3 contains a NUL byte, an invisible character a CSV file can't hold. Open the file "
        "in your spreadsheet and save it again as CSV."
    ]


def test_a_semicolon_file_whose_header_has_a_comma_is_split_on_the_semicolons(
    ws: Any, run: Any
) -> None:
    text = 'Name;"Address, city";Email\nPat Lee;"1 Elm St, Springfield";pat@example.com\n'

    job = run(text)

    assert job.headers == ["Name", "Address, city", "Email"]
    assert job.status == "done"
    assert Contact.objects.for_workspace(ws).get().primary_email == "pat@example.com"


# --- the exports agents bring ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "first_name,last_name,emails,phones,stage,source,tags,assigned_to,role,budget_min,"
            "budget_max,timeframe,next_follow_up_on,consent_email,consent_sms,consent_instagram,"
            "created_at,custom:lender",
            ["first_name", "last_name", "email", "phone", "stage", "source", "tags", "assigned_to",
             "role", "budget_min", "budget_max", "timeframe", "next_follow_up_on", "consent_email",
             "consent_sms", "consent_instagram", "", "custom:lender"],
        ),
        (
            "Name,Given Name,Additional Name,Family Name,Notes,Group Membership,E-mail 1 - Type,"
            "E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,"
            "Phone 2 - Type,Phone 2 - Value",
            ["", "first_name", "", "last_name", "notes", "tags", "", "email", "", "email_2", "",
             "phone", "", "phone_2"],
        ),
        (
            "First Name,Middle Name,Last Name,E-mail Address,E-mail 2 Address,Mobile Phone,"
            "Business Phone,Categories,Notes",
            ["first_name", "", "last_name", "email", "email_2", "phone", "phone_2", "tags",
             "notes"],
        ),
        (
            "Name,First Name,Last Name,Stage,Source,Assigned To,Email 1,Email 2,Phone 1,Phone 2,"
            "Tags,Background",
            ["", "first_name", "last_name", "stage", "source", "assigned_to", "email", "email_2",
             "phone", "phone_2", "tags", "notes"],
        ),
        (
            "First name,Last name,Emails,Phones,Tags,Notes",
            ["first_name", "last_name", "email", "phone", "tags", "notes"],
        ),
    ],
    ids=["alt-export", "google-contacts", "outlook", "follow-up-boss", "vcard"],
)  # fmt: skip
def test_the_columns_of_common_exports_are_recognised(
    ws: Any, header: str, expected: list[str]
) -> None:
    lender = CustomField.objects.create(workspace=ws, key="lender", label="Lender")
    headers = header.split(",")

    guess = importer.import_mapping_guess(headers, [lender])

    assert [guess.get(i, "") for i in range(len(headers))] == expected
    assert importer.mapping_problems(guess, headers) == {}


VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Díaz;Rosa;;;\r\nFN:Rosa Díaz\r\n"
    "EMAIL;TYPE=INTERNET:Rosa@Example.com\r\nEMAIL;TYPE=WORK:rosa@work.example.com\r\n"
    "TEL;TYPE=CELL:(415) 555-0142\r\nTEL;TYPE=HOME:+44 20 7946 0958\r\n"
    "CATEGORIES:Buyers,VIP\r\nNOTE:Met at the open house\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Tom Lee\r\nTEL;CELL:4155550100\r\nEND:VCARD\r\n"
)


def test_a_phones_vcard_file_is_imported(ws: Any, run: Any) -> None:
    job = run(VCARD.encode(), filename="contacts.vcf")

    assert job.status == "done", job.errors
    assert job.headers == ["First name", "Last name", "Emails", "Phones", "Tags", "Notes"]
    rosa = Contact.objects.for_workspace(ws).get(first_name="Rosa")
    assert rosa.last_name == "Díaz"
    assert [e.email for e in ContactEmail.objects.for_workspace(ws).filter(contact=rosa)] == [
        "rosa@example.com",
        "rosa@work.example.com",
    ]
    assert [p.e164 for p in ContactPhone.objects.for_workspace(ws).filter(contact=rosa)] == [
        "+14155550142",
        "+442079460958",
    ]
    assert sorted(t.name for t in rosa.tags.all()) == ["Buyers", "VIP"]
    assert Note.objects.for_workspace(ws).get(contact=rosa).body == "Met at the open house"
    assert Contact.objects.for_workspace(ws).get(first_name="Tom").primary_phone == "+14155550100"


def test_a_vcard_file_without_a_card_is_refused(ws: Any, alice: Any) -> None:
    with pytest.raises(importer.ImportFileError, match="has no contacts in it"):
        upload(ws, alice, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "cal.vcf")


# --- good rows in, rejected rows out ------------------------------------------------------------
MESSY = (
    "Name,Email,Phone,Stage,Notes\n"
    "Ann Lee,ann@example.com,415-555-0101,New,\n"
    "Bob Bad,bob@@example,,New,\n"  # line 3: bad email
    'Cat Lee,cat@example.com,415-555-0103,Hot lead,=HYPERLINK("http://x")\n'  # line 4: stage
    "Dan Lee,dan@example.com,415-555-0104,Qualified,\n"
    "Ann Again,ANN@example.com,,New,\n"  # line 6: repeats line 2
)


def test_the_good_rows_are_imported_and_the_bad_ones_kept_with_a_reason(ws: Any, run: Any) -> None:
    job = run(MESSY)

    assert job.status == "done"
    assert (job.created_count, job.rejected_count, job.error_count) == (2, 3, 3)
    assert names(ws) == ["Ann Lee", "Dan Lee"]
    assert bytes(job.content) == b""
    assert [e["line"] for e in job.errors] == [3, 4, 6]
    assert rejected_rows(job) == [
        ["Name", "Email", "Phone", "Stage", "Notes", "Reason"],
        ["Bob Bad", "bob@@example", "", "New", "",
         "Line 3: “bob@@example” in column “Email” is not a valid email address."],
        ["Cat Lee", "cat@example.com", "415-555-0103", "Hot lead", "'=HYPERLINK(\"http://x\")",
         "Line 4: “Hot lead” in column “Stage” is not a stage (your stages: New, Contacted, "
         "Qualified, Showing, Under contract, Closed, Lost)."],
        ["Ann Again", "ANN@example.com", "", "New", "",
         "Line 6 repeats line 2 (same email ann@example.com)."],
    ]  # fmt: skip


def test_a_formula_in_the_reason_or_a_short_row_is_made_safe_in_the_rejected_csv(
    ws: Any, run: Any
) -> None:
    job = run("Name,Email\n=1+1,=cmd|x\nAnn,ann@example.com\n@SUM(A1)\n")

    rows = rejected_rows(job)

    assert rows[1][:2] == ["'=1+1", "'=cmd|x"]
    assert rows[1][2].startswith("Line 2: “=cmd|x” in column “Email”")
    assert rows[2] == ["'@SUM(A1)", "", "Line 4: 1 cell, the header has 2"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_all_or_nothing_imports_nothing_and_still_offers_the_rejected_rows(
    ws: Any, run: Any
) -> None:
    job = run(MESSY, all_or_nothing=True)

    assert job.status == "failed"
    assert (job.created_count, job.rejected_count) == (0, 3)
    assert not Contact.objects.for_workspace(ws).exists()
    assert len(rejected_rows(job)) == 4
    assert bytes(job.content) == b""


def test_a_file_whose_every_row_is_bad_fails_with_its_errors(ws: Any, run: Any) -> None:
    job = run("Name,Email\nA,bad\nB,worse\n")

    assert job.status == "failed"
    assert errors_of(job)[0] == "Line 2: “bad” in column “Email” is not a valid email address."
    assert job.rejected_count == 2


def test_the_rejected_rows_download_and_the_finished_page_links_to_it(
    alice_client: Client, ws: Any, run: Any
) -> None:
    job = run(MESSY)

    page = alice_client.get(reverse("contacts:import_detail", args=[job.id]))
    download = alice_client.get(reverse("contacts:import_rejected", args=[job.id]))

    assert "3 rows had a problem and were not imported." in page.content.decode()
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="leads-rejected-rows.csv"'
    assert download.content.startswith(b"\xef\xbb\xbfName,Email,Phone,Stage,Notes,Reason\r\n")


# --- values mapped one by one -------------------------------------------------------------------
VALUES_CSV = (
    "Name,Email,Stage,Source,Agent,Tags\n"
    "Ann Lee,ann@example.com,New lead,Zillow,bob@example.com,vip; junk\n"
    "Bob Roe,bob.roe@example.com,new lead,zillow.com,Nobody Known,VIP\n"
    "Cat Poe,cat@example.com,Nurture,Billboard,,\n"
    "Dan Moe,dan@example.com,Qualified,Yard sign,,\n"
)


def _values_page(client: Client, job: ImportJob) -> Any:
    return client.get(reverse("contacts:import_detail", args=[job.id]))


def test_the_values_page_lists_each_distinct_value_with_its_count_and_a_suggestion(
    alice_client: Client, ws: Any, alice: Any, bob: Any
) -> None:
    Tag.objects.create(workspace=ws, name="VIP")
    job = upload(ws, alice, VALUES_CSV)
    mapping = {0: "full_name", 1: "email", 2: "stage", 3: "source", 4: "assigned_to", 5: "tags"}
    importer.import_mapping_save(job=job, mapping=mapping, dedupe="skip")

    found = importer.import_values_found(job=job)
    response = _values_page(alice_client, job)

    assert job.status == "mapped"
    assert [(v.value, v.count) for v in found["stage"]] == [
        ("New lead", 2),
        ("Nurture", 1),
        ("Qualified", 1),
    ]
    stages = dict(PipelineStage.objects.for_workspace(ws).values_list("name", "id"))
    # "New lead" holds the words of the stage New: suggested; "Nurture" is new.
    assert [v.suggestion for v in found["stage"]] == [
        str(stages["New"]),
        "new",
        str(stages["Qualified"]),
    ]
    zillow = LeadSource.objects.for_workspace(ws).get(key="zillow")
    assert [(v.value, v.suggestion) for v in found["source"]] == [
        ("Billboard", "new"),
        ("Yard sign", "new"),
        ("Zillow", str(zillow.id)),
        ("zillow.com", str(zillow.id)),
    ]
    assert [(v.value, v.suggestion) for v in found["assigned_to"]] == [
        ("bob@example.com", str(bob.id)),
        ("Nobody Known", ""),
    ]
    vip = Tag.objects.for_workspace(ws).get(name="VIP")
    assert [(v.value, v.count, v.suggestion) for v in found["tags"]] == [
        ("vip", 2, str(vip.id)),
        ("junk", 1, "new"),
    ]
    body = response.content.decode()
    assert response.status_code == 200
    assert "New lead" in body
    assert "2 rows" in body


def test_each_value_is_mapped_to_an_existing_one_created_or_left_blank(
    alice_client: Client, ws: Any, alice: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Tag.objects.create(workspace=ws, name="VIP")
    job = upload(ws, alice, VALUES_CSV)
    mapping = {0: "full_name", 1: "email", 2: "stage", 3: "source", 4: "assigned_to", 5: "tags"}
    importer.import_mapping_save(job=job, mapping=mapping, dedupe="skip")
    form = _values_page(alice_client, job).context["form"]
    data = {name: form[name].initial for name in form.fields}
    new = PipelineStage.objects.for_workspace(ws).get(name="New")
    zillow = LeadSource.objects.for_workspace(ws).get(key="zillow")
    labels = {(name.rsplit("_", 1)[0], form.fields[name].label): name for name in form.fields}
    data[labels["stage", "New lead"]] = str(new.id)  # map
    data[labels["source", "zillow.com"]] = str(zillow.id)  # map
    data[labels["source", "Yard sign"]] = ""  # leave blank
    data[labels["tags", "junk"]] = ""  # leave blank

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(reverse("contacts:import_detail", args=[job.id]), data)
    importer.import_run(workspace_id=ws.id, import_id=job.id)

    job.refresh_from_db()
    assert (response.status_code, len(callbacks), job.status) == (302, 1, "done")
    contacts = {c.first_name: c for c in Contact.objects.for_workspace(ws)}
    assert contacts["Ann"].stage == contacts["Bob"].stage == new
    assert contacts["Cat"].stage.name == "Nurture"  # created
    assert contacts["Ann"].source == contacts["Bob"].source == zillow
    assert contacts["Cat"].get_source_display() == "Billboard"  # created
    assert source_key(contacts["Dan"]) == "import"  # left blank: the import's own source
    assert contacts["Ann"].assigned_to == bob
    assert contacts["Bob"].assigned_to is None  # an unknown agent left blank
    assert [t.name for t in contacts["Ann"].tags.all()] == ["VIP"]
    assert Tag.objects.for_workspace(ws).count() == 1


def test_a_value_mapped_to_another_workspaces_stage_is_refused(
    alice_client: Client, ws: Any, alice: Any, charlie: Any, django_capture_on_commit_callbacks: Any
) -> None:
    theirs = pipeline_create_defaults(workspace=charlie.memberships.get().workspace)[0]
    job = upload(ws, alice, "Name,Stage\nPat Lee,Nurture\n")
    importer.import_mapping_save(job=job, mapping={0: "full_name", 1: "stage"}, dedupe="skip")
    form = _values_page(alice_client, job).context["form"]
    [field] = form.fields

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            reverse("contacts:import_detail", args=[job.id]), {field: str(theirs.id)}
        )

    job.refresh_from_db()
    assert (response.status_code, len(callbacks), job.status) == (400, 0, "mapped")


def test_a_file_without_value_columns_skips_the_values_page(
    ws: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = upload(ws, alice, "Name,Email\nPat Lee,pat@example.com\n")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        importer.import_mapping_save(job=job, mapping={0: "full_name", 1: "email"}, dedupe="skip")

    assert (job.status, len(callbacks)) == ("queued", 1)


# --- ALT's own export comes back whole ----------------------------------------------------------
def test_alts_own_export_reimports_every_field(
    alice_client: Client, ws: Any, alice: Any, bob: Any, run: Any
) -> None:
    pipeline_create_defaults(workspace=ws)
    lead_sources_create_defaults(workspace=ws)
    CustomField.objects.create(workspace=ws, key="lender", label="Lender")
    CustomField.objects.create(workspace=ws, key="beds", label="Beds", kind="number")
    CustomField.objects.create(workspace=ws, key="vet", label="Veteran", kind="yes_no")
    fields = {
        "emails": ["jane@example.com", "jd@work.test"],
        "phones": ["+44 20 7946 0958", "415-555-0134"],
        "stage": PipelineStage.objects.for_workspace(ws).get(name="Showing"),
        "source": LeadSource.objects.for_workspace(ws).get(key="zillow"),
        "tags": ["-hot", "Buyer"],
        "assigned_to": bob,
        "role": "both",
        "budget_min": 500_000,
        "budget_max": 750_000,
        "timeframe": "soon",
        "next_follow_up_on": timezone.localdate() + timedelta(days=3),
        "consent_email": True,
        "consent_sms": False,
        "consent_instagram": True,
        "custom_fields": {"lender": "=Chase", "beds": 3, "vet": True},
    }
    add_contact(ws, "Jane", "O'Doe", **fields)
    before = _contact_fields(ws)
    export = b"".join(alice_client.get("/contacts/export.csv").streaming_content)  # type: ignore[attr-defined]
    assert b"'+44 20 7946 0958" in export  # the export escaped it
    Contact.objects.for_workspace(ws).delete()

    job = run(export, filename="alt-export.csv")

    assert (job.status, job.errors, job.created_count) == ("done", [], 1)
    assert _contact_fields(ws) == before


def _contact_fields(ws: Any) -> dict[str, Any]:
    c = Contact.objects.for_workspace(ws).get()
    return {
        "name": (c.first_name, c.last_name),
        "emails": [e.email for e in ContactEmail.objects.for_workspace(ws).filter(contact=c)],
        "phones": [p.e164 for p in ContactPhone.objects.for_workspace(ws).filter(contact=c)],
        "tags": sorted(t.name for t in c.tags.all()),
        **{
            name: getattr(c, name)
            for name in (
                "stage", "source", "assigned_to", "role", "budget_min", "budget_max", "timeframe",
                "next_follow_up_on", "consent_email", "consent_sms", "consent_instagram",
                "custom_fields",
            )
        },
    }  # fmt: skip


# --- undo -----------------------------------------------------------------------------------------
def test_undo_within_24_hours_removes_the_created_and_restores_the_updated(
    alice_client: Client, ws: Any, alice: Any, run: Any
) -> None:
    maria = add_contact(ws, "Maria", "Old", emails=["maria@example.com"], tags=["Seller"])
    before = Contact.objects.for_workspace(ws).filter(id=maria.id).values().get()
    job = run(
        "First,Last,Email,Phone,Tags,Notes\n"
        "Maria,New,maria@example.com,4155550101,VIP,Called\n"
        "Tom,Lee,tom@example.com,,,\n",
        dedupe="update",
    )
    assert (job.created_count, job.updated_count) == (1, 1)

    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        response = alice_client.post(reverse("contacts:import_undo", args=[job.id]))

    job.refresh_from_db()
    assert response.status_code == 302
    assert job.undone_at is not None
    assert names(ws) == ["Maria Old"]
    after = Contact.objects.for_workspace(ws).filter(id=maria.id).values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }
    assert [e.email for e in ContactEmail.objects.for_workspace(ws).filter(contact=maria)] == [
        "maria@example.com"
    ]
    assert not ContactPhone.objects.for_workspace(ws).filter(contact=maria).exists()
    assert [t.name for t in maria.tags.all()] == ["Seller"]
    assert not Note.objects.for_workspace(ws).filter(contact=maria).exists()
    assert not Activity.objects.for_workspace(ws).filter(contact=maria, kind="imported").exists()


def test_undo_is_refused_after_24_hours_and_a_second_time(
    alice_client: Client, ws: Any, run: Any
) -> None:
    late = run("Name,Email\nPat Lee,pat@example.com\n")
    url = reverse("contacts:import_undo", args=[late.id])

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        page = alice_client.post(url, follow=True)
    assert "This import can no longer be undone." in page.content.decode()
    assert names(ws) == ["Pat Lee"]

    job = run("Name,Email\nAnn Lee,ann@example.com\n")
    alice_client.post(reverse("contacts:import_undo", args=[job.id]))
    again = alice_client.post(reverse("contacts:import_undo", args=[job.id]), follow=True)
    assert "This import was already undone." in again.content.decode()
    assert names(ws) == ["Pat Lee"]


def test_the_history_offers_undo_only_while_it_is_possible(
    alice_client: Client, ws: Any, run: Any
) -> None:
    run("Name,Email\nPat Lee,pat@example.com\n")
    url = reverse("contacts:import_upload")

    assert "Undo this import" in alice_client.get(url).content.decode()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert "Undo this import" not in alice_client.get(url).content.decode()


# --- a worker that dies -------------------------------------------------------------------------
def _queued(ws: Any, alice: Any, capture: Any) -> ImportJob:
    job = upload(ws, alice, "Name,Email\nPat Lee,pat@example.com\n")
    with capture(execute=False):
        importer.import_mapping_save(job=job, mapping={0: "full_name", 1: "email"}, dedupe="skip")
    return job


def test_a_job_whose_worker_stopped_beating_is_requeued_then_failed(
    ws: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(ws, alice, django_capture_on_commit_callbacks)
    ImportJob.objects.for_workspace(ws).filter(id=job.id).update(status="importing")
    later = timezone.now() + timedelta(minutes=importer.STALE_AFTER_MINUTES + 1)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert importer.imports_sweep_stale(now=later)["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempt, len(callbacks)) == ("queued", 1, 1)

    importer.import_run(workspace_id=ws.id, import_id=job.id)  # the resumed run
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)

    dying = _queued(ws, alice, django_capture_on_commit_callbacks)
    for attempt in range(1, importer.MAX_ATTEMPTS + 1):
        # Each attempt is picked up by a worker that then dies mid-import.
        ImportJob.objects.for_workspace(ws).filter(id=dying.id).update(status="importing")
        later += timedelta(minutes=importer.STALE_AFTER_MINUTES + 1)
        with django_capture_on_commit_callbacks(execute=False):
            outcome = importer.imports_sweep_stale(now=later)
        dying.refresh_from_db()
        if attempt < importer.MAX_ATTEMPTS:
            assert (outcome["requeued"], dying.status) == (1, "queued")
    assert dying.status == "failed"
    assert dying.failure.startswith("The import stopped unexpectedly")
    assert bytes(ImportJob.objects.for_workspace(ws).get(id=dying.id).content) == b""


def test_a_job_waiting_in_the_queue_is_sent_again_but_never_failed(
    ws: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(ws, alice, django_capture_on_commit_callbacks)
    later = timezone.now()
    for _ in range(importer.MAX_ATTEMPTS + 2):  # a worker busy with a long import for a while
        later += timedelta(minutes=importer.STALE_AFTER_MINUTES + 1)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            outcome = importer.imports_sweep_stale(now=later)
        assert (outcome["resent"], outcome["failed"], len(callbacks)) == (1, 0, 1)
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("queued", 0)

    importer.import_run(workspace_id=ws.id, import_id=job.id)
    importer.import_run(workspace_id=ws.id, import_id=job.id)  # the re-sent message: a no-op
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)


def test_a_job_that_beats_in_the_cache_is_left_alone(
    ws: Any, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = _queued(ws, alice, django_capture_on_commit_callbacks)
    ImportJob.objects.for_workspace(ws).filter(id=job.id).update(
        status="importing", heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    cache.set(importer._progress_key(job.id), {"beat_at": timezone.now().timestamp()})

    assert importer.imports_sweep_stale()["requeued"] == 0
    job.refresh_from_db()
    assert job.status == "importing"


def test_a_slow_attempt_the_sweep_gave_up_on_cannot_finish_the_job(
    ws: Any, alice: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    job = _queued(ws, alice, django_capture_on_commit_callbacks)
    write = importer._write

    def sweep_meanwhile(job_: Any, *args: Any) -> None:
        # While this attempt checks rows, the sweep hands the job to a new attempt.
        ImportJob.objects.for_workspace(ws).filter(id=job.id).update(attempt=5, status="queued")
        write(job_, *args)

    monkeypatch.setattr(importer, "_write", sweep_meanwhile)

    importer.import_run(workspace_id=ws.id, import_id=job.id)

    job.refresh_from_db()
    assert (job.status, job.attempt) == ("queued", 5)
    assert not Contact.objects.for_workspace(ws).exists()


def test_an_upload_never_mapped_expires_and_loses_its_file(ws: Any, alice: Any) -> None:
    job = upload(ws, alice, "Name,Email\nPat Lee,pat@example.com\n")

    importer.imports_sweep_stale(now=timezone.now() + timedelta(hours=25))

    job.refresh_from_db()
    assert job.status == "failed"
    assert bytes(ImportJob.objects.for_workspace(ws).get(id=job.id).content) == b""


def test_the_progress_of_a_mapped_job_does_not_poll(alice_client: Client, ws: Any) -> None:
    job = ImportJob.objects.create(
        workspace=ws, filename="x.csv", content=b"a\n1\n", headers=["a"], status="mapped"
    )

    fragment = alice_client.get(reverse("contacts:import_progress", args=[job.id]))

    assert "hx-trigger" not in fragment.content.decode()
