"""GC-5 and GC-9 guarded at the source: what the calendar code can call, and who may import it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "integrations" / "google_calendar"
CALENDAR_MODULES = ("appointments", "integrations.google_calendar")


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


# Anything that would read, list or search events or calendars, or change another calendar.
FORBIDDEN_CALLS = re.compile(
    r"calendarList|\.list\(|events\(\)\s*\.\s*(get|list|instances|watch|import_|quickAdd|move|update)\b"
    r"|\.(calendars|acl|colors|freebusy|settings|channels)\(\)"
)


@pytest.mark.promise("GC-5")
def test_the_calendar_code_names_no_read_list_or_other_calendar_call() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in python_files(PACKAGE)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FORBIDDEN_CALLS.search(line)
    ]

    assert offenders == []


@pytest.mark.promise("GC-5")
def test_the_client_calls_only_insert_patch_delete_on_primary() -> None:
    tree = ast.parse((PACKAGE / "client.py").read_text())

    def on_events(node: ast.expr) -> bool:  # `events.x(...)` or `....events().x(...)`
        if isinstance(node, ast.Name):
            return node.id == "events"
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "events"
        )

    event_methods = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and on_events(node.func.value)
    }
    calendar_ids = {
        keyword.value.id if isinstance(keyword.value, ast.Name) else ast.literal_eval(keyword.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "calendarId"
    }

    assert event_methods == {"insert", "patch", "delete"}
    assert calendar_ids == {"CALENDAR_ID"}
    assert 'CALENDAR_ID = "primary"' in (PACKAGE / "client.py").read_text()


@pytest.mark.promise("GC-5")
def test_the_grep_would_catch_a_list_call() -> None:
    assert FORBIDDEN_CALLS.search("service.events().list(calendarId='primary').execute()")
    assert FORBIDDEN_CALLS.search("service.calendarList().list().execute()")
    assert FORBIDDEN_CALLS.search("events().get(calendarId=CALENDAR_ID, eventId=x)")
    assert not FORBIDDEN_CALLS.search("events.insert(calendarId=CALENDAR_ID, body=body)")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.promise("GC-9")
def test_ai_code_never_imports_appointments_or_the_calendar_sync() -> None:
    # GC-9: calendar data is not used for AI prompts or training. The AI app builds prompts from
    # what it imports; it may not import appointments or the Google Calendar integration.
    ai_files = python_files(ROOT / "ai")
    assert ai_files, "the ai app should exist"
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in ai_files
        for name in imported_modules(path)
        if name.startswith(CALENDAR_MODULES)
    ]

    assert offenders == []


@pytest.mark.promise("GC-9")
def test_the_calendar_code_sends_no_messages_and_triggers_no_automation() -> None:
    # The only email the sync sends is the reconnect notice to the calendar's own user (GC-8);
    # nothing in the calendar code reaches AI, SMS, Instagram or automations.
    forbidden = ("ai", "integrations.twilio", "integrations.instagram", "automations")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for folder in (PACKAGE, ROOT / "appointments")
        for path in python_files(folder)
        for name in imported_modules(path)
        if name.split(".")[0] in forbidden or name.startswith(forbidden[1:])
    ]

    assert offenders == []


@pytest.mark.promise("GC-9")
def test_the_boundary_check_would_catch_an_import(tmp_path: Path) -> None:
    leaky = tmp_path / "prompt.py"
    leaky.write_text(
        "from appointments.models import Appointment\nimport integrations.google_calendar.client\n"
    )

    names = imported_modules(leaky)

    assert any(n.startswith(CALENDAR_MODULES) for n in names)


@pytest.mark.promise("GC-2")
def test_the_core_appointments_app_imports_no_provider_sdk() -> None:
    sdks = ("google", "googleapiclient", "google_auth_oauthlib", "google_auth_httplib2", "httplib2")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in python_files(ROOT / "appointments")
        for name in imported_modules(path)
        if name.split(".")[0] in sdks
    ]

    assert offenders == []
