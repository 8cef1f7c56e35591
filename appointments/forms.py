"""The appointment form: who with, what, when (in the agent's own time zone), where.

Dates and times are typed in the agent's time zone (User.timezone) and leave this form as aware
datetimes; Django stores them in UTC. The form takes `workspace=` (WorkspaceFormMixin), so the
contact and property boxes list only the workspace's rows and a posted id of another workspace is
refused as an invalid choice (the view answers that with a 404).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from alt.lib.dates import DayField, check_range, check_schedule, local_or_utc, schedule_range
from alt.lib.tenancy import WorkspaceFormMixin
from appointments.models import Appointment
from contacts.forms import ContactChoiceField
from contacts.models import Contact, Property

PROPERTY_OPTIONS = 100  # properties listed; open listings first
END_TIME = "end"  # the length choice that says "I'll give an end time instead"
LENGTHS = [
    ("15", "15 minutes"),
    ("30", "30 minutes"),
    ("45", "45 minutes"),
    ("60", "1 hour"),
    ("90", "1½ hours"),
    ("120", "2 hours"),
    ("180", "3 hours"),
    ("240", "4 hours"),
]
LENGTH_END = (END_TIME, "Set an end time")
_TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p"]
_TIME_HELP = "Enter the time like 10:00 or 2:30 PM."


def _minutes_label(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} minutes"
    text = f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{text} {rest} min" if rest else text


def _clock(moment: time) -> str:
    return moment.strftime("%I:%M %p").lstrip("0")


def local_moment(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """`day` at `clock` on the wall in `tz`, aware. ValueError when that wall time does not exist
    (the hour skipped when clocks go forward); an hour that happens twice means the first one."""
    moment = datetime.combine(day, clock, tzinfo=tz)
    back = moment.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ValueError("nonexistent local time")
    return moment


def default_title(kind: str, contact: Contact) -> str:
    return f"{Appointment.Kind(kind).label} with {contact.name}"[:200]


class AppointmentForm(WorkspaceFormMixin, forms.Form):
    # Empty placeholders: __init__ scopes both to the workspace.
    contact = ContactChoiceField(
        label="With", required_message="Choose who the appointment is with."
    )
    kind = forms.ChoiceField(
        label="Type", choices=Appointment.Kind.choices, initial=Appointment.Kind.TOUR
    )
    title = forms.CharField(label="Title", max_length=200, required=False)
    day = DayField(
        label="Date",
        scheduled=True,
        error_messages={"required": "Pick the date.", "invalid": "Enter the date like 2025-03-14."},
    )
    start_time = forms.TimeField(
        label="Starts at",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=_TIME_FORMATS,
        error_messages={"required": "Pick the start time.", "invalid": _TIME_HELP},
    )
    length = forms.ChoiceField(label="Length", choices=[*LENGTHS, LENGTH_END], initial="60")
    end_time = forms.TimeField(
        label="Ends at",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=_TIME_FORMATS,
        error_messages={"invalid": _TIME_HELP},
    )
    location = forms.CharField(
        label="Location",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Address or call-in number"}),
    )
    property = forms.ModelChoiceField(
        label="Property",
        queryset=Property.objects.none(),
        required=False,
        error_messages={"invalid_choice": "That property is not in your workspace."},
    )
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(
        self,
        *args: Any,
        workspace: Any,
        time_zone: str,
        appointment: Appointment | None = None,
        contact: Contact | None = None,
        contact_query: str = "",
        **kwargs: Any,
    ) -> None:
        self.tz = ZoneInfo(time_zone)
        self.appointment = appointment
        self.contact_query = contact_query
        if appointment is not None and "initial" not in kwargs:
            kwargs["initial"] = self._initial_from(appointment)
        elif appointment is None:
            initial = kwargs.setdefault("initial", {})
            initial.setdefault("day", timezone.localdate(timezone.now(), self.tz))
            if contact is not None:
                initial["contact"] = contact.id
        super().__init__(*args, workspace=workspace, **kwargs)
        zone = time_zone.replace("_", " ")
        self.fields["start_time"].help_text = f"In your time zone, {zone}."
        if appointment is None:
            first, last = schedule_range(self.today())
            self.fields["day"].widget.attrs.update(min=first.isoformat(), max=last.isoformat())
        example = (
            default_title(Appointment.Kind.TOUR, contact) if contact else "Property tour with …"
        )
        self.fields["title"].widget.attrs["placeholder"] = example
        self.fields["title"].help_text = "Leave blank to name it after the type and the contact."
        self.fields["notes"].help_text = "Also written on the Google Calendar event, if you sync."
        self.fields["property"].help_text = "With no location, the property's address is used."
        if appointment is not None and self.initial.get("length") not in dict(LENGTHS):
            minutes = int(self.initial["length"])
            length = self.fields["length"]
            assert isinstance(length, forms.ChoiceField)
            length.choices = [(str(minutes), _minutes_label(minutes)), *LENGTHS, LENGTH_END]
        self._scope_contacts(workspace, contact, contact_query)
        self._scope_properties(workspace)

    def _initial_from(self, appointment: Appointment) -> dict[str, Any]:
        # A row stored outside the range (never through this form) still opens, in UTC if need be.
        starts = local_or_utc(appointment.starts_at, self.tz)
        minutes = int((appointment.ends_at - appointment.starts_at) / timedelta(minutes=1))
        return {
            "contact": appointment.contact_id,
            "kind": appointment.kind,
            "title": appointment.title,
            "day": starts.date(),
            "start_time": starts.time().replace(second=0, microsecond=0),
            "length": str(minutes),
            "end_time": local_or_utc(appointment.ends_at, self.tz).time(),
            "location": appointment.location,
            "property": appointment.property_id,
            "notes": appointment.notes,
        }

    def _scope_contacts(self, workspace: Any, preset: Contact | None, query: str) -> None:
        field = self.fields["contact"]
        assert isinstance(field, ContactChoiceField)
        self.chosen_contact = field.pick(
            workspace,
            chosen_id=self.data.get("contact") if self.is_bound else self.initial.get("contact"),
            query=query,
            empty="Choose a contact",
            preset=preset,
        )

    def _scope_properties(self, workspace: Any) -> None:
        field = self.fields["property"]
        assert isinstance(field, forms.ModelChoiceField)
        properties = Property.objects.for_workspace(workspace)
        field.queryset = properties
        open_first = Case(
            When(status__in=["active", "coming_soon", "pending"], then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        shown = list(properties.order_by(open_first, "-created_at", "-id")[:PROPERTY_OPTIONS])
        chosen_id = str(
            self.data.get("property") if self.is_bound else self.initial.get("property")
        )
        if chosen_id.isdigit() and all(str(p.id) != chosen_id for p in shown):
            shown.extend(properties.filter(id=chosen_id))
        field.widget.choices = [("", "None"), *((p.id, str(p)) for p in shown)]
        self.has_properties = bool(shown)

    def today(self) -> date:
        return timezone.localdate(timezone.now(), self.tz)

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        # Rescheduling keeps to the window; an old appointment can still be edited otherwise.
        if self.appointment is None or day != self.initial.get("day"):
            check_schedule(day, self.today())
        else:
            check_range(day)
        return day

    def clean_title(self) -> str:
        return str(self.cleaned_data["title"]).strip()

    def clean_location(self) -> str:
        return str(self.cleaned_data["location"]).strip()

    def clean_notes(self) -> str:
        return str(self.cleaned_data["notes"]).strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        day, start = data.get("day"), data.get("start_time")
        if day is None or start is None:
            return data
        try:
            data["starts_at"] = local_moment(day, start, self.tz)
        except ValueError:
            self.add_error(
                "start_time",
                f"{_clock(start)} doesn't exist on {day:%b} {day.day}: the clocks go forward "
                "that night. Pick another time.",
            )
            return data
        self._clean_end(data, day)
        contact, kind = data.get("contact"), data.get("kind")
        old = self.appointment
        if old is not None and data.get("title") == default_title(old.kind, old.contact):
            data["title"] = ""  # a title ALT made up follows a change of type or contact
        if not data.get("title") and contact is not None and kind:
            data["title"] = default_title(kind, contact)
        if not data.get("location") and data.get("property") is not None:
            data["location"] = str(data["property"])[:300]
        return data

    def _clean_end(self, data: dict[str, Any], day: date) -> None:
        length, end = data.get("length"), data.get("end_time")
        if length is None:
            return
        if length != END_TIME:
            self.errors.pop("end_time", None)  # a typo in a box that is not used is no error
            data["ends_at"] = data["starts_at"] + timedelta(minutes=int(length))
            return
        if end is None:
            if "end_time" not in self.errors:
                self.add_error("end_time", "Pick the end time, or choose a length instead.")
            return
        try:
            ends_at = local_moment(day, end, self.tz)
        except ValueError:
            self.add_error("end_time", f"{_clock(end)} doesn't exist that day: pick another time.")
            return
        if ends_at <= data["starts_at"]:
            self.add_error(
                "end_time",
                f"The end ({_clock(end)}) must be after the start "
                f"({_clock(data['start_time'])}). For an appointment that runs past midnight, "
                "choose a length instead.",
            )
            return
        data["ends_at"] = ends_at

    def service_kwargs(self) -> dict[str, Any]:
        """What appointment_create / appointment_update take, from the cleaned form."""
        data = self.cleaned_data
        names = ("contact", "kind", "title", "starts_at", "ends_at", "location", "notes")
        return {**{name: data[name] for name in names}, "property": data.get("property")}

    def add_service_error(self, error: Exception) -> None:
        """A ValueError or ValidationError from the services, shown where it belongs."""
        if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            ends = "end_time" if self.cleaned_data.get("length") == END_TIME else "length"
            for name, errors in error.error_dict.items():
                field = {"starts_at": "start_time", "ends_at": ends}.get(name, name)
                self.add_error(field if field in self.fields else None, errors)
            return
        messages = error.messages if isinstance(error, ValidationError) else [str(error)]
        self.add_error(None, messages)
