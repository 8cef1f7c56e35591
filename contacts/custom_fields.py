"""A workspace's custom contact fields, kind by kind: how a typed value is parsed, how a stored
value reads, and the form field that edits it. The contact form and the CSV import both parse
through here, so a value means the same whichever way it came in.

Values are stored in Contact.custom_fields[key] as JSON: text and choice as a string, number as a
number, date as 'YYYY-MM-DD', yes/no as true/false.
"""

from __future__ import annotations

from datetime import date, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from alt.lib.dates import EARLIEST, LATEST, DayField, format_when, parse_typed_day, shown
from contacts.models import CustomField

# Dates as spreadsheets write them ("Mar 14 2025" after the comma is dropped).
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%b %d %Y", "%B %d %Y")
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0"}


class InvalidValue(ValueError):
    """A typed value that does not fit; the message completes "“abc” in column X ..."."""


def parse_date(text: str) -> date:
    """'2025-03-14', '03/14/2025', '2025/03/14', 'Mar 14, 2025' -> a date with a four-digit year
    between EARLIEST and LATEST. Raises InvalidValue."""
    try:
        return parse_typed_day(text.replace(",", " "), DATE_FORMATS)
    except ValidationError as error:
        if error.code == "two_digit_year":
            raise InvalidValue(f"has no full year: {error.messages[0].lower()[:-1]}") from None
        if error.code == "out_of_range":
            raise InvalidValue(f"is not between {shown(EARLIEST)} and {shown(LATEST)}") from None
        raise InvalidValue("is not a date (use YYYY-MM-DD or MM/DD/YYYY)") from None


def parse_value(field: CustomField, text: str) -> Any:
    """The value to store for `text` typed into `field` (see the module docstring). Numbers may
    carry '$' and thousands separators; yes/no reads y/n, true/false, 1/0 and x; a choice matches
    whatever its case. Raises InvalidValue."""
    kind = field.kind
    if kind == CustomField.Kind.NUMBER:
        try:
            number = Decimal(text.strip().replace(",", "").replace("$", ""))
        except InvalidOperation:
            raise InvalidValue("is not a number") from None
        if not number.is_finite():
            raise InvalidValue("is not a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomField.Kind.DATE:
        return parse_date(text).isoformat()
    if kind == CustomField.Kind.YES_NO:
        if text.lower() in YES:
            return True
        if text.lower() in NO:
            return False
        raise InvalidValue("is not yes or no")
    if kind == CustomField.Kind.CHOICE:
        for choice in field.choices:
            if choice.lower() == text.lower():
                return choice
        raise InvalidValue(f"is not one of {', '.join(field.choices)}")
    return text


def display(field: CustomField, value: Any, *, tz: tzinfo | None = None) -> str:
    """How a stored value reads on the contact page ('' when there is none); a date has its year
    unless it is this year in `tz`."""
    if value is None or value == "":
        return ""
    if field.kind == CustomField.Kind.YES_NO:
        return "Yes" if value else "No"
    if field.kind == CustomField.Kind.DATE:
        try:
            return format_when(date.fromisoformat(str(value)), "short", tz=tz)
        except ValueError:
            return str(value)
    if field.kind == CustomField.Kind.NUMBER and isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def form_field(field: CustomField) -> forms.Field:
    """The form field that edits `field` on the contact page (blank allowed: it clears the value)."""
    label = field.label
    if field.kind == CustomField.Kind.NUMBER:
        return forms.CharField(
            label=label,
            required=False,
            widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        )
    if field.kind == CustomField.Kind.DATE:
        return DayField(
            label=label,
            required=False,
            error_messages={"invalid": f"Enter {label} as a date, like 2025-03-14."},
        )
    if field.kind == CustomField.Kind.YES_NO:
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "—"), ("yes", "Yes"), ("no", "No")],
            error_messages={"invalid_choice": f"Answer {label} with yes or no."},
        )
    if field.kind == CustomField.Kind.CHOICE:
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "—"), *((c, c) for c in field.choices)],
            error_messages={
                "invalid_choice": f"Choose one of: {', '.join(field.choices)}.",
            },
        )
    return forms.CharField(label=label, required=False, max_length=200)
