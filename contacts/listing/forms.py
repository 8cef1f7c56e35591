"""Forms of the contact list: its own GET parameters (search, filters, sort, cursor), and what is
posted from it: bulk actions, undo of a bulk delete, and saving a list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from django import forms
from django.http import QueryDict
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

from alt.accounts.models import User
from alt.accounts.shortcuts import member_label
from alt.lib.tenancy import WorkspaceFormMixin
from contacts.listing.services import (
    ASSIGNEE_MINE,
    ASSIGNEE_UNASSIGNED,
    STALE_DAYS,
    ContactListQuery,
    ListChoices,
    Sort,
    cursor_decode,
)
from contacts.models import PipelineStage

MAX_BULK_IDS = 1000
ASSIGN_NOBODY = "nobody"


class PlainSelect(forms.Select):
    """Django's Select, written out in Python: the same HTML as its templates (select.html,
    select_option.html and attrs.html), without rendering two templates per option. The list's
    filter drawer has ~45 options on every load, open or closed; through the templates they
    cost more than the 50 rows."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        # Select.optgroups() for flat choices, without a dict per option: the first option whose
        # value matches is selected.
        chosen = set(self.format_value(value))
        html = [
            f'<select name="{conditional_escape(name)}"{_attrs(self.build_attrs(self.attrs, attrs))}>'
        ]
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):  # option groups: Django's own way
                return super().render(name, value, attrs, renderer)
            text = "" if option_value is None else str(option_value)
            selected = text in chosen
            if selected:
                chosen = set()
            html.append(
                f'\n  <option value="{escape(text)}"{" selected" if selected else ""}>'
                f"{conditional_escape(cast(str, label))}</option>\n"
            )
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308  (every value above is escaped)


class PlainInputMixin:
    """An input widget written out in Python: the same HTML as Django's input.html (and
    attrs.html), for the search box, the checkbox and the hidden fields the list and the board
    render on every load, where the template engine cost more than the tag."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        shown = widget["value"]
        value_attr = "" if shown is None else f' value="{escape(str(shown))}"'
        return mark_safe(  # noqa: S308  (every value is escaped)
            f'<input type="{conditional_escape(widget["type"])}"'
            f' name="{conditional_escape(widget["name"])}"{value_attr}{_attrs(widget["attrs"])}>'
        )


class PlainTextInput(PlainInputMixin, forms.TextInput):
    pass


class PlainCheckboxInput(PlainInputMixin, forms.CheckboxInput):
    pass


class PlainHiddenInput(PlainInputMixin, forms.HiddenInput):
    pass


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare ` name` for True, nothing for
    False."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class ContactListForm(forms.Form):
    """The list's GET parameters. Choices come from `ListChoices`, so validating a stage, tag or
    teammate costs no query, and another workspace's id is simply not a valid choice."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=PlainTextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, email or phone",
                "autocomplete": "off",
                "enterkeyhint": "search",
            }
        ),
    )
    stage = forms.TypedChoiceField(
        label="Stage", required=False, coerce=int, empty_value=None, widget=PlainSelect
    )
    source = forms.ChoiceField(label="Source", required=False, widget=PlainSelect)
    tag = forms.TypedChoiceField(
        label="Tag", required=False, coerce=int, empty_value=None, widget=PlainSelect
    )
    assignee = forms.ChoiceField(label="Assigned to", required=False, widget=PlainSelect)
    stale = forms.TypedChoiceField(
        label="No activity in",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any time"), *((str(d), f"{d} days") for d in STALE_DAYS)],
        widget=PlainSelect,
    )
    follow_up = forms.BooleanField(label="Follow-up due", required=False, widget=PlainCheckboxInput)
    sort = forms.ChoiceField(label="Sort", required=False, choices=Sort.choices, widget=PlainSelect)
    cursor = forms.CharField(required=False, widget=PlainHiddenInput)

    def __init__(self, data: Mapping[str, Any] | None, *, choices: ListChoices) -> None:
        super().__init__(data)
        fields = self.fields
        fields["stage"].choices = [("", "Any stage"), *((s.id, s.name) for s in choices.stages)]  # type: ignore[attr-defined]
        fields["source"].choices = [("", "Any source"), *((s.key, s.name) for s in choices.sources)]  # type: ignore[attr-defined]
        fields["tag"].choices = [("", "Any tag"), *((t.id, t.name) for t in choices.tags)]  # type: ignore[attr-defined]
        fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone"),
            (ASSIGNEE_MINE, "Me"),
            (ASSIGNEE_UNASSIGNED, "Unassigned"),
            *((str(u.id), member_label(u)) for u in choices.members),
        ]
        for name in ("stage", "source", "tag", "assignee", "stale", "follow_up", "sort"):
            fields[name].widget.attrs["class"] = "js-filter"
        fields["sort"].hidden_widget = PlainHiddenInput  # the board carries the sort hidden

    def to_query(self) -> ContactListQuery:
        """The valid parameters; an invalid one (a stale link, another workspace's stage) is
        left out and its error shown next to the filter."""
        self.is_valid()
        data = self.cleaned_data
        sort = data.get("sort") or Sort.NEWEST
        return ContactListQuery(
            q=" ".join((data.get("q") or "").split()),
            stage=data.get("stage"),
            source=data.get("source") or "",
            tag=data.get("tag"),
            assignee=data.get("assignee") or "",
            stale_days=data.get("stale"),
            follow_up_due=bool(data.get("follow_up")),
            sort=sort,
            cursor=cursor_decode(data.get("cursor") or "", sort),
        )


