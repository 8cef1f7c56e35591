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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.timesince import TIME_STRINGS_KEYS, timesince

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


# Django's timesince units (django.utils.timesince.TIME_STRINGS), as msgids for ngettext.
_TIME_STRING_FORMS = {
    "year": ("%(num)d year", "%(num)d years"),
    "month": ("%(num)d month", "%(num)d months"),
    "week": ("%(num)d week", "%(num)d weeks"),
    "day": ("%(num)d day", "%(num)d days"),
    "hour": ("%(num)d hour", "%(num)d hours"),
    "minute": ("%(num)d minute", "%(num)d minutes"),
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


class When:
    """format_when, and "3 hours ago", for many values shown at one moment: the zone, the
    current year and the active language's day and month names are looked up once, where the
    per-value path (Django's `|date`, `|timesince`) looked them up, through gettext, for every
    value. A page of 50 timeline entries spent ~2.5 ms on that alone.

    `When(tz)` formats in `tz` (the active time zone by default), in the language active when
    it is made, as of `now` (default: this moment); `format_when` is one made for one value."""

    def __init__(self, tz: tzinfo | None = None, *, now: datetime | None = None) -> None:
        self.zone = tz or timezone.get_current_timezone()
        self.now = now or timezone.now()
        self.this_year = timezone.localdate(self.now, self.zone).year
        self.names = _names(translation.get_language())

    def when(self, value: date | datetime | None, style: str = "") -> str:
        """See format_when."""
        if value is None or value == "":
            return ""
        if not isinstance(value, datetime):
            if style == "iso":
                return value.isoformat()
            this_year, other_year = _STYLES["short" if style == "short" else "date"]
            return self._format(value, this_year if value.year == self.this_year else other_year)
        moment = to_local(value, self.zone) if timezone.is_aware(value) else value
        this_year, other_year = _STYLES.get(style or "datetime", _STYLES["datetime"])
        if moment is None:
            stored = local_or_utc(value, self.zone)
            if style == "iso":
                return stored.isoformat()
            return f"{self._format(stored, other_year)} UTC"
        if style == "iso":
            return moment.isoformat()
        return self._format(moment, this_year if moment.year == self.this_year else other_year)

    def ago(self, value: datetime) -> str:
        """'3 hours ago', '1 year, 2 months ago' (Django's timesince, two units, in the active
        language); 'just now' for a moment less than a minute before `now` or after it."""
        if self.now - value < timedelta(minutes=1):
            return "just now"
        # timesince only applies `%` to its time strings, which a _Counted does (typed as str).
        units = cast(dict[str, str], self.names.units)
        return f"{timesince(value, self.now, time_strings=units)} ago"

    def _format(self, value: date, fmt: str) -> str:
        names = self.names
        return "".join(
            part if isinstance(part, str) else part(value, names) for part in _parts(fmt)
        )


def format_when(value: date | datetime | None, style: str = "", *, tz: tzinfo | None = None) -> str:
    """A date or a moment as people read it, with the year only when it is not the current year
    in `tz` (the active time zone by default).

    Styles: "datetime" ('Wed, Jul 10, 9:00 AM', the default for a moment), "date"
    ('Wed, Jul 10', the default for a day), "short" ('Jul 10'), "time" ('9:00 AM') and "iso"
    (for a <time datetime>). A moment that cannot be moved into `tz` is shown as stored, in UTC,
    always with its year: 'Fri, Dec 31, 9999, 11:30 PM UTC'. Many values at once: `When`."""
    if value is None or value == "":
        return ""
    return When(tz).when(value, style)


class _Counted:
    """One unit of timesince's `time_strings` ('%(num)d hours'), each count translated once."""

    def __init__(self, language: str | None, singular: str, plural: str) -> None:
        self.language, self.singular, self.plural = language, singular, plural

    def __mod__(self, params: dict[str, int]) -> str:
        return _counted(self.language, self.singular, self.plural, params["num"])


@lru_cache(maxsize=512)
def _counted(language: str | None, singular: str, plural: str, num: int) -> str:
    with translation.override(language):
        return translation.ngettext(singular, plural, num) % {"num": num}


@dataclass(frozen=True)
class _Names:
    days: tuple[str, ...]  # Mon..Sun, as `D`
    months: tuple[str, ...]  # "", Jan..Dec, as `M`
    am: str
    pm: str
    units: dict[str, _Counted]  # timesince's time_strings


@lru_cache(maxsize=16)
def _names(language: str | None) -> _Names:
    """The names Django's dateformat would use for `language` (the active one when called)."""
    with translation.override(language):
        return _Names(
            days=tuple(str(WEEKDAYS_ABBR[i]) for i in range(7)),
            months=("", *(str(MONTHS_3[m]).title() for m in range(1, 13))),
            am=translation.gettext("AM"),
            pm=translation.gettext("PM"),
            units={
                unit: _Counted(language, *_TIME_STRING_FORMS[unit]) for unit in TIME_STRINGS_KEYS
            },
        )


# The Django date format letters _STYLES uses, as Django's dateformat renders them.
_LETTERS: dict[str, Callable[[Any, _Names], str]] = {
    "D": lambda v, n: n.days[v.weekday()],
    "M": lambda v, n: n.months[v.month],
    "j": lambda v, n: str(v.day),
    "Y": lambda v, n: f"{v.year:04d}",
    "g": lambda v, n: str(v.hour % 12 or 12),
    "i": lambda v, n: f"{v.minute:02d}",
    "A": lambda v, n: n.pm if v.hour > 11 else n.am,
}


@lru_cache(maxsize=32)
def _parts(fmt: str) -> tuple[str | Callable[[Any, _Names], str], ...]:
    """A Django date format as literal text and letter functions. Raises ValueError for a
    letter not in _LETTERS (add it there, as Django's dateformat renders it)."""
    parts: list[str | Callable[[Any, _Names], str]] = []
    for char in fmt:
        if char.isalpha():
            if char not in _LETTERS:
                raise ValueError(f"Date format letter {char!r} is not supported")
            parts.append(_LETTERS[char])
        else:
            parts.append(char)
    return tuple(parts)


def week_start(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())
