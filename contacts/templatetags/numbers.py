"""Counts as people read them: thousands separators and a noun that agrees. Formatting only."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def number(value: object) -> str:
    """54298 -> '54,298'; None -> ''; anything that is not a number is shown as it is."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,}"
    return f"{int(value):,}"


@register.filter
def counted(value: int | None, nouns: str) -> str:
    """`n|counted:"property,properties"`: '1 property', '54,298 properties', '0 properties'.
    Without a plural form the singular takes an s ('lead' -> '2 leads')."""
    singular, _, plural = nouns.partition(",")
    amount = value or 0
    return f"{number(amount)} {singular if amount == 1 else plural or singular + 's'}"
