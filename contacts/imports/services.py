"""CSV (and vCard) import of contacts: the upload checks, the column and value mappings, row
validation, the write of the good rows, undo, and the sweep of jobs whose worker died.

The flow: `import_upload_create` decodes the file (its encoding detected), converts a vCard, and
stores it as UTF-8 CSV on an ImportJob (in the database, so any worker host can read it) → the
agent maps columns (`import_mapping_save`) → when a stage, source, agent or tags column is mapped,
the agent maps each distinct value (`import_values_found`, `import_start`) → `import_run`
(task `contacts.tasks.imports.contacts_import_run`) validates every row (pass 1) and writes the
rows without a problem in one transaction (pass 2); the others are kept as a CSV with a Reason
column. With `all_or_nothing`, one bad row means nothing is written.

Rows are streamed from the stored bytes in both passes; only the emails and phones already seen
(for the in-file duplicate check), the line numbers of bad rows and the bad rows themselves are
kept in memory. Cell values are plain text: a cell starting with "=", "+", "-" or "@" is stored as
typed and never evaluated (escaping formulas is the CSV export's job), except that the apostrophe
the export puts before such a cell is dropped, so ALT's own export reads back as it was.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import charset_normalizer
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.money import parse_amount
from contacts import custom_fields
from contacts.consent import consent_record_bulk
from contacts.imports import vcard
from contacts.listing.services import csv_cell
from contacts.models import (
    Activity,
    ConsentEvent,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomField,
    DuplicateFlag,
    ImportJob,
    LeadSource,
    Note,
    PipelineStage,
    Source,
    Tag,
)
from contacts.normalize import (
    InvalidPhone,
    normalize_email,
    phone_display,
    phone_to_e164,
    search_text_for,
)
from contacts.pipeline.services import (
    SetupError,
    default_stage,
    lead_source_add,
    lead_source_for_key,
    lead_sources_create_defaults,
    pipeline_create_defaults,
    stage_add,
)
from contacts.services import CONSENT_FIELDS, contacts_delete, tags_get_or_create

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
    ("assigned_to", "Assigned agent (email or name)"),
    ("tags", "Tags (separated by , or ;)"),
    ("role", "Buyer / seller"),
    ("budget_min", "Budget from"),
    ("budget_max", "Budget to"),
    ("timeframe", "Timeframe"),
    ("next_follow_up_on", "Next follow-up date"),
    ("consent_email", "Agreed to email (yes/no)"),
    ("consent_sms", "Agreed to SMS (yes/no)"),
    ("consent_instagram", "Agreed to Instagram messages (yes/no)"),
    ("notes", "Notes (added as a note)"),
]
# A row needs one of these, and the mapping must name at least one.
IDENTITY_TARGETS = frozenset(
    {"first_name", "last_name", "full_name", "email", "email_2", "phone", "phone_2"}
)
# The fields whose values the agent maps one by one on the second page (distinct values, counts).
VALUE_TARGETS: list[tuple[str, str]] = [
    ("stage", "Stage"),
    ("source", "Source"),
    ("assigned_to", "Assigned agent"),
    ("tags", "Tags"),
]
MAX_DISTINCT_VALUES = 50
VALUE_NEW, VALUE_BLANK = "new", ""

# The header names of the exports agents bring, besides common spellings: ALT's own export
# (first_name, emails, assigned_to, consent_email, custom:<key>...), Google Contacts ("E-mail 1 -
# Value", "Phone 1 - Value", "Labels", "Group Membership"), Outlook ("E-mail Address", "Mobile
# Phone", "Business Phone", "Categories"), Follow Up Boss ("Email 1", "Phone 1", "Assigned To",
# "Background") and a phone's vCard (contacts.imports.vcard.HEADERS). Compared without case,
# spaces or punctuation.
# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
_SYNONYMS: dict[str, list[str]] = {
    "first_name": ["firstname", "first", "givenname", "forename", "fname", "first_name"],
    "last_name": ["lastname", "last", "surname", "familyname", "lname"],
    "full_name": ["name", "fullname", "contactname", "contact", "displayname", "clientname"],
    "email": ["email", "emailaddress", "mail", "email1", "primaryemail", "emailaddress1",
              "emails", "email1value", "personalemail"],
    "email_2": ["email2", "secondemail", "otheremail", "alternateemail", "emailaddress2",
                "email2value", "email2address", "workemail"],
    "phone": ["phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "cell",
              "cellphone", "cellnumber", "tel", "telephone", "phone1", "primaryphone", "phones",
              "phone1value"],
    "phone_2": ["phone2", "otherphone", "homephone", "workphone", "secondphone",
                "alternatephone", "landline", "phone2value", "businessphone"],
    "stage": ["stage", "leadstage", "status", "leadstatus", "pipelinestage"],
    "source": ["source", "leadsource", "origin"],
    "assigned_to": ["assignedto", "agent", "assignedagent", "owner", "leadowner", "assigneduser",
                    "assignee"],
    "tags": ["tags", "tag", "labels", "label", "groups", "categories", "groupmembership"],
    "role": ["role", "buyerseller", "leadtype", "contacttype", "type"],
    "budget_min": ["budgetmin", "minbudget", "budgetfrom", "minprice", "pricemin", "pricefrom"],
    "budget_max": ["budgetmax", "maxbudget", "budgetto", "maxprice", "pricemax", "priceto",
                   "budget"],
    "timeframe": ["timeframe", "timeline", "movingtimeframe", "when"],
    "next_follow_up_on": ["nextfollowup", "followup", "followupdate", "nextfollowupdate",
                          "nextfollowupon", "followupon"],
    "consent_email": ["consentemail", "emailconsent", "emailoptin", "agreedtoemail"],
    "consent_sms": ["consentsms", "smsconsent", "smsoptin", "textoptin", "agreedtosms"],
    "consent_instagram": ["consentinstagram", "instagramconsent", "agreedtoinstagram"],
    "notes": ["notes", "note", "comments", "comment", "description", "background"],
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
    synonyms such as "E-mail", "Mobile", "Cell", "Surname", and the columns of the exports named
    above). Each target is guessed once; a second email or phone column becomes the second email
    or phone. A full name column next to first/last name columns (Google, Follow Up Boss) is left
    unmapped."""
    by_header = dict(_HEADER_TO_TARGET)
    for custom in custom_fields:
        custom_target = f"{CUSTOM_PREFIX}{custom.key}"
        for alias in (custom.label, custom.key, f"custom {custom.key}"):
            by_header[_header_key(alias)] = custom_target
    guess: dict[int, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        target = by_header.get(_header_key(header))
        if target in used and target in ("email", "phone"):
            target = f"{target}_2"
        if target and target not in used:
            guess[index] = target
            used.add(target)
    if "full_name" in used and {"first_name", "last_name"} & used:
        guess = {i: t for i, t in guess.items() if t != "full_name"}
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
# The encodings contact files really arrive in: UTF-8 (with or without Excel's byte-order mark),
# UTF-16 with a BOM (Excel's "Unicode text"), and Windows-1252 / Latin-1 from Excel on Windows.
# charset-normalizer decides among them by measuring the text, not by guessing. Mac Roman is left
# out on purpose: on short files it wins over Windows-1252 ("ça coûte 5€" read as "Áa co˚te 5Ä").
_ENCODINGS = ["utf_8", "utf_16", "cp1252", "latin_1"]
# Magic numbers of the files agents pick by mistake, to say what the file is.
_BINARY_KINDS = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "an Excel workbook or a zip file"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word file"),
]
NOT_CSV = (
    "This file is not a CSV file ({kind}). In your spreadsheet or CRM use Export / Save As → CSV, "
    "and upload that file."
)
_FORMULA_ESCAPED = re.compile(r"^'[=+\-@\t\r]")


