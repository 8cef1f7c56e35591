"""CSV import of contacts: the upload checks, the column mapping, row validation and the
all-or-nothing write.

The flow: `import_upload_create` checks the file and stores it on an ImportJob (in the database, so
any worker host can read it) → the agent maps columns → `import_start` queues
`contacts.tasks.imports.contacts_import_run` → `import_run` validates every row (pass 1) and, only
if no row has a problem, writes them all in one transaction (pass 2).

Rows are streamed from the stored bytes in both passes; only the emails and phones already seen
are kept in memory (for the in-file duplicate check), never the rows themselves. Cell values are
plain text: a cell starting with "=", "+", "-" or "@" is stored as typed and never evaluated
(escaping formulas is the CSV export's job).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.money import parse_amount
from contacts import custom_fields
from contacts.models import (
    Activity,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    DuplicateFlag,
    ImportJob,
    Note,
    PipelineStage,
    Source,
)
from contacts.normalize import (
    InvalidPhone,
    normalize_email,
    phone_display,
    phone_to_e164,
    search_text_for,
)
from contacts.pipeline.services import default_stage, pipeline_create_defaults
from contacts.services import tags_get_or_create

log = logging.getLogger(__name__)

MAX_ROWS = 100_000
MAX_COLUMNS = 100
MAX_STORED_ERRORS = 500
BATCH_SIZE = 1000
PREVIEW_ROWS = 5
PROGRESS_TTL_SECONDS = 6 * 3600
MAX_AMOUNT = 2_147_483_647  # budget columns are PostgreSQL integers


class ImportFileError(ValueError):
    """The uploaded file cannot be imported; the message says why, for a person."""


# --- targets and the mapping guess ---------------------------------------------------------------
IGNORE = ""
CUSTOM_PREFIX = "custom:"
TARGETS: list[tuple[str, str]] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("full_name", "Full name (split into first and last)"),
    ("email", "Email"),
    ("email_2", "Second email"),
    ("phone", "Phone"),
    ("phone_2", "Second phone"),
    ("stage", "Stage (by name)"),
    ("source", "Source"),
    ("tags", "Tags (separated by , or ;)"),
    ("role", "Buyer / seller"),
    ("budget_min", "Budget from"),
    ("budget_max", "Budget to"),
    ("timeframe", "Timeframe"),
    ("next_follow_up_on", "Next follow-up date"),
    ("notes", "Notes (added as a note)"),
]
# A row needs one of these, and the mapping must name at least one.
IDENTITY_TARGETS = frozenset(
    {"first_name", "last_name", "full_name", "email", "email_2", "phone", "phone_2"}
)

# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
_SYNONYMS: dict[str, list[str]] = {
    "first_name": ["firstname", "first", "givenname", "forename", "fname", "first_name"],
    "last_name": ["lastname", "last", "surname", "familyname", "lname"],
    "full_name": ["name", "fullname", "contactname", "contact", "displayname", "clientname"],
    "email": ["email", "emailaddress", "mail", "email1", "primaryemail", "emailaddress1"],
    "email_2": ["email2", "secondemail", "otheremail", "alternateemail", "emailaddress2"],
    "phone": ["phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell",
              "cellphone", "cellnumber", "tel", "telephone", "phone1", "primaryphone"],
    "phone_2": ["phone2", "otherphone", "homephone", "workphone", "secondphone",
                "alternatephone", "landline"],
    "stage": ["stage", "leadstage", "status", "leadstatus", "pipelinestage"],
    "source": ["source", "leadsource", "origin"],
    "tags": ["tags", "tag", "labels", "label", "groups"],
    "role": ["role", "buyerseller", "leadtype", "contacttype", "type"],
    "budget_min": ["budgetmin", "minbudget", "budgetfrom", "minprice", "pricemin", "pricefrom"],
    "budget_max": ["budgetmax", "maxbudget", "budgetto", "maxprice", "pricemax", "priceto",
                   "budget"],
    "timeframe": ["timeframe", "timeline", "movingtimeframe", "when"],
    "next_follow_up_on": ["nextfollowup", "followup", "followupdate", "nextfollowupdate",
                          "nextfollowupon", "followupon"],
    "notes": ["notes", "note", "comments", "comment", "description"],
}  # fmt: skip
_HEADER_TO_TARGET = {alias: target for target, aliases in _SYNONYMS.items() for alias in aliases}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _header_key(header: str) -> str:
    return _NOT_ALNUM.sub("", header.lower())


def target_choices(custom_fields: Iterable[CustomField]) -> list[tuple[str, str]]:
    """Every target a column can be mapped to, "Ignore" first, then the workspace's custom
    fields."""
    return [
        (IGNORE, "Ignore this column"),
        *TARGETS,
        *((f"{CUSTOM_PREFIX}{f.key}", f"Custom: {f.label}") for f in custom_fields),
    ]


def import_mapping_guess(
    headers: Sequence[str], custom_fields: Iterable[CustomField]
) -> dict[int, str]:
    """Column index -> target, from the header names (case, spaces and punctuation ignored; common
    synonyms such as "E-mail", "Mobile", "Cell", "Surname"). Each target is guessed once; a
    second email or phone column becomes the second email or phone."""
    by_header = dict(_HEADER_TO_TARGET)
    for custom in custom_fields:
        by_header[_header_key(custom.label)] = by_header[_header_key(custom.key)] = (
            f"{CUSTOM_PREFIX}{custom.key}"
        )
    guess: dict[int, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        target = by_header.get(_header_key(header))
        if target in used and target in ("email", "phone"):
            target = f"{target}_2"
        if target and target not in used:
            guess[index] = target
            used.add(target)
    return guess


def mapping_problems(mapping: dict[int, str], headers: Sequence[str]) -> dict[int | None, str]:
    """What is wrong with a mapping, as column index (None: the whole mapping) -> message."""
    problems: dict[int | None, str] = {}
    first_column: dict[str, int] = {}
    labels = dict(TARGETS)
    for index in sorted(mapping):
        target = mapping[index]
        if not target:
            continue
        if target in first_column:
            earlier = headers[first_column[target]] or f"Column {first_column[target] + 1}"
            label = labels.get(target, target.removeprefix(CUSTOM_PREFIX))
            problems[index] = f"“{earlier}” is already mapped to {label}. Pick one column."
        else:
            first_column[target] = index
    if not IDENTITY_TARGETS & set(first_column):
        problems[None] = "Map at least one column to a name, an email or a phone."
    elif "full_name" in first_column and {"first_name", "last_name"} & set(first_column):
        problems[None] = "Map either a full name column or first/last name columns, not both."
    return problems


# --- reading the file ----------------------------------------------------------------------------
def _delimiter_for(first_line: str) -> str:
    # Spreadsheets in many locales save CSV with semicolons; a header tells us which one is used.
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] and not counts[","] else ","


def _reader(content: bytes) -> Any:
    # newline="" lets the csv module see the line endings inside quoted cells; utf-8-sig drops the
    # byte-order mark Excel writes at the start of "CSV UTF-8" files.
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    delimiter = _delimiter_for(text.readline())
    text.seek(0)
    return csv.reader(text, delimiter=delimiter)


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) after the header; blank lines skipped.
    A quoted cell can span lines, so the start is one after where the previous record ended."""
    last_line = reader.line_num
    for cells in reader:
        line, last_line = last_line + 1, reader.line_num
        if any(cell.strip() for cell in cells):
            yield line, cells


