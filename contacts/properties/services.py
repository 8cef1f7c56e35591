"""Property workflows: create, edit, and link a contact to a property (logged on its timeline)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import transaction

from alt.accounts.models import User, Workspace
from contacts.models import Activity, Contact, Property, PropertyLink
from contacts.services import activity_record

PROPERTY_LINK_SUMMARIES = {
    PropertyLink.Role.INTERESTED: "Interested in {address}",
    PropertyLink.Role.OWNER: "Owner of {address}",
    PropertyLink.Role.BUYER: "Buyer of {address}",
}


@dataclass
class PropertyInput:
    street: str
    city: str
    state: str
    zip_code: str
    unit: str = ""
    price: int | None = None
    beds: int | None = None
    baths: Decimal | None = None
    sqft: int | None = None
    mls_number: str = ""
    status: str = Property.Status.ACTIVE


def property_street_line(prop: Property) -> str:
    """'12 Oak St' or '12 Oak St #4': how a property is named on timelines and in messages."""
    if not prop.unit:
        return prop.street
    unit = f"#{prop.unit}" if prop.unit[:1].isdigit() else prop.unit
    return f"{prop.street} {unit}"


def access_property(workspace: Workspace, property_id: int | str) -> Property:
    """The workspace's property with this id, or Http404 (also for another workspace's id)."""
    return Property.objects.for_workspace(workspace).get_or_404("property", id=property_id)


def property_create(*, workspace: Workspace, data: PropertyInput) -> Property:
    """Add a property to the workspace. No side effects beyond the row."""
    return Property.objects.create(workspace=workspace, **asdict(data))


def property_update(*, property: Property, data: PropertyInput) -> Property:
    """Replace the property's facts with `data`. Its links to contacts are kept."""
    for field, value in asdict(data).items():
        setattr(property, field, value)
    property.save()
    return property


def property_link(
    *, property: Property, contact: Contact, role: str, actor: User | None
) -> tuple[PropertyLink, bool]:
    """Link a contact to a property as interested, owner or buyer, and log it on the contact's
    timeline ("Interested in 12 Oak St"). Linking twice in the same role changes nothing and logs
    once. Returns (link, created). Raises ValueError if the two belong to different workspaces."""
    if property.workspace_id != contact.workspace_id:
        raise ValueError("The property and the contact are in different workspaces.")
    summary = PROPERTY_LINK_SUMMARIES[PropertyLink.Role(role)]
    with transaction.atomic():
        link, created = PropertyLink.objects.for_workspace(property.workspace).get_or_create(
            workspace=property.workspace, property=property, contact=contact, role=role
        )
        if created:
            activity_record(
                contact=contact,
                kind=Activity.Kind.UPDATED,
                actor=actor,
                summary=summary.format(address=property_street_line(property)),
                data={"property_id": property.id, "role": role},
            )
    return link, created
