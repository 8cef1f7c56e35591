"""Formatting for the contact list: phone numbers, "3d ago", and its rows. Formatting only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from alt.accounts.templatetags.fixed_urls import fixed_url
from contacts.normalize import phone_display

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """'+14155550134' -> '(415) 555-0134'; other countries in international format."""
    return phone_display(e164) if e164 else ""


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago, as short as a phone row needs: 'just now', '5m ago', '3h ago', '3d ago',
    '6w ago', '4mo ago', '2y ago'."""
    if moment is None:
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    for unit_seconds, suffix, limit in (
        (60, "m", 60),
        (3600, "h", 24),
        (86400, "d", 14),
        (7 * 86400, "w", 9),
        (30 * 86400, "mo", 12),
    ):
        amount = seconds // unit_seconds
        if amount < limit:
            return f"{amount}{suffix} ago"
    return f"{max(1, seconds // (365 * 86400))}y ago"


@register.filter
def urlencode_params(params: object) -> str:
    """A saved list's stored parameters as a query string (anything but text is dropped)."""
    if not isinstance(params, dict):
        return ""
    return urlencode({k: v for k, v in params.items() if isinstance(k, str) and isinstance(v, str)})


@register.simple_tag
def contact_rows(contacts: Iterable[Any], detail_url: tuple[str, str]) -> SafeString:
    """The list's rows: templates/contacts/_contact_row.html once per contact, written out in
    Python (as the filter drawer's PlainSelect is). Through the template engine a row cost
    ~60 µs, 3 ms a page: more than the page's query. tests/contacts/test_list_cost.py renders
    both for awkward contacts and keeps them equal. `detail_url` is the contact page's URL around
    the id (contacts.listing.views._url_around_id). Every value is escaped as `{{ }}` would:
    Django's escape is html.escape."""
    head, tail = escape(detail_url[0]), escape(detail_url[1])
    return mark_safe("".join(_row(contact, head, tail) for contact in contacts))  # noqa: S308


def _row(contact: Any, head: str, tail: str) -> str:
    name = escape(contact.name)
    reach = ""
    if contact.primary_phone:
        reach += f'<span class="list-phone">{escape(phone(contact.primary_phone))}</span>'
    if contact.primary_email:
        reach += f'<span class="list-email">{escape(contact.primary_email)}</span>'
    tags = ""
    if contact.tag_names:
        tags = "".join(f'<span class="list-tag">{escape(t)}</span>' for t in contact.tag_names)
        tags = f'<span class="list-tags">{tags}</span>'
    assignee = contact.assigned_to
    who = escape(assignee.get_short_name()) if assignee else "Unassigned"
    stage = contact.stage
    moment = contact.last_activity_at
    return f"""<li class="contact-row">
          <input type="checkbox" class="js-row-check" name="ids" value="{contact.id}" form="bulk-form" aria-label="Select {name}">
          <a class="contact-card" href="{head}{contact.id}{tail}">
            <span class="list-avatar" aria-hidden="true">{escape(contact.initials)}</span>
            <span class="list-main">
              <span class="list-name">{name}</span>
              <span class="list-reach">{reach}</span>
              {tags}
            </span>
            <span class="list-meta">
              <span class="badge list-stage is-{escape(stage.outcome)}">{escape(stage.name)}</span>
              <span class="list-assignee">{who}</span>
              <time datetime="{escape(moment.isoformat()) if moment else ""}">{escape(ago(moment))}</time>
            </span>
          </a>
        </li>
"""


# `{% fixed_url %}` under `{% load contact_list %}` too: the list's templates load this library.
register.simple_tag(fixed_url)