def _looks_like_data(cells: Sequence[str]) -> bool:
    return any("@" in cell or sum(ch.isdigit() for ch in cell) >= 7 for cell in cells)


def import_file_inspect(content: bytes) -> tuple[list[str], int]:
    """The header names and the number of data rows of an uploaded CSV.

    Raises ImportFileError (empty, not UTF-8, no header row, no rows, too many rows or columns,
    unreadable CSV) with a message that says what to do. Streams the file; nothing is kept.
    """
    if not content or content.isspace():
        raise ImportFileError("The file is empty.")
    reader = None
    try:
        reader = _reader(content)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ImportFileError(
                "The first line is empty. It should name the columns, e.g. "
                "First name, Last name, Email, Phone."
            )
        if _looks_like_data(header):
            raise ImportFileError(
                "The first line looks like a contact, not column names. Add a header row, e.g. "
                "First name, Last name, Email, Phone."
            )
        if len(header) > MAX_COLUMNS:
            raise ImportFileError(
                f"The file has {len(header)} columns; at most {MAX_COLUMNS} can be imported."
            )
        total = 0
        for _line, _cells in _records(reader):
            total += 1
            if total > MAX_ROWS:
                raise ImportFileError(
                    f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
                )
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file isn't UTF-8 text. In Excel use Save As → CSV UTF-8."
        ) from None
    except csv.Error as exc:
        line = reader.line_num if reader is not None else 1
        raise ImportFileError(
            f"Line {line} can't be read as CSV ({exc}). Is this really a CSV file?"
        ) from None
    if total == 0:
        raise ImportFileError("The file has a header row but no contacts below it.")
    headers = [cell.strip()[:80] or f"Column {i + 1}" for i, cell in enumerate(header)]
    return headers, total


