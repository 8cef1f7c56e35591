"""Forms of the CSV import: the upload, and the column mapping with the dedupe policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from contacts.imports import services
from contacts.models import CustomField, ImportJob

MIB = 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f} MB"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One contact per row, column names on the first line. Up to "
        f"{services.MAX_ROWS:,} rows. Export from Excel or Google Sheets as “CSV UTF-8”.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        # The size is known from the upload's headers: refuse before reading it into memory.
        if (upload.size or 0) > limit:
            raise forms.ValidationError(
                f"This file is {_megabytes(upload.size or 0)}; the limit is "
                f"{limit / MIB:g} MB. Split it into smaller files."
            )
        name = upload.name or ""
        if not name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(
                "Choose a .csv file. In Excel or Google Sheets use File → Save As / Download → CSV."
            )
        return upload

    def content(self) -> bytes:
        return b"".join(self.cleaned_data["file"].chunks())


class ImportMappingForm(forms.Form):
    """One select per CSV column (pre-filled from the header names) and the dedupe policy."""

    dedupe = forms.ChoiceField(
        label="When a row has the email or phone of an existing contact",
        choices=ImportJob.Dedupe.choices,
        initial=ImportJob.Dedupe.SKIP,
        widget=forms.RadioSelect,
    )

    def __init__(
        self, data: Any = None, *, job: ImportJob, custom_fields: Sequence[CustomField]
    ) -> None:
        super().__init__(data)
        self.headers: list[str] = list(job.headers)
        choices = services.target_choices(custom_fields)
        guess = services.import_mapping_guess(self.headers, custom_fields)
        for index, header in enumerate(self.headers):
            self.fields[self.column_name(index)] = forms.ChoiceField(
                label=header, choices=choices, required=False, initial=guess.get(index, "")
            )

    @staticmethod
    def column_name(index: int) -> str:
        return f"column_{index}"

    def columns(
        self, preview: list[tuple[int, list[str]]]
    ) -> list[tuple[forms.BoundField, list[str]]]:
        """Each column's select with up to two example values from the preview rows."""
        out = []
        for index in range(len(self.headers)):
            examples = [cells[index] for _line, cells in preview if cells[index].strip()][:2]
            out.append((self[self.column_name(index)], examples))
        return out

    def mapping(self) -> dict[int, str]:
        return {
            index: self.cleaned_data.get(self.column_name(index)) or ""
            for index in range(len(self.headers))
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for index, message in services.mapping_problems(self.mapping(), self.headers).items():
            self.add_error(None if index is None else self.column_name(index), message)
        return cleaned
