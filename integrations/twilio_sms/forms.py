"""Settings -> SMS forms: the account (SID, write-only token, number, optional Messaging
Service) and the test message's number."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from django import forms
from django.http import QueryDict

from contacts.consent import sms_refusal
from contacts.inbox.forms import TEXT_HARD_LIMIT
from contacts.listing.forms import ContactListForm, IdListField
from contacts.listing.services import ListChoices
from contacts.models import Contact
from contacts.normalize import InvalidPhone, phone_to_e164
from integrations.twilio_sms.channel import MAX_TEXT_LENGTH

_ACCOUNT_SID = re.compile(r"^AC[0-9a-f]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


def _phone(raw: str) -> str:
    try:
        return phone_to_e164(raw[:40])
    except InvalidPhone as exc:
        raise forms.ValidationError(str(exc)) from None


class TwilioAccountForm(forms.Form):
    """The auth token is write-only: never rendered back (PasswordInput without render_value),
    and blank on edit keeps the stored one."""

    account_sid = forms.CharField(
        label="Account SID",
        max_length=100,
        help_text="On your Twilio console's home page: AC followed by 32 letters and digits.",
    )
    auth_token = forms.CharField(
        label="Auth token",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    from_number = forms.CharField(
        label="Your Twilio number",
        max_length=40,
        help_text="The number texts come from and replies arrive at, e.g. (415) 555-0100.",
    )
    messaging_service_sid = forms.CharField(
        label="Messaging Service SID (optional)",
        required=False,
        max_length=100,
        help_text="Only if you send through a Twilio Messaging Service: MG followed by 32 "
        "letters and digits.",
    )

    def __init__(self, *args: Any, has_token: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_token = has_token
        self.fields["auth_token"].help_text = (
            "Stored encrypted and never shown again. Leave blank to keep the one saved."
            if has_token
            else "Next to the Account SID on your Twilio console. Stored encrypted."
        )

    def clean_account_sid(self) -> str:
        value: str = self.cleaned_data["account_sid"].strip()
        if not _ACCOUNT_SID.match(value):
            raise forms.ValidationError(
                "That is not an Account SID: it starts with AC and has 32 letters and digits "
                "after it (copy it from the Twilio console)."
            )
        return value

    def clean_auth_token(self) -> str:
        value: str = self.cleaned_data.get("auth_token") or ""
        if not value and not self.has_token:
            raise forms.ValidationError("Paste the auth token from your Twilio console.")
        if value and not re.fullmatch(r"[0-9A-Za-z]{16,64}", value):
            raise forms.ValidationError(
                "That does not look like a Twilio auth token (32 letters and digits)."
            )
        return value

    def clean_from_number(self) -> str:
        return _phone(self.cleaned_data["from_number"])

    def clean_messaging_service_sid(self) -> str:
        value: str = (self.cleaned_data.get("messaging_service_sid") or "").strip()
        if value and not _SERVICE_SID.match(value):
            raise forms.ValidationError(
                "That is not a Messaging Service SID: it starts with MG and has 32 letters and "
                "digits after it. Leave it blank to send from the number."
            )
        return value


class TestMessageForm(forms.Form):
    to = forms.CharField(
        label="Text a test message to",
        max_length=40,
        help_text="Your own mobile number, e.g. (415) 555-0123.",
    )

    def clean_to(self) -> str:
        return _phone(self.cleaned_data["to"])


class TextForm(forms.Form):
    """A first text to a contact's phone (click-to-text when there is no thread yet). The
    channel's own limit and refusals are checked again by message_send."""

    text = forms.CharField(
        label="Text message",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autofocus": True}),
    )

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact = contact

    def clean_text(self) -> str:
        text: str = self.cleaned_data.get("text") or ""
        if len(text) > TEXT_HARD_LIMIT:
            raise forms.ValidationError("That message is far too long to send.")
        if not text.strip():
            raise forms.ValidationError("Write a message first.")
        if len(text) > MAX_TEXT_LENGTH:
            raise forms.ValidationError(
                f"A text can have at most {MAX_TEXT_LENGTH:,} characters; this one has "
                f"{len(text):,}."
            )
        refusal = sms_refusal(self.contact)
        if refusal:
            raise forms.ValidationError(refusal)
        return text


class BulkSmsForm(forms.Form):
    """Text a selection of the contact list: the selected `ids`, or every contact matching the
    list's filter (`scope=matching`, `filter` the list's query string, validated against the
    workspace's own stages, tags and teammates, as the other bulk actions do)."""

    ids = IdListField(required=False)
    scope = forms.ChoiceField(
        required=False, choices=[("", "The selected contacts"), ("matching", "All matching")]
    )
    filter = forms.CharField(required=False, max_length=2000)
    confirmed = forms.BooleanField(required=False)
    text = forms.CharField(
        label="Text message",
        strip=False,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, choices: ListChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = choices

    def clean_text(self) -> str:
        text: str = self.cleaned_data.get("text") or ""
        if len(text) > TEXT_HARD_LIMIT:
            raise forms.ValidationError("That message is far too long to send.")
        if len(text) > MAX_TEXT_LENGTH:
            raise forms.ValidationError(
                f"A text can have at most {MAX_TEXT_LENGTH:,} characters; this one has "
                f"{len(text):,}."
            )
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["query"] = None
        if data.get("scope") == "matching":
            filters = ContactListForm(QueryDict(data.get("filter") or ""), choices=self.choices)
            if not filters.is_valid():
                self.add_error(
                    "filter", "The list's filters have changed since the page loaded; reload it."
                )
            else:
                data["query"] = replace(filters.to_query(), cursor=None)
        elif not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", "Select at least one contact first.")
        if data.get("confirmed") and not (data.get("text") or "").strip():
            self.add_error("text", "Write the message first.")
        return data