def import_upload_create(
    *, workspace: Workspace, actor: User, filename: str, content: bytes
) -> ImportJob:
    """Check an uploaded CSV (see import_file_inspect) and store it, waiting for its column
    mapping. Raises ImportFileError. The size limit is checked by the caller before reading."""
    headers, total = import_file_inspect(content)
    return ImportJob.objects.create(
        workspace=workspace,
        created_by=actor,
        filename=filename[:200],
        content=content,
        headers=headers,
        total_rows=total,
    )


def access_import(workspace: Workspace, import_id: int | str) -> ImportJob:
    """The workspace's import job (without its file content), or Http404."""
    return (
        ImportJob.objects.for_workspace(workspace)
        .defer("content")
        .get_or_404("import", id=import_id)
    )


def _job_content(job: ImportJob) -> bytes:
    content = (
        ImportJob.objects.for_workspace(job.workspace)
        .filter(id=job.id)
        .values_list("content", flat=True)
        .first()
    )
    return bytes(content or b"")


def import_preview(*, job: ImportJob, rows: int = PREVIEW_ROWS) -> list[tuple[int, list[str]]]:
    """The first data rows of the stored file as (line number, cells), the cells padded or cut
    to the header's width."""
    width = len(job.headers)
    preview = []
    for line, cells in _records(_skip_header(_reader(_job_content(job)))):
        preview.append((line, [*cells[:width], *[""] * (width - len(cells))]))
        if len(preview) >= rows:
            break
    return preview


def _skip_header(reader: Any) -> Any:
    next(reader, None)
    return reader


def import_start(*, job: ImportJob, mapping: dict[int, str], dedupe: str) -> bool:
    """Save the column mapping and dedupe policy and queue the import (sends
    contacts_import_run after commit). A job already started is left alone (returns False).
    Raises ValueError for an invalid mapping."""
    from contacts.imports.tasks import contacts_import_run

    problems = mapping_problems(mapping, job.headers)
    if problems:
        raise ValueError(" ".join(problems.values()))
    if dedupe not in ImportJob.Dedupe.values:
        raise ValueError(f"Unknown dedupe policy {dedupe!r}")
    stored = {str(i): t for i, t in sorted(mapping.items()) if t and 0 <= i < len(job.headers)}
    with transaction.atomic():
        # State guard: a second POST of the mapping form does not queue the import twice.
        started = (
            ImportJob.objects.for_workspace(job.workspace)
            .filter(id=job.id, status=ImportJob.Status.UPLOADED)
            .update(mapping=stored, dedupe=dedupe, status=ImportJob.Status.QUEUED)
        )
        if started:
            contacts_import_run.delay_on_commit(job.id, job.workspace_id)
    job.refresh_from_db(fields=["mapping", "dedupe", "status"])
    return bool(started)


# --- progress ------------------------------------------------------------------------------------
def _progress_key(job_id: int) -> str:
    return f"contacts:import-progress:{job_id}"


def _progress_write(job: ImportJob, status: str, processed: int, counts: _Counts | None) -> None:
    # The row is inside the import's transaction until the end, so the page reads the cache.
    cache.set(
        _progress_key(job.id),
        {
            "status": status,
            "processed_rows": processed,
            **(counts.as_fields() if counts else {}),
        },
        PROGRESS_TTL_SECONDS,
    )


@dataclass
class ImportProgress:
    status: str
    status_label: str
    total_rows: int
    processed_rows: int
    created_count: int
    updated_count: int
    skipped_count: int

    @property
    def percent(self) -> int:
        if self.status == ImportJob.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, 100 * self.processed_rows // self.total_rows)

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)


def import_progress_get(*, job: ImportJob) -> ImportProgress:
    """Where the job is: the row when it is finished (or not started), else the live progress the
    worker writes to the cache while its transaction is open."""
    values: dict[str, Any] = {
        "status": job.status,
        "processed_rows": job.processed_rows,
        "created_count": job.created_count,
        "updated_count": job.updated_count,
        "skipped_count": job.skipped_count,
    }
    if job.status in (ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING):
        values.update(cache.get(_progress_key(job.id)) or {})
    status = str(values["status"])
    return ImportProgress(
        status=status,
        status_label=ImportJob.Status(status).label,
        total_rows=job.total_rows,
        processed_rows=int(values["processed_rows"]),
        created_count=int(values["created_count"]),
        updated_count=int(values["updated_count"]),
        skipped_count=int(values["skipped_count"]),
    )


