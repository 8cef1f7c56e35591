"""Quiet hours for automated texts: 08:00-21:00 in the contact's zone (theirs, else every zone of
their area code, else the agent's), at the window's edges and across DST changes, where the
morning must be the real 08:00 local, never 08:00 give or take the hour that changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contacts.quiet_hours import area_code_zones, automated_send_at, zones_for

LA, NY, HONOLULU, ANCHORAGE = "+14155550123", "+12125550123", "+18085550123", "+19075550123"
TOLL_FREE = "+18005550123"  # every North American zone: too far apart to share a window
UK_MOBILE = "+447700900123"  # names no zone


def local(zone: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc, arg-type]


def send_at(
    now: datetime, *, phone: str = LA, time_zone: str = "", fallback: str = "UTC"
) -> datetime:
    return automated_send_at(time_zone=time_zone, phone=phone, fallback=fallback, now=now)


# --- the edges of the window ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phone", "zone"),
    [(LA, "America/Los_Angeles"), (NY, "America/New_York"), (HONOLULU, "Pacific/Honolulu")],
)
@pytest.mark.parametrize(
    ("clock", "waits_until"),
    [
        ((20, 59), None),  # still inside: now
        ((21, 0), (1, 8, 0)),  # closed: tomorrow 08:00
        ((23, 30), (1, 8, 0)),
        ((0, 0), (0, 8, 0)),  # after midnight: this morning 08:00
        ((7, 59), (0, 8, 0)),
        ((8, 0), None),  # open again
        ((12, 0), None),
    ],
)
def test_the_window_edges_in_each_zone(
    phone: str, zone: str, clock: tuple[int, int], waits_until: tuple[int, int, int] | None
) -> None:
    now = local(zone, 2030, 6, 12, *clock)

    result = send_at(now, phone=phone)

    if waits_until is None:
        assert result == now
    else:
        days, hour, minute = waits_until
        assert result == local(zone, 2030, 6, 12 + days, hour, minute)


# --- whose zone ---------------------------------------------------------------------------------
def test_the_contacts_own_zone_wins_over_the_area_code() -> None:
    now = local("Asia/Tokyo", 2030, 6, 12, 22, 0)  # 06:00 in Los Angeles, 22:00 in Tokyo

    assert send_at(now, phone=LA, time_zone="Asia/Tokyo") == local("Asia/Tokyo", 2030, 6, 13, 8, 0)


def test_an_invalid_stored_zone_falls_back_to_the_area_code() -> None:
    now = local("America/Los_Angeles", 2030, 6, 12, 22, 0)

    assert send_at(now, phone=LA, time_zone="Mars/Olympus_Mons") == local(
        "America/Los_Angeles", 2030, 6, 13, 8, 0
    )


def test_alaska_907_waits_until_the_window_is_open_in_both_of_its_zones() -> None:
    # 907 spans Anchorage (AKDT, UTC-8) and Adak (HDT, UTC-9): 08:00 in Adak is 09:00 in Anchorage.
    assert [z.key for z in zones_for(time_zone="", phone=ANCHORAGE, fallback="UTC",
                                     at=datetime(2030, 6, 12, tzinfo=UTC))] == [
        "America/Adak", "America/Anchorage",
    ]  # fmt: skip
    early = local("America/Anchorage", 2030, 6, 12, 8, 30)
    late = local("America/Anchorage", 2030, 6, 12, 20, 59)
    closed = local("America/Anchorage", 2030, 6, 12, 21, 0)

    assert send_at(early, phone=ANCHORAGE) == local("America/Anchorage", 2030, 6, 12, 9, 0)
    assert send_at(late, phone=ANCHORAGE) == late  # 19:59 in Adak
    assert send_at(closed, phone=ANCHORAGE) == local("America/Anchorage", 2030, 6, 13, 9, 0)


@pytest.mark.parametrize("phone", [TOLL_FREE, UK_MOBILE, "not a number", ""])
def test_a_number_without_a_usable_zone_uses_the_agents(phone: str) -> None:
    now = local("Europe/London", 2030, 6, 12, 22, 0)  # 14:00 in Los Angeles

    assert send_at(now, phone=phone, fallback="Europe/London") == local(
        "Europe/London", 2030, 6, 13, 8, 0
    )


def test_an_unknown_agent_zone_falls_back_to_utc() -> None:
    now = datetime(2030, 6, 12, 22, 0, tzinfo=UTC)

    assert send_at(now, phone=UK_MOBILE, fallback="") == datetime(2030, 6, 13, 8, 0, tzinfo=UTC)


def test_the_form_hint_names_the_area_codes_zones() -> None:
    at = datetime(2030, 6, 12, tzinfo=UTC)

    assert area_code_zones(LA, at=at) == ["America/Los_Angeles"]
    assert area_code_zones(ANCHORAGE, at=at) == ["America/Adak", "America/Anchorage"]
    assert area_code_zones(TOLL_FREE, at=at) == []
    assert area_code_zones(UK_MOBILE, at=at) == []


# --- DST -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phone", "zone", "evening", "morning_utc"),
    [
        # Spring forward (Sunday 10 March 2030, 02:00 -> 03:00): the evening is standard time,
        # the morning daylight time, so the night is an hour shorter.
        (NY, "America/New_York", (2030, 3, 9, 22, 0), datetime(2030, 3, 10, 12, 0, tzinfo=UTC)),
        (LA, "America/Los_Angeles", (2030, 3, 9, 22, 0), datetime(2030, 3, 10, 15, 0, tzinfo=UTC)),
        # Fall back (Sunday 3 November 2030, 02:00 -> 01:00): an hour longer.
        (NY, "America/New_York", (2030, 11, 2, 22, 0), datetime(2030, 11, 3, 13, 0, tzinfo=UTC)),
        (LA, "America/Los_Angeles", (2030, 11, 2, 22, 0), datetime(2030, 11, 3, 16, 0, tzinfo=UTC)),
    ],
)
def test_the_morning_after_a_dst_change_is_the_real_eight_oclock(
    phone: str, zone: str, evening: tuple[int, ...], morning_utc: datetime
) -> None:
    now = local(zone, *evening)

    result = send_at(now, phone=phone)

    assert result == morning_utc
    assert result.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:00"


@pytest.mark.parametrize(
    ("zone", "night"),
    [
        # In the hour that does not exist (spring) and the one that happens twice (fall).
        ("America/New_York", datetime(2030, 3, 10, 7, 30, tzinfo=UTC)),  # 02:30 EST = 03:30 EDT
        ("America/New_York", datetime(2030, 11, 3, 5, 30, tzinfo=UTC)),  # the first 01:30
        ("America/New_York", datetime(2030, 11, 3, 6, 30, tzinfo=UTC)),  # the second 01:30
        ("America/Los_Angeles", datetime(2030, 3, 10, 10, 30, tzinfo=UTC)),
        ("America/Los_Angeles", datetime(2030, 11, 3, 9, 30, tzinfo=UTC)),
    ],
)
def test_a_text_due_during_the_changing_hour_waits_for_that_mornings_eight(
    zone: str, night: datetime
) -> None:
    result = send_at(night, phone="", fallback=zone)

    moment = result.astimezone(ZoneInfo(zone))
    assert (moment.date(), moment.strftime("%H:%M")) == (
        night.astimezone(ZoneInfo(zone)).date(),
        "08:00",
    )
    assert result - night < timedelta(hours=8)
