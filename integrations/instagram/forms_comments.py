"""Forms of the comments page and the keyword trigger settings."""

from __future__ import annotations

from typing import Any

from django import forms

from alt.lib.tenancy import WorkspaceFormMixin
from integrations.instagram.comments import MAX_COMMENT_LENGTH, MAX_DM_LENGTH
from integrations.instagram.models import InstagramMedia, KeywordTrigger
from integrations.instagram.triggers import MAX_KEYWORDS, TriggerInput, keyword_list

# Room left in a DM for the first-contact line ("— automated reply from @<30 chars>").
MAX_TRIGGER_REPLY = MAX_DM_LENGTH - 80


class PublicReplyForm(forms.Form):
    text = forms.CharField(
        label="Public reply",
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the reply first."},
    )


class PrivateReplyForm(forms.Form):
    text = forms.CharField(
        label="Private reply (a DM)",
        max_length=MAX_DM_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the reply first."},
    )


class TriggerSwitchForm(forms.Form):
    enabled = forms.BooleanField(required=False)


class MediaChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        caption = " ".join((obj.caption or "").split())
        when = obj.posted_at.strftime("%b %-d, %Y") if obj.posted_at else "date unknown"
        return f"{caption[:60] or 'Post without caption'} ({when})"


class TriggerForm(WorkspaceFormMixin, forms.Form):
    name = forms.CharField(
        label="Name (optional)",
        max_length=80,
        required=False,
        help_text="For you, e.g. “Price list”.",
    )
    kind = forms.ChoiceField(label="When", choices=KeywordTrigger.Kind.choices)
    keywords = forms.CharField(
        label="Keywords",
        max_length=500,
        error_messages={"required": "Give at least one keyword."},
        help_text="Separated by commas, e.g. <em>price, info, 🏠</em>. Capitals, accents written "
        "the same and extra spaces do not matter.",
    )
    match_mode = forms.ChoiceField(
        label="Match",
        choices=KeywordTrigger.MatchMode.choices,
        help_text="Whole word: “price” answers “What's the price?” but not “prices”. Whole text: "
        "the comment or DM is only the keyword. Anywhere: also inside words, and for languages "
        "written without spaces.",
    )
    post = MediaChoiceField(
        label="On which posts",
        queryset=InstagramMedia.objects.none(),
        required=False,
        empty_label="All posts",
        help_text="Comment triggers only. Posts appear here once ALT has seen them.",
    )
    reply_text = forms.CharField(
        label="Reply sent as a DM",
        max_length=MAX_TRIGGER_REPLY,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The first automated message to a person ends with a line saying it is automated.",
        error_messages={"required": "Write the reply to send."},
    )
    public_reply_text = forms.CharField(
        label="Public reply under the comment (optional)",
        max_length=300,
        required=False,
        help_text="Comment triggers only, e.g. “Check your DMs!”",
    )
    enabled = forms.BooleanField(label="This trigger is on", required=False, initial=True)

    def __init__(self, *args: Any, account: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["post"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            InstagramMedia.objects.for_workspace(self.workspace)
            .filter(account=account)
            .order_by("-posted_at", "-id")
        )

    def clean_keywords(self) -> str:
        raw = str(self.cleaned_data["keywords"])
        keywords = keyword_list(raw)
        if not keywords:
            raise forms.ValidationError("Give at least one keyword.")
        if len(keywords) > MAX_KEYWORDS:
            raise forms.ValidationError(f"Use at most {MAX_KEYWORDS} keywords.")
        return ", ".join(part.strip() for part in raw.split(",") if part.strip())

    def clean_reply_text(self) -> str:
        text = str(self.cleaned_data["reply_text"]).strip()
        if not text:
            raise forms.ValidationError("Write the reply to send.")
        return text

    def to_input(self) -> TriggerInput:
        data = self.cleaned_data
        return TriggerInput(
            name=data["name"].strip(),
            kind=data["kind"],
            keywords=data["keywords"],
            match_mode=data["match_mode"],
            media=data["post"],
            reply_text=data["reply_text"],
            public_reply_text=data["public_reply_text"].strip(),
            enabled=data["enabled"],
        )
