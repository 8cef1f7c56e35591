"""The next due moment of a repeating task (contacts/recurrence.py): pure date arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from contacts.recurrence import following_day, month_day, next_due_at

LA = ZoneInfo("America/Los_Angeles")


def test_a_monthly_day_past_the_months_end_is_its_last_day() -> None:
    assert month_day(2031, 2, 31) == date(2031, 2, 28)
    assert month_day(2032, 2, 31) == date(2032, 2, 29)
    assert month_day(2031, 4, 31) == date(2031, 4, 30)
    assert month_day(2031, 5, 31) == date(2031, 5, 31)


def test_monthly_steps_cross_the_year_and_keep_the_anchor_day() -> None:
    assert following_day(date(2031, 12, 31), "monthly", 31) == date(2032, 1, 31)
    assert following_day(date(2031, 2, 28), "monthly", 31) == date(2031, 3, 31)
    assert following_day(date(2031, 2, 28), "monthly", 28) == date(2031, 3, 28)


def test_a_daily_task_keeps_9_am_through_the_night_the_clocks_go_back() -> None:
    # Nov 2, 2031: Los Angeles goes from PDT (-7) to PST (-8).
    due = datetime(2031, 11, 1, 9, 0, tzinfo=LA)

    following = next_due_at(
        due_at=due, repeat="daily", time_zone="America/Los_Angeles", wall_time=time(9, 0),
        anchor_day=None, after=due,
    )  # fmt: skip

    assert following is not None
    assert following.astimezone(UTC) == datetime(2031, 11, 2, 17, 0, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_kept_as_the_wall_time_of_the_next_day() -> None:
    # 2:30 AM does not exist on Mar 9, 2031 in Los Angeles; the series stays at 2:30.
    due = datetime(2031, 3, 8, 2, 30, tzinfo=LA)
    kwargs = {"repeat": "daily", "time_zone": "America/Los_Angeles", "wall_time": time(2, 30)}

    skipped = next_due_at(due_at=due, anchor_day=None, after=due, **kwargs)  # type: ignore[arg-type]
    assert skipped is not None
    after_skip = next_due_at(due_at=skipped, anchor_day=None, after=skipped, **kwargs)  # type: ignore[arg-type]

    assert skipped.astimezone(LA).date() == date(2031, 3, 9)
    assert after_skip is not None
    assert after_skip.astimezone(LA).replace(tzinfo=None) == datetime(2031, 3, 10, 2, 30)


def test_a_series_at_the_end_of_the_calendar_has_no_next_occurrence() -> None:
    due = datetime(9999, 12, 31, 9, 0, tzinfo=UTC)

    assert next_due_at(
        due_at=due, repeat="daily", time_zone="UTC", wall_time=time(9, 0), anchor_day=None,
        after=due,
    ) is None  # fmt: skip
