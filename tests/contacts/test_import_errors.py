"""Bad input to the CSV import: refused files, and rows whose problems are reported with the line
numbers of the file while nothing at all is imported (the all-or-nothing option; the default,
importing the good rows, is in test_import_partial.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from contacts.imports import services as importer
from contacts.models import Activity, Contact, ContactEmail, ImportJob, Note, Tag
from contacts.services import ContactInput, contact_create
from tests.contacts.conftest import errors_of, run_import, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(ws: Any, alice: Any, django_capture_on_commit_callbacks: Any) -> Any:
    def run(text: str, **kwargs: Any) -> ImportJob:
        kwargs.setdefault("all_or_nothing", True)
        return run_import(ws, alice, text, capture=django_capture_on_commit_callbacks, **kwargs)

    return run


def assert_nothing_imported(ws: Any, job: ImportJob) -> None:
    assert job.status == "failed"
    assert job.created_count == job.updated_count == 0
    assert bytes(job.content) == b""
    assert not Contact.objects.for_workspace(ws).exists()
    assert not ContactEmail.objects.for_workspace(ws).exists()
    assert not Tag.objects.for_workspace(ws).exists()
    assert not Note.objects.for_workspace(ws).exists()
    assert not Activity.objects.for_workspace(ws).exists()


# --- files refused at upload ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"  \r\n\n", "The file is empty."),
        (
            b"\nName,Email\nPat,pat@example.com\n",
            "The first line is empty. It should name the columns, e.g. First name, Last name, "
            "Email, Phone.",
        ),
        (
            b"Pat Lee,pat@example.com,415-555-0101\nAnn Roe,ann@example.com,415-555-0102\n",
            "The first line looks like a contact, not column names. Add a header row, e.g. "
            "First name, Last name, Email, Phone.",
        ),
        (b"Name,Email\n\n", "The file has a header row but no contacts below it."),
        (
            b"Name,Notes\nPat," + b"x" * 200_000 + b"\n",
            "Line 2 can't be read as CSV (field larger than field limit (131072)). Is this really "
            "a CSV file?",
        ),
    ],
    ids=[
        "empty",
        "blank-lines",
        "blank-header",
        "no-header",
        "no-rows",
        "huge-cell",
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_with_a_reason(
    alice_client: Client, ws: Any, content: bytes, message: str | None
) -> None:
    upload = SimpleUploadedFile("leads.csv", content, content_type="text/csv")

    response = alice_client.post(reverse("contacts:import_upload"), {"file": upload})

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [message]
    assert not ImportJob.objects.for_workspace(ws).exists()


def test_a_file_with_too_many_rows_is_refused(ws: Any, alice: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)

    with pytest.raises(importer.ImportFileError) as refused:
        upload(ws, alice, "Name\nA\nB\nC\nD\n")

    assert str(refused.value) == "The file has more than 3 rows. Split it into smaller files."
    assert upload(ws, alice, "Name\nA\nB\nC\n").total_rows == 3


def test_a_file_that_is_not_csv_by_name_is_refused(alice_client: Client) -> None:
    upload = SimpleUploadedFile("leads.xlsx", b"PK\x03\x04", content_type="application/zip")

    response = alice_client.post(reverse("contacts:import_upload"), {"file": upload})

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "Choose a .csv file. In Excel or Google Sheets use File → Save As / Download → CSV."
    ]


# --- rows with problems: reported by line, nothing written ------------------------------------
def test_each_invalid_value_is_reported_with_its_line_and_column(ws: Any, run: Any) -> None:
    text = (
        "First,Last,Email,Phone,Stage,Budget min,Budget max,Follow up\n"
        "Ann,Ok,ann@example.com,415-555-0101,New,100000,200000,2031-01-02\n"
        "Bob,Badphone,bob@example.com,555-12,,,,\n"
        "Cat,Bademail,cat@@example,,,,,\n"
        "Dan,Badstage,dan@example.com,,Hot lead,,,\n"
        "Eve,Badnumber,eve@example.com,,,lots,,\n"
        "Fay,Baddate,fay@example.com,,,,,next tuesday\n"
        "Gus,Badrange,gus@example.com,,,900000,100000,\n"
        ",,,,New,,,\n"
    )

    job = run(text)

    assert errors_of(job) == [
        "Line 3: “555-12” in column “Phone” is not a valid phone number.",
        "Line 4: “cat@@example” in column “Email” is not a valid email address.",
        "Line 5: “Hot lead” in column “Stage” is not a stage (your stages: New, Contacted, "
        "Qualified, Showing, Under contract, Closed, Lost).",
        "Line 6: “lots” in column “Budget min” is not an amount.",
        "Line 7: “next tuesday” in column “Follow up” is not a date (use YYYY-MM-DD or MM/DD/YYYY).",
        "Line 8: the budget from (900,000) is above the budget to (100,000).",
        "Line 9: no name, email or phone.",
    ]
    assert [e["line"] for e in job.errors] == [3, 4, 5, 6, 7, 8, 9]
    assert job.error_count == 7
    assert_nothing_imported(ws, job)


def test_a_row_with_more_or_fewer_cells_than_the_header_is_reported(ws: Any, run: Any) -> None:
    rows = ["Ann,Lee,ann@example.com,,,"] * 12
    rows.append("Bob,Lee,bob@example.com,,,,")  # line 14: one cell too many
    rows.append("Cat,Lee")  # line 15: too few
    text = "First,Last,Email,Tags,Notes,Stage\n" + "\n".join(
        r.replace("ann@", f"ann{i}@") for i, r in enumerate(rows)
    )

    job = run(text)

    assert errors_of(job) == [
        "Line 14: 7 cells, the header has 6",
        "Line 15: 2 cells, the header has 6",
    ]
    assert_nothing_imported(ws, job)


def test_a_row_repeating_an_earlier_row_of_the_file_is_reported(ws: Any, run: Any) -> None:
    lines = ["Name,Email,Phone"]
    lines += [f"Person {n},p{n}@example.com,415555{n:04d}" for n in range(2, 30)]
    lines[12 - 1] = "Ann Lee,a@b.com,"
    lines.append("Ann Again,A@B.com,")  # line 30
    lines.append("Tom Phone,,(415) 555-0003")  # line 31, same phone as line 3
    text = "\n".join(lines) + "\n"

    job = run(text)

    assert errors_of(job) == [
        "Line 30 repeats line 12 (same email a@b.com).",
        "Line 31 repeats line 3 (same phone (415) 555-0003).",
    ]
    assert_nothing_imported(ws, job)


def test_line_numbers_count_the_lines_of_quoted_multi_line_cells(ws: Any, run: Any) -> None:
    text = (
        "Name,Notes,Email\n"
        'Ann Lee,"line one\nline two\nline three",ann@example.com\n'
        "\n"
        "Bob Lee,,not-an-email\n"
    )

    job = run(text)

    assert errors_of(job) == [
        "Line 6: “not-an-email” in column “Email” is not a valid email address."
    ]
    assert_nothing_imported(ws, job)


def test_an_existing_contact_is_untouched_when_the_file_has_errors(
    ws: Any, alice: Any, run: Any
) -> None:
    maria = contact_create(
        workspace=ws, actor=alice, data=ContactInput(first_name="Maria", emails=["m@example.com"])
    )
    before = list(Contact.objects.for_workspace(ws).values())

    job = run("Name,Email\nMaria New,m@example.com\nBad,x@\n", dedupe="update")

    assert job.status == "failed"
    assert list(Contact.objects.for_workspace(ws).values()) == before
    assert Activity.objects.for_workspace(ws).filter(contact=maria).count() == 1


def test_at_most_500_errors_are_kept_but_all_are_counted(ws: Any, run: Any) -> None:
    text = "Name,Email\n" + "".join(f"P{n},bad{n}\n" for n in range(600))

    job = run(text)

    assert job.error_count == 600
    assert len(job.errors) == 500
    assert job.errors[-1]["line"] == 501
    assert_nothing_imported(ws, job)


def test_a_cell_too_long_for_its_field_is_reported(ws: Any, run: Any) -> None:
    job = run(f"First,Tags\n{'A' * 81},ok\nBo,{'t' * 41}\n")

    assert errors_of(job) == [
        f"Line 2: “{'A' * 59}…” in column “First” is longer than 80 characters.",
        f"Line 3: “{'t' * 41}” in column “Tags” has a tag longer than 40 characters (“{'t' * 41}”).",
    ]


def test_an_unexpected_error_while_writing_fails_the_import_and_writes_nothing(
    ws: Any, run: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    calls = []
    write = importer._BatchWriter.write

    def write_then_break(self: Any, batch: Any, counts: Any) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        write(self, batch, counts)

    monkeypatch.setattr(importer._BatchWriter, "write", write_then_break)

    job = run("Name,Email,Tags\n" + "".join(f"P{n},p{n}@example.com,t{n}\n" for n in range(5)))

    assert calls == [2, 2]
    assert job.failure.startswith("Something went wrong on our side while importing.")
    assert_nothing_imported(ws, job)
