"""alt.lib.dates: the accepted range, typed dates, and showing a stored moment safely."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.dateformat import format as django_date_format
from django.utils.timesince import timesince

from alt.lib.dates import (
    DayField,
    When,
    check_schedule,
    format_when,
    local_day,
    parse_day,
    parse_typed_day,
    schedule_range,
)

TOKYO = ZoneInfo("Asia/Tokyo")
LA = ZoneInfo("America/Los_Angeles")
LAST_MOMENT = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
FIRST_MOMENT = datetime(1, 1, 1, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _in_2026() -> Any:
    with time_machine.travel(datetime(2026, 5, 20, 18, 0, tzinfo=UTC), tick=False):
        yield


def code_of(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_typed_day(text)
    return str(caught.value.code)


# --- typed dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05", date(2026, 12, 5)),
        ("12/05/2026", date(2026, 12, 5)),
        ("Dec 5, 2026", date(2026, 12, 5)),
        ("  5 December 2026 ", date(2026, 12, 5)),
    ],
)
def test_it_reads_a_date_with_a_full_year(text: str, expected: date) -> None:
    assert parse_typed_day(text) == expected


@pytest.mark.parametrize("text", ["12 05 26", "12/05/26", "0026-12-05", "Dec 5, 26", "5/12/26"])
def test_a_two_digit_year_is_refused_with_the_full_year_asked_for(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_typed_day(text)

    assert caught.value.code == "two_digit_year"
    assert caught.value.messages == ["Write the year in full, e.g. 2026."]


def test_a_date_outside_1900_to_2100_is_refused_with_the_range() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_typed_day("9999-12-31")

    assert caught.value.messages == ["Pick a date between Jan 1, 1900 and Dec 31, 2100."]
    assert code_of("1899-12-31") == "out_of_range"
    assert parse_typed_day("1900-01-01") == date(1900, 1, 1)
    assert parse_typed_day("2100-12-31") == date(2100, 12, 31)


def test_text_that_is_no_date_is_invalid() -> None:
    assert code_of("next tuesday") == "invalid"
    assert code_of("2026-02-30") == "invalid"


def test_the_day_field_keeps_its_own_message_for_text_that_is_no_date() -> None:
    field = DayField(error_messages={"invalid": "Enter the due date like 2025-03-14."})

    with pytest.raises(ValidationError) as garbage:
        field.clean("soon")
    with pytest.raises(ValidationError) as short_year:
        field.clean("12/05/26")
    with pytest.raises(ValidationError) as far:
        field.clean("9999-12-31")

    assert garbage.value.messages == ["Enter the due date like 2025-03-14."]
    assert short_year.value.messages == ["Write the year in full, e.g. 2026."]
    assert far.value.messages == ["Pick a date between Jan 1, 1900 and Dec 31, 2100."]
    assert field.clean("2026-03-14") == date(2026, 3, 14)


def test_the_schedule_reaches_a_year_back_and_ten_years_ahead() -> None:
    assert schedule_range(date(2026, 5, 20)) == (date(2025, 5, 20), date(2036, 5, 20))
    assert schedule_range(date(2028, 2, 29)) == (date(2027, 2, 28), date(2038, 2, 28))
    check_schedule(date(2036, 5, 20), date(2026, 5, 20))
    with pytest.raises(ValidationError, match="more than 10 years ahead: pick a date up to May"):
        check_schedule(date(2036, 5, 21), date(2026, 5, 20))
    with pytest.raises(ValidationError, match="more than a year ago: pick a date from May 20"):
        check_schedule(date(2025, 5, 19), date(2026, 5, 20))


# --- URL parameters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01", "junk", "2026-1-5", ""]
)
def test_a_day_from_a_url_outside_the_range_or_malformed_is_none(raw: str) -> None:
    assert parse_day(raw) is None


def test_a_day_from_a_url_in_the_range_is_read() -> None:
    assert parse_day("2026-01-05") == date(2026, 1, 5)


# --- showing -------------------------------------------------------------------------------------
def test_a_moment_this_year_is_shown_without_its_year_and_another_year_with_it() -> None:
    assert format_when(datetime(2026, 3, 1, 17, tzinfo=UTC), tz=LA) == "Sun, Mar 1, 9:00 AM"
    assert format_when(datetime(2027, 3, 1, 17, tzinfo=UTC), tz=LA) == "Mon, Mar 1, 2027, 9:00 AM"
    assert format_when(datetime(2025, 3, 1, 17, tzinfo=UTC), "date", tz=LA) == "Sat, Mar 1, 2025"
    assert format_when(datetime(2025, 3, 1, 17, tzinfo=UTC), "time", tz=LA) == "9:00 AM"
    assert format_when(date(2026, 3, 1)) == "Sun, Mar 1"
    assert format_when(date(2031, 3, 1), "short") == "Mar 1, 2031"
    assert format_when(None) == ""


def test_this_year_is_the_viewers_year() -> None:
    new_year_in_tokyo = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # Jan 1, 2027 01:00 in Tokyo
    earlier = datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    with time_machine.travel(new_year_in_tokyo, tick=False):
        assert format_when(new_year_in_tokyo, tz=TOKYO) == "Fri, Jan 1, 1:00 AM"
        assert format_when(earlier, tz=TOKYO) == "Thu, Dec 31, 2026, 7:00 PM"
        assert format_when(earlier, tz=LA) == "Thu, Dec 31, 2:00 AM"


def test_a_moment_that_cannot_be_moved_into_the_zone_is_shown_as_stored_in_utc() -> None:
    assert format_when(LAST_MOMENT, tz=TOKYO) == "Fri, Dec 31, 9999, 11:30 PM UTC"
    assert format_when(FIRST_MOMENT, "time", tz=LA) == "12:00 AM UTC"
    assert format_when(FIRST_MOMENT, "iso", tz=LA) == "0001-01-01T00:00:00+00:00"
    assert format_when(LAST_MOMENT, tz=LA) == "Fri, Dec 31, 9999, 3:30 PM"
    assert local_day(LAST_MOMENT, TOKYO) == date(9999, 12, 31)
    assert local_day(FIRST_MOMENT, TOKYO) == date(1, 1, 1)


def test_the_when_filter_uses_the_active_time_zone_and_never_raises() -> None:
    template = Template(
        "{% load dates %}{{ a|when }} / {{ b|when }} / {{ b|when:'iso' }} / {{ c|when:'short' }}"
    )
    context = Context({"a": datetime(2026, 7, 1, 1, 0, tzinfo=UTC), "b": LAST_MOMENT,
                       "c": date(2024, 2, 29)})  # fmt: skip

    with timezone.override(TOKYO):
        text = template.render(context)

    assert text == (
        "Wed, Jul 1, 10:00 AM / Fri, Dec 31, 9999, 11:30 PM UTC / "
        "9999-12-31T23:30:00+00:00 / Feb 29, 2024"
    )


# --- many values at once -------------------------------------------------------------------------
NOW = datetime(2026, 5, 20, 18, 0, tzinfo=UTC)
# Every hour of the clock, every weekday and month, this year and others, both ends of the range.
MOMENTS = [
    *(
        NOW - timedelta(days=d, hours=h, minutes=7 * h)
        for d in range(0, 400, 29)
        for h in range(24)
    ),
    datetime(2027, 1, 1, 7, 59, tzinfo=UTC),
    datetime(26, 3, 1, 12, 0, tzinfo=UTC),
    LAST_MOMENT,
    FIRST_MOMENT,
]
STYLES = {  # format_when's styles, as the Django date formats they stood for
    "": ("D, M j, g:i A", "D, M j, Y, g:i A"),
    "date": ("D, M j", "D, M j, Y"),
    "short": ("M j", "M j, Y"),
    "time": ("g:i A", "g:i A"),
}


def django_when(value: datetime, style: str, tz: ZoneInfo) -> str:
    """What format_when showed when it went through Django's `|date` machinery."""
    this_year, other_year = STYLES[style]
    try:
        moment = timezone.localtime(value, tz)
    except OverflowError:
        return f"{django_date_format(value, other_year)} UTC"
    return django_date_format(moment, this_year if moment.year == 2026 else other_year)


