"""Normalisation of what people type: names, emails, phone numbers and search box queries.

Pure functions, no database: contacts/models.py (search), the services, the forms and the CSV
import all normalise through here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import phonenumbers

DEFAULT_REGION = "US"


class InvalidPhone(ValueError):
    pass


def phone_to_e164(raw: str, region: str = DEFAULT_REGION) -> str:
    """'(415) 555-0123', '415.555.0123', '+1 415 555 0123', '1-415-555-0123' -> '+14155550123'.

    Raises InvalidPhone with a message a person understands.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Phone number is empty.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(f"“{text}” is not a phone number.") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise InvalidPhone(f"“{text}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=4096)
def phone_display(e164: str) -> str:
    """'+14155550134' -> '(415) 555-0134'. Cached: a list page formats 50 numbers per request and
    phonenumbers' parse + format is the costliest thing in a row."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


_DIGITS = re.compile(r"\D+")


def search_text_for(
    first_name: str, last_name: str, emails: Iterable[str], phones: Iterable[str]
) -> str:
    """The one lower-cased string the trigram index searches: names, emails, and each phone both
    in E.164 and as national digits (so '4155550123' and '555-0123' both match)."""
    parts = [first_name, last_name, *emails]
    for e164 in phones:
        digits = _DIGITS.sub("", e164)
        parts.extend([e164, digits, digits[1:] if e164.startswith("+1") else digits])
    return " ".join(p.lower() for p in parts if p)


def search_terms(query: str) -> tuple[list[str], str | None]:
    """Split a search box query into words to match, and the E.164 form if it reads as a phone."""
    query = query.strip()
    phone = None
    if sum(ch.isdigit() for ch in query) >= 7 and not re.search(r"[A-Za-z@]", query):
        try:
            phone = phone_to_e164(query)
        except InvalidPhone:
            phone = None
        digits = _DIGITS.sub("", query)
        return ([digits] if phone is None else []), phone
    return [w.lower() for w in query.split() if w], None


_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
# What a message could reasonably hold: more is noise (or an attack), and each match costs a parse.
_MAX_FOUND = 5
_MAX_SCANNED_CHARS = 5000


def emails_in_text(text: str) -> list[str]:
    """The email addresses written in free text (a DM), normalised, at most five, in order."""
    found = (normalize_email(m.group(0).rstrip(".")) for m in _EMAIL_IN_TEXT.finditer(text or ""))
    return list(dict.fromkeys(found))[:_MAX_FOUND]


def phones_in_text(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """The valid phone numbers written in free text, as E.164, at most five, in order.

    'Call me at (415) 555-0123' -> ['+14155550123']. Only the first few thousand characters are
    read: a number is written near the start of a message, and a 10,000-character one must not
    cost a parse per digit run."""
    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher((text or "")[:_MAX_SCANNED_CHARS], region):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
        if len(found) >= _MAX_FOUND:
            break
    return found
