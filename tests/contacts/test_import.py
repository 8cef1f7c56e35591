"""CSV import: upload, column mapping, the dedupe policies, live progress, and a real worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from contacts.imports import services as importer
from contacts.imports.forms import ImportUploadForm
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    DuplicateFlag,
    ImportJob,
    Note,
    Tag,
)
from tests.conftest import wait_for
from tests.contacts.conftest import run_import, source_key, upload
from tests.factories import create_contact

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    "First Name,Surname,E-mail,Mobile,Stage,Tags,Budget max,Notes\n"
    'Maria,Lopez,MARIA@Example.com,(415) 555-0101,Qualified,VIP; Buyer,"$650,000",Wants a yard\n'
    "Tom,Nguyen,tom@example.com,415.555.0102,,Open house,,\n"
    'Ann,"O\'Neil",,+1 415 555 0103,Showing,,,"Two lines\nof notes"\n'
)


def upload_file(text: str | bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    content = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, content, content_type="text/csv")


def ws_contacts(workspace: Any) -> Any:
    return Contact.objects.for_workspace(workspace)


@pytest.mark.worker
def test_a_good_file_is_imported_end_to_end_by_a_real_worker(
    celery_worker: Any, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    client = Client()
    client.force_login(alice)

    response = client.post(reverse("contacts:import_upload"), {"file": upload_file(GOOD_CSV)})
    job = ImportJob.objects.for_workspace(ws).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:import_detail", args=[job.id])
    mapping_page = client.get(response["Location"])
    form = mapping_page.context["form"]
    data = {name: form[name].initial for name in form.fields if name != "dedupe"}
    response = client.post(response["Location"], {**data, "dedupe": "skip"})
    # The Stage and Tags columns have values to map: their page suggests the existing stages.
    values_page = client.get(response["Location"])
    values_form = values_page.context["form"]
    assert values_page.status_code == 200
    response = client.post(
        response["Location"], {name: values_form[name].initial for name in values_form.fields}
    )

    assert response.status_code == 302
    finished = ("done", "failed")
    wait_for(lambda: ImportJob.objects.for_workspace(ws).get().status in finished, timeout=30)
    job.refresh_from_db()
    assert (job.status, job.errors, job.failure) == ("done", [], "")
    assert (job.created_count, job.updated_count, job.skipped_count) == (3, 0, 0)
    assert bytes(job.content) == b""
    maria = ws_contacts(ws).get(first_name="Maria")
    assert (maria.last_name, maria.stage.name, maria.budget_max) == ("Lopez", "Qualified", 650_000)
    assert source_key(maria) == "import"
    assert [e.email for e in ContactEmail.objects.for_workspace(ws).filter(contact=maria)] == [
        "maria@example.com"
    ]
    assert [p.e164 for p in ContactPhone.objects.for_workspace(ws).filter(contact=maria)] == [
        "+14155550101"
    ]
    assert sorted(t.name for t in maria.tags.all()) == ["Buyer", "VIP"]
    assert Tag.objects.for_workspace(ws).count() == 3
    assert Note.objects.for_workspace(ws).get(contact=maria).body == "Wants a yard"
    ann = ws_contacts(ws).get(first_name="Ann")
    assert Note.objects.for_workspace(ws).get(contact=ann).body == "Two lines\nof notes"
    assert ws_contacts(ws).get(first_name="Tom").stage.name == "New"
    assert Activity.objects.for_workspace(ws).filter(kind="imported").count() == 3
    assert ws_contacts(ws).search("415-555-0102").get().first_name == "Tom"


def test_the_mapping_page_guesses_columns_and_previews_the_first_rows(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    CustomField.objects.create(workspace=workspace_of(alice), key="lender", label="Lender")
    text = "E-mail,Cell,First,Surname,Lender,Shoe size\n" + "".join(
        f"p{i}@example.com,415555010{i},Pat{i},Lee,Chase,9\n" for i in range(7)
    )
    job = upload(workspace_of(alice), alice, text)

    response = alice_client.get(reverse("contacts:import_detail", args=[job.id]))

    form = response.context["form"]
    guessed = [form[f"column_{i}"].initial for i in range(6)]
    assert guessed == ["email", "phone", "first_name", "last_name", "custom:lender", ""]
    assert [line for line, _cells in response.context["preview"]] == [2, 3, 4, 5, 6]
    body = response.content.decode()
    assert "p4@example.com" in body
    assert "p5@example.com" not in body
    assert "Import 7 rows" in body


def test_a_second_email_or_phone_column_is_guessed_as_the_second_one() -> None:
    guess = importer.import_mapping_guess(["Name", "Email", "Email", "Phone", "Home phone"], [])

    assert guess == {0: "full_name", 1: "email", 2: "email_2", 3: "phone", 4: "phone_2"}


def test_the_mapping_needs_a_name_email_or_phone_column(
    alice_client: Client, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Stage,Notes\nNew,hello\n")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            reverse("contacts:import_detail", args=[job.id]),
            {"column_0": "stage", "column_1": "notes", "dedupe": "skip"},
        )

    assert response.status_code == 400
    assert "Map at least one column to a name, an email or a phone." in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded"
    assert callbacks == []


def test_a_field_mapped_twice_is_an_error_on_the_second_column(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Email,Work email\na@example.com,b@example.com\n")

    response = alice_client.post(
        reverse("contacts:import_detail", args=[job.id]),
        {"column_0": "email", "column_1": "email", "dedupe": "skip"},
    )

    assert response.status_code == 400
    assert response.context["form"].errors["column_1"] == [
        "“Email” is already mapped to Email. Pick one column."
    ]


def test_posting_the_mapping_queues_the_import_once(
    alice_client: Client, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Name,Phone\nPat Lee,4155550101\n")
    url = reverse("contacts:import_detail", args=[job.id])
    data = {"column_0": "full_name", "column_1": "phone", "dedupe": "update"}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = alice_client.post(url, data)
        second = alice_client.post(url, data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.dedupe, job.mapping) == (
        "queued",
        "update",
        {"0": "full_name", "1": "phone"},
    )


def test_a_second_delivery_of_the_task_does_nothing(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)
    job = run_import(
        ws,
        alice,
        "Name,Email\nPat Lee,pat@example.com\n",
        capture=django_capture_on_commit_callbacks,
    )

    importer.import_run(workspace_id=ws.id, import_id=job.id)

    assert job.status == "done"
    assert ws_contacts(ws).count() == 1
    assert Activity.objects.for_workspace(ws).count() == 1


def test_a_job_of_another_workspace_is_not_run(
    alice: Any, charlie: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Name,Email\nPat Lee,pat@example.com\n")
    with django_capture_on_commit_callbacks(execute=False):
        importer.import_mapping_save(job=job, mapping={0: "full_name", 1: "email"}, dedupe="skip")

    importer.import_run(workspace_id=workspace_of(charlie).id, import_id=job.id)

    job.refresh_from_db()
    assert job.status == "queued"
    assert ws_contacts(workspace_of(alice)).count() == 0


# --- dedupe policies --------------------------------------------------------------------------
@pytest.fixture
def maria(ws_with_stages: Any, alice: Any) -> Contact:
    """The Maria an import's row matches by email: Maria Old, a seller with a budget."""
    return create_contact(
        workspace=ws_with_stages,
        actor=alice,
        first_name="Maria",
        last_name="Old",
        emails=["maria@example.com"],
        tags=["Seller"],
        budget_min=300_000,
        budget_max=400_000,
    )