def import_file_decode(content: bytes) -> tuple[str, str]:
    """The text of an uploaded file and the name of its encoding.

    Raises ImportFileError for a binary file (an image, a workbook...) and for a NUL byte, with
    the number of the line it is on."""
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if content.startswith(bom):
            try:
                return _no_nul(content.decode(codec)), codec.removesuffix("-sig")
            except UnicodeDecodeError:
                raise ImportFileError(NOT_CSV.format(kind="it can't be read as text")) from None
    for magic, kind in _BINARY_KINDS:
        if content.startswith(magic):
            raise ImportFileError(NOT_CSV.format(kind=f"it is {kind}"))
    if content.count(b"\x00") * 20 > len(content):  # text has none; images and programs many
        raise ImportFileError(NOT_CSV.format(kind="it looks like binary data, not text"))
    try:
        return _no_nul(content.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    # A stray NUL in a text file must not make it look binary: measure the text without them.
    best = charset_normalizer.from_bytes(
        content.replace(b"\x00", b""), cp_isolation=_ENCODINGS
    ).best()
    if best is None:
        raise ImportFileError(NOT_CSV.format(kind="it looks like binary data, not text"))
    return _no_nul(content.decode(best.encoding)), best.encoding


def _no_nul(text: str) -> str:
    index = text.find("\x00")
    if index >= 0:
        line = text.count("\n", 0, index) + 1
        raise ImportFileError(
            f"Line {line} contains a NUL byte, an invisible character a CSV file can't hold. "
            "Open the file in your spreadsheet and save it again as CSV."
        )
    return text


def _delimiter_for(sample: str) -> str:
    """The separator that splits the first lines into the same number of cells, the most cells
    winning: a semicolon file (spreadsheets in many locales) whose header has a comma inside a
    quoted name is still split on the semicolons."""
    lines = sample.splitlines()[:20]
    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _reader(content: bytes) -> Any:
    # newline="" lets the csv module see the line endings inside quoted cells; utf-8-sig drops a
    # byte-order mark (the stored file is UTF-8: import_upload_create converted it).
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    delimiter = _delimiter_for(text.read(64 * 1024))
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
    """The header names and the number of data rows of a CSV (UTF-8, see import_file_decode).

    Raises ImportFileError (empty, no header row, no rows, too many rows or columns,
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
    """Check an uploaded CSV or vCard file and store it as UTF-8 CSV, waiting for its column
    mapping. The encoding is detected (import_file_decode); a .vcf file is converted
    (contacts.imports.vcard). Raises ImportFileError. The size limit is checked by the caller
    before reading."""
    if not content or content.isspace():
        raise ImportFileError("The file is empty.")
    text, encoding = import_file_decode(content)
    if vcard.looks_like_vcard(filename, text):
        try:
            utf8 = vcard.vcard_to_csv(text)
        except vcard.VCardError as exc:
            raise ImportFileError(str(exc)) from None
        encoding = f"vcard {encoding}"[:20]
    else:
        utf8 = text.encode()
    headers, total = import_file_inspect(utf8)
    return ImportJob.objects.create(
        workspace=workspace,
        created_by=actor,
        filename=filename[:200],
        content=utf8,
        encoding=encoding[:20],
        headers=headers,
        total_rows=total,
    )


def access_import(workspace: Workspace, import_id: int | str) -> ImportJob:
    """The workspace's import job (without its file content), or Http404."""
    return (
        ImportJob.objects.for_workspace(workspace)
        .defer("content", "rejected_csv", "undo_data")
        .get_or_404("import", id=import_id)
    )


def _job_content(job: ImportJob) -> bytes:
    return _job_bytes(job, "content")


def _job_bytes(job: ImportJob, column: str) -> bytes:
    """One of the job's deferred binary columns (the file, the rejected rows), b"" when empty."""
    content = (
        ImportJob.objects.for_workspace(job.workspace)
        .filter(id=job.id)
        .values_list(column, flat=True)
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


def import_rejected_csv(*, job: ImportJob) -> bytes:
    """The rejected rows of a finished import as CSV (UTF-8 with a BOM), b"" when none."""
    return _job_bytes(job, "rejected_csv")


def _skip_header(reader: Any) -> Any:
    next(reader, None)
    return reader


def import_mapping_save(
    *, job: ImportJob, mapping: dict[int, str], dedupe: str, all_or_nothing: bool = False
) -> bool:
    """Save the column mapping, dedupe policy and all-or-nothing choice. When a stage, source,
    agent or tags column is mapped, the job waits for its value mapping (status "mapped", see
    import_values_found); otherwise it is queued at once (sends contacts_import_run after commit).
    A job already past its mapping is left alone (returns False). Raises ValueError for an
    invalid mapping."""
    problems = mapping_problems(mapping, job.headers)
    if problems:
        raise ValueError(" ".join(problems.values()))
    if dedupe not in ImportJob.Dedupe.values:
        raise ValueError(f"Unknown dedupe policy {dedupe!r}")
    stored = {str(i): t for i, t in sorted(mapping.items()) if t and 0 <= i < len(job.headers)}
    saved = (
        ImportJob.objects.for_workspace(job.workspace)
        .filter(id=job.id, status=ImportJob.Status.UPLOADED)
        .update(
            mapping=stored,
            dedupe=dedupe,
            all_or_nothing=all_or_nothing,
            value_mapping={},
            status=ImportJob.Status.MAPPED,
        )
    )
    job.refresh_from_db(fields=["mapping", "dedupe", "all_or_nothing", "status"])
    if saved and not any(import_values_found(job=job).values()):
        return import_start(job=job, value_mapping={})
    return bool(saved)


def import_start(*, job: ImportJob, value_mapping: dict[str, dict[str, str]]) -> bool:
    """Save the value mapping ({target: {lower-cased value: id, "new" or ""}}) of a mapped job
    and queue the import (sends contacts_import_run after commit). A job already started is left
    alone (returns False)."""
    from contacts.imports.tasks import contacts_import_run

    with transaction.atomic():
        # State guard: a second POST of the mapping form does not queue the import twice.
        started = (
            ImportJob.objects.for_workspace(job.workspace)
            .filter(id=job.id, status=ImportJob.Status.MAPPED)
            .update(
                value_mapping=value_mapping,
                status=ImportJob.Status.QUEUED,
                heartbeat_at=timezone.now(),
            )
        )
        if started:
            contacts_import_run.delay_on_commit(job.id, job.workspace_id)
    job.refresh_from_db(fields=["mapping", "dedupe", "status", "value_mapping"])
    return bool(started)


@dataclass
class FoundValue:
    """One distinct value of a stage, source, agent or tags column, as the value page shows it."""

    value: str
    count: int
    suggestion: str  # an id, VALUE_NEW or VALUE_BLANK

    @property
    def key(self) -> str:
        return _value_key(self.value)


def import_values_found(*, job: ImportJob) -> dict[str, list[FoundValue]]:
    """For each mapped stage, source, agent and tags column: its distinct values (compared without
    case), the most frequent MAX_DISTINCT_VALUES first, with how many rows have each and the
    suggested choice: the existing one of the same name (a source also by key, an agent by
    email or name), else the one stage or source whose name's words are all in the value, else
    create it (an agent: leave blank). Streams the stored file."""
    targets = {int(i): t for i, t in job.mapping.items() if t in dict(VALUE_TARGETS)}
    if not targets:
        return {}
    counts: dict[str, dict[str, list[Any]]] = {t: {} for t in targets.values()}
    for _line, cells in _records(_skip_header(_reader(_job_content(job)))):
        for index, target in targets.items():
            cell = _unescape(cells[index].strip()) if index < len(cells) else ""
            values = _split_tags(cell) if target == "tags" else [cell] if cell else []
            for value in values:
                entry = counts[target].setdefault(_value_key(value), [value, 0])
                entry[1] += 1
    existing = _existing_values(job.workspace)
    found: dict[str, list[FoundValue]] = {}
    for target, by_key in counts.items():
        ranked = sorted(by_key.items(), key=lambda item: (-item[1][1], item[0]))
        found[target] = [
            FoundValue(
                value=value,
                count=count,
                suggestion=existing[target].get(key)
                or _word_match(key, existing[target] if target in ("stage", "source") else {})
                or (VALUE_BLANK if target == "assigned_to" else VALUE_NEW),
            )
            for key, (value, count) in ranked[:MAX_DISTINCT_VALUES]
        ]
    return found


_WORDS = re.compile(r"[a-z0-9]+")


def _word_match(key: str, names: dict[str, str]) -> str:
    """The id of the one existing name whose words all appear in the value ("New lead" -> New,
    "zillow.com" -> Zillow); "" when none or several do ("Closed lost")."""
    words = set(_WORDS.findall(key))
    ids = {i for name, i in names.items() if set(_WORDS.findall(name)) <= words and name}
    return ids.pop() if len(ids) == 1 else ""


def _existing_values(workspace: Workspace) -> dict[str, dict[str, str]]:
    """{target: {lower-cased name: id}} of the workspace's stages, sources, members and tags."""
    pipeline_create_defaults(workspace=workspace)
    lead_sources_create_defaults(workspace=workspace)
    sources: dict[str, str] = {}
    for source in LeadSource.objects.for_workspace(workspace):
        sources[_value_key(source.key)] = sources[_value_key(source.name)] = str(source.id)
    return {
        "stage": {
            _value_key(s.name): str(s.id) for s in PipelineStage.objects.for_workspace(workspace)
        },
        "source": sources,
        "assigned_to": {k: str(u.id) for u in _members(workspace) for k in _member_keys(u)},
        "tags": {_value_key(t.name): str(t.id) for t in Tag.objects.for_workspace(workspace)},
    }


def value_choices(workspace: Workspace, target: str) -> list[tuple[str, str]]:
    """What a value of `target` can be mapped to: create it (not for an agent), leave it blank,
    or one of the workspace's existing stages, sources, members or tags."""
    if target == "stage":
        existing = [(str(s.id), s.name) for s in PipelineStage.objects.for_workspace(workspace)]
    elif target == "source":
        existing = [(str(s.id), s.name) for s in LeadSource.objects.for_workspace(workspace)]
    elif target == "assigned_to":
        existing = [
            (str(u.id), f"{u.full_name or u.email} ({u.email})") for u in _members(workspace)
        ]
    else:
        existing = [(str(t.id), t.name) for t in Tag.objects.for_workspace(workspace)]
    blank = "No source (new contacts get “Import”)" if target == "source" else "Leave blank"
    create = [] if target == "assigned_to" else [(VALUE_NEW, "Create it")]
    return [*create, (VALUE_BLANK, blank), *existing]


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
            # The heartbeat of a job whose row is locked in the write transaction.
            "beat_at": timezone.now().timestamp(),
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
_SCALAR_FIELDS = (
    "stage", "source", "assigned_to", "role", "budget_min", "budget_max", "timeframe",
    "consent_email", "consent_sms", "consent_instagram",
)  # fmt: skip
_YES = {"yes", "y", "true", "1", "x", "on", "optedin", "subscribed"}
_NO = {"no", "n", "false", "0", "off", "optedout", "unsubscribed"}
# Google Contacts puts every contact in these system groups; they are not tags.
_SYSTEM_GROUPS = {"mycontacts", "starred"}
_MULTI_SPLIT = re.compile(r":::|;")
_EMAIL_SPLIT = re.compile(r":::|[;,]")
_TAG_SPLIT = re.compile(r":::|[,;]")


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _choice_lookup(choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    lookup = {}
    for value, label in choices:
        if value:
            lookup[_header_key(value)] = value
            lookup[_header_key(label)] = value
    return lookup


_TIMEFRAMES = _choice_lookup(Contact.Timeframe.choices)


def _value_key(value: str) -> str:
    """How a stage, source, agent or tag value is compared: without case or surrounding spaces."""
    return " ".join(value.split()).lower()


def _split_tags(value: str) -> list[str]:
    tags = [t.strip().removeprefix("* ").strip() for t in _TAG_SPLIT.split(value)]
    return [t for t in tags if t and _header_key(t) not in _SYSTEM_GROUPS]


def _members(workspace: Workspace) -> list[User]:
    return list(User.objects.filter(memberships__workspace=workspace).order_by("full_name", "id"))


def _member_keys(user: User) -> list[str]:
    return [k for k in (_value_key(user.email), _value_key(user.full_name)) if k]


@dataclass
class _Context:
    """What every row is checked against, read once per import. `values` holds the agent's value
    mapping resolved to objects (None: leave blank); stages and sources it said to create exist
    by then."""

    workspace: Workspace
    headers: list[str]
    mapping: dict[int, str]
    stages: dict[str, PipelineStage]
    sources: dict[str, LeadSource]
    members: dict[str, User]
    custom_fields: dict[str, CustomField]
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_job(cls, job: ImportJob) -> _Context:
        ws = job.workspace
        pipeline_create_defaults(workspace=ws)  # idempotent: a new workspace has no stages yet
        lead_sources_create_defaults(workspace=ws)
        ctx = cls(
            workspace=ws,
            headers=list(job.headers),
            mapping={int(i): t for i, t in job.mapping.items() if t},
            stages={},
            sources={},
            members={k: u for u in _members(ws) for k in _member_keys(u)},
            custom_fields={f.key: f for f in CustomField.objects.for_workspace(ws)},
        )
        ctx.values = _values_resolve(ctx, job.value_mapping or {})
        ctx.stages = {_value_key(s.name): s for s in PipelineStage.objects.for_workspace(ws)}
        for source in LeadSource.objects.for_workspace(ws):
            ctx.sources[_value_key(source.key)] = ctx.sources[_value_key(source.name)] = source
        return ctx


def _values_resolve(ctx: _Context, value_mapping: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The stored value mapping as objects: creates the stages and sources marked "new" (a full
    pipeline or source list leaves them unmapped, so their rows are rejected with a reason)."""
    ws = ctx.workspace
    stages = {str(s.id): s for s in PipelineStage.objects.for_workspace(ws)}
    sources = {str(s.id): s for s in LeadSource.objects.for_workspace(ws)}
    members = {str(u.id): u for u in _members(ws)}
    tags = dict(Tag.objects.for_workspace(ws).values_list("id", "name"))
    resolved: dict[str, dict[str, Any]] = {target: {} for target, _label in VALUE_TARGETS}
    for target, choices in value_mapping.items():
        if target not in resolved:
            continue  # "_names": the file's spelling of each value, for what is created
        for key, action in choices.items():
            value: Any = None
            if action == VALUE_NEW and target in ("stage", "source"):
                value = _value_create(ws, target, key, value_mapping)
                if value is None:
                    continue
            elif action == VALUE_NEW:
                value = VALUE_NEW  # a tag: created under the file's spelling
            elif action:
                tables: dict[str, dict[str, Any]] = {
                    "stage": stages,
                    "source": sources,
                    "assigned_to": members,
                    "tags": {str(i): n for i, n in tags.items()},
                }
                table = tables[target]
                if action not in table:
                    continue  # deleted since the mapping was saved: treated as unmapped
                value = table[action]
            resolved.setdefault(target, {})[key] = value
    return resolved


def _value_create(ws: Workspace, target: str, key: str, value_mapping: dict[str, Any]) -> Any:
    name = value_mapping.get("_names", {}).get(f"{target}:{key}") or key
    try:
        if target == "stage":
            existing = PipelineStage.objects.for_workspace(ws).filter(name__iexact=name).first()
            return existing or stage_add(workspace=ws, name=name[:60], outcome="open")
        existing_source = LeadSource.objects.for_workspace(ws).filter(name__iexact=name).first()
        return existing_source or lead_source_add(workspace=ws, name=name[:60])
    except SetupError:
        return None


@dataclass
class ParsedRow:
    """One row's values. `given` names the fields the row had a value for (the "update" dedupe
    policy changes only those)."""

    line: int
    first_name: str = ""
    last_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    stage: PipelineStage | None = None
    source: LeadSource | None = None
    assigned_to: User | None = None
    tags: list[str] = field(default_factory=list)
    role: str = ""
    budget_min: int | None = None
    budget_max: int | None = None
    timeframe: str = ""
    next_follow_up_on: date | None = None
    consent_email: bool = False
    consent_sms: bool = False
    consent_instagram: bool = False
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


def _mapped(ctx: _Context, target: str, value: str) -> tuple[bool, Any]:
    """(found, object or None) from the agent's value mapping."""
    choices = ctx.values.get(target, {})
    key = _value_key(value)
    return (True, choices[key]) if key in choices else (False, None)


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
        for part in filter(None, (p.strip() for p in _EMAIL_SPLIT.split(value))):
            email = normalize_email(part)
            try:
                if len(email) > 254:
                    raise ValidationError("too long")
                _email_validator(email)
            except ValidationError:
                raise _CellError("is not a valid email address") from None
            if email not in row.emails:
                row.emails.append(email)
    elif target in ("phone", "phone_2"):
        for part in filter(None, (p.strip() for p in _MULTI_SPLIT.split(value))):
            try:
                e164 = phone_to_e164(_unescape(part))
            except InvalidPhone:
                raise _CellError("is not a valid phone number") from None
            if e164 not in row.phones:
                row.phones.append(e164)
    elif target in ("stage", "source", "assigned_to"):
        found, mapped = _mapped(ctx, target, value)
        if not found:
            known: dict[str, dict[str, Any]] = {
                "stage": ctx.stages,
                "source": ctx.sources,
                "assigned_to": ctx.members,
            }
            mapped = known[target].get(_value_key(value)) or _raise(_unknown(ctx, target))
        if mapped is None:
            return  # mapped to "leave blank": as if the cell were empty
        setattr(row, target, mapped)
    elif target == "tags":
        tags = []
        for tag in _split_tags(value):
            found, mapped = _mapped(ctx, target, tag)
            if found and mapped is None:
                continue  # "leave blank"
            tags.append(mapped if isinstance(mapped, str) and mapped != VALUE_NEW else tag)
        row.tags = list(dict.fromkeys(tags))
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
    elif target in ("consent_email", "consent_sms", "consent_instagram"):
        key = _header_key(value)
        if key not in _YES | _NO:
            raise _CellError("is not yes or no")
        setattr(row, target, key in _YES)
    elif target == "notes":
        row.notes = value
    elif target.startswith(CUSTOM_PREFIX):
        custom = ctx.custom_fields.get(target.removeprefix(CUSTOM_PREFIX))
        if custom is not None:  # a field deleted since the mapping was saved is ignored
            row.custom[custom.key] = _parse_custom(custom, value)
    row.given.add(target)


def _unknown(ctx: _Context, target: str) -> str:
    if target == "stage":
        known = ", ".join(s.name for s in sorted(ctx.stages.values(), key=_stage_order))
        return f"is not a stage (your stages: {known})"
    if target == "source":
        names = sorted({s.name for s in ctx.sources.values()}, key=str.lower)
        return f"is not a source (your sources: {', '.join(names)})"
    return "is not a member of your team (use their email)"


def _stage_order(stage: PipelineStage) -> tuple[int, int]:
    return stage.position, stage.id


def _raise(message: str) -> Any:
    raise _CellError(message)


def _unescape(value: str) -> str:
    """A cell our CSV export protected from spreadsheets ("'+44 20..." for "+44 20...") reads as
    it was: the apostrophe is dropped. Any other cell is kept exactly as typed."""
    return value[1:] if _FORMULA_ESCAPED.match(value) else value


def _parse_row(ctx: _Context, line: int, cells: list[str]) -> tuple[ParsedRow, list[str]]:
    """The row's values and every problem with it, each message starting with its line number."""
    row = ParsedRow(line=line)
    width = len(ctx.headers)
    if len(cells) != width:
        plural = "cell" if len(cells) == 1 else "cells"
        return row, [f"Line {line}: {len(cells)} {plural}, the header has {width}"]
    errors = []
    for index, target in ctx.mapping.items():
        value = _unescape(cells[index].strip())
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


def _parsed_rows(ctx: _Context, content: bytes) -> Iterator[tuple[ParsedRow, list[str], list[str]]]:
    for line, cells in _records(_skip_header(_reader(content))):
        row, errors = _parse_row(ctx, line, cells)
        yield row, errors, cells


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


STALE_AFTER_MINUTES = 5
MAX_ATTEMPTS = 3
REJECTED_REASON = "Reason"


def import_run(*, workspace_id: int, import_id: int) -> None:
    """Run a queued import: claim it (queued → validating, by a conditional UPDATE, so a second
    delivery of the task does nothing), check every row, then write the good rows in one
    transaction. Rows with a problem are kept as a CSV (their cells and a Reason column) for the
    agent to download, fix and upload again.

    With `all_or_nothing`, any row problem fails the job and nothing is written. Any unexpected
    error also fails the job with a message and writes nothing. The job beats (heartbeat_at, and
    the cache while its transaction is open) so that imports_sweep_stale can tell a dead worker.
    The stored file is cleared when the job finishes. Raises nothing.
    """
    workspace = Workspace.objects.filter(id=workspace_id).first()
    if workspace is None:
        return
    jobs = ImportJob.objects.for_workspace(workspace)
    claimed = jobs.filter(id=import_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.VALIDATING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return
    job = jobs.select_related("workspace", "created_by").defer("content").get(id=import_id)
    try:
        content = _job_content(job)
        ctx = _Context.for_job(job)
        check = _validate(job, ctx, content)
        rejected = {
            "errors": check.errors,
            "error_count": check.error_count,
            "rejected_count": len(check.bad_lines),
            "rejected_csv": check.rejected_csv,
        }
        if check.error_count and (job.all_or_nothing or len(check.bad_lines) == check.rows):
            _finish(job, status=ImportJob.Status.FAILED, **rejected)
            return
        _mine(job).update(
            status=ImportJob.Status.IMPORTING, processed_rows=0, heartbeat_at=timezone.now()
        )
        _progress_write(job, ImportJob.Status.IMPORTING, 0, _Counts())
        _write(job, ctx, content, check.bad_lines, rejected)
    except _Abort:
        log.warning("import %s attempt %s was taken over by another attempt", job.id, job.attempt)
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


def _mine(job: ImportJob) -> Any:
    """The job's row while this attempt still owns it (the stale sweep may have given it to a
    new attempt): every write of a running import goes through it."""
    return ImportJob.objects.for_workspace(job.workspace).filter(id=job.id, attempt=job.attempt)


def _finish(job: ImportJob, **changes: Any) -> int:
    # The uploaded file is deleted as the job ends, whichever way it ends.
    return int(
        _mine(job).update(content=b"", finished_at=timezone.now(), heartbeat_at=None, **changes)
    )


@dataclass
class _Check:
    rows: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    bad_lines: set[int] = field(default_factory=set)
    rejected_csv: bytes = b""


def _validate(job: ImportJob, ctx: _Context, content: bytes) -> _Check:
    """Pass 1: every problem of every row (the first MAX_STORED_ERRORS kept), their count, the
    lines with a problem, and those rows as a CSV with a Reason column (formula-safe cells)."""
    check = _Check()
    seen_emails: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(h) for h in ctx.headers] + [REJECTED_REASON])
    width = len(ctx.headers)
    for processed, (row, row_errors, cells) in enumerate(_parsed_rows(ctx, content), start=1):
        check.rows = processed
        problems = row_errors or _repeats(row, seen_emails, seen_phones)
        for message in problems:
            check.error_count += 1
            if len(check.errors) < MAX_STORED_ERRORS:
                check.errors.append({"line": row.line, "message": message})
        if problems:
            check.bad_lines.add(row.line)
            padded = [*cells[:width], *[""] * (width - len(cells))]
            writer.writerow([csv_cell(c) for c in padded] + [csv_cell(" ".join(problems))])
        if processed % BATCH_SIZE == 0:
            _progress_write(job, ImportJob.Status.VALIDATING, processed, None)
            if not _mine(job).update(heartbeat_at=timezone.now()):
                raise _Abort
    if check.bad_lines:
        # UTF-8 with a byte-order mark: what Excel needs to open accented names correctly.
        check.rejected_csv = buffer.getvalue().encode("utf-8-sig")
    return check


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


def _batches(
    rows: Iterable[tuple[ParsedRow, list[str], list[str]]], bad_lines: set[int]
) -> Iterator[list[ParsedRow]]:
    batch: list[ParsedRow] = []
    for row, _errors, _cells in rows:
        if row.line in bad_lines:
            continue
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(
    job: ImportJob, ctx: _Context, content: bytes, bad_lines: set[int], rejected: dict[str, Any]
) -> None:
    """Pass 2: the rows without a problem, in one transaction, batches of BATCH_SIZE rows. A
    worker killed here writes nothing, so the stale sweep can run the job again from the start."""
    counts = _Counts()
    processed = 0
    writer = _BatchWriter(job, ctx)
    with transaction.atomic():
        for batch in _batches(_parsed_rows(ctx, content), bad_lines):
            writer.write(batch, counts)
            processed += len(batch)
            _progress_write(job, ImportJob.Status.IMPORTING, processed, counts)
        # The job turns "done" in the same commit as its contacts: never done without them. A
        # job the sweep handed to another attempt meanwhile is not this one's to finish.
        finished = _finish(
            job,
            status=ImportJob.Status.DONE,
            processed_rows=processed,
            failure="",
            undo_data=writer.undo,
            **rejected,
            **counts.as_fields(),
        )
        if not finished:
            raise _Abort


class _BatchWriter:
    """Writes batches of valid rows with a few bulk queries each, applying the dedupe policy."""

    def __init__(self, job: ImportJob, ctx: _Context) -> None:
        self.job = job
        self.ws = ctx.workspace
        self.actor = job.created_by
        self.default_stage = default_stage(self.ws)
        self.tag_ids: dict[str, int] = {}
        self.now = timezone.now()
        self.import_source = lead_source_for_key(workspace=self.ws, key=Source.IMPORT)
        # What "Undo this import" needs (ImportJob.undo_data).
        self.undo: dict[str, Any] = {"created": [], "updated": [], "activities": []}

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
        by_email = self._contacts_by(ContactEmail, "email", emails, live)
        by_phone = self._contacts_by(ContactPhone, "e164", phones, live)
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

    def _contacts_by(
        self,
        model: type[ContactEmail] | type[ContactPhone],
        column: str,
        values: set[str],
        live: dict[str, None],
    ) -> dict[str, list[int]]:
        """Value -> the ids of the live contacts that have it, oldest contact first."""
        found: dict[str, list[int]] = {}
        for value, contact_id in (
            model.objects.for_workspace(self.ws)
            .filter(**{f"{column}__in": values}, **live)
            .order_by("contact_id")
            .values_list(column, "contact_id")
        ):
            found.setdefault(value, []).append(contact_id)
        return found

    def _values_of(
        self,
        model: type[ContactEmail] | type[ContactPhone],
        column: str,
        contact_ids: set[int],
    ) -> dict[int, list[str]]:
        """Contact id -> its emails (or phones), the primary first."""
        found: dict[int, list[str]] = {i: [] for i in contact_ids}
        for contact_id, value in (
            model.objects.for_workspace(self.ws)
            .filter(contact_id__in=contact_ids)
            .order_by("-is_primary", "id")
            .values_list("contact_id", column)
        ):
            found[contact_id].append(value)
        return found

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
                source=row.source or self.import_source,
                assigned_to=row.assigned_to,
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
        self.undo["created"] += [c.id for c in contacts]
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
        self._consents(
            [(contact, row) for contact, (row, _found) in zip(contacts, rows, strict=True)]
        )
        self._activities(
            [(c, summary) for c in contacts], Note.objects.for_workspace(ws).bulk_create(notes)
        )

    def _consents(self, rows: list[tuple[Contact, ParsedRow]], *, update: bool = False) -> None:
        """Each consent column's yes (or, updating, a given no that differs) recorded through
        contacts.consent in one bulk call per channel and answer, never row by row."""
        by_answer: dict[tuple[str, bool], list[Contact]] = defaultdict(list)
        for contact, row in rows:
            for box in CONSENT_FIELDS:
                answer = bool(getattr(row, box))
                if update and (box not in row.given or answer == getattr(contact, box)):
                    continue
                if answer or update:
                    by_answer[(box, answer)].append(contact)
        for (box, answer), contacts in by_answer.items():
            kind = ConsentEvent.Kind.OPT_IN if answer else ConsentEvent.Kind.OPT_OUT
            detail = f"Imported from {self.job.filename}"
            consent_record_bulk(
                list({c.id: c for c in contacts}.values()),
                CONSENT_FIELDS[box],
                kind,
                detail=detail,
                by=self.actor,
            )

    def _activities(self, entries: list[tuple[Contact, str]], notes: list[Note]) -> list[Any]:
        data = {"import_id": self.job.id}
        return Activity.objects.for_workspace(self.ws).bulk_create(
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
        emails = self._values_of(ContactEmail, "email", ids)
        phones = self._values_of(ContactPhone, "e164", ids)
        linked = set(
            Contact.tags.through.objects.filter(contact_id__in=ids).values_list(
                "contact_id", "tag_id"
            )
        )
        before = {c.id: _snapshot(c) for c in contacts.values()}
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
        self._consents([(contacts[contact_id], row) for row, contact_id in rows], update=True)
        summary = f"Updated from import {self.job.filename}"
        created_notes = Note.objects.for_workspace(ws).bulk_create(notes)
        activities = self._activities(
            [(contacts[contact_id], summary) for _row, contact_id in rows], created_notes
        )
        added_links = {(link.contact_id, link.tag_id) for link in links} - linked
        for contact_id, snapshot in before.items():
            self.undo["updated"].append(
                {
                    "id": contact_id,
                    "before": snapshot,
                    "emails": [e.id for e in new_emails if e.contact_id == contact_id],
                    "phones": [p.id for p in new_phones if p.contact_id == contact_id],
                    "tags": [t for c, t in added_links if c == contact_id],
                    "notes": [n.id for n in created_notes if n.contact_id == contact_id],
                }
            )
        self.undo["activities"] += [a.id for a in activities]


# What an update by import can change on a contact, restored by "Undo this import".
# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
_UNDO_FIELDS = (
    "first_name", "last_name", "stage_id", "source_id", "assigned_to_id", "role", "budget_min",
    "budget_max", "timeframe", "custom_fields", "next_follow_up_on", "primary_email",
    "primary_phone", "search_text", "last_activity_at",
)  # fmt: skip
# Consent is not in it: its history (contacts.consent) records what the import said, and an undo
# leaves that record as it is rather than rewriting the contact's consent behind it.


def _snapshot(contact: Contact) -> dict[str, Any]:
    values = {name: getattr(contact, name) for name in _UNDO_FIELDS}
    for name in ("next_follow_up_on", "last_activity_at"):  # JSON has no dates
        if values[name] is not None:
            values[name] = values[name].isoformat()
    return values


def _apply_row(contact: Contact, row: ParsedRow) -> set[str]:
    """Copy the row's given values onto the contact; the names of the fields changed."""
    changed = set()
    for name in ("first_name", "last_name", *_SCALAR_FIELDS, "next_follow_up_on"):
        # Consent is recorded through contacts.consent (ImportRun._consents), never copied.
        if name in row.given and name not in CONSENT_FIELDS:
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


# --- undo ----------------------------------------------------------------------------------------
UNDO_HOURS = 24


def import_can_undo(job: ImportJob, *, now: Any = None) -> bool:
    """A finished import can be undone once, within UNDO_HOURS of its end."""
    now = now or timezone.now()
    return (
        job.status == ImportJob.Status.DONE
        and job.undone_at is None
        and job.finished_at is not None
        and now - job.finished_at < timedelta(hours=UNDO_HOURS)
    )


def import_undo(*, job: ImportJob, actor: User | None) -> int:
    """Undo a finished import within UNDO_HOURS: the contacts it created go to the trash (as a
    delete does, restorable for CONTACT_UNDO_HOURS), the contacts it updated get back their
    fields, and the emails, phones, tags, notes and timeline entries it added to them are
    removed. Returns how many contacts it removed. Raises ValueError when it is too late or
    already undone. No external side effects."""
    ws = job.workspace
    with transaction.atomic():
        # State guard on the locked row: two clicks undo once.
        locked = ImportJob.objects.for_workspace(ws).select_for_update().defer("content")
        job = locked.get(id=job.id)
        if not import_can_undo(job):
            raise ValueError(
                "This import can no longer be undone."
                if job.undone_at is None
                else "This import was already undone."
            )
        undo = job.undo_data or {}
        removed = contacts_delete(workspace=ws, ids=list(undo.get("created", [])), actor=actor)
        updated = undo.get("updated", [])
        contacts = Contact.objects.for_workspace(ws).in_bulk([u["id"] for u in updated])
        for entry in updated:
            contact = contacts.get(entry["id"])
            if contact is None:
                continue
            for name, value in entry["before"].items():
                setattr(contact, name, value)
        Contact.objects.for_workspace(ws).bulk_update(
            list(contacts.values()), [f.removesuffix("_id") for f in _UNDO_FIELDS]
        )
        ContactEmail.objects.for_workspace(ws).filter(
            id__in=[i for u in updated for i in u["emails"]]
        ).delete()
        ContactPhone.objects.for_workspace(ws).filter(
            id__in=[i for u in updated for i in u["phones"]]
        ).delete()
        for entry in updated:
            if entry["tags"] and entry["id"] in contacts:
                Contact.tags.through.objects.filter(
                    contact_id=entry["id"], tag_id__in=entry["tags"]
                ).delete()
        Note.objects.for_workspace(ws).filter(
            id__in=[i for u in updated for i in u["notes"]]
        ).delete()
        Activity.objects.for_workspace(ws).filter(id__in=undo.get("activities", [])).delete()
        ImportJob.objects.for_workspace(ws).filter(id=job.id).update(undone_at=timezone.now())
    return len(removed)


# --- stale jobs ----------------------------------------------------------------------------------
_STALE_SQL = f"""
    SELECT id, workspace_id FROM {ImportJob._meta.db_table}
    WHERE status = ANY(%(running)s) AND (heartbeat_at IS NULL OR heartbeat_at < %(cutoff)s)
    ORDER BY id
"""  # noqa: S608 (the table name is ours; values are parameters)
# An upload never mapped ends after a day, and its file with it.
_ABANDONED_SQL = f"""
    UPDATE {ImportJob._meta.db_table}
    SET content = ''::bytea, status = 'failed', finished_at = %(now)s,
        failure = 'This upload was never imported and has expired. Upload the file again.'
    WHERE status = ANY(%(waiting)s) AND created_at < %(before)s
"""  # noqa: S608 (the table name is ours; values are parameters)


def imports_sweep_stale(*, now: Any = None) -> dict[str, int]:
    """Find imports whose worker stopped beating (killed mid-import) for STALE_AFTER_MINUTES:
    re-queue them as a new attempt (their write transaction rolled back, so nothing was written)
    up to MAX_ATTEMPTS, then fail them with a message and delete their file. A job still queued
    that long has its task sent again, without using an attempt. Also ends uploads left unmapped for UNDO_HOURS, deleting their file. Sends
    contacts_import_run after commit for each re-queued job. Returns the counts per outcome."""
    from contacts.imports.tasks import contacts_import_run

    now = now or timezone.now()
    cutoff = now - timedelta(minutes=STALE_AFTER_MINUTES)
    running = (ImportJob.Status.QUEUED, ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING)
    outcome = {"requeued": 0, "resent": 0, "failed": 0, "abandoned": 0}
    # The sweep serves every workspace, so it finds candidates in SQL rather than through a
    # workspace-scoped manager; each job is then read and changed through its workspace's.
    with connection.cursor() as cursor:
        cursor.execute(_STALE_SQL, {"running": list(running), "cutoff": cutoff})
        found = cursor.fetchall()
    workspaces = Workspace.objects.in_bulk({workspace_id for _id, workspace_id in found})
    candidates = [
        job
        for job_id, workspace_id in found
        for job in ImportJob.objects.for_workspace(workspaces[workspace_id])
        .filter(id=job_id)
        .select_related("workspace")
        .defer("content", "rejected_csv", "undo_data")
    ]
    for job in candidates:
        beat = (cache.get(_progress_key(job.id)) or {}).get("beat_at")
        if beat and beat >= cutoff.timestamp():
            continue  # alive: writing inside its transaction, beating in the cache
        jobs = ImportJob.objects.for_workspace(job.workspace).filter(
            id=job.id, attempt=job.attempt, status=job.status
        )
        if job.status == ImportJob.Status.QUEUED:
            # Never picked up: a lost broker message, or a worker busy with a long import. The
            # task is sent again (a run claims a queued job once, so a second message is a
            # no-op); waiting in the queue costs no attempt and never fails the job.
            with transaction.atomic():
                if jobs.update(heartbeat_at=now):
                    contacts_import_run.delay_on_commit(job.id, job.workspace_id)
                    outcome["resent"] += 1
            continue
        with transaction.atomic():
            if job.attempt + 1 < MAX_ATTEMPTS:
                if jobs.update(
                    status=ImportJob.Status.QUEUED,
                    attempt=job.attempt + 1,
                    heartbeat_at=now,
                    processed_rows=0,
                ):
                    contacts_import_run.delay_on_commit(job.id, job.workspace_id)
                    outcome["requeued"] += 1
            elif jobs.update(
                status=ImportJob.Status.FAILED,
                content=b"",
                finished_at=now,
                heartbeat_at=None,
                failure="The import stopped unexpectedly and could not be finished. Nothing "
                "was imported; please upload the file again.",
            ):
                outcome["failed"] += 1
        cache.delete(_progress_key(job.id))
    with connection.cursor() as cursor:
        cursor.execute(
            _ABANDONED_SQL,
            {
                "waiting": [ImportJob.Status.UPLOADED, ImportJob.Status.MAPPED],
                "before": now - timedelta(hours=UNDO_HOURS),
                "now": now,
            },
        )
        outcome["abandoned"] = cursor.rowcount
    return outcome
