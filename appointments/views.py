from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.models import Membership
from alt.accounts.seams import appointment_panels
from alt.accounts.shortcuts import render_local
from alt.lib.dates import EARLIEST, LATEST, format_when, local_day, parse_day, week_start
from appointments import services
from appointments.forms import AppointmentForm
from appointments.models import Appointment
from contacts.services import access_contact

AGENDA_LIMIT = 100


def calendar_settings_url() -> str:
    """Where an agent connects or reconnects Google Calendar."""
    return reverse("google_calendar:settings")


@workspace_required
def appointment_list(request: WorkspaceRequest) -> HttpResponse:
    tz, now = ZoneInfo(request.user.timezone), timezone.now()
    today = timezone.localdate(now, tz)
    who, is_team = _who(request)
    # The whole of today stays on the agenda (done ones greyed), then everything ahead.
    rows = list(
        _appointments(request, who).filter(ends_at__gt=_midnight(today, tz))[: AGENDA_LIMIT + 1]
    )
    context = {
        "days": _by_day(rows[:AGENDA_LIMIT], tz),
        "more": len(rows) > AGENDA_LIMIT,
        "agenda_limit": AGENDA_LIMIT,
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "who": who,
        "is_team": is_team,
        "view": "agenda",
    }
    return _render(request, "appointments/agenda.html", context)


@workspace_required
def appointment_week(request: WorkspaceRequest) -> HttpResponse:
    tz, now = ZoneInfo(request.user.timezone), timezone.now()
    today = timezone.localdate(now, tz)
    raw_week = request.GET.get("week", "")
    # A week out of EARLIEST..LATEST or no date at all (a hand-edited link) shows this week.
    picked = parse_day(raw_week)
    anchor = picked or today
    monday = week_start(anchor)
    sunday = monday + timedelta(days=6)
    who, is_team = _who(request)
    rows = _appointments(request, who).filter(
        starts_at__gte=_midnight(monday, tz), starts_at__lt=_midnight(sunday + timedelta(1), tz)
    )
    by_day = dict(_by_day(list(rows), tz))
    context = {
        "days": [(monday + timedelta(i), by_day.get(monday + timedelta(i), [])) for i in range(7)],
        "monday": monday,
        "sunday": sunday,
        "previous_url": _week_url_within(monday - timedelta(days=7), who),
        "next_url": _week_url_within(monday + timedelta(days=7), who),
        "unreadable_week": bool(raw_week) and picked is None,
        "earliest": EARLIEST,
        "latest": LATEST,
        "this_week_url": _week_url(None, who),
        "week_param": "" if monday <= today <= sunday else monday.isoformat(),
        "is_this_week": monday <= today <= sunday,
        "today": today,
        "who": who,
        "is_team": is_team,
        "view": "week",
    }
    return _render(request, "appointments/week.html", context)


@workspace_required
def appointment_create(request: WorkspaceRequest) -> HttpResponse:
    raw_contact = request.GET.get("contact", "")
    contact = access_contact(request.workspace, raw_contact) if raw_contact else None
    form = _form(request, contact=contact)
    if request.htmx and "contact_q" in request.GET:
        return _render(request, "appointments/form.html#contact_select", {"form": form})
    fallback = reverse("contacts:detail", args=[contact.id]) if contact else None
    back = _next_url(request, fallback or reverse("appointments:list"))
    if request.method == "POST" and _is_valid(form):
        try:
            appointment = services.appointment_create(
                workspace=request.workspace, actor=request.user, **form.service_kwargs()
            )
        except (ValueError, ValidationError) as error:
            form.add_service_error(error)
        else:
            messages.success(request, _booked_message(request, appointment))
            return redirect(back)
    context = {"form": form, "contact": contact, "contact_q": form.contact_query, "back": back}
    return _render(request, "appointments/form.html", context, status=400 if form.errors else 200)


@workspace_required
def appointment_edit(request: WorkspaceRequest, appointment_id: int) -> HttpResponse:
    appointment = services.access_appointment(request.workspace, appointment_id)
    form = _form(request, appointment=appointment)
    if request.htmx and "contact_q" in request.GET:
        return _render(request, "appointments/form.html#contact_select", {"form": form})
    back = _next_url(request, reverse("appointments:list"), exclude=appointment.id)
    if request.method == "POST" and _is_valid(form):
        try:
            services.appointment_update(
                appointment=appointment, actor=request.user, **form.service_kwargs()
            )
        except (ValueError, ValidationError) as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"Saved “{form.cleaned_data['title']}”.")
            return redirect(back)
    context = {
        "form": form,
        "appointment": appointment,
        "back": back,
        "panels": appointment_panels(request, appointment),
    }
    return _render(request, "appointments/form.html", context, status=400 if form.errors else 200)


