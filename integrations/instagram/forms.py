from __future__ import annotations

from django import forms

from alt.lib.widgets import FirstChoiceRadioSelect

KEEP = "keep"
DELETE = "delete"


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
