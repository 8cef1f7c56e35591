"""ACC-2 / SEC-3: a user of another workspace reaches nothing of Alice's, by any URL.

The walk is built from the URLconf, not from a hand-written list: every pattern, present and
future, is requested with GET and POST as Charlie (another workspace). A URL parameter is filled
with the id of one of Alice's objects, so a view that forgets to scope its query shows or changes
Alice's data, and the walk reports it. A new URL parameter name with no entry in `alice_ids`
fails the test until someone says which of Alice's objects it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path

from alt.accounts.models import Invite, Membership
from alt.accounts.services import invite_create

pytestmark = pytest.mark.django_db

MARKERS = (
    "Alice Realty",
    "alice@example.com",
    "bob@example.com",
    "dora.invited@example.com",
    "Zelda Secretlead",
    "zelda.secret@example.com",
    "4155550199",
    "ALICE-NOTE-TEXT",
    "ALICE-TASK-TITLE",
    "ALICE-LIST",
    "742 Evergreen Terrace",
    "alice-import.csv",
    "ALICE-APPOINTMENT",
)


@dataclass
class AliceData:
    ids: dict[str, str]
    snapshot: Callable[[], Any]


@pytest.fixture
def alice_data(alice: Any, bob: Any, django_capture_on_commit_callbacks: Any) -> AliceData:
    workspace = alice.memberships.get().workspace
    with django_capture_on_commit_callbacks(execute=False):
        invite = invite_create(
            workspace=workspace, invited_by=alice, email="dora.invited@example.com", role="agent"
        )
    bob_membership = Membership.objects.get(user=bob)
    crm = alice_crm(workspace, alice)
    # kwarg name -> the value that names one of Alice's objects. Public token URLs get a
    # well-formed but unknown token: the token is the secret there.
    ids = {
        "invite_id": str(invite.id),
        "membership_id": str(bob_membership.id),
        "token": "not-a-real-invite-token",
        "key": "MQ:1tZ4xw:not-a-real-key",
        "uidb36": "1",
        "object_id": str(alice.id),
        "id": str(alice.id),
        "content_type_id": "1",
        "app_label": "accounts",
        "url": "accounts/user/",
        **crm,
    }

    def snapshot() -> Any:
        return (
            sorted(
                Membership.objects.filter(workspace=workspace).values_list("id", "user_id", "role")
            ),
            sorted(
                Invite.objects.filter(workspace=workspace).values_list(
                    "id", "email", "accepted_at", "revoked_at"
                )
            ),
            workspace.__class__.objects.get(id=workspace.id).name,
            crm_snapshot(workspace),
        )

    return AliceData(ids=ids, snapshot=snapshot)


def alice_crm(workspace: Any, alice: Any) -> dict[str, str]:
    """Alice's CRM records, one of each kind a URL can name. Returns kwarg name -> id."""
    from contacts.models import (
        Contact,
        CustomField,
        DuplicateFlag,
        ImportJob,
        Merge,
        PipelineStage,
        Property,
        SavedList,
    )  # fmt: skip
    from contacts.services import ContactInput, contact_create, note_add, task_add

    zelda = contact_create(
        workspace=workspace, actor=alice,
        data=ContactInput(first_name="Zelda", last_name="Secretlead", emails=["zelda.secret@example.com"], phones=["+14155550199"]),
    )  # fmt: skip
    twin = contact_create(
        workspace=workspace,
        actor=alice,
        data=ContactInput(
            first_name="Zelda", last_name="Secretlead", emails=["zelda.secret@example.com"]
        ),
    )
    note_add(contact=zelda, author=alice, body="ALICE-NOTE-TEXT")
    task = task_add(
        workspace=workspace,
        contact=zelda,
        actor=alice,
        title="ALICE-TASK-TITLE",
        due_at=zelda.created_at,
    )
    saved = SavedList.objects.create(
        workspace=workspace, owner=alice, name="ALICE-LIST", query={"q": "zelda"}
    )
    flag = DuplicateFlag.objects.for_workspace(workspace).get()
    merge = Merge.objects.create(workspace=workspace, survivor=zelda, merged=twin, actor=alice)
    job = ImportJob.objects.create(
        workspace=workspace, created_by=alice, filename="alice-import.csv", content=b"a,b\n1,2\n"
    )
    prop = Property.objects.create(
        workspace=workspace,
        street="742 Evergreen Terrace",
        city="Springfield",
        state="CA",
        zip_code="90210",
    )
    field = CustomField.objects.create(
        workspace=workspace, key="alice_secret_field", label="ALICE-FIELD"
    )
    stage = PipelineStage.objects.for_workspace(workspace).first()
    assert Contact.objects.for_workspace(workspace).count() == 2
    from appointments.services import appointment_create

    appointment = appointment_create(
        workspace=workspace, actor=alice, contact=zelda, kind="tour", title="ALICE-APPOINTMENT",
        starts_at=zelda.created_at, ends_at=zelda.created_at + timedelta(hours=1),
        location="742 Evergreen Terrace",
    )  # fmt: skip
    from integrations.google_calendar.models import CalendarConnection

    # Alice's calendar grant: no request of Charlie's may disconnect or change it.
    CalendarConnection.objects.create(
        workspace=workspace, user=alice, access_token="ya29.alice", refresh_token="1//alice"
    )
    return {
        "contact_id": str(zelda.id),
        "other_id": str(twin.id),
        "task_id": str(task.id),
        "saved_list_id": str(saved.id),
        "flag_id": str(flag.id),
        "merge_id": str(merge.id),
        "import_id": str(job.id),
        "property_id": str(prop.id),
        "field_id": str(field.id),
        "stage_id": str(stage.id if stage else 0),
        "section": "details",
        "appointment_id": str(appointment.id),
    }


