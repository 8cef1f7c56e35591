"""Places on core pages that higher apps fill in without the page importing them (DESIGN.md:
dependencies point one way; a lower layer reaches a higher one only through a seam).

- Dashboard cards: `register_dashboard_card(card)`, where `card(request)` returns the Panel to show
  on the dashboard, or None for none. The dashboard renders them first in its grid, in
  registration order.
- Contact page panels: `register_contact_panel(panel)`, where `panel(request, contact)` returns
  the Panel to show under the contact's quick actions, or None.
- Appointment page panels: `register_appointment_panel(panel)`, where `panel(request,
  appointment)` returns the Panel to show on the appointment's page (the SMS reminder's state), or
  None.
- Next appointments: `register_next_appointments(lookup)`, where `lookup(workspace, contact_ids)`
  returns {contact id: Upcoming} for the contacts that have one booked, in one query. The pipeline
  board shows it on each card (a page of cards asks once, never per card).

- Page banners: `register_banner_flag(flag)`, a yes/no that base.html shows a banner for on every
  page (an integration that needs reconnecting). The flags are read from the cache, all of them
  in one round trip a page (`banner_flags`); a miss asks the database and keeps the answer. The
  registering app forgets its cached answer whenever the state behind it changes.

An app registers in its AppConfig.ready() (appointments registers its day's agenda and the
contact's upcoming appointments). The page includes `panel.template` with the panel's own context
as `panel`, inside the page's time-zone override, so a card reads dates like the page around it.
Callables take the request for its workspace and user; they run one query or none, since the
pages' query counts are tested.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction

if TYPE_CHECKING:
    from alt.accounts.decorators import WorkspaceRequest
    from alt.accounts.models import User, Workspace


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upcoming:
    """Something booked with a contact, as a core page shows it: what, and when it starts."""

    title: str
    starts_at: datetime


@dataclass(frozen=True)
class BannerFlag:
    """A page banner's yes/no: `name` is its variable in the templates, `ask(workspace, user)` the
    database's answer on a miss (kept `timeout_s`). The answer is cached per workspace, or per
    workspace and user when `per_user` (a personal integration); the registering app calls
    `forget` whenever the state behind it changes."""

    name: str
    ask: Callable[[Workspace, User], bool]
    timeout_s: int
    per_user: bool = False

    def key(self, workspace_id: int, user_id: int | None = None) -> str:
        suffix = f":{user_id}" if self.per_user else ""
        return f"banner:{self.name}:{workspace_id}{suffix}"

    def forget(self, workspace_id: int, user_id: int | None = None) -> None:
        """Drop the cached answer once the surrounding transaction commits (at once outside one)."""
        key = self.key(workspace_id, user_id)
        transaction.on_commit(lambda: cache.delete(key))


DashboardCard = Callable[["WorkspaceRequest"], Panel | None]
# The contact is a contacts.models.Contact, which this layer does not import.
ContactPanel = Callable[["WorkspaceRequest", Any], Panel | None]
# The appointment is an appointments.models.Appointment, which this layer does not import.
AppointmentPanel = Callable[["WorkspaceRequest", Any], Panel | None]
NextAppointments = Callable[["Workspace", Collection[int]], dict[int, Upcoming]]

_dashboard_cards: dict[str, DashboardCard] = {}
_contact_panels: dict[str, ContactPanel] = {}
_next_appointments: dict[str, NextAppointments] = {}
_appointment_panels: dict[str, AppointmentPanel] = {}
_banner_flags: dict[str, BannerFlag] = {}


def _key(fn: Callable[..., Any]) -> str:
    # Keyed by where the function lives, so registering twice (ready() run again) changes nothing.
    return f"{fn.__module__}.{fn.__qualname__}"


def register_dashboard_card(card: DashboardCard) -> DashboardCard:
    _dashboard_cards[_key(card)] = card
    return card


def register_contact_panel(panel: ContactPanel) -> ContactPanel:
    _contact_panels[_key(panel)] = panel
    return panel


def register_appointment_panel(panel: AppointmentPanel) -> AppointmentPanel:
    _appointment_panels[_key(panel)] = panel
    return panel


def register_next_appointments(lookup: NextAppointments) -> NextAppointments:
    _next_appointments[_key(lookup)] = lookup
    return lookup


def register_banner_flag(flag: BannerFlag) -> BannerFlag:
    _banner_flags[flag.name] = flag
    return flag


def dashboard_cards(request: WorkspaceRequest) -> list[Panel]:
    return [p for card in _dashboard_cards.values() if (p := card(request)) is not None]


def contact_panels(request: WorkspaceRequest, contact: Any) -> list[Panel]:
    return [p for panel in _contact_panels.values() if (p := panel(request, contact)) is not None]


def appointment_panels(request: WorkspaceRequest, appointment: Any) -> list[Panel]:
    return [
        p
        for panel in _appointment_panels.values()
        if (p := panel(request, appointment)) is not None
    ]


def next_appointments(workspace: Workspace, contact_ids: Collection[int]) -> dict[int, Upcoming]:
    """The soonest upcoming appointment of each of `contact_ids` that has one (none: not in the
    dict). One query per registered lookup, none for no ids."""
    soonest: dict[int, Upcoming] = {}
    if not contact_ids:
        return soonest
    for lookup in _next_appointments.values():
        for contact_id, upcoming in lookup(workspace, contact_ids).items():
            known = soonest.get(contact_id)
            if known is None or upcoming.starts_at < known.starts_at:
                soonest[contact_id] = upcoming
    return soonest


def banner_flags(workspace: Workspace, user: User) -> dict[str, bool]:
    """Every registered banner's yes/no for this user in this workspace, by name: one cache round
    trip for all of them; each miss asks the database once and keeps the answer."""
    keys = {flag.key(workspace.id, user.id): flag for flag in _banner_flags.values()}
    found = cache.get_many(list(keys))
    flags = {}
    for key, flag in keys.items():
        if key in found:
            flags[flag.name] = bool(found[key])
        else:
            flags[flag.name] = answer = flag.ask(workspace, user)
            cache.set(key, int(answer), flag.timeout_s)
    return flags