class IdListField(forms.Field):
    """Several `ids` values (checkboxes or hidden inputs) -> a list of distinct positive ints."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one contact first.",
        "invalid": "The selection was not understood; reload the page and try again.",
        "too_many": "Select at most %(max)s contacts at a time.",
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        ids: list[int] = []
        for raw in values:
            text = str(raw).strip()
            if not text.isdigit() or not 0 < int(text) < 2**63:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            ids.append(int(text))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_BULK_IDS:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"max": MAX_BULK_IDS}
            )
        return ids


class BulkActionForm(WorkspaceFormMixin, forms.Form):
    """A bulk action on the selected contacts (`ids`), or on every contact matching the list's
    filter (`scope=matching`, the filter in `filter` as the list's query string, validated here
    against the workspace's own stages, tags and teammates)."""

    class Action:
        TAG = "tag"
        UNTAG = "untag"
        STAGE = "stage"
        ASSIGN = "assign"
        DELETE = "delete"

    SCOPE_MATCHING = "matching"

    ids = IdListField(required=False)
    scope = forms.ChoiceField(
        required=False, choices=[("", "The selected contacts"), (SCOPE_MATCHING, "All matching")]
    )
    filter = forms.CharField(required=False, max_length=2000)
    confirmed = forms.BooleanField(required=False)
    action = forms.ChoiceField(
        choices=[
            ("tag", "Add tag"),
            ("untag", "Remove tag"),
            ("stage", "Set stage"),
            ("assign", "Assign"),
            ("delete", "Delete"),
        ],
        error_messages={"required": "Choose what to do with the selected contacts."},
    )
    tag = forms.CharField(label="Tag", required=False, max_length=40)
    stage: forms.ModelChoiceField[PipelineStage] = forms.ModelChoiceField(
        label="Stage",
        required=False,
        queryset=None,  # the workspace's stages, set in __init__
        error_messages={"invalid_choice": "Choose one of your pipeline's stages."},
    )
    assignee = forms.ChoiceField(
        label="Assign to",
        required=False,
        error_messages={"invalid_choice": "Choose a member of your workspace."},
    )

    def __init__(self, *args: Any, workspace: Any, choices: ListChoices, **kwargs: Any) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        self.fields["stage"].queryset = PipelineStage.objects.for_workspace(workspace)  # type: ignore[attr-defined]
        self.choices = choices
        self.members = {str(user.id): user for user in choices.members}
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "Choose a teammate"),
            (ASSIGN_NOBODY, "Nobody (unassign)"),
            *((key, member_label(user)) for key, user in self.members.items()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action in (self.Action.TAG, self.Action.UNTAG) and not (data.get("tag") or "").strip():
            self.add_error("tag", "Type the tag to add or remove.")
        if action == self.Action.STAGE and data.get("stage") is None and "stage" not in self.errors:
            self.add_error("stage", "Choose the stage to move the contacts to.")
        if (
            action == self.Action.ASSIGN
            and not data.get("assignee")
            and "assignee" not in self.errors
        ):
            self.add_error("assignee", "Choose who to assign the contacts to.")
        if data.get("scope") == self.SCOPE_MATCHING:
            data["query"] = self._filter_query(data.get("filter") or "")
        elif not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", self.fields["ids"].error_messages["required"])
        return data

    def _filter_query(self, raw: str) -> ContactListQuery | None:
        # Unlike the list, which drops a filter it cannot read, an action on "all matching" is
        # refused: dropping a filter would widen the action to contacts nobody chose.
        filters = ContactListForm(QueryDict(raw), choices=self.choices)
        if not filters.is_valid():
            self.add_error(
                "filter", "The list's filters have changed since the page loaded; reload it."
            )
            return None
        return replace(filters.to_query(), cursor=None)

    @property
    def matching(self) -> bool:
        """The action is on every contact matching the filter, not on the selected ones."""
        return self.cleaned_data.get("scope") == self.SCOPE_MATCHING

    def job_params(self) -> dict[str, Any]:
        """The action's argument as a bulk job stores it."""
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action in (self.Action.TAG, self.Action.UNTAG):
            return {"tag": data["tag"].strip()}
        if action == self.Action.STAGE:
            return {"stage_id": data["stage"].id}
        if action == self.Action.ASSIGN:
            assignee = self.assignee_user
            return {"assignee_id": assignee.id if assignee else None}
        return {}

    @property
    def assignee_user(self) -> User | None:
        """The chosen teammate, or None for "Nobody"."""
        return self.members.get(self.cleaned_data.get("assignee") or "")

    def first_error(self) -> str:
        for errors in self.errors.values():
            return str(errors[0])
        return "That did not work; try again."


class UndoForm(forms.Form):
    ids = IdListField()


class SavedListForm(forms.Form):
    name = forms.CharField(
        label="Name this list",
        max_length=60,
        error_messages={
            "required": "Give the list a name, like “Hot buyers”.",
            "max_length": "Keep the name under %(limit_value)d characters.",
        },
        widget=forms.TextInput(attrs={"placeholder": "Hot buyers", "autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the list a name, like “Hot buyers”.")
        return name
