from __future__ import annotations

from django import forms

KEEP = "keep"
DELETE = "delete"


class DisconnectForm(forms.Form):
    """IG-6: keep the history or delete the imported data. Nothing is preselected: the person
    must choose, and submitting without a choice is an error."""

    choice = forms.ChoiceField(
        label="What should happen to the Instagram data ALT imported?",
        choices=[
            (KEEP, "Keep the conversation history in ALT"),
            (DELETE, "Delete all imported Instagram data now"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose whether to keep the conversation history or delete it.",
            "invalid_choice": "Choose one of the two options.",
        },
    )
