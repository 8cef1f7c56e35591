"""Forms of the CSV import: the upload, and the column mapping with the dedupe policy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from alt.accounts.models import Workspace
from contacts.imports import services
from contacts.models import CustomField, ImportJob

MIB = 1024 * 1024


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f} MB"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One contact per row, column names on the first line, or a phone's contacts "
        f"(.vcf). Up to {services.MAX_ROWS:,} rows. Exports of Google Contacts, Outlook, Follow "
        "Up Boss and ALT are recognised; any encoding Excel saves in is read.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.vcf,text/csv,text/vcard"}),
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
        if not name.lower().endswith((".csv", ".txt", ".vcf", ".vcard")):
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
    all_or_nothing = forms.BooleanField(
        label="All or nothing: if any row has a problem, import none of them",
        required=False,
        initial=False,
        help_text="Otherwise the good rows are imported and the others offered as a CSV with the "
        "reason for each, to fix and upload again.",
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


class ImportValuesForm(forms.Form):
    """One select per distinct stage, source, agent and tag value of the file: map it to an
    existing one, create it, or leave it blank."""

    def __init__(
        self,
        data: Any = None,
        *,
        workspace: Workspace,
        found: dict[str, list[services.FoundValue]],
    ) -> None:
        super().__init__(data)
        self.found = found
        self.groups: list[tuple[str, list[tuple[forms.BoundField, services.FoundValue]]]] = []
        for target, label in services.VALUE_TARGETS:
            values = found.get(target) or []
            if not values:
                continue
            choices = services.value_choices(workspace, target)
            for index, value in enumerate(values):
                self.fields[f"{target}_{index}"] = forms.ChoiceField(
                    label=value.value, choices=choices, initial=value.suggestion, required=False
                )
            bound = [(self[f"{target}_{i}"], v) for i, v in enumerate(values)]
            self.groups.append((label, bound))

    def value_mapping(self) -> dict[str, dict[str, str]]:
        """{target: {value key: choice}} plus "_names", the file's spelling of each value."""
        mapping: dict[str, dict[str, str]] = {"_names": {}}
        for target, values in self.found.items():
            for index, value in enumerate(values):
                choice = self.cleaned_data.get(f"{target}_{index}") or services.VALUE_BLANK
                mapping.setdefault(target, {})[value.key] = choice
                mapping["_names"][f"{target}:{value.key}"] = value.value
        return mapping
