"""Quiet hours: automated texts (reminders, bulk sends) go out between 08:00 and 21:00 in the
contact's time zone and otherwise wait for the morning. A person replying in a thread is never
held back; only automation asks `automated_send_at`.

The contact's zone is `Contact.time_zone` when set, else the zones of their number's area code
(phonenumbers' timezone data). A number whose area code spans several zones (Alaska's 907:
Anchorage and Adak) must be inside the window in every one of them: the harsher reading. A number
that names no zone, or zones too far apart to share a window (a non-geographic number), falls back
to the agent's zone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones

WINDOW_START = time(8, 0)
WINDOW_END = time(21, 0)
# Zones further apart than this (in UTC offset now) share too little of the window to use together.
_MAX_SPREAD = timedelta(hours=4)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zones_for(*, time_zone: str, phone: str, fallback: str, at: datetime) -> list[ZoneInfo]:
    """The zones whose local time decides quiet hours for a contact (never empty)."""
    own = _zone(time_zone)
    if own is not None:
        return [own]
    zones: list[ZoneInfo] = []
    try:
        number = phonenumbers.parse(phone, None)
        names = phone_zones.time_zones_for_number(number)
    except phonenumbers.NumberParseException:
        names = ()
    for name in names:
        zone = _zone(name)
        if zone is not None:
            zones.append(zone)
    if zones:
        offsets = [at.astimezone(z).utcoffset() or timedelta(0) for z in zones]
        if max(offsets) - min(offsets) <= _MAX_SPREAD:
            return zones
    return [_zone(fallback) or ZoneInfo("UTC")]


def _inside(at: datetime, zone: ZoneInfo) -> bool:
    local = at.astimezone(zone).time()
    return WINDOW_START <= local < WINDOW_END


def automated_send_at(*, time_zone: str, phone: str, fallback: str, now: datetime) -> datetime:
    """`now` when an automated text may go out now, else the first moment (to the minute) at which
    it is 08:00 or later and before 21:00 in every zone that applies. Correct across DST changes:
    local times are computed per candidate instant, never by adding hours to a wall clock."""
    zones = zones_for(time_zone=time_zone, phone=phone, fallback=fallback, at=now)
    if all(_inside(now, z) for z in zones):
        return now
    # Candidates: each zone's next 08:00 (today or tomorrow, as a real instant); the earliest
    # one that is inside every zone's window wins. At most two days ahead.
    candidates: list[datetime] = []
    for zone in zones:
        local_now = now.astimezone(zone)
        for days in (0, 1, 2):
            day = (local_now + timedelta(days=days)).date()
            start = datetime.combine(day, WINDOW_START, tzinfo=zone)
            if start > now:
                candidates.append(start)
    for candidate in sorted(candidates):
        if all(_inside(candidate, z) for z in zones):
            return candidate
    return min(candidates)  # zones that never share a window: the earliest morning


def area_code_zones(phone: str, *, at: datetime) -> list[str]:
    """The IANA zones quiet hours would use for `phone` alone (its area code's), or [] when the
    number names none usable (the contact form shows them as the time zone's hint)."""
    guessed = zones_for(time_zone="", phone=phone, fallback="", at=at)
    names = [str(zone.key) for zone in guessed]
    return [] if names == ["UTC"] else names
