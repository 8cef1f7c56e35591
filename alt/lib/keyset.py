"""Keyset-pagination cursors for lists ordered newest first by (a moment, id): the last row shown
goes into the next page's URL as "<microseconds since 1970>.<id>", exact to the microsecond, and
comes back as the (moment, id) to continue below.

The contact list has its own cursor (contacts/listing), which carries several sort keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_for(moment: datetime, row_id: int) -> str:
    """The cursor of a row: its aware `moment` and its id, as "<micros>.<id>"."""
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{row_id}"


def cursor_parse(raw: str) -> tuple[datetime, int] | None:
    """The (moment, id) a cursor from cursor_for carries; None for anything else (a hand-edited
    or truncated URL, a moment past year 9999), so the list starts at its first page."""
    micros, _, last_id = raw.partition(".")
    if not (micros.isdigit() and last_id.isdigit()):
        return None
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(last_id)
    except OverflowError:
        return None
