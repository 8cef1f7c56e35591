"""The merge form: for each field on which two contacts differ, whose value to keep."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts.merging.services import MERGED, SURVIVOR, FieldChoice


class MergeForm(forms.Form):
    def __init__(self, data: Any = None, *, field_choices: list[FieldChoice]) -> None:
        super().__init__(data)
        self.field_choices = field_choices
        for choice in field_choices:
            self.fields[choice.name] = forms.ChoiceField(
                label=choice.label,
                choices=[
                    (SURVIVOR, choice.survivor_value or "(empty)"),
                    (MERGED, choice.merged_value or "(empty)"),
                ],
                initial=choice.default,
                widget=forms.RadioSelect,
            )

    def rows(self) -> list[tuple[FieldChoice, forms.BoundField]]:
        return [(choice, self[choice.name]) for choice in self.field_choices]

    def choices(self) -> dict[str, str]:
        return {choice.name: self.cleaned_data[choice.name] for choice in self.field_choices}
