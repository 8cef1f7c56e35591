"""Small factory_boy factories for the rows tests build, and typed `create_*` helpers around them.

Contacts, tasks and appointments are made through their services (`contact_create`, `task_add`,
`appointment_create`), so a factory-made row has what the app gives it: search fields, primary
email and phone, duplicate flags, timeline entries and, for appointments, the calendar push.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from alt.accounts.models import Membership, User, Workspace
from appointments.models import Appointment
from appointments.services import appointment_create
from contacts.models import Contact, Property, Task
from contacts.services import ContactInput, contact_create, task_add

PASSWORD = "correct-horse-battery-staple"


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once per test process with the production hasher (PBKDF2 at Django's full
    iteration count, ~0.5 s a hash here). Factory users share this one salted hash, so tests pay
    for hashing when they sign up or sign in, as production does, not for every user they set up.
    Sign-up still hashes each password with its own salt (tests/accounts/test_password_storage.py).
    """
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.LazyFunction(password_hash)

    @factory.post_generation
    def verified(self: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OWNER


class ContactFactory(factory.Factory):
    """A contact made by `contact_create`: every field but `workspace`, `actor` and
    `flag_duplicates` is a ContactInput field (phones already E.164)."""

    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    actor = None
    flag_duplicates = True
    first_name = factory.Sequence(lambda n: f"Contact {n}")

    @classmethod
    def _create(cls, model_class: type[Contact], *args: Any, **kwargs: Any) -> Contact:
        workspace = kwargs.pop("workspace")
        actor = kwargs.pop("actor")
        flag_duplicates = kwargs.pop("flag_duplicates")
        return contact_create(
            workspace=workspace,
            actor=actor,
            data=ContactInput(**kwargs),
            flag_duplicates=flag_duplicates,
        )


class PropertyFactory(factory.django.DjangoModelFactory):
    """A property made by `Property.objects.create`, the tenant manager that insists on a
    workspace (the default manager is the unscoped one)."""

    class Meta:
        model = Property

    workspace = factory.SubFactory(WorkspaceFactory)
    street = "12 Oak St"
    city = "San Diego"
    state = "CA"
    zip_code = "92104"

    @classmethod
    def _get_manager(cls, model_class: type[Property]) -> Any:
        return model_class.objects


class TaskFactory(factory.Factory):
    """A task made by `task_add` (logged on the contact's timeline when there is a contact)."""

    class Meta:
        model = Task

    contact = factory.SubFactory(ContactFactory)
    workspace = factory.LazyAttribute(lambda o: o.contact.workspace)
    actor = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    due_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[Task], *args: Any, **kwargs: Any) -> Task:
        return task_add(**kwargs)


class AppointmentFactory(factory.Factory):
    """An appointment booked by `appointment_create` (timeline entry; the calendar push is sent on
    commit when the agent's calendar is connected). `actor` is required: it is the agent unless
    `agent` says otherwise."""

    class Meta:
        model = Appointment

    contact = factory.SubFactory(ContactFactory)
    workspace = factory.LazyAttribute(lambda o: o.contact.workspace)
    actor = None
    kind = Appointment.Kind.TOUR
    title = factory.Sequence(lambda n: f"Appointment {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))

    @classmethod
    def _create(cls, model_class: type[Appointment], *args: Any, **kwargs: Any) -> Appointment:
        return appointment_create(**kwargs)


def create_user(**kwargs: object) -> User:
    """UserFactory typed as what it returns."""
    return UserFactory(**kwargs)  # type: ignore[return-value]


def create_contact(**kwargs: Any) -> Contact:
    """ContactFactory typed as what it returns."""
    return ContactFactory(**kwargs)  # type: ignore[return-value]


def create_property(**kwargs: Any) -> Property:
    """PropertyFactory typed as what it returns."""
    return PropertyFactory(**kwargs)  # type: ignore[return-value]


def create_task(**kwargs: Any) -> Task:
    """TaskFactory typed as what it returns."""
    return TaskFactory(**kwargs)  # type: ignore[return-value]


def create_appointment(**kwargs: Any) -> Appointment:
    """AppointmentFactory typed as what it returns."""
    return AppointmentFactory(**kwargs)  # type: ignore[return-value]
