"""Form widgets shared by the apps' forms (the bottom layer: any app may use them)."""

from __future__ import annotations

from django import forms


class FirstChoiceRadioSelect(forms.RadioSelect):
    """Radios whose field label points at the first radio, so the error summary's link moves
    focus onto the choice (Django's RadioSelect gives the group no id to link to)."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return super().id_for_label(id_, "0" if index is None else index)