# --- parsing one row -----------------------------------------------------------------------------
_email_validator = EmailValidator()
# No "%m/%d/%y": a two-digit year is refused (alt.lib.dates), never guessed.
# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
_ROLES = {
    "buyer": Contact.Role.BUYER, "buying": Contact.Role.BUYER, "seller": Contact.Role.SELLER,
    "selling": Contact.Role.SELLER, "both": Contact.Role.BOTH, "buyerseller": Contact.Role.BOTH,
    "buyersseller": Contact.Role.BOTH, "buyerandseller": Contact.Role.BOTH,
}  # fmt: skip
_SCALAR_FIELDS = ("stage", "source", "role", "budget_min", "budget_max", "timeframe")


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _choice_lookup(choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    lookup = {}
    for value, label in choices:
        if value:
            lookup[_header_key(value)] = value
            lookup[_header_key(label)] = value
    return lookup


_SOURCES = _choice_lookup(Source.choices)
_TIMEFRAMES = _choice_lookup(Contact.Timeframe.choices)


@dataclass
class _Context:
    """What every row is checked against, read once per import."""

    workspace: Workspace
    headers: list[str]
    mapping: dict[int, str]
    stages: dict[str, PipelineStage]
    custom_fields: dict[str, CustomField]

    @classmethod
    def for_job(cls, job: ImportJob) -> _Context:
        ws = job.workspace
        pipeline_create_defaults(workspace=ws)  # idempotent: a new workspace has no stages yet
        return cls(
            workspace=ws,
            headers=list(job.headers),
            mapping={int(i): t for i, t in job.mapping.items() if t},
            stages={s.name.strip().lower(): s for s in PipelineStage.objects.for_workspace(ws)},
            custom_fields={f.key: f for f in CustomField.objects.for_workspace(ws)},
        )


@dataclass
class ParsedRow:
    """One valid row, ready to write. `given` names the fields the row had a value for (the
    "update" dedupe policy changes only those)."""

    line: int
    first_name: str = ""
    last_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    stage: PipelineStage | None = None
    source: str = ""
    tags: list[str] = field(default_factory=list)
    role: str = ""
    budget_min: int | None = None
    budget_max: int | None = None
    timeframe: str = ""
    next_follow_up_on: date | None = None
    notes: str = ""
    custom: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)


class _CellError(ValueError):
    pass


def _parse_amount(value: str) -> int:
    try:
        amount = parse_amount(value)
    except ValueError:
        raise _CellError("is not an amount") from None
    if amount is None:  # a blank cell never gets here; a lone "$" does
        raise _CellError("is not an amount")
    if amount > MAX_AMOUNT:
        raise _CellError("is too large")
    return amount


def _parse_date(value: str) -> date:
    try:
        return custom_fields.parse_date(value)
    except custom_fields.InvalidValue as error:
        raise _CellError(str(error)) from None


def _parse_custom(custom: CustomField, value: str) -> Any:
    try:
        return custom_fields.parse_value(custom, value)
    except custom_fields.InvalidValue as error:
        raise _CellError(str(error)) from None


def _split_full_name(value: str) -> tuple[str, str]:
    if "," in value:  # "Lopez, Maria"
        last, _, first = value.partition(",")
        return first.strip(), last.strip()
    first, _, last = value.rpartition(" ")
    return (first.strip(), last.strip()) if first else (last.strip(), "")