def crm_snapshot(workspace: Any) -> Any:
    """Everything of Alice's CRM a POST could change."""
    from appointments.models import Appointment
    from contacts import models as m
    from integrations.google_calendar.models import CalendarConnection

    return [
        sorted(map(repr, model.objects.for_workspace(workspace).values()))
        for model in (
            m.Contact, m.ContactEmail, m.ContactPhone, m.Note, m.Task, m.Activity, m.SavedList, m.DuplicateFlag,
            m.Merge, m.ImportJob, m.Property, m.PropertyLink, m.CustomField, m.PipelineStage, m.Tag,
            Appointment, CalendarConnection,
        )
    ]  # fmt: skip


def iter_patterns(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def concrete_url(route: str, ids: dict[str, str]) -> tuple[str, list[str]]:
    """Fill every parameter of a route with Alice's ids; return the URL and the kwarg names."""
    names: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        names.append(name)
        if name not in ids:
            raise LookupError(name)
        return ids[name]

    url = _PARAM.sub(fill, route).replace("^", "").replace("$", "")
    return "/" + url, names


def walk_as(user: Any, data: AliceData, urlpatterns: list[Any]) -> list[str]:
    """Every problem found requesting every pattern as `user` (empty list: isolated)."""
    problems: list[str] = []
    before = data.snapshot()
    for route, _pattern in iter_patterns(urlpatterns):
        try:
            url, names = concrete_url(route, data.ids)
        except LookupError as missing:
            problems.append(
                f"{route}: no isolation fixture for URL parameter {missing}; add one to alice_ids"
            )
            continue
        for method in ("get", "post"):
            client = Client()
            client.force_login(user)
            response = getattr(client, method)(url)
            body = response.content.decode(errors="replace") if not response.streaming else ""
            leaked = [m for m in MARKERS if m in body]
            if leaked:
                problems.append(f"{method.upper()} {url} shows {leaked}")
            names_alices_object = any(
                n.endswith("_id") and n not in ("content_type_id", "object_id") for n in names
            )
            if names_alices_object and response.status_code not in (404, 405):
                problems.append(
                    f"{method.upper()} {url} answered {response.status_code}, expected 404"
                )
            if data.snapshot() != before:
                problems.append(f"{method.upper()} {url} changed Alice's data")
                before = data.snapshot()
    return problems


@pytest.mark.promise("ACC-2")
@pytest.mark.promise("SEC-3")
def test_no_url_lets_another_workspace_see_or_change_alices_data(
    alice_data: AliceData, charlie: Any
) -> None:
    problems = walk_as(charlie, alice_data, get_resolver().url_patterns)

    assert problems == []


def _leaky_view(request: HttpRequest, invite_id: int) -> HttpResponse:
    # What a forgotten scope looks like: the id alone selects the row.
    invite = Invite.objects.get(id=invite_id)
    return HttpResponse(f"{invite.email} in {invite.workspace.name}")


@pytest.mark.promise("SEC-3")
def test_the_walk_catches_a_view_that_forgets_the_workspace(
    alice_data: AliceData, charlie: Any, settings: Any
) -> None:
    import alt.urls

    leaky = [path("leaky/<int:invite_id>/", _leaky_view)]
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [*alt.urls.urlpatterns, *leaky]})

    problems = walk_as(charlie, alice_data, leaky)

    assert any("leaky" in p and "shows" in p for p in problems)
    assert any("leaky" in p and "expected 404" in p for p in problems)


@pytest.mark.promise("SEC-3")
def test_the_walk_demands_a_fixture_for_a_new_url_parameter(
    alice_data: AliceData, charlie: Any
) -> None:
    problems = walk_as(charlie, alice_data, [path("things/<int:thing_id>/", _leaky_view)])

    assert problems == [
        "things/<int:thing_id>/: no isolation fixture for URL parameter thing_id; add one to alice_ids"
    ]


@pytest.mark.promise("ACC-2")
def test_alices_teammate_can_see_her_workspace(alice: Any, bob_client: Client) -> None:
    response = bob_client.get("/settings/workspace/")

    assert "Alice Realty" in response.content.decode()
    assert "alice@example.com" in response.content.decode()
