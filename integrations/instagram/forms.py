from __future__ import annotations

from django import forms

KEEP = "keep"
DELETE = "delete"


class FirstChoiceRadioSelect(forms.RadioSelect):
    """Radios whose field label points at the first radio, so the error summary's link moves
    focus onto the choice (Django's RadioSelect gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)


class DisconnectForm(forms.Form):
    """IG-6: keep the history or delete the imported data. Nothing is preselected: the person
    must choose, and submitting without a choice is an error."""

    choice = forms.ChoiceField(
        label="Imported Instagram data",
        choices=[
            (KEEP, "Keep the conversation history in ALT"),
            (DELETE, "Delete all imported Instagram data now"),
        ],
        widget=FirstChoiceRadioSelect,
        error_messages={
            "required": "Choose whether to keep the conversation history or delete it.",
            "invalid_choice": "Choose one of the two options.",
        },
    )
