"""Forms for properties and their links to contacts.

Every form that names a tenant row takes `workspace=` (WorkspaceFormMixin), so a select box only
lists the workspace's own rows and a posted id of another workspace is an invalid choice.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms

from alt.lib.money import parse_amount
from alt.lib.tenancy import WorkspaceFormMixin
from contacts.forms import ContactChoiceField, contact_options
from contacts.models import Property, PropertyLink
from contacts.properties.services import PropertyInput

# A table: kept several rows to a line (fmt: skip), where ruff format would give one a line.
US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"),
    ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"),
    ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"), ("WV", "West Virginia"),
    ("WI", "Wisconsin"), ("WY", "Wyoming"),
]  # fmt: skip

_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")
_MLS = re.compile(r"^[A-Za-z0-9-]+$")
MAX_PRICE = 2_000_000_000  # the column is a PostgreSQL integer


class PropertyForm(forms.Form):
    street = forms.CharField(
        label="Street address",
        max_length=120,
        error_messages={"required": "Enter the street address, like 12 Oak St."},
        widget=forms.TextInput(attrs={"placeholder": "12 Oak St"}),
    )
    unit = forms.CharField(
        label="Unit",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Apt 4B"}),
    )
    city = forms.CharField(
        max_length=80, error_messages={"required": "Enter the city, like San Diego."}
    )
    state = forms.ChoiceField(
        choices=[("", "Choose a state"), *US_STATES],
        error_messages={
            "required": "Choose the state.",
            "invalid_choice": "Choose a US state from the list.",
        },
    )
    zip_code = forms.CharField(
        label="ZIP code",
        max_length=10,
        error_messages={"required": "Enter the ZIP code, like 92101."},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "92101"}),
    )
    price = forms.CharField(
        label="Price ($)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "850,000"}),
    )
    beds = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=50,
        error_messages={
            "invalid": "Enter the number of bedrooms as a whole number, like 3.",
            "min_value": "Bedrooms can't be negative.",
            "max_value": "Bedrooms go up to 50.",
        },
    )
    baths = forms.DecimalField(
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.5", "min": "0", "max": "50"}),
        error_messages={"invalid": "Enter the number of bathrooms, like 2 or 2.5."},
    )
    sqft = forms.CharField(
        label="Square feet",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "1,850"}),
    )
    mls_number = forms.CharField(label="MLS number", max_length=30, required=False)
    status = forms.ChoiceField(choices=Property.Status.choices, initial=Property.Status.ACTIVE)

    def __init__(
        self, *args: Any, workspace: Any, instance: Property | None = None, **kwargs: Any
    ) -> None:
        if instance is not None and "initial" not in kwargs:
            initial = {name: getattr(instance, name) for name in self.base_fields}
            # Shown the way an agent would type them: 1,250,000 and 2.5 or 2 (not 2.0).
            for name in ("price", "sqft"):
                if initial[name] is not None:
                    initial[name] = f"{initial[name]:,}"
            if instance.baths is not None:
                initial["baths"] = format(instance.baths.normalize(), "f")
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.instance = instance

    def clean_zip_code(self) -> str:
        match = _ZIP.match(self.cleaned_data["zip_code"].strip())
        if match is None:
            raise forms.ValidationError("A ZIP code is 5 digits (92101) or ZIP+4 (92101-1234).")
        return f"{match.group(1)}-{match.group(2)}" if match.group(2) else match.group(1)

    def clean_price(self) -> int | None:
        try:
            price = parse_amount(self.cleaned_data["price"])
        except ValueError:
            raise forms.ValidationError(
                "Enter the price in dollars, like 850000, $850,000 or 850k."
            ) from None
        if price is not None and not 0 < price <= MAX_PRICE:
            raise forms.ValidationError("Enter a price between $1 and $2,000,000,000.")
        return price

    def clean_baths(self) -> Decimal | None:
        baths = self.cleaned_data["baths"]
        if baths is None:
            return None
        if not 0 <= baths <= 50:
            raise forms.ValidationError("Bathrooms go from 0 to 50.")
        if baths % Decimal("0.5"):
            raise forms.ValidationError("Bathrooms go in half steps, like 2 or 2.5.")
        return baths.quantize(Decimal("0.1"))

    def clean_sqft(self) -> int | None:
        try:
            sqft = parse_amount(self.cleaned_data["sqft"], suffixes=False)
        except ValueError:
            raise forms.ValidationError(
                "Enter the living area in square feet, like 1850."
            ) from None
        if sqft is not None and not 0 < sqft <= 1_000_000:
            raise forms.ValidationError("Square feet go from 1 to 1,000,000.")
        return sqft

    def clean_mls_number(self) -> str:
        mls = self.cleaned_data["mls_number"].strip()
        if not mls:
            return ""
        if not _MLS.match(mls):
            raise forms.ValidationError("An MLS number uses only letters, digits and dashes.")
        others = Property.objects.for_workspace(self.workspace).filter(mls_number__iexact=mls)
        if self.instance is not None:
            others = others.exclude(id=self.instance.id)
        other = others.first()
        if other is not None:
            raise forms.ValidationError(f"{other} already has MLS number {mls}.")
        return mls

    def to_input(self) -> PropertyInput:
        data = self.cleaned_data
        return PropertyInput(**{name: data[name] for name in self.base_fields})


class PropertyFilterForm(forms.Form):
    q = forms.CharField(
        label="Search properties",
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Street, city, ZIP or MLS number"}
        ),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Property.Status.choices]
    )


class PropertyLinkForm(WorkspaceFormMixin, forms.Form):
    """Link one of the workspace's contacts to a property. The select offers at most
    `OPTIONS` contacts matching `contact_query` (the most recently active without one); any live
    contact of the workspace is accepted on submit."""

    OPTIONS = 25

    contact = ContactChoiceField(required_message="Choose a contact to link.")
    role = forms.ChoiceField(
        label="As", choices=PropertyLink.Role.choices, initial=PropertyLink.Role.INTERESTED
    )

    def __init__(self, *args: Any, workspace: Any, contact_query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, workspace=workspace, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, ContactChoiceField)
        # Rendering lists only these; validation accepts any live contact of the workspace.
        live = field.scope(workspace)
        field.offer(contact_options(live, contact_query, self.OPTIONS), "Choose a contact")