DEDUPE_CSV = (
    "First,Last,Email,Phone,Tags,Budget min,Notes\n"
    "Maria,Lopez,maria@example.com,4155550101,VIP,500000,Called back\n"
    "Tom,Nguyen,tom@example.com,,,,\n"
)


def test_skip_leaves_a_matching_contact_alone_and_imports_the_rest(
    maria: Contact, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)

    job = run_import(
        ws, alice, DEDUPE_CSV, dedupe="skip", capture=django_capture_on_commit_callbacks
    )

    assert (job.status, job.created_count, job.updated_count, job.skipped_count) == (
        "done",
        1,
        0,
        1,
    )
    maria.refresh_from_db()
    assert (maria.last_name, maria.budget_min) == ("Old", 300_000)
    assert not ContactPhone.objects.for_workspace(ws).filter(contact=maria).exists()
    assert sorted(ws_contacts(ws).values_list("first_name", flat=True)) == ["Maria", "Tom"]


def test_update_changes_the_matching_contact_with_the_rows_values(
    maria: Contact, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)

    job = run_import(
        ws, alice, DEDUPE_CSV, dedupe="update", capture=django_capture_on_commit_callbacks
    )

    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 1, 0)
    maria.refresh_from_db()
    assert (maria.first_name, maria.last_name) == ("Maria", "Lopez")
    # The new lower bound is above the old upper one: the range starts again from it.
    assert (maria.budget_min, maria.budget_max) == (500_000, None)
    assert maria.primary_phone == "+14155550101"
    assert "4155550101" in maria.search_text
    assert "lopez" in maria.search_text
    assert sorted(t.name for t in maria.tags.all()) == ["Seller", "VIP"]
    assert Note.objects.for_workspace(ws).get(contact=maria).body == "Called back"
    assert Activity.objects.for_workspace(ws).filter(
        contact=maria, kind="imported"
    ).get().summary == ("Updated from import leads.csv")
    assert ws_contacts(ws).count() == 2


