"""The inbox's forms: the reply box, and the contact picker that links a thread to a contact."""

from __future__ import annotations

from typing import Any

from django import forms

from contacts.forms import ContactChoiceField
from contacts.inbox.sending import send_refusal
from contacts.models import Conversation

# The textarea's own limit: far above any channel's, so the channel's rule (send_refusal) is the
# one a person reads, while a pasted novel is still refused without being stored.
TEXT_HARD_LIMIT = 10_000


class ReplyForm(forms.Form):
    """A reply in a thread. Refuses empty text, text over the channel's limit and a closed reply
    window with the reason in plain words, before anything is stored or sent."""

    text = forms.CharField(
        label="Reply",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a reply"}),
    )

    def __init__(self, *args: Any, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conversation = conversation

    def clean_text(self) -> str:
        text: str = self.cleaned_data.get("text") or ""
        if len(text) > TEXT_HARD_LIMIT:
            raise forms.ValidationError("That message is far too long to send.")
        refusal = send_refusal(conversation=self.conversation, text=text)
        if refusal is not None:
            raise forms.ValidationError(refusal)
        return text


class LinkContactForm(forms.Form):
    """Link the thread to one of the workspace's contacts (the pickers' one recipe)."""

    contact = ContactChoiceField(label="Contact", required_message="Choose a contact to link.")

    def __init__(self, *args: Any, workspace: Any, contact_query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, ContactChoiceField)
        field.pick(
            workspace,
            chosen_id=self.data.get("contact") if self.is_bound else None,
            query=contact_query,
            empty="Choose a contact",
        )
