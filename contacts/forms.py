"""Forms of the contact page: the contact itself (create, and each in-place section), notes, tasks.

Every form that names a tenant row takes `workspace=` (WorkspaceFormMixin): a select box lists
only the workspace's own stages and members, and a posted id of another workspace is refused as an
invalid choice.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from alt.accounts.models import User
from alt.accounts.shortcuts import member_label
from alt.lib.dates import DayField, check_range, check_schedule, local_or_utc, schedule_range
from alt.lib.money import parse_amount
from alt.lib.tenancy import WorkspaceFormMixin
from contacts import custom_fields
from contacts.consent import sms_opt_out_by_them
from contacts.models import (
    Contact,
    ContactQuerySet,
    CustomField,
    LeadSource,
    PipelineStage,
    Source,
    Task,
)
from contacts.normalize import InvalidPhone, normalize_email, phone_display, phone_to_e164
from contacts.pipeline.services import lead_source_for_key, lead_sources_create_defaults
from contacts.quiet_hours import area_code_zones
from contacts.services import ContactInput, RepeatRule

MAX_BUDGET = 2_147_483_647  # the columns are PostgreSQL integers
MAX_VALUES = 10  # emails or phones per contact
_SEPARATORS = re.compile(r"[,;\n]+")
CUSTOM_PREFIX = "cf_"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[str, ...]


SECTIONS: dict[str, Section] = {
    s.key: s
    for s in (
        Section("details", "Contact details", ("first_name", "last_name", "emails", "phones")),
        Section("pipeline", "Pipeline", ("stage", "source", "assigned_to", "tags")),
        Section(
            "buyer",
            "Buying & selling",
            ("role", "budget_min", "budget_max", "timeframe", "next_follow_up_on"),
        ),
        Section(
            "consent",
            "Consent",
            (
                "consent_email",
                "consent_sms",
                "consent_sms_confirm",
                "consent_instagram",
                "time_zone",
            ),
        ),
        Section("custom", "More fields", ()),  # the workspace's CustomField rows
    )
}


# Every IANA zone, by name; blank: not known (quiet hours guess from the phone's area code).
ZONE_CHOICES = [
    ("", "Not known: guess from the phone number"),
    *((name, name.replace("_", " ")) for name in sorted(available_timezones()) if "/" in name),
]


def _split(raw: str) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(raw or "") if part.strip()]


def contact_label(contact: Contact) -> str:
    """How a contact is named in a select box: 'Maria Lopez · maria@example.com'."""
    detail = contact.primary_email or contact.primary_phone
    return f"{contact.name} · {detail}" if detail and detail != contact.name else contact.name


def contact_options(contacts: ContactQuerySet, query: str, limit: int) -> list[Contact]:
    """What a contact select box renders: the first `limit` of `contacts` matching `query` (all of
    them when it is blank), most recently active first."""
    options = contacts.search(query) if query.strip() else contacts
    return list(options.order_by("-last_activity_at", "-id")[:limit])


CONTACT_OPTIONS = 25  # contacts a picker lists; typing in its search box narrows them


class ContactChoiceField(forms.ModelChoiceField):
    """A select box of one of the workspace's live contacts (an appointment's, a property link's).
    Declared empty: the form's __init__ calls `scope(workspace)`, after which validation accepts
    any live contact of the workspace and refuses another workspace's id as an invalid choice;
    `offer()` sets the few the box renders (see contact_options)."""

    def __init__(self, *, required_message: str = "Choose a contact.", **kwargs: Any) -> None:
        super().__init__(
            queryset=Contact.objects.none(),
            error_messages={
                "required": required_message,
                "invalid_choice": "That contact is not in your workspace.",
            },
            **kwargs,
        )

    def scope(self, workspace: Any) -> ContactQuerySet:
        """Accept the workspace's live contacts; returns them."""
        live = Contact.objects.for_workspace(workspace).live()
        self.queryset = live
        return live

    def offer(self, contacts: list[Contact], empty: str) -> None:
        """Render `contacts` as the options, after an empty one labelled `empty`."""
        self.widget.choices = [("", empty), *((c.id, contact_label(c)) for c in contacts)]

    def pick(
        self,
        workspace: Any,
        *,
        chosen_id: object,
        query: str,
        empty: str,
        preset: Contact | None = None,
        limit: int = CONTACT_OPTIONS,
    ) -> Contact | None:
        """The pickers' one recipe: accept any live contact of the workspace, render only the
        `limit` most recently active ones matching `query` (a workspace may have 10,000), plus
        the one already chosen (`preset` saves looking it up). Returns the chosen contact, if it
        is one of the workspace's live contacts."""
        live = self.scope(workspace)
        chosen = str(chosen_id or "")
        shown = contact_options(live, query, limit)
        if chosen.isdigit() and all(str(c.id) != chosen for c in shown):
            found = preset if preset is not None else live.filter(id=chosen).first()
            if found is not None:
                shown.insert(0, found)
        self.offer(shown, empty if shown or not query else "No contacts match")
        return next((c for c in shown if str(c.id) == chosen), None)