@require_POST
@workspace_required
def appointment_delete(request: WorkspaceRequest, appointment_id: int) -> HttpResponse:
    appointment = services.access_appointment(request.workspace, appointment_id)
    on_google = bool(appointment.google_event_id) or appointment.sync_state != Appointment.Sync.OFF
    services.appointment_delete(appointment=appointment, actor=request.user)
    also = " It comes off your Google Calendar too." if on_google else ""
    messages.success(request, f"Deleted “{appointment.title}”.{also}")
    return redirect(_next_url(request, reverse("appointments:list"), exclude=appointment.id))


@require_POST
@workspace_required
def appointment_retry(request: WorkspaceRequest, appointment_id: int) -> HttpResponse:
    appointment = services.access_appointment(request.workspace, appointment_id)
    try:
        services.appointment_sync_retry(appointment=appointment, actor=request.user)
    except (ValueError, ValidationError) as error:
        text = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        messages.error(request, f"Couldn't retry “{appointment.title}”: {text}")
    else:
        messages.info(request, f"Trying “{appointment.title}” again on Google Calendar.")
    return redirect(_next_url(request, reverse("appointments:list")))


@require_POST
@workspace_required
def appointment_restore(request: WorkspaceRequest, appointment_id: int) -> HttpResponse:
    appointment = services.access_appointment(request.workspace, appointment_id)
    services.appointment_restore_to_calendar(appointment=appointment, actor=request.user)
    if appointment.sync_state == Appointment.Sync.WAITING:
        messages.info(
            request, f"“{appointment.title}” goes back once you reconnect Google Calendar."
        )
    else:
        messages.info(request, f"Putting “{appointment.title}” back on your Google Calendar.")
    return redirect(_next_url(request, reverse("appointments:list")))


# --- helpers -------------------------------------------------------------------------------------
def _render(
    request: WorkspaceRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("now", timezone.now())
    context.setdefault("back", request.get_full_path())
    context.setdefault("calendar_settings_url", calendar_settings_url())
    return render_local(request, template, context, status=status)


def _form(request: WorkspaceRequest, **kwargs: Any) -> AppointmentForm:
    """The appointment form: bound on a POST, in the agent's time zone, its contact box narrowed
    by the picker's search (`contact_q`)."""
    data = request.POST if request.method == "POST" else None
    return AppointmentForm(
        data,
        workspace=request.workspace,
        time_zone=request.user.timezone,
        contact_query=request.GET.get("contact_q", "")[:100],
        **kwargs,
    )


def _is_valid(form: AppointmentForm) -> bool:
    # A posted id of another workspace's contact or property is a 404, never a hint it exists.
    valid = form.is_valid()
    if form.has_error("contact", "invalid_choice") or form.has_error("property", "invalid_choice"):
        raise Http404("No such contact or property")
    return valid


def _who(request: WorkspaceRequest) -> tuple[str, bool]:
    """Whose appointments the lists show: "mine", or in a team "team" when asked for; and
    whether the workspace is a team (the switch between the two only shows then)."""
    is_team = Membership.objects.filter(workspace=request.workspace).count() > 1
    return ("team" if is_team and request.GET.get("who") == "team" else "mine"), is_team


def _week_url(monday: date | None, who: str) -> str:
    params = {"week": monday.isoformat()} if monday else {}
    if who == "team":
        params["who"] = "team"
    return (
        f"{reverse('appointments:week')}?{urlencode(params)}"
        if params
        else reverse("appointments:week")
    )


def _week_url_within(monday: date, who: str) -> str:
    """The link to the week of `monday`, or "" when that week ends before EARLIEST or starts
    after LATEST (the page hides the button)."""
    if monday + timedelta(days=6) < EARLIEST or monday > LATEST:
        return ""
    return _week_url(monday, who)


def _appointments(request: WorkspaceRequest, who: str) -> Any:
    qs = (
        services.appointments_for(request.workspace)
        .filter(contact__deleted_at=None, contact__merged_into=None)
        .order_by("starts_at", "id")
    )
    return qs.filter(agent=request.user) if who == "mine" else qs


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _by_day(rows: list[Appointment], tz: ZoneInfo) -> list[tuple[date, list[Appointment]]]:
    """Appointments (sorted by start) grouped by the local day they start on, in order."""
    days: dict[date, list[Appointment]] = {}
    for appointment in rows:
        days.setdefault(local_day(appointment.starts_at, tz), []).append(appointment)
    return list(days.items())


def _next_url(request: WorkspaceRequest, default: str, exclude: int | None = None) -> str:
    """Where to go back to: the page the agent came from (`next`), if it is ours."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=False):
        return default
    if exclude is not None and url.startswith(reverse("appointments:edit", args=[exclude])):
        return default  # the page of what was just deleted
    return url


def _booked_message(request: WorkspaceRequest, appointment: Appointment) -> str:
    when = format_when(appointment.starts_at, tz=ZoneInfo(request.user.timezone))
    text = f"Booked “{appointment.title}” for {when}."
    if appointment.sync_state == Appointment.Sync.PENDING:
        text += " Adding it to your Google Calendar…"
    elif appointment.sync_state == Appointment.Sync.WAITING:
        text += " Reconnect Google Calendar to add it there."
    return text