def _parse_cell(ctx: _Context, row: ParsedRow, target: str, value: str) -> None:
    """Put one non-empty cell's value on the row; raise _CellError saying what is wrong."""
    if target in ("first_name", "last_name", "full_name"):
        if target == "full_name":
            names = dict(zip(("first_name", "last_name"), _split_full_name(value), strict=True))
        else:
            names = {target: value}
        for name_field, text in names.items():
            if len(text) > 80:
                raise _CellError("is longer than 80 characters")
            setattr(row, name_field, text)
            row.given.add(name_field)
    elif target in ("email", "email_2"):
        email = normalize_email(value)
        try:
            if len(email) > 254:
                raise ValidationError("too long")
            _email_validator(email)
        except ValidationError:
            raise _CellError("is not a valid email address") from None
        if email not in row.emails:
            row.emails.append(email)
    elif target in ("phone", "phone_2"):
        try:
            e164 = phone_to_e164(value)
        except InvalidPhone:
            raise _CellError("is not a valid phone number") from None
        if e164 not in row.phones:
            row.phones.append(e164)
    elif target == "stage":
        stage = ctx.stages.get(value.lower())
        if stage is None:
            known = ", ".join(s.name for s in sorted(ctx.stages.values(), key=_stage_order))
            raise _CellError(f"is not a stage (your stages: {known})")
        row.stage = stage
    elif target == "source":
        row.source = _SOURCES.get(_header_key(value)) or _raise(
            f"is not a source (use one of {', '.join(label for _, label in Source.choices)})"
        )
    elif target == "tags":
        row.tags = [t.strip() for t in re.split(r"[,;]", value) if t.strip()]
        too_long = [t for t in row.tags if len(t) > 40]
        if too_long:
            raise _CellError(f"has a tag longer than 40 characters (“{_short(too_long[0])}”)")
    elif target == "role":
        row.role = _ROLES.get(_header_key(value)) or _raise("is not buyer, seller or both")
    elif target in ("budget_min", "budget_max"):
        setattr(row, target, _parse_amount(value))
    elif target == "timeframe":
        row.timeframe = _TIMEFRAMES.get(_header_key(value)) or _raise(
            "is not a timeframe (use now, soon, later or someday)"
        )
    elif target == "next_follow_up_on":
        row.next_follow_up_on = _parse_date(value)
    elif target == "notes":
        row.notes = value
    elif target.startswith(CUSTOM_PREFIX):
        custom = ctx.custom_fields.get(target.removeprefix(CUSTOM_PREFIX))
        if custom is not None:  # a field deleted since the mapping was saved is ignored
            row.custom[custom.key] = _parse_custom(custom, value)
    row.given.add(target)


def _stage_order(stage: PipelineStage) -> tuple[int, int]:
    return stage.position, stage.id


def _raise(message: str) -> str:
    raise _CellError(message)


def _parse_row(ctx: _Context, line: int, cells: list[str]) -> tuple[ParsedRow, list[str]]:
    """The row's values and every problem with it, each message starting with its line number."""
    row = ParsedRow(line=line)
    width = len(ctx.headers)
    if len(cells) != width:
        plural = "cell" if len(cells) == 1 else "cells"
        return row, [f"Line {line}: {len(cells)} {plural}, the header has {width}"]
    errors = []
    for index, target in ctx.mapping.items():
        value = cells[index].strip()
        if not value:
            continue
        try:
            _parse_cell(ctx, row, target, value)
        except _CellError as exc:
            errors.append(f"Line {line}: “{_short(value)}” in column “{ctx.headers[index]}” {exc}.")
    if (
        row.budget_min is not None
        and row.budget_max is not None
        and row.budget_min > row.budget_max
    ):
        errors.append(
            f"Line {line}: the budget from ({row.budget_min:,}) is above the budget to "
            f"({row.budget_max:,})."
        )
    if not errors and not (row.first_name or row.last_name or row.emails or row.phones):
        errors.append(f"Line {line}: no name, email or phone.")
    return row, errors


def _parsed_rows(ctx: _Context, content: bytes) -> Iterator[tuple[ParsedRow, list[str]]]:
    for line, cells in _records(_skip_header(_reader(content))):
        yield _parse_row(ctx, line, cells)


# --- running an import ---------------------------------------------------------------------------
@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0

    def as_fields(self) -> dict[str, int]:
        return {
            "created_count": self.created,
            "updated_count": self.updated,
            "skipped_count": self.skipped,
        }


class _Abort(Exception):
    """Raised inside the write transaction to roll it back."""


