"""The compose form of an Instagram post or story (IG-8: what the person writes is what goes out)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms

from integrations.instagram.images import MAX_IMAGE_BYTES, ImageRefused, JpegImage, image_check
from integrations.instagram.models import CAPTION_MAX_CHARS, InstagramPost
from integrations.instagram.publishing import PostInput


class InstagramPostForm(forms.Form):
    kind = forms.ChoiceField(
        label="What to publish",
        choices=InstagramPost.Kind.choices,
        initial=InstagramPost.Kind.POST,
        widget=forms.RadioSelect,
    )
    caption = forms.CharField(
        label="Caption",
        required=False,
        max_length=CAPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": CAPTION_MAX_CHARS}),
        help_text="Up to 2,200 characters, hashtags and mentions included. Stories have no "
        "caption.",
    )
    image = forms.FileField(
        label="Image",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,.jpg,.jpeg"}),
        help_text="A JPEG photo up to 8 MB. A post must be between 4:5 (portrait) and 1.91:1 "
        "(landscape); a story looks best at 9:16.",
    )
    image_url = forms.URLField(
        label="Or the address of a JPEG image",
        required=False,
        max_length=2000,
        assume_scheme="https",
        help_text="An https address anyone can open, ending the way Instagram can fetch it.",
    )

    def clean_image(self) -> JpegImage | None:
        upload = self.cleaned_data.get("image")
        if not upload:
            return None
        # Known from the upload's headers: refuse before reading it into memory.
        if (upload.size or 0) > MAX_IMAGE_BYTES:
            raise forms.ValidationError(
                f"This image is {(upload.size or 0) / 1024 / 1024:.1f} MB; Instagram takes images "
                "up to 8 MB."
            )
        story = self.cleaned_data.get("kind") == InstagramPost.Kind.STORY
        try:
            return image_check(b"".join(upload.chunks()), story=story)
        except ImageRefused as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_image_url(self) -> str:
        url: str = self.cleaned_data.get("image_url") or ""
        if url and urlsplit(url).scheme != "https":
            raise forms.ValidationError(
                "Instagram fetches images over https only: use an address starting https://."
            )
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("image") and data.get("image_url"):
            self.add_error("image_url", "Upload an image or give its address, not both.")
        elif not data.get("image") and not data.get("image_url"):
            self.add_error("image", "Choose a JPEG image to upload, or give the address of one.")
        if data.get("kind") == InstagramPost.Kind.STORY and data.get("caption"):
            self.add_error(
                "caption",
                "Instagram stories carry no caption. Clear it, or publish a post instead.",
            )
        return data

    def post_input(self) -> PostInput:
        data = self.cleaned_data
        return PostInput(
            kind=data["kind"],
            caption=data.get("caption") or "",
            image=data.get("image"),
            image_url=data.get("image_url") or "",
        )
