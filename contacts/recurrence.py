"""When the next occurrence of a repeating task is due. Pure code: no models, no database.

A series keeps its wall clock: "every Monday at 9:00 in Los Angeles" stays 9:00 there across a
daylight-saving change (its UTC time moves by an hour). A monthly series keeps its day of the month,
and falls on the month's last day when the month is shorter (the 31st: Jan 31, Feb 28, Mar 31).
A wall time the clocks skip (2:30 AM the night they go forward) is read as the moment an hour later
on the wall, as zoneinfo does; the next occurrence is back at 2:30.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
# Occurrences skipped over at most when a task is completed long after it was due.
_MAX_STEPS = 5_000


def month_day(year: int, month: int, day: int) -> date:
    """`day` of the month, or the month's last day when it has fewer days."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def following_day(day: date, repeat: str, anchor_day: int) -> date:
    """The day of the occurrence after the one on `day`."""
    if repeat == DAILY:
        return day + timedelta(days=1)
    if repeat == WEEKLY:
        return day + timedelta(days=7)
    if repeat == MONTHLY:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return month_day(year, month, anchor_day)
    raise ValueError(f"Not a repeat: {repeat!r}")


def next_due_at(
    *,
    due_at: datetime,
    repeat: str,
    time_zone: str,
    wall_time: time,
    anchor_day: int | None,
    after: datetime,
) -> datetime | None:
    """The first occurrence after both `due_at` and `after` (a task completed late skips the
    occurrences already past), at `wall_time` in `time_zone`. None when that would be beyond the
    years a datetime holds (the series ends there)."""
    tz = ZoneInfo(time_zone)
    try:
        day = due_at.astimezone(tz).date()
        anchor = anchor_day or day.day
        for _ in range(_MAX_STEPS):
            day = following_day(day, repeat, anchor)
            moment = datetime.combine(day, wall_time, tzinfo=tz)
            if moment > after and moment > due_at:
                return moment
    except (OverflowError, ValueError):
        return None
    return None
