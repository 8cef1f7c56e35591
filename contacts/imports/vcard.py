"""A phone's contacts export (.vcf, vCard 2.1/3.0/4.0) as the CSV the importer reads.

Parsed with `vobject`; each card becomes one row of First name, Last name, Emails, Phones, Tags
(the card's categories), Notes. Several emails or phones go in one cell, separated by "; ", which
the importer splits again.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import vobject

HEADERS = ["First name", "Last name", "Emails", "Phones", "Tags", "Notes"]


class VCardError(ValueError):
    """The file is not a readable vCard; the message says so for a person."""


def looks_like_vcard(filename: str, text: str) -> bool:
    return filename.lower().endswith((".vcf", ".vcard")) or text.lstrip()[:11].upper() == (
        "BEGIN:VCARD"
    )


def _values(card: Any, name: str) -> list[str]:
    out = []
    for prop in card.contents.get(name, []):
        value = prop.value
        if isinstance(value, list | tuple):
            out += [str(v).strip() for v in value if str(v).strip()]
        elif str(value).strip():
            out.append(str(value).strip())
    return out


def _names(card: Any) -> tuple[str, str]:
    n = card.contents.get("n")
    if n:
        given = " ".join(filter(None, [_joined(n[0].value.given), _joined(n[0].value.additional)]))
        family = _joined(n[0].value.family)
        if given or family:
            return given, family
    full = " ".join(_values(card, "fn"))
    first, _, last = full.rpartition(" ")
    return (first, last) if first else (last, "")


def _joined(part: Any) -> str:
    if isinstance(part, list | tuple):
        return " ".join(str(p).strip() for p in part if str(p).strip())
    return str(part or "").strip()


def vcard_to_csv(text: str) -> bytes:
    """Every card of `text` as one CSV row (UTF-8). Raises VCardError for a file vobject cannot
    read, or one without a card."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    count = 0
    try:
        for card in vobject.readComponents(text, ignoreUnreadable=True):
            if card.name != "VCARD":
                continue
            first, last = _names(card)
            writer.writerow(
                [
                    first,
                    last,
                    "; ".join(_values(card, "email")),
                    "; ".join(_values(card, "tel")),
                    "; ".join(_values(card, "categories")),
                    "\n".join(_values(card, "note")),
                ]
            )
            count += 1
    except Exception as exc:  # vobject raises its own ParseError, and ValueError on bad dates
        raise VCardError(f"This vCard file can't be read ({exc}).") from None
    if not count:
        raise VCardError("This vCard file has no contacts in it.")
    return buffer.getvalue().encode()
