"""Formatting for the pipeline board: its cards, a budget as a card has room for it, and the link
to a column's next page. Formatting only.

The cards are written out here rather than in a template: a board shows up to 175 of them, and
the template engine spent ~0.1 ms on each (some 20 ms a board, four times the bare page issue 9
measures pages against), where this takes a tenth of that. Every value is escaped here as
autoescaping would have (Django's escape() is html.escape, behind a wrapper that costs more than
the escaping on 175 cards)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString, mark_safe

from alt.accounts.templatetags.fixed_urls import url_around_id
from alt.lib.dates import format_when
from contacts.listing.services import ContactListQuery
from contacts.templatetags.contact_list import ago

if TYPE_CHECKING:
    from contacts.pipeline.services import BoardCard

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


@register.simple_tag
def board_cards(cards: Iterable[BoardCard], move_link: str) -> SafeString:
    """The <li> of each card: the lead's name (a link to the contact), source, last contact,
    budget and next step, and its "Move to…" link (`move_link` followed by the contact's id),
    which opens the board's one menu."""
    before, after = url_around_id("contacts:detail")
    move = escape(move_link)
    return mark_safe("".join(_card(card, before, after, move) for card in cards))  # noqa: S308


@register.simple_tag
def board_card(card: BoardCard, move_link: str) -> SafeString:
    """One card, as board_cards writes it (a moved card, answered on its own)."""
    return board_cards([card], move_link)


def _card(card: BoardCard, before: str, after: str, move: str) -> str:
    contact = card.contact
    contact_id = int(contact.id)
    name = escape(contact.name)
    if contact.last_contacted_at:
        at = contact.last_contacted_at
        last = f'<time datetime="{escape(at.isoformat())}">{escape(ago(at))}</time>'
    else:
        last = "Not yet"
    amount = budget(contact)
    money = f"<div><dt>Budget</dt><dd>{escape(amount)}</dd></div>" if amount else ""
    step = card.next_step
    overdue = False
    if step is None:
        next_text = "Nothing planned"
    else:
        overdue = step.is_overdue
        kind = "Appointment" if step.kind == "appointment" else "Task"
        kind = "Overdue task" if overdue else kind
        when = escape(format_when(step.at, "short"))
        next_text = (
            f'{kind}: {escape(step.title)} · <time datetime="{escape(step.at.isoformat())}">'
            f"{when}</time>"
        )
    return (
        f'<li class="board-card" id="card-{contact_id}" draggable="true"'
        f' data-stage-id="{int(contact.stage_id)}">'
        f'<a class="board-card-name" dir="auto" href="{before}{contact_id}{after}">{name}</a>'
        '<dl class="board-card-facts">'
        f"<div><dt>Source</dt><dd>{escape(contact.get_source_display())}</dd></div>"
        f"<div><dt>Last contact</dt><dd>{last}</dd></div>"
        f"{money}"
        f'<div class="board-card-next{" is-overdue" if overdue else ""}">'
        f"<dt>Next</dt><dd>{next_text}</dd></div>"
        "</dl>"
        f'<a class="board-card-move" href="{move}{contact_id}">'
        f'Move to…<span class="visually-hidden"> ({name})</span></a>'
        "</li>"
    )
