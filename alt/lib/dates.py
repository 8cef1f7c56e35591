"""Dates and times: the range ALT accepts, how a typed date is read, and how a stored moment is
shown in the viewer's time zone without ever breaking a page.

Python's datetime stops at year 1 and year 9999. A moment stored near either end (a task due
9999-12-31 23:30 UTC) cannot be moved into a time zone on the far side of UTC: Django's `|date`
filter and `timezone.localtime` raise OverflowError, and every page that shows the row answers 500
for good. So every input is held to a range (`DayField`, `check_schedule`, `parse_day`), and every
display goes through `local_or_utc` / `format_when`, which fall back to the stored UTC value.

Two-digit years are refused everywhere ("Write the year in full, e.g. 2026."): reading "26" as
2026 is a guess, and a browser's date box sends what was typed in its year part as year 0026.

Model-free on purpose: forms, views, template tags and tasks of every app import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateformat import format as date_format

# Any date a person types (a birthday, a custom date field, an imported follow-up date).
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
# Appointments, tasks and follow-ups: logged up to a year late, planned up to ten years ahead.
SCHEDULE_YEARS_BACK = 1
SCHEDULE_YEARS_AHEAD = 10

# Django's en formats without "%m/%d/%y": a year is always written with four digits.
FULL_YEAR_FORMATS = [
    "%Y-%m-%d",  # 2026-03-14, what a browser's date box sends
    "%m/%d/%Y",  # 03/14/2026
    "%b %d %Y",  # Mar 14 2026
    "%b %d, %Y",  # Mar 14, 2026
    "%d %b %Y",  # 14 Mar 2026
    "%d %b, %Y",  # 14 Mar, 2026
    "%B %d %Y",  # March 14 2026
    "%B %d, %Y",  # March 14, 2026
    "%d %B %Y",  # 14 March 2026
    "%d %B, %Y",  # 14 March, 2026
]
_FOUR_DIGITS = re.compile(r"\d{4}")
_DIGITS = re.compile(r"\d")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# format_when's styles, as Django date formats: (this year, any other year).
_STYLES: dict[str, tuple[str, str]] = {
    "datetime": ("D, M j, g:i A", "D, M j, Y, g:i A"),
    "date": ("D, M j", "D, M j, Y"),
    "short": ("M j", "M j, Y"),
    "time": ("g:i A", "g:i A"),
}


# --- ranges --------------------------------------------------------------------------------------
def shown(day: date) -> str:
    """A day in a message: 'Jan 1, 1900'."""
    return f"{day:%b} {day.day}, {day.year}"


def add_years(day: date, years: int) -> date:
    """`day` moved by whole years; Feb 29 becomes Feb 28 in a year without one."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def schedule_range(today: date) -> tuple[date, date]:
    """The first and last day an appointment, a task or a follow-up may be set on."""
    return add_years(today, -SCHEDULE_YEARS_BACK), add_years(today, SCHEDULE_YEARS_AHEAD)


def full_year_message() -> str:
    return f"Write the year in full, e.g. {timezone.localdate().year}."


def check_range(day: date, earliest: date = EARLIEST, latest: date = LATEST) -> None:
    """Raise ValidationError (code "out_of_range") for a day outside earliest..latest."""
    if not earliest <= day <= latest:
        raise ValidationError(
            f"Pick a date between {shown(earliest)} and {shown(latest)}.", code="out_of_range"
        )


def check_schedule(day: date, today: date) -> None:
    """Raise ValidationError (code "out_of_range") for a day more than SCHEDULE_YEARS_BACK
    before `today` or more than SCHEDULE_YEARS_AHEAD after it."""
    first, last = schedule_range(today)
    if day > last:
        raise ValidationError(
            f"That's more than {SCHEDULE_YEARS_AHEAD} years ahead: pick a date up to "
            f"{shown(last)}.",
            code="out_of_range",
        )
    if day < first:
        raise ValidationError(
            f"That's more than a year ago: pick a date from {shown(first)} on.",
            code="out_of_range",
        )


