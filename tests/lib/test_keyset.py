"""alt.lib.keyset: the (moment, id) cursor of the timeline and the property list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from alt.lib.keyset import cursor_for, cursor_parse


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 14, 9, 26, 53, 1, tzinfo=timezone(timedelta(hours=-7))),
    ],
)
def test_a_cursor_carries_its_moment_to_the_microsecond_and_its_id(moment: datetime) -> None:
    assert cursor_parse(cursor_for(moment, 42)) == (moment, 42)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "123",
        "123.",
        ".42",
        "abc.42",
        "123.x",
        "-5.42",
        "1.5.42",
        "99999999999999999999999.1",  # past year 9999
    ],
)
def test_anything_but_a_cursor_reads_as_none(raw: str) -> None:
    assert cursor_parse(raw) is None