def test_create_adds_a_new_contact_and_flags_the_pair_as_duplicates(
    maria: Contact, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)

    job = run_import(
        ws, alice, DEDUPE_CSV, dedupe="create", capture=django_capture_on_commit_callbacks
    )

    assert (job.created_count, job.updated_count, job.skipped_count) == (2, 0, 0)
    twin = ws_contacts(ws).get(last_name="Lopez")
    flag = DuplicateFlag.objects.for_workspace(ws).get()
    assert (flag.contact_a_id, flag.contact_b_id) == (maria.id, twin.id)
    assert flag.reason == "Same email maria@example.com"
    maria.refresh_from_db()
    assert maria.last_name == "Old"


def test_a_merged_or_deleted_contact_is_not_a_match(
    maria: Contact, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)
    ws_contacts(ws).filter(id=maria.id).update(deleted_at=maria.created_at)

    job = run_import(
        ws, alice, DEDUPE_CSV, dedupe="skip", capture=django_capture_on_commit_callbacks
    )

    assert (job.created_count, job.skipped_count) == (2, 0)


# --- cell values ------------------------------------------------------------------------------
def test_formula_like_cells_are_stored_as_plain_text(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)
    text = (
        'First,Last,Email,Tags,Notes\n"=HYPERLINK(""http://evil.example"",""click"")",+Plus,'
        "a@example.com,@vip,-5 stars\n"
    )

    job = run_import(ws, alice, text, capture=django_capture_on_commit_callbacks)

    assert job.status == "done"
    contact = ws_contacts(ws).get()
    assert contact.first_name == '=HYPERLINK("http://evil.example","click")'
    assert contact.last_name == "+Plus"
    assert [t.name for t in contact.tags.all()] == ["@vip"]
    assert Note.objects.for_workspace(ws).get().body == "-5 stars"