def parse_day(raw: str) -> date | None:
    """A day from a URL parameter: YYYY-MM-DD between EARLIEST and LATEST, else None (the caller
    falls back to its default, so a hand-edited or stale link never fails)."""
    if not _ISO_DAY.match(raw or ""):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def parse_typed_day(
    text: str, formats: Sequence[str] = FULL_YEAR_FORMATS, *, check: bool = True
) -> date:
    """A date typed in a box or a spreadsheet cell, in one of FULL_YEAR_FORMATS and between
    EARLIEST and LATEST. Raises ValidationError: code "two_digit_year" for '12/05/26' or
    '0026-12-05' (what a browser's date box sends when "26" was typed as the year), "invalid" for
    anything else that is not a date; with `check` (the default), "out_of_range" for a date
    outside EARLIEST..LATEST."""
    day = _parse(text, formats)
    if day is None:
        if _DIGITS.search(text) and not _FOUR_DIGITS.search(text):
            raise ValidationError(full_year_message(), code="two_digit_year")
        raise ValidationError("Enter a date like 2026-03-14.", code="invalid")
    if day.year < 1000:
        raise ValidationError(full_year_message(), code="two_digit_year")
    if check:
        check_range(day)
    return day


def _parse(text: str, formats: Sequence[str]) -> date | None:
    cleaned = " ".join(text.split())
    for fmt in formats:
        try:
            return datetime.strptime(cleaned, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    return None


class DayField(forms.DateField):
    """A date a person types: four-digit years only, between EARLIEST and LATEST, each mistake
    with its own message. The field's "invalid" message (say "Enter the due date like
    2025-03-14.") is kept for text that is no date at all. `scheduled=True` leaves the range to
    the form, which holds the day to the narrower check_schedule window and says so."""

    def __init__(self, *, scheduled: bool = False, **kwargs: Any) -> None:
        self.scheduled = scheduled
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                attrs={"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()},
                format="%Y-%m-%d",
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return parse_typed_day(str(value), check=not self.scheduled)
        except ValidationError as error:
            if error.code == "invalid":
                raise ValidationError(self.error_messages["invalid"], code="invalid") from None
            raise

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not self.scheduled:
            check_range(value)


# --- showing a moment ----------------------------------------------------------------------------
def to_local(value: datetime, tz: tzinfo | None = None) -> datetime | None:
    """`value` in `tz` (the active time zone by default), or None when that lands outside the
    years datetime can hold."""
    try:
        return timezone.localtime(value, tz or timezone.get_current_timezone())
    except (OverflowError, ValueError):
        return None


def local_or_utc(value: datetime, tz: tzinfo | None = None) -> datetime:
    """`value` in `tz`, or as stored in UTC when it cannot be moved there."""
    moment = to_local(value, tz)
    if moment is not None:
        return moment
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return value


def local_day(value: datetime, tz: tzinfo | None = None) -> date:
    """The local day of `value` (its UTC day when it cannot be moved into `tz`)."""
    return local_or_utc(value, tz).date()


def format_when(value: date | datetime | None, style: str = "", *, tz: tzinfo | None = None) -> str:
    """A date or a moment as people read it, with the year only when it is not the current year
    in `tz` (the active time zone by default).

    Styles: "datetime" ('Wed, Jul 10, 9:00 AM', the default for a moment), "date"
    ('Wed, Jul 10', the default for a day), "short" ('Jul 10'), "time" ('9:00 AM') and "iso"
    (for a <time datetime>). A moment that cannot be moved into `tz` is shown as stored, in UTC,
    always with its year: 'Fri, Dec 31, 9999, 11:30 PM UTC'."""
    if value is None or value == "":
        return ""
    zone = tz or timezone.get_current_timezone()
    if not isinstance(value, datetime):
        if style == "iso":
            return value.isoformat()
        this_year, other_year = _STYLES["short" if style == "short" else "date"]
        same_year = value.year == timezone.localdate(timezone.now(), zone).year
        return date_format(value, this_year if same_year else other_year)
    moment = to_local(value, zone) if timezone.is_aware(value) else value
    this_year, other_year = _STYLES.get(style or "datetime", _STYLES["datetime"])
    if moment is None:
        stored = local_or_utc(value, zone)
        if style == "iso":
            return stored.isoformat()
        return f"{date_format(stored, other_year)} UTC"
    if style == "iso":
        return moment.isoformat()
    same_year = moment.year == timezone.localdate(timezone.now(), zone).year
    return date_format(moment, this_year if same_year else other_year)


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())