@pytest.mark.parametrize("language", ["en-us", "de", "ja"])
@pytest.mark.parametrize("style", list(STYLES))
def test_when_formats_as_djangos_date_filter_did_in_the_active_language(
    language: str, style: str
) -> None:
    with translation.override(language):
        for tz in (LA, TOKYO):
            when = When(tz)
            for moment in MOMENTS:
                assert when.when(moment, style) == django_when(moment, style, tz), moment


@pytest.mark.parametrize("language", ["en-us", "de"])
def test_ago_reads_as_djangos_timesince_did(language: str) -> None:
    seconds = [60, 61, 3599, 3600, 86_399, 86_400, 7 * 86_400 + 5, 40 * 86_400, 366 * 86_400]
    with translation.override(language):
        ago = When(LA, now=NOW).ago
        for moment in [NOW - timedelta(seconds=s) for s in seconds] + MOMENTS[1:]:
            if NOW - moment >= timedelta(minutes=1):
                assert ago(moment) == f"{timesince(moment, NOW)} ago", moment


def test_ago_says_just_now_under_a_minute_and_for_a_moment_ahead() -> None:
    ago = When(LA, now=NOW).ago

    assert ago(NOW - timedelta(seconds=59, microseconds=999_999)) == "just now"
    assert ago(NOW - timedelta(seconds=60)) == "1\xa0minute ago"
    assert ago(NOW + timedelta(days=3)) == "just now"
    assert ago(LAST_MOMENT) == "just now"
    assert ago(NOW - timedelta(days=3, hours=2)) == "3\xa0days, 2\xa0hours ago"
    assert ago(FIRST_MOMENT) == "2025\xa0years, 4\xa0months ago"


def test_when_uses_the_zone_and_year_of_its_moment_not_of_each_value() -> None:
    new_year_in_tokyo = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    when = When(TOKYO, now=new_year_in_tokyo)

    assert when.when(new_year_in_tokyo) == "Fri, Jan 1, 1:00 AM"
    assert when.when(datetime(2026, 12, 31, 10, 0, tzinfo=UTC)) == "Thu, Dec 31, 2026, 7:00 PM"
    assert when.when(date(2027, 2, 1), "short") == "Feb 1"
    assert when.when(None) == ""
