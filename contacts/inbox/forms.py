"""The inbox's forms: the reply box, and the contact picker that links a thread to a contact."""

from __future__ import annotations

from typing import Any

from django import forms

from alt.lib.widgets import FirstChoiceRadioSelect
from contacts.forms import ContactChoiceField
from contacts.inbox.sending import send_refusal
from contacts.inbox.threads import ReplyOption
from contacts.models import Conversation

# The textarea's own limit: far above any channel's, so the channel's rule (send_refusal) is the
# one a person reads, while a pasted novel is still refused without being stored.
TEXT_HARD_LIMIT = 10_000


class ReplyForm(forms.Form):
    """A reply in a thread, on one of the contact's channels (`options`, from
    threads.reply_options; the one they last used is chosen by default). Refuses empty text, text
    over the channel's limit, a closed reply window and an opted-out number with the reason in
    plain words, before anything is stored or sent. `cleaned_data["option"]` is the chosen one."""

    channel = forms.ChoiceField(label="Reply on", required=False, widget=FirstChoiceRadioSelect)
    text = forms.CharField(
        label="Reply",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a reply"}),
    )

    def __init__(
        self,
        *args: Any,
        conversation: Conversation,
        options: list[ReplyOption] | None = None,
        default_channel: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.conversation = conversation
        self.options = options or []
        field = self.fields["channel"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(o.value, o.label) for o in self.options] or [
            (conversation.channel, conversation.get_channel_display())
        ]
        field.initial = default_channel or conversation.channel
        field.error_messages["invalid_choice"] = "Choose one of the channels shown."
        if len(field.choices) < 2:  # nothing to choose: the thread's own channel
            field.widget = forms.HiddenInput()

    def clean_text(self) -> str:
        text: str = self.cleaned_data.get("text") or ""
        if len(text) > TEXT_HARD_LIMIT:
            raise forms.ValidationError("That message is far too long to send.")
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "text" not in cleaned or "channel" not in cleaned:
            return cleaned
        chosen = cleaned["channel"] or self.conversation.channel  # a form without the switch
        option = next((o for o in self.options if o.value == chosen), None)
        target = option.conversation if option is not None else self.conversation
        refusal = send_refusal(conversation=target, text=cleaned["text"])
        if refusal is not None:
            self.add_error("text", refusal)
        cleaned["option"] = option
        return cleaned


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
