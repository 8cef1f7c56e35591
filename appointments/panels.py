"""What appointments shows on core pages, through alt.accounts.seams (registered in apps.py): the
agent's appointments of the day on the dashboard, a contact's upcoming ones on the contact's
page, and each lead's next one on the pipeline board's cards."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from alt.accounts.decorators import WorkspaceRequest
from alt.accounts.models import Workspace
from alt.accounts.seams import Panel, Upcoming
from appointments.models import Appointment
from appointments.services import appointments_for
from appointments.views import calendar_settings_url
from contacts.models import Contact

DASHBOARD_SHOWN = 10
CONTACT_SHOWN = 5


def dashboard_card(request: WorkspaceRequest) -> Panel:
    """My appointments on my today (earlier ones included, greyed), soonest first."""
    tz, now = ZoneInfo(request.user.timezone), timezone.now()
    today = timezone.localdate(now, tz)
    start = datetime.combine(today, time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    appointments = list(
        appointments_for(request.workspace)
        .filter(agent=request.user, starts_at__lt=end, ends_at__gt=start)
        .filter(contact__deleted_at=None, contact__merged_into=None)[:DASHBOARD_SHOWN]
    )
    context = {
        "appointments": appointments,
        "now": now,
        "calendar_settings_url": calendar_settings_url(),
    }
    return Panel("appointments/_dashboard_card.html", context)


def contact_panel(request: WorkspaceRequest, contact: Contact) -> Panel:
    """The contact's next appointments (shown only when there are some)."""
    now = timezone.now()
    # Its rows hide the contact (the page's own) and show a property only as its location, so
    # only the agent is joined: the joins of every column of three tables cost ~0.5 ms.
    upcoming = (
        appointments_for(request.workspace)
        .select_related(None)
        .select_related("agent")
        .filter(contact=contact, ends_at__gt=now)
    )
    context = {
        "appointments": list(upcoming[:CONTACT_SHOWN]),
        "now": now,
        "calendar_settings_url": calendar_settings_url(),
    }
    return Panel("appointments/_contact_panel.html", context)


def next_appointments(workspace: Workspace, contact_ids: Collection[int]) -> dict[int, Upcoming]:
    """Each contact's soonest appointment not yet over, for the contacts among `contact_ids` that
    have one: one query (DISTINCT ON the contact, on the (workspace, contact, starts_at) index)."""
    soonest = (
        Appointment.objects.for_workspace(workspace)
        .live()
        .filter(contact_id__in=list(contact_ids), ends_at__gt=timezone.now())
        .order_by("contact_id", "starts_at", "id")
        .distinct("contact_id")
        .only("contact_id", "title", "starts_at")
    )
    return {a.contact_id: Upcoming(title=a.title, starts_at=a.starts_at) for a in soonest}
