"""Formatting for the pipeline board's cards: a budget as a card has room for it, and the link to
a column's next page. Formatting only."""

from __future__ import annotations

from django import template

from contacts.listing.services import ContactListQuery

register = template.Library()


def _money(amount: int) -> str:
    """450000 -> '$450k', 1250000 -> '$1.25M', 950 -> '$950'."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        # Rounded first, so 999,999 reads '$1M', not '$1000k'.
        if round(amount / size, 2) >= 1:
            text = f"{amount / size:.2f}".rstrip("0").rstrip(".")
            return f"${text}{suffix}"
    return f"${amount}"


@register.filter
def budget(contact: object) -> str:
    """'$450k–$600k', 'From $450k', 'Up to $600k', or '' when the contact has no budget."""  # noqa: RUF002
    low = getattr(contact, "budget_min", None)
    high = getattr(contact, "budget_max", None)
    if low is not None and high is not None:
        return _money(low) if low == high else f"{_money(low)}–{_money(high)}"  # noqa: RUF001
    if low is not None:
        return f"From {_money(low)}"
    if high is not None:
        return f"Up to {_money(high)}"
    return ""


@register.filter
def with_cursor(query: ContactListQuery, cursor: str) -> str:
    """The query string of the board's filters with a column's cursor."""
    return query.urlencode(cursor=cursor)
