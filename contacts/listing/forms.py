"""Forms of the contact list: its own GET parameters (search, filters, sort, cursor), and what is
posted from it: bulk actions, undo of a bulk delete, and saving a list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

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


class ContactListForm(forms.Form):
    """The list's GET parameters. Choices come from `ListChoices`, so validating a stage, tag or
    teammate costs no query, and another workspace's id is simply not a valid choice."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "Name, email or phone",
                "autocomplete": "off",
                "enterkeyhint": "search",
            }
        ),
    )
    stage = forms.TypedChoiceField(label="Stage", required=False, coerce=int, empty_value=None)
    source = forms.ChoiceField(label="Source", required=False)
    tag = forms.TypedChoiceField(label="Tag", required=False, coerce=int, empty_value=None)
    assignee = forms.ChoiceField(label="Assigned to", required=False)
    stale = forms.TypedChoiceField(
        label="No activity in",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any time"), *((str(d), f"{d} days") for d in STALE_DAYS)],
    )
    follow_up = forms.BooleanField(label="Follow-up due", required=False)
    sort = forms.ChoiceField(label="Sort", required=False, choices=Sort.choices)
    cursor = forms.CharField(required=False, widget=forms.HiddenInput)

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
    class Action:
        TAG = "tag"
        UNTAG = "untag"
        STAGE = "stage"
        ASSIGN = "assign"
        DELETE = "delete"

    ids = IdListField()
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

    def __init__(self, *args: Any, workspace: Any, members: list[User], **kwargs: Any) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        self.fields["stage"].queryset = PipelineStage.objects.for_workspace(workspace)  # type: ignore[attr-defined]
        self.members = {str(user.id): user for user in members}
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
        return data

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
