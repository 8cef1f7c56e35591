"""`{{ value|when }}`: every date and time ALT shows, in the viewer's time zone (the one the view
or task activated), with the year only when it is not this year. Formatting only: the rules live
in alt.lib.dates.format_when.

Use it instead of Django's `|date` for anything stored: `|date` moves a moment into the time zone
before formatting and raises OverflowError for one near year 1 or 9999, which breaks the page.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template

from alt.lib.dates import format_when

register = template.Library()


@register.filter
def when(value: date | datetime | None, style: str = "") -> str:
    """'Wed, Jul 10, 9:00 AM' (a moment) or 'Wed, Jul 10' (a day), with ', 2027' after the day
    in another year. Styles: "date", "short" ('Jul 10'), "time" ('9:00 AM'), "iso"."""
    return format_when(value, style)


@register.filter
def duration(seconds: float | None) -> str:
    """A span for people: 45 s, 12 min, 3 h 5 min, 2 d 4 h; None -> "no reply" (nothing to measure)."""
    if seconds is None:
        return "no reply"
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