class ContactForm(WorkspaceFormMixin, forms.Form):
    """Every field of a contact. `section=` keeps one section's fields, for in-place edits;
    `contact=` fills the form from an existing contact."""

    first_name = forms.CharField(label="First name", max_length=80, required=False)
    last_name = forms.CharField(label="Last name", max_length=80, required=False)
    emails = forms.CharField(
        label="Emails",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "jane@example.com"}),
        help_text="One per line, or separated by commas. The first is the main one.",
    )
    phones = forms.CharField(
        label="Phones",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "(415) 555-0123"}),
        help_text="Any format; US numbers need no +1. One per line, the first is the main one.",
    )
    stage: forms.ModelChoiceField[PipelineStage] = forms.ModelChoiceField(
        queryset=None,
        empty_label=None,
        error_messages={
            "required": "Choose a stage.",
            "invalid_choice": "Choose a stage of your pipeline.",
        },
    )
    source: forms.ModelChoiceField[LeadSource] = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="—",
        # Posted as the source's key ("open_house"), which never changes when it is renamed.
        to_field_name="key",
        error_messages={"invalid_choice": "Choose one of your lead sources."},
    )
    assigned_to: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label="Assigned to",
        queryset=None,
        required=False,
        empty_label="Nobody",
        error_messages={"invalid_choice": "Choose a member of your team."},
    )
    tags = forms.CharField(
        required=False,
        max_length=400,
        widget=forms.TextInput(attrs={"placeholder": "first-time buyer, pre-approved"}),
        help_text="Separated by commas.",
    )
    role = forms.ChoiceField(label="Buyer or seller", choices=Contact.Role.choices, required=False)
    budget_min = forms.CharField(
        label="Budget from",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "$400,000"}),
    )
    budget_max = forms.CharField(
        label="Budget up to",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "$650,000"}),
    )
    timeframe = forms.ChoiceField(choices=Contact.Timeframe.choices, required=False)
    next_follow_up_on = DayField(
        label="Next follow-up",
        scheduled=True,
        required=False,
        error_messages={"invalid": "Enter the follow-up date like 2025-03-14."},
    )
    consent_email = forms.BooleanField(label="Agreed to email", required=False)
    consent_sms = forms.BooleanField(label="Agreed to text messages (SMS)", required=False)
    # Shown only for a contact who texted STOP: carriers require their START, so a tick alone
    # does not opt them back in.
    consent_sms_confirm = forms.BooleanField(
        label="They asked me to receive texts again", required=False
    )
    consent_instagram = forms.BooleanField(label="Agreed to Instagram messages", required=False)
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        choices=ZONE_CHOICES,
        help_text="Automated texts wait for 8 am to 9 pm in this zone.",
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )

    def __init__(
        self,
        *args: Any,
        workspace: Any,
        contact: Contact | None = None,
        section: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        self.contact = contact
        self.section = section
        wants_consent = section in (None, "consent")
        self.their_stop = (
            sms_opt_out_by_them(contact) if contact is not None and wants_consent else None
        )
        if self.their_stop is None:
            del self.fields["consent_sms_confirm"]
        else:
            when = timezone.localtime(self.their_stop.at).strftime("%-d %b %Y")
            self.fields["consent_sms_confirm"].help_text = (
                f"They texted STOP on {when}; only tick “Agreed to text messages” if they asked "
                "to receive texts again."
            )
        if wants_consent and contact and not contact.time_zone and contact.primary_phone:
            guess = area_code_zones(contact.primary_phone, at=timezone.now())
            if guess:
                self.fields["time_zone"].help_text = (
                    f"Not set: guessed from the phone's area code as {' / '.join(guess)}. "
                    "Automated texts wait for 8 am to 9 pm there."
                )
        self.custom_fields = list(CustomField.objects.for_workspace(workspace))
        for custom in self.custom_fields:
            self.fields[CUSTOM_PREFIX + custom.key] = custom_fields.form_field(custom)
        if section is not None:
            wanted = self.section_field_names(section)
            self.fields = {name: f for name, f in self.fields.items() if name in wanted}
        if "stage" in self.fields:
            self.fields["stage"].queryset = PipelineStage.objects.for_workspace(workspace)  # type: ignore[attr-defined]
        if "source" in self.fields:
            # A workspace made before lead sources (or by a test factory) gets the presets here.
            lead_sources_create_defaults(workspace=workspace)
            self.fields["source"].queryset = LeadSource.objects.for_workspace(workspace)  # type: ignore[attr-defined]
            if contact is None and not self.is_bound:
                self.initial.setdefault(
                    "source", lead_source_for_key(workspace=workspace, key=Source.MANUAL).key
                )
        if "assigned_to" in self.fields:
            members = User.objects.filter(memberships__workspace=workspace).order_by("full_name")
            self.fields["assigned_to"].queryset = members  # type: ignore[attr-defined]
            self.fields["assigned_to"].label_from_instance = member_label  # type: ignore[attr-defined]
        if contact is not None and not self.is_bound:
            self.initial = self._initial_from(contact)

    def section_field_names(self, section: str) -> tuple[str, ...]:
        if section == "custom":
            return tuple(CUSTOM_PREFIX + c.key for c in self.custom_fields)
        return SECTIONS[section].fields

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        """(section title, bound fields) for every section that has fields in this form."""
        groups = []
        for section in SECTIONS.values():
            names = [n for n in self.section_field_names(section.key) if n in self.fields]
            if names:
                groups.append((section.title, [self[n] for n in names]))
        return groups

    def _initial_from(self, contact: Contact) -> dict[str, Any]:
        names = self.fields.keys()
        initial: dict[str, Any] = {
            n: getattr(contact, n) for n in names if n in self.base_fields and hasattr(contact, n)
        }
        if "emails" in names:
            initial["emails"] = "\n".join(e.email for e in contact.emails.all())
        if "phones" in names:
            initial["phones"] = "\n".join(phone_display(p.e164) for p in contact.phones.all())
        if "tags" in names:
            initial["tags"] = ", ".join(t.name for t in contact.tags.all())
        for n in ("budget_min", "budget_max"):
            if n in names and initial.get(n) is not None:
                initial[n] = f"{initial[n]:,}"
        for custom in self.custom_fields:
            value = contact.custom_fields.get(custom.key)
            if custom.kind == CustomField.Kind.YES_NO and value is not None:
                value = "yes" if value else "no"
            initial[CUSTOM_PREFIX + custom.key] = value
        return initial

    # --- field cleaning --------------------------------------------------------------------------
    def clean_emails(self) -> list[str]:
        emails = list(
            dict.fromkeys(normalize_email(e) for e in _split(self.cleaned_data["emails"]))
        )
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                raise ValidationError(f"“{email}” is not an email address.") from None
        if len(emails) > MAX_VALUES:
            raise ValidationError(f"A contact can have up to {MAX_VALUES} emails.")
        return emails

    def clean_phones(self) -> list[str]:
        phones, problems = [], []
        for raw in _split(self.cleaned_data["phones"]):
            try:
                phones.append(phone_to_e164(raw))
            except InvalidPhone as exc:
                problems.append(str(exc))
        if problems:
            raise ValidationError(
                [*problems, "Check the number, or add the country code, like +44 20 7946 0958."]
            )
        phones = list(dict.fromkeys(phones))
        if len(phones) > MAX_VALUES:
            raise ValidationError(f"A contact can have up to {MAX_VALUES} phone numbers.")
        return phones

    def clean_next_follow_up_on(self) -> date | None:
        day: date | None = self.cleaned_data["next_follow_up_on"]
        if day is None:
            return None
        # A follow-up is planned like a task; one kept from an import or an old edit may stay.
        if self.contact is None or day != self.contact.next_follow_up_on:
            check_schedule(day, timezone.localdate())
        else:
            check_range(day)
        return day

    def clean_tags(self) -> list[str]:
        tags = list(dict.fromkeys(t for t in _split(self.cleaned_data["tags"])))
        too_long = [t for t in tags if len(t) > 40]
        if too_long:
            raise ValidationError(f"Keep each tag under 40 characters (“{too_long[0][:40]}…”).")
        return tags

    def _clean_budget(self, name: str) -> int | None:
        try:
            amount = parse_amount(self.cleaned_data[name])
        except ValueError:
            raise ValidationError(
                "Enter an amount in dollars, like 450000, $450,000 or 450k."
            ) from None
        if amount is not None and amount > MAX_BUDGET:
            raise ValidationError("Enter an amount under $2,000,000,000.")
        return amount

    def clean_budget_min(self) -> int | None:
        return self._clean_budget("budget_min")

    def clean_budget_max(self) -> int | None:
        return self._clean_budget("budget_max")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("budget_min"), data.get("budget_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "budget_max",
                f"The budget can't go up to ${high:,} when it starts at ${low:,}: "
                "the second amount must be the larger one.",
            )
        if (
            self.their_stop is not None
            and data.get("consent_sms")
            and not data.get("consent_sms_confirm")
        ):
            when = timezone.localtime(self.their_stop.at).strftime("%-d %b %Y")
            self.add_error(
                "consent_sms",
                f"They texted STOP on {when}; only tick this if they asked to receive texts "
                "again, and confirm it below. Carriers require their agreement.",
            )
        detail_fields = SECTIONS["details"].fields
        has_details = all(n in self.fields for n in detail_fields)
        if has_details and not self.errors and not any(data.get(n) for n in detail_fields):
            raise ValidationError("Give the contact a name, an email or a phone number.")
        for custom in self.custom_fields:
            name = CUSTOM_PREFIX + custom.key
            if name in self.fields and name in data:
                self._clean_custom(custom, name, data)
        return data

    def _clean_custom(self, custom: CustomField, name: str, data: dict[str, Any]) -> None:
        value = data[name]
        if custom.kind == CustomField.Kind.NUMBER and value:
            try:
                data[name] = custom_fields.parse_value(custom, str(value))
            except custom_fields.InvalidValue:
                self.add_error(name, f"Enter {custom.label} as a number, like 3 or 2.5.")

    # --- what the services take ------------------------------------------------------------------
    def _custom_values(self) -> dict[str, Any]:
        """The contact's custom_fields with this form's values applied (blank removes a value)."""
        values = dict(self.contact.custom_fields) if self.contact is not None else {}
        for custom in self.custom_fields:
            name = CUSTOM_PREFIX + custom.key
            if name not in self.cleaned_data:
                continue
            value = self.cleaned_data[name]
            if value is None or value == "":
                values.pop(custom.key, None)
            elif custom.kind == CustomField.Kind.YES_NO:
                values[custom.key] = value == "yes"
            elif custom.kind == CustomField.Kind.DATE:
                values[custom.key] = value.isoformat()
            else:
                values[custom.key] = value.strip() if isinstance(value, str) else value
        return values

    def to_input(self) -> ContactInput:
        """The new contact, for contacts.services.contact_create (a form with every section)."""
        names = [f.name for f in dataclasses.fields(ContactInput) if f.name != "custom_fields"]
        values = {name: self.cleaned_data[name] for name in names}
        return ContactInput(**values, custom_fields=self._custom_values())

    def update_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for contacts.services.contact_update from this section's fields."""
        data = self.cleaned_data
        plain = {"emails", "phones", "tags", "consent_sms_confirm"}
        changes = {n: data[n] for n in self.fields if n in self.base_fields and n not in plain}
        if self.section == "custom":
            changes["custom_fields"] = self._custom_values()
        kwargs: dict[str, Any] = {"changes": changes}
        for n in plain & set(self.fields) - {"consent_sms_confirm"}:
            kwargs[n] = data[n]
        return kwargs


class ContactCreateForm(ContactForm):
    """A new contact: every section at once."""

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        if not self.is_bound:  # after a failed submit, focus goes to the error summary instead
            self.fields["first_name"].widget.attrs["autofocus"] = True


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened, what's next…"}),
        error_messages={
            "required": "Write something before saving the note.",
            "max_length": "Keep a note under 10,000 characters.",
        },
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError("Write something before saving the note.")
        return body


class TaskForm(forms.Form):
    """A task's title and due date and time, entered in the agent's own time zone."""

    title = forms.CharField(
        label="Task",
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Call back about the offer"}),
        error_messages={"required": "Say what needs doing, like “Call back about the offer”."},
    )
    due_date = DayField(
        label="Due date",
        scheduled=True,
        error_messages={
            "required": "Pick a due date.",
            "invalid": "Enter the due date like 2025-03-14.",
        },
    )
    due_time = forms.TimeField(
        label="Time",
        required=False,
        initial=time(9, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p", "%I %p", "%I%p"],
        error_messages={"invalid": "Enter the time like 09:30 or 2:15 PM."},
        help_text="Your reminder email goes out at this time.",
    )

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = ZoneInfo(time_zone)
        first, last = schedule_range(self.today())
        self.fields["due_date"].widget.attrs.update(min=first.isoformat(), max=last.isoformat())
        self.fields[
            "due_time"
        ].help_text = f"Your reminder email goes out at this time ({time_zone.replace('_', ' ')})."

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError("Say what needs doing, like “Call back about the offer”.")
        return title

    def today(self) -> date:
        return timezone.localdate(timezone.now(), self.time_zone)

    def clean_due_date(self) -> date:
        day: date = self.cleaned_data["due_date"]
        check_schedule(day, self.today())
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        day = data.get("due_date")
        clock = data.get("due_time") or time(9, 0)
        if day is not None and "due_time" not in self.errors:
            moment = datetime.combine(day, clock, tzinfo=self.time_zone)
            wall = moment.astimezone(UTC).astimezone(self.time_zone)
            if wall.replace(tzinfo=None) != moment.replace(tzinfo=None):
                shown_clock = clock.strftime("%I:%M %p").lstrip("0")
                self.add_error(
                    "due_time",
                    f"{shown_clock} doesn't exist on {day:%b} {day.day}: the clocks go forward "
                    "that night. Pick another time.",
                )
        return data

    def due_at(self) -> datetime:
        """The due moment, aware (stored in UTC by Django)."""
        when = self.cleaned_data.get("due_time") or time(9, 0)
        return datetime.combine(self.cleaned_data["due_date"], when, tzinfo=self.time_zone)


class TaskPageForm(WorkspaceFormMixin, TaskForm):
    """A task from the Tasks page, new or edited: also who it is about (optional, picked by
    search), who does it (a member) and whether it repeats."""

    contact = ContactChoiceField(label="About", required=False)
    assigned_to: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label="For",
        queryset=User.objects.none(),
        error_messages={
            "required": "Choose who does it.",
            "invalid_choice": "Choose a member of your team.",
        },
    )
    repeat = forms.ChoiceField(
        label="Repeat",
        choices=Task.Repeat.choices,
        required=False,
        error_messages={"invalid_choice": "Choose how often it repeats from the list."},
    )

    field_order = ["title", "due_date", "due_time", "repeat", "contact", "assigned_to"]

    def __init__(
        self,
        *args: Any,
        workspace: Any,
        user: User,
        task: Task | None = None,
        contact_query: str = "",
        **kwargs: Any,
    ) -> None:
        self.task = task
        if task is not None and "initial" not in kwargs:
            kwargs["initial"] = self._initial_from(task, ZoneInfo(user.timezone))
        kwargs.setdefault("initial", {}).setdefault("assigned_to", user.id)
        super().__init__(*args, workspace=workspace, time_zone=user.timezone, **kwargs)
        members = User.objects.filter(memberships__workspace=workspace).order_by("full_name", "id")
        self.fields["assigned_to"].queryset = members  # type: ignore[attr-defined]
        self.fields["assigned_to"].label_from_instance = member_label  # type: ignore[attr-defined]
        self.fields[
            "repeat"
        ].help_text = "When you mark it done, the next one is added at the same time of day."
        field = self.fields["contact"]
        assert isinstance(field, ContactChoiceField)
        self.chosen_contact = field.pick(
            workspace,
            chosen_id=self.data.get("contact") if self.is_bound else self.initial.get("contact"),
            query=contact_query,
            empty="No contact",
        )

    @staticmethod
    def _initial_from(task: Task, tz: ZoneInfo) -> dict[str, Any]:
        # A row stored outside the range (never through this form) still opens, in UTC if need be.
        due = local_or_utc(task.due_at, tz)
        return {
            "title": task.title,
            "due_date": due.date(),
            "due_time": due.time().replace(second=0, microsecond=0, tzinfo=None),
            "repeat": task.repeat,
            "contact": task.contact_id,
            "assigned_to": task.assigned_to_id,
        }

    def clean_due_date(self) -> date:
        day: date = self.cleaned_data["due_date"]
        # An edit that keeps the stored day is not held to the window; a new day is.
        if self.task is not None and day == self.initial.get("due_date"):
            check_range(day)
            return day
        return super().clean_due_date()

    def repeat_rule(self) -> RepeatRule:
        return RepeatRule(
            repeat=self.cleaned_data.get("repeat") or "", time_zone=str(self.time_zone)
        )

    def service_kwargs(self) -> dict[str, Any]:
        """What task_add / task_update take, from the cleaned form."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "due_at": self.due_at(),
            "contact": data.get("contact"),
            "assigned_to": data["assigned_to"],
            "repeat": self.repeat_rule(),
        }
