"""Forms of the pipeline and custom-field settings, and of the pipeline board. All take
`workspace=` (WorkspaceFormMixin): names are unique per workspace, whatever their case, and a
stage is chosen among the workspace's own."""

from __future__ import annotations

from typing import Any

from django import forms

from alt.lib.tenancy import WorkspaceFormMixin
from contacts.models import CustomField, LeadSource, PipelineStage


class StageForm(WorkspaceFormMixin, forms.Form):
    name = forms.CharField(
        label="Stage name",
        max_length=60,
        error_messages={"required": "Give the stage a name."},
    )
    outcome = forms.ChoiceField(
        choices=PipelineStage.Outcome.choices,
        initial=PipelineStage.Outcome.OPEN,
        help_text="Won and lost stages count as closed on the dashboard.",
    )

    def __init__(self, *args: Any, stage: PipelineStage | None = None, **kwargs: Any) -> None:
        if stage is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": stage.name, "outcome": stage.outcome}
        super().__init__(*args, **kwargs)
        self.stage = stage

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the stage a name.")
        same = PipelineStage.objects.for_workspace(self.workspace).filter(name__iexact=name)
        if self.stage is not None:
            same = same.exclude(id=self.stage.id)
        if same.exists():
            raise forms.ValidationError(f"There is already a stage called “{name}”.")
        return name


class CustomFieldForm(WorkspaceFormMixin, forms.Form):
    """Add a custom field (label, kind, choices) or, given `field`, rename it (label, choices):
    the kind of an existing field never changes, since contacts' values are stored in it."""

    label = forms.CharField(
        max_length=60,
        error_messages={"required": "Give the field a name, like “Preferred school district”."},
    )
    kind = forms.ChoiceField(choices=CustomField.Kind.choices, initial=CustomField.Kind.TEXT)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "North Park\nHillcrest"}),
        help_text="For a choice field: one choice per line.",
    )

    def __init__(self, *args: Any, field: CustomField | None = None, **kwargs: Any) -> None:
        if field is not None and "initial" not in kwargs:
            kwargs["initial"] = {"label": field.label, "choices": "\n".join(field.choices)}
        super().__init__(*args, **kwargs)
        self.field = field
        if field is not None:
            del self.fields["kind"]
            if field.kind != CustomField.Kind.CHOICE:
                del self.fields["choices"]

    @property
    def field_kind(self) -> str:
        return self.field.kind if self.field is not None else self.cleaned_data.get("kind", "")

    def clean_label(self) -> str:
        label = self.cleaned_data["label"].strip()
        same = CustomField.objects.for_workspace(self.workspace).filter(label__iexact=label)
        if self.field is not None:
            same = same.exclude(id=self.field.id)
        if same.exists():
            raise forms.ValidationError(f"There is already a field called “{label}”.")
        return label

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lines = [line.strip() for line in data.get("choices", "").splitlines() if line.strip()]
        data["choices"] = list(dict.fromkeys(lines))
        if self.field_kind == CustomField.Kind.CHOICE:
            if len(data["choices"]) < 2:
                self.add_error("choices", "List at least two choices, one per line.")
            elif any(len(c) > 60 for c in data["choices"]):
                self.add_error("choices", "Keep each choice under 60 characters.")
            elif len(data["choices"]) > 50:
                self.add_error("choices", "A choice field can have up to 50 choices.")
        return data


class ContactMoveForm(WorkspaceFormMixin, forms.Form):
    """The board's "Move to…" (and a dropped card): the stage to move one contact to."""

    stage: forms.ModelChoiceField[PipelineStage] = forms.ModelChoiceField(
        queryset=None,  # the workspace's stages, set in __init__
        error_messages={
            "required": "Choose the stage to move the lead to.",
            "invalid_choice": "Choose one of your pipeline's stages.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = PipelineStage.objects.for_workspace(self.workspace)  # type: ignore[attr-defined]


class StageDeleteForm(WorkspaceFormMixin, forms.Form):
    """Deleting a stage, and where its contacts go (needed only when it holds some)."""

    move_to: forms.ModelChoiceField[PipelineStage] = forms.ModelChoiceField(
        required=False,
        queryset=None,  # the workspace's stages, set in __init__
        error_messages={"invalid_choice": "Choose one of your pipeline's stages to move them to."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = PipelineStage.objects.for_workspace(self.workspace)  # type: ignore[attr-defined]


class LeadSourceForm(WorkspaceFormMixin, forms.Form):
    name = forms.CharField(
        label="Source name",
        max_length=60,
        error_messages={"required": "Give the source a name, like “Zillow”."},
    )

    def __init__(self, *args: Any, source: LeadSource | None = None, **kwargs: Any) -> None:
        if source is not None and "initial" not in kwargs:
            kwargs["initial"] = {"name": source.name}
        super().__init__(*args, **kwargs)
        self.source = source

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the source a name, like “Zillow”.")
        same = LeadSource.objects.for_workspace(self.workspace).filter(name__iexact=name)
        if self.source is not None:
            same = same.exclude(id=self.source.id)
        if same.exists():
            raise forms.ValidationError(f"There is already a source called “{name}”.")
        return name