def import_run(*, workspace_id: int, import_id: int) -> None:
    """Run a queued import: claim it (queued → validating, by a conditional UPDATE, so a second
    delivery of the task does nothing), check every row, then write all rows in one transaction
    or none.

    On row problems the job fails with up to MAX_STORED_ERRORS line-numbered errors and nothing is
    written. Any unexpected error also fails the job with a message and writes nothing. The stored
    file is cleared when the job finishes. Writes live progress to the cache. Raises nothing.
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    jobs = ImportJob.objects.for_workspace(workspace)
    claimed = jobs.filter(id=import_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.VALIDATING
    )
    if not claimed:
        return
    job = jobs.select_related("workspace", "created_by").get(id=import_id)
    try:
        content = _job_content(job)
        ctx = _Context.for_job(job)
        errors, error_count = _validate(job, ctx, content)
        if error_count:
            _finish(job, status=ImportJob.Status.FAILED, errors=errors, error_count=error_count)
            return
        jobs.filter(id=job.id).update(status=ImportJob.Status.IMPORTING, processed_rows=0)
        _progress_write(job, ImportJob.Status.IMPORTING, 0, _Counts())
        _write(job, ctx, content)
    except Exception:
        log.exception("import %s failed", import_id)
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            failure="Something went wrong on our side while importing. Nothing was imported; "
            "please try again, and contact support if it happens again.",
        )
    finally:
        cache.delete(_progress_key(job.id))


def _finish(job: ImportJob, **changes: Any) -> None:
    ImportJob.objects.for_workspace(job.workspace).filter(id=job.id).update(
        content=b"", finished_at=timezone.now(), **changes
    )


def _validate(job: ImportJob, ctx: _Context, content: bytes) -> tuple[list[dict[str, Any]], int]:
    """Pass 1: every problem of every row (the first MAX_STORED_ERRORS kept) and their count."""
    errors: list[dict[str, Any]] = []
    error_count = 0
    seen_emails: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    for processed, (row, row_errors) in enumerate(_parsed_rows(ctx, content), start=1):
        for message in row_errors or _repeats(row, seen_emails, seen_phones):
            error_count += 1
            if len(errors) < MAX_STORED_ERRORS:
                errors.append({"line": row.line, "message": message})
        if processed % BATCH_SIZE == 0:
            _progress_write(job, ImportJob.Status.VALIDATING, processed, None)
    return errors, error_count


def _repeats(row: ParsedRow, seen_emails: dict[str, int], seen_phones: dict[str, int]) -> list[str]:
    problems = []
    for email in row.emails:
        if email in seen_emails:
            problems.append(
                f"Line {row.line} repeats line {seen_emails[email]} (same email {email})."
            )
            break
    else:
        for e164 in row.phones:
            if e164 in seen_phones:
                problems.append(
                    f"Line {row.line} repeats line {seen_phones[e164]} "
                    f"(same phone {phone_display(e164)})."
                )
                break
    for email in row.emails:
        seen_emails.setdefault(email, row.line)
    for e164 in row.phones:
        seen_phones.setdefault(e164, row.line)
    return problems


def _batches(rows: Iterable[tuple[ParsedRow, list[str]]]) -> Iterator[list[ParsedRow]]:
    batch: list[ParsedRow] = []
    for row, _errors in rows:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(job: ImportJob, ctx: _Context, content: bytes) -> None:
    """Pass 2 (every row is valid): one transaction, batches of BATCH_SIZE rows."""
    counts = _Counts()
    processed = 0
    writer = _BatchWriter(job, ctx)
    with transaction.atomic():
        for batch in _batches(_parsed_rows(ctx, content)):
            writer.write(batch, counts)
            processed += len(batch)
            _progress_write(job, ImportJob.Status.IMPORTING, processed, counts)
        # The job turns "done" in the same commit as its contacts: never done without them.
        _finish(
            job,
            status=ImportJob.Status.DONE,
            processed_rows=processed,
            errors=[],
            error_count=0,
            failure="",
            **counts.as_fields(),
        )


class _BatchWriter:
    """Writes batches of valid rows with a few bulk queries each, applying the dedupe policy."""

    def __init__(self, job: ImportJob, ctx: _Context) -> None:
        self.job = job
        self.ws = ctx.workspace
        self.actor = job.created_by
        self.default_stage = default_stage(self.ws)
        self.tag_ids: dict[str, int] = {}
        self.now = timezone.now()

    def write(self, batch: list[ParsedRow], counts: _Counts) -> None:
        matches = self._matches(batch)
        to_create: list[tuple[ParsedRow, list[tuple[int, str]]]] = []
        to_update: list[tuple[ParsedRow, int]] = []
        for row in batch:
            found = matches.get(row.line, [])
            if not found:
                to_create.append((row, []))
            elif self.job.dedupe == ImportJob.Dedupe.SKIP:
                counts.skipped += 1
            elif self.job.dedupe == ImportJob.Dedupe.UPDATE:
                to_update.append((row, found[0][0]))
            else:
                to_create.append((row, found))
        self._tags_prepare(row for row in batch)
        self._create(to_create)
        self._update(to_update)
        counts.created += len(to_create)
        counts.updated += len(to_update)

    def _matches(self, batch: list[ParsedRow]) -> dict[int, list[tuple[int, str]]]:
        """Row line -> [(existing contact id, reason)], email matches first, oldest contact first."""
        emails = {e for row in batch for e in row.emails}
        phones = {p for row in batch for p in row.phones}
        live = {"contact__deleted_at": None, "contact__merged_into": None}
        by_email: dict[str, list[int]] = {}
        for email, contact_id in (
            ContactEmail.objects.for_workspace(self.ws)
            .filter(email__in=emails, **live)
            .order_by("contact_id")
            .values_list("email", "contact_id")
        ):
            by_email.setdefault(email, []).append(contact_id)
        by_phone: dict[str, list[int]] = {}
        for e164, contact_id in (
            ContactPhone.objects.for_workspace(self.ws)
            .filter(e164__in=phones, **live)
            .order_by("contact_id")
            .values_list("e164", "contact_id")
        ):
            by_phone.setdefault(e164, []).append(contact_id)
        matches: dict[int, list[tuple[int, str]]] = {}
        for row in batch:
            found: dict[int, str] = {}
            for email in row.emails:
                for contact_id in by_email.get(email, []):
                    found.setdefault(contact_id, f"Same email {email}")
            for e164 in row.phones:
                for contact_id in by_phone.get(e164, []):
                    found.setdefault(contact_id, f"Same phone {phone_display(e164)}")
            if found:
                matches[row.line] = list(found.items())
        return matches

    def _tags_prepare(self, rows: Iterable[ParsedRow]) -> None:
        missing = {t for row in rows for t in row.tags if t.lower() not in self.tag_ids}
        # Matches existing tags case-insensitively, so "vip" finds the tag "VIP".
        for tag in tags_get_or_create(workspace=self.ws, names=sorted(missing)):
            self.tag_ids[tag.name.lower()] = tag.id

    def _tag_links(self, contact_id: int, tags: list[str]) -> list[Any]:
        through = Contact.tags.through
        ids = dict.fromkeys(self.tag_ids[t.lower()] for t in tags)
        return [through(contact_id=contact_id, tag_id=tag_id) for tag_id in ids]

    def _create(self, rows: list[tuple[ParsedRow, list[tuple[int, str]]]]) -> None:
        if not rows:
            return
        ws = self.ws
        contacts = Contact.objects.for_workspace(ws).bulk_create(
            Contact(
                workspace=ws,
                first_name=row.first_name,
                last_name=row.last_name,
                stage=row.stage or self.default_stage,
                source=row.source or Source.IMPORT,
                role=row.role,
                budget_min=row.budget_min,
                budget_max=row.budget_max,
                timeframe=row.timeframe,
                custom_fields=row.custom,
                next_follow_up_on=row.next_follow_up_on,
                primary_email=row.emails[0] if row.emails else "",
                primary_phone=row.phones[0] if row.phones else "",
                search_text=search_text_for(row.first_name, row.last_name, row.emails, row.phones),
                created_at=self.now,
                last_activity_at=self.now,
            )
            for row, _found in rows
        )
        emails, phones, links, notes, flags = [], [], [], [], []
        for contact, (row, found) in zip(contacts, rows, strict=True):
            emails += [
                ContactEmail(workspace=ws, contact=contact, email=e, is_primary=i == 0)
                for i, e in enumerate(row.emails)
            ]
            phones += [
                ContactPhone(workspace=ws, contact=contact, e164=p, is_primary=i == 0)
                for i, p in enumerate(row.phones)
            ]
            links += self._tag_links(contact.id, row.tags)
            if row.notes:
                notes.append(Note(workspace=ws, contact=contact, author=self.actor, body=row.notes))
            for other_id, reason in found:
                a, b = sorted((contact.id, other_id))
                flags.append(
                    DuplicateFlag(workspace=ws, contact_a_id=a, contact_b_id=b, reason=reason)
                )
        ContactEmail.objects.for_workspace(ws).bulk_create(emails)
        ContactPhone.objects.for_workspace(ws).bulk_create(phones)
        Contact.tags.through.objects.bulk_create(links, ignore_conflicts=True)
        DuplicateFlag.objects.for_workspace(ws).bulk_create(flags, ignore_conflicts=True)
        summary = f"Imported from {self.job.filename}"
        self._activities(
            [(c, summary) for c in contacts], Note.objects.for_workspace(ws).bulk_create(notes)
        )

    def _activities(self, entries: list[tuple[Contact, str]], notes: list[Note]) -> None:
        data = {"import_id": self.job.id}
        Activity.objects.for_workspace(self.ws).bulk_create(
            [
                *(
                    Activity(
                        workspace=self.ws,
                        contact=contact,
                        kind=Activity.Kind.IMPORTED,
                        actor=self.actor,
                        summary=summary[:300],
                        data=data,
                        occurred_at=self.now,
                    )
                    for contact, summary in entries
                ),
                *(
                    Activity(
                        workspace=self.ws,
                        contact_id=note.contact_id,
                        kind=Activity.Kind.NOTE,
                        actor=self.actor,
                        summary="Note",
                        body=note.body,
                        data={"note_id": note.id, **data},
                        occurred_at=self.now,
                    )
                    for note in notes
                ),
            ]
        )

    def _update(self, rows: list[tuple[ParsedRow, int]]) -> None:
        """The "update" policy: the row's non-empty values replace the matched contact's; its
        emails, phones and tags are added; its note is added."""
        if not rows:
            return
        ws = self.ws
        ids = {contact_id for _row, contact_id in rows}
        contacts = {c.id: c for c in Contact.objects.for_workspace(ws).filter(id__in=ids)}
        emails: dict[int, list[str]] = {i: [] for i in ids}
        phones: dict[int, list[str]] = {i: [] for i in ids}
        for contact_id, email in (
            ContactEmail.objects.for_workspace(ws)
            .filter(contact_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("contact_id", "email")
        ):
            emails[contact_id].append(email)
        for contact_id, e164 in (
            ContactPhone.objects.for_workspace(ws)
            .filter(contact_id__in=ids)
            .order_by("-is_primary", "id")
            .values_list("contact_id", "e164")
        ):
            phones[contact_id].append(e164)
        new_emails, new_phones, links, notes = [], [], [], []
        changed: set[str] = set()
        for row, contact_id in rows:
            contact = contacts[contact_id]
            changed |= _apply_row(contact, row)
            for email in row.emails:
                if email not in emails[contact_id]:
                    is_primary = not emails[contact_id]
                    emails[contact_id].append(email)
                    new_emails.append(
                        ContactEmail(
                            workspace=ws, contact=contact, email=email, is_primary=is_primary
                        )
                    )
            for e164 in row.phones:
                if e164 not in phones[contact_id]:
                    is_primary = not phones[contact_id]
                    phones[contact_id].append(e164)
                    new_phones.append(
                        ContactPhone(
                            workspace=ws, contact=contact, e164=e164, is_primary=is_primary
                        )
                    )
            links += self._tag_links(contact_id, row.tags)
            if row.notes:
                notes.append(Note(workspace=ws, contact=contact, author=self.actor, body=row.notes))
        for contact in contacts.values():
            contact.primary_email = emails[contact.id][0] if emails[contact.id] else ""
            contact.primary_phone = phones[contact.id][0] if phones[contact.id] else ""
            contact.search_text = search_text_for(
                contact.first_name, contact.last_name, emails[contact.id], phones[contact.id]
            )
            contact.last_activity_at = max(contact.last_activity_at, self.now)
            contact.updated_at = self.now
        Contact.objects.for_workspace(ws).bulk_update(
            list(contacts.values()),
            sorted(
                changed
                | {
                    "primary_email",
                    "primary_phone",
                    "search_text",
                    "last_activity_at",
                    "updated_at",
                }
            ),
        )
        ContactEmail.objects.for_workspace(ws).bulk_create(new_emails)
        ContactPhone.objects.for_workspace(ws).bulk_create(new_phones)
        Contact.tags.through.objects.bulk_create(links, ignore_conflicts=True)
        summary = f"Updated from import {self.job.filename}"
        self._activities(
            [(contacts[contact_id], summary) for _row, contact_id in rows],
            Note.objects.for_workspace(ws).bulk_create(notes),
        )


def _apply_row(contact: Contact, row: ParsedRow) -> set[str]:
    """Copy the row's given values onto the contact; the names of the fields changed."""
    changed = set()
    for name in ("first_name", "last_name", *_SCALAR_FIELDS, "next_follow_up_on"):
        if name in row.given:
            setattr(contact, name, getattr(row, name))
            changed.add(name)
    # A new bound that crosses the other, older one replaces the range rather than breaking it.
    low, high = contact.budget_min, contact.budget_max
    if low is not None and high is not None and low > high:
        if "budget_min" in row.given:
            contact.budget_max = None
            changed.add("budget_max")
        else:
            contact.budget_min = None
            changed.add("budget_min")
    if row.custom:
        contact.custom_fields = {**(contact.custom_fields or {}), **row.custom}
        changed.add("custom_fields")
    return changed