def test_values_of_every_kind_are_parsed(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ws = workspace_of(alice)
    CustomField.objects.create(
        workspace=ws, key="pre_approved", label="Pre-approved", kind="yes_no"
    )
    CustomField.objects.create(workspace=ws, key="beds", label="Beds", kind="number")
    CustomField.objects.create(
        workspace=ws, key="lender", label="Lender", kind="choice", choices=["Chase", "Wells"]
    )
    text = (
        "Full name,Email,Email 2,Phone 2,Source,Role,Budget from,Budget to,Timeframe,Follow up,"
        "Pre-approved,Beds,Lender\n"
        "\"Lopez, Maria\",m@example.com,M2@Example.com,+44 20 7946 0958,Open house,Buyer,450k,1.2M,"
        "6-12 months,03/15/2031,yes,3,chase\n"
    )  # fmt: skip

    job = run_import(ws, alice, text, capture=django_capture_on_commit_callbacks)

    assert job.status == "done", job.errors
    c = ws_contacts(ws).get()
    assert (c.first_name, c.last_name, source_key(c), c.role) == (
        "Maria",
        "Lopez",
        "open_house",
        "buyer",
    )
    assert (c.budget_min, c.budget_max, c.timeframe) == (450_000, 1_200_000, "later")
    assert c.next_follow_up_on.isoformat() == "2031-03-15"
    assert c.custom_fields == {"pre_approved": True, "beds": 3, "lender": "Chase"}
    assert (c.primary_email, c.primary_phone) == ("m@example.com", "+442079460958")
    assert sorted(ContactEmail.objects.for_workspace(ws).values_list("email", "is_primary")) == [
        ("m2@example.com", False),
        ("m@example.com", True),
    ]


def test_a_utf8_file_with_a_byte_order_mark_is_read(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    text = "\ufeffFirst name,Email\nJosé,jose@example.com\n".encode()

    job = run_import(workspace_of(alice), alice, text, capture=django_capture_on_commit_callbacks)

    assert job.headers == ["First name", "Email"]
    assert ws_contacts(workspace_of(alice)).get().first_name == "José"


def test_a_semicolon_separated_file_is_read(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_import(
        workspace_of(alice),
        alice,
        "Name;Email\nPat Lee;pat@example.com\n",
        capture=django_capture_on_commit_callbacks,
    )

    assert job.status == "done"
    assert ws_contacts(workspace_of(alice)).get().last_name == "Lee"


# --- progress ---------------------------------------------------------------------------------
def test_progress_is_read_from_the_cache_while_the_import_transaction_is_open(
    alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    ws = workspace_of(alice)
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    seen = []
    write = importer._BatchWriter.write

    def write_and_look(self: Any, batch: Any, counts: Any) -> None:
        write(self, batch, counts)
        # What the page would show right after the previous batch (this one is not counted yet).
        job = importer.access_import(ws, self.job.id)
        progress = importer.import_progress_get(job=job)
        seen.append(
            (job.processed_rows, progress.status, progress.processed_rows, progress.percent)
        )

    monkeypatch.setattr(importer._BatchWriter, "write", write_and_look)
    text = "Name,Email\n" + "".join(f"Pat {i},p{i}@example.com\n" for i in range(5))

    run_import(ws, alice, text, capture=django_capture_on_commit_callbacks)

    assert seen == [(0, "importing", 0, 0), (0, "importing", 2, 40), (0, "importing", 4, 80)]


def test_the_progress_fragment_polls_while_the_import_runs(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Name\n" + "Pat\n" * 10)
    ImportJob.objects.for_workspace(workspace_of(alice)).filter(id=job.id).update(
        status="importing"
    )
    cache.set(importer._progress_key(job.id), {"status": "importing", "processed_rows": 4})

    response = alice_client.get(reverse("contacts:import_progress", args=[job.id]))

    body = response.content.decode()
    assert 'hx-trigger="every 500ms"' in body
    assert '<progress class="import-bar" max="100" value="40"' in body
    assert "4 of 10 rows" in body
    assert "<html" not in body


def test_the_progress_fragment_of_a_finished_import_stops_polling_and_shows_counts(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    job = upload(workspace_of(alice), alice, "Name\nPat\n")
    ImportJob.objects.for_workspace(workspace_of(alice)).filter(id=job.id).update(
        status="done", created_count=7, updated_count=2, skipped_count=1
    )

    response = alice_client.get(reverse("contacts:import_progress", args=[job.id]))

    body = response.content.decode()
    assert "hx-trigger" not in body
    assert "<dt>Added</dt><dd>7</dd>" in body
    assert "<dt>Updated</dt><dd>2</dd>" in body
    assert "<dt>Skipped</dt><dd>1</dd>" in body
    assert reverse("contacts:list") in body


def test_the_page_of_a_failed_import_lists_the_line_errors(
    alice_client: Client, alice: Any, workspace_of: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_import(
        workspace_of(alice),
        alice,
        "Name,Email\nPat,not-an-email\n",
        capture=django_capture_on_commit_callbacks,
    )

    response = alice_client.get(reverse("contacts:import_detail", args=[job.id]))

    body = response.content.decode()
    assert "hx-trigger" not in body
    assert "Nothing was imported. Fix these lines and upload again." in body
    assert "Line 2: “not-an-email” in column “Email” is not a valid email address." in body


# --- the upload -------------------------------------------------------------------------------
class NeverRead(SimpleUploadedFile):
    def chunks(self, chunk_size: int | None = None) -> Any:
        raise AssertionError("a refused file must not be read")

    def read(self, *args: Any) -> bytes:
        raise AssertionError("a refused file must not be read")


def test_a_file_over_the_limit_is_refused_before_it_is_read(settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 20 * 1024 * 1024
    big = NeverRead("big.csv", b"", content_type="text/csv")
    big.size = 50 * 1024 * 1024

    form = ImportUploadForm(data={}, files=MultiValueDict({"file": [big]}))

    assert not form.is_valid()
    assert form.errors["file"] == [
        "This file is 50.0 MB; the limit is 20 MB. Split it into smaller files."
    ]


def test_the_upload_page_refuses_a_file_over_the_limit(
    alice_client: Client, alice: Any, workspace_of: Any, settings: Any
) -> None:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    text = "Name,Notes\n" + ("Pat," + "x" * 1000 + "\n") * 1600

    response = alice_client.post(reverse("contacts:import_upload"), {"file": upload_file(text)})

    assert response.status_code == 400
    assert "This file is 1.5 MB; the limit is 1 MB. Split it into smaller files." in (
        response.content.decode()
    )
    assert not ImportJob.objects.for_workspace(workspace_of(alice)).exists()


def test_an_upload_is_stored_with_its_headers_and_row_count(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    response = alice_client.post(reverse("contacts:import_upload"), {"file": upload_file(GOOD_CSV)})

    job = ImportJob.objects.for_workspace(workspace_of(alice)).get()
    assert response.status_code == 302
    assert (job.filename, job.status, job.total_rows, job.created_by) == (
        "leads.csv",
        "uploaded",
        3,
        alice,
    )
    assert job.headers[:4] == ["First Name", "Surname", "E-mail", "Mobile"]
    assert bytes(job.content) == GOOD_CSV.encode()
