"""The pipeline in settings: the owner sees, renames, adds, reorders and deletes stages within the
rules (none in use, never the last); an agent sees it read-only; another workspace's stage is not
found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from contacts.models import Activity, Contact, PipelineStage
from contacts.pipeline.services import SetupError, pipeline_create_defaults, stage_delete
from contacts.services import ContactInput, contact_create

pytestmark = pytest.mark.django_db

DEFAULT_NAMES = ["New", "Contacted", "Qualified", "Showing", "Under contract", "Closed", "Lost"]


@pytest.fixture(autouse=True)
def default_pipelines(alice: Any, charlie: Any, workspace_of: Any) -> None:
    # Sign-up creates the default pipeline; the persona factories do not.
    for user in (alice, charlie):
        pipeline_create_defaults(workspace=workspace_of(user))


def _stages(workspace: Any) -> list[PipelineStage]:
    return list(PipelineStage.objects.for_workspace(workspace).order_by("position", "id"))


def _stage(workspace: Any, name: str) -> PipelineStage:
    return PipelineStage.objects.for_workspace(workspace).get(name=name)


def _contacts_in(workspace: Any, user: Any, stage: PipelineStage, count: int) -> list[Contact]:
    return [
        contact_create(
            workspace=workspace,
            actor=user,
            data=ContactInput(first_name=f"Lead{i}", stage=stage),
            flag_duplicates=False,
        )
        for i in range(count)
    ]


def test_the_owner_sees_the_stages_in_order_with_how_many_contacts_each_holds(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    _contacts_in(ws, alice, _stage(ws, "Showing"), 3)

    response = alice_client.get("/settings/pipeline/")

    rows = response.context["rows"]
    assert [r["stage"].name for r in rows] == DEFAULT_NAMES
    assert {r["stage"].name: r["contact_count"] for r in rows}["Showing"] == 3
    assert 'value="save"' in response.content.decode()


def test_the_settings_page_links_to_the_pipeline(alice_client: Client) -> None:
    body = alice_client.get("/settings/").content.decode()

    assert "Pipeline &amp; fields" in body
    assert 'href="/settings/pipeline/"' in body


def test_the_owner_renames_a_stage_and_sets_its_outcome(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    stage = _stage(ws, "Under contract")

    response = alice_client.post(
        "/settings/pipeline/",
        {"action": "save", "stage_id": stage.id, f"s{stage.id}-name": "In escrow",
         f"s{stage.id}-outcome": "open"},
    )  # fmt: skip

    stage.refresh_from_db()
    assert response.status_code == 302
    assert stage.name == "In escrow"
    closed = _stage(ws, "Closed")
    alice_client.post(
        "/settings/pipeline/",
        {"action": "save", "stage_id": closed.id, f"s{closed.id}-name": "Closed",
         f"s{closed.id}-outcome": "lost"},
    )  # fmt: skip
    closed.refresh_from_db()
    assert closed.outcome == "lost"


def test_a_name_already_in_the_pipeline_is_refused_and_explained(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    stage = _stage(ws, "Qualified")

    renamed = alice_client.post(
        "/settings/pipeline/",
        {"action": "save", "stage_id": stage.id, f"s{stage.id}-name": "showing",
         f"s{stage.id}-outcome": "open"},
    )  # fmt: skip
    added = alice_client.post(
        "/settings/pipeline/", {"action": "add", "new-name": "  New ", "new-outcome": "open"}
    )
    blank = alice_client.post(
        "/settings/pipeline/", {"action": "add", "new-name": "", "new-outcome": "open"}
    )

    assert renamed.status_code == 400
    assert "There is already a stage called “showing”." in renamed.content.decode()
    assert added.status_code == 400
    assert "There is already a stage called “New”." in added.content.decode()
    assert "Give the stage a name." in blank.content.decode()
    assert [s.name for s in _stages(ws)] == DEFAULT_NAMES


def test_the_owner_adds_a_stage_at_the_end(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)

    response = alice_client.post(
        "/settings/pipeline/", {"action": "add", "new-name": "Nurture", "new-outcome": "open"}
    )

    assert response.status_code == 302
    assert [s.name for s in _stages(ws)] == [*DEFAULT_NAMES, "Nurture"]


def test_the_owner_reorders_stages_with_up_and_down(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing, new = _stage(ws, "Showing"), _stage(ws, "New")

    alice_client.post("/settings/pipeline/", {"action": "up", "stage_id": showing.id})
    alice_client.post("/settings/pipeline/", {"action": "down", "stage_id": new.id})
    alice_client.post(
        "/settings/pipeline/", {"action": "up", "stage_id": _stage(ws, "Contacted").id}
    )
    alice_client.post("/settings/pipeline/", {"action": "down", "stage_id": _stage(ws, "Lost").id})

    stages = _stages(ws)
    assert [s.name for s in stages] == [
        "Contacted", "New", "Showing", "Qualified", "Under contract", "Closed", "Lost",
    ]  # fmt: skip
    assert [s.position for s in stages] == list(range(7))


@pytest.mark.parametrize(("count", "noun"), [(1, "contact"), (12, "contacts")])
def test_a_stage_that_contacts_are_in_cannot_be_deleted_and_the_owner_is_told_why(
    alice_client: Client, alice: Any, workspace_of: Any, count: int, noun: str
) -> None:
    ws = workspace_of(alice)
    showing = _stage(ws, "Showing")
    _contacts_in(ws, alice, showing, count)

    response = alice_client.post(
        "/settings/pipeline/", {"action": "delete", "stage_id": showing.id}, follow=True
    )

    message = f"Move the {count} {noun} in Showing to another stage first."
    assert message in response.content.decode()
    assert PipelineStage.objects.for_workspace(ws).filter(id=showing.id).exists()


def test_an_unused_stage_is_deleted_and_contacts_in_the_trash_move_to_the_first_stage(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing = _stage(ws, "Showing")
    (trashed,) = _contacts_in(ws, alice, showing, 1)
    trashed.deleted_at = timezone.now()
    trashed.save()

    response = alice_client.post(
        "/settings/pipeline/", {"action": "delete", "stage_id": showing.id}
    )

    assert response.status_code == 302
    assert "Showing" not in [s.name for s in _stages(ws)]
    trashed.refresh_from_db()
    assert trashed.stage.name == "New"


def test_the_last_stage_cannot_be_deleted(alice: Any, workspace_of: Any) -> None:
    ws = workspace_of(alice)
    *others, last = _stages(ws)
    for stage in others:
        stage_delete(stage=stage)

    with pytest.raises(SetupError, match=r"A pipeline needs at least one stage\."):
        stage_delete(stage=last)


def test_an_agent_sees_the_pipeline_read_only_and_cannot_change_it(
    bob_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    lost = _stage(ws, "Lost")

    page = bob_client.get("/settings/pipeline/")
    attempts = [
        bob_client.post("/settings/pipeline/", {"action": "delete", "stage_id": lost.id}),
        bob_client.post("/settings/pipeline/", {"action": "add", "new-name": "X", "new-outcome": "open"}),
        bob_client.post(
            "/settings/pipeline/",
            {"action": "save", "stage_id": lost.id, f"s{lost.id}-name": "Dead", f"s{lost.id}-outcome": "lost"},
        ),
    ]  # fmt: skip

    body = page.content.decode()
    assert page.status_code == 200
    assert "Only the workspace owner can change the pipeline." in body
    assert "Under contract" in body
    assert 'value="save"' not in body
    assert [r.status_code for r in attempts] == [403, 403, 403]
    assert [s.name for s in _stages(ws)] == DEFAULT_NAMES


@pytest.mark.promise("SEC-3")
def test_another_workspaces_stage_is_not_found(
    charlie_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    alices = _stage(workspace_of(alice), "Lost")

    responses = [
        charlie_client.post("/settings/pipeline/", {"action": action, "stage_id": alices.id})
        for action in ("delete", "up", "save")
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert [s.name for s in _stages(workspace_of(alice))] == DEFAULT_NAMES
    assert "Lost" in charlie_client.get("/settings/pipeline/").content.decode()


# --- deleting a stage that holds contacts: move them in the same step ----------------------------
def test_the_delete_of_a_stage_with_contacts_offers_the_other_stages_to_move_them_to(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing = _stage(ws, "Showing")
    _contacts_in(ws, alice, showing, 2)

    body = alice_client.get("/settings/pipeline/").content.decode()

    form = body.split(f'id="move-to-{showing.id}"')[1].split("</select>")[0]
    assert "Move its 2 contacts to" in body
    assert [n for n in DEFAULT_NAMES if f">{n}</option>" in form] == [
        n for n in DEFAULT_NAMES if n != "Showing"
    ]


def test_deleting_a_stage_moves_its_contacts_to_the_chosen_stage_and_logs_each_move(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing, qualified = _stage(ws, "Showing"), _stage(ws, "Qualified")
    leads = _contacts_in(ws, alice, showing, 3)
    (trashed,) = _contacts_in(ws, alice, showing, 1)
    Contact.objects.for_workspace(ws).filter(id=trashed.id).update(deleted_at=timezone.now())

    response = alice_client.post(
        "/settings/pipeline/",
        {"action": "delete", "stage_id": showing.id, "move_to": qualified.id},
        follow=True,
    )

    assert (
        "Deleted the stage Showing and moved 3 contacts to Qualified." in response.content.decode()
    )
    assert "Showing" not in [s.name for s in _stages(ws)]
    in_qualified = Contact.objects.for_workspace(ws).filter(stage=qualified)
    assert set(in_qualified.values_list("id", flat=True)) == {c.id for c in [*leads, trashed]}
    logged = Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.STAGE_CHANGED)
    assert sorted(logged.values_list("contact_id", flat=True)) == sorted(c.id for c in leads)
    assert set(logged.values_list("summary", "actor")) == {("Stage: Showing → Qualified", alice.id)}


def test_a_stage_cannot_be_deleted_into_itself_or_into_another_workspaces_stage(
    alice_client: Client, alice: Any, charlie: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing = _stage(ws, "Showing")
    leads = _contacts_in(ws, alice, showing, 2)
    charlies = _stage(workspace_of(charlie), "Qualified")

    attempts = [
        alice_client.post(
            "/settings/pipeline/",
            {"action": "delete", "stage_id": showing.id, "move_to": target},
            follow=True,
        ).content.decode()
        for target in (charlies.id, showing.id, "abc", "")
    ]

    assert "Choose one of your pipeline&#x27;s stages to move them to." in attempts[0]
    assert "Choose another stage than Showing to move its contacts to." in attempts[1]
    assert "Choose one of your pipeline&#x27;s stages to move them to." in attempts[2]
    assert "Move the 2 contacts in Showing to another stage first." in attempts[3]
    assert "Showing" in [s.name for s in _stages(ws)]
    assert set(Contact.objects.for_workspace(ws).values_list("stage_id", flat=True)) == {showing.id}
    assert not Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.STAGE_CHANGED).exists()
    assert len(leads) == 2


def test_the_service_refuses_a_target_of_another_workspace_or_the_stage_itself(
    alice: Any, charlie: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing = _stage(ws, "Showing")
    _contacts_in(ws, alice, showing, 1)

    with pytest.raises(SetupError, match="Choose one of your pipeline"):
        stage_delete(stage=showing, move_to=_stage(workspace_of(charlie), "New"), actor=alice)
    with pytest.raises(SetupError, match="Choose another stage than Showing"):
        stage_delete(stage=showing, move_to=showing, actor=alice)

    assert PipelineStage.objects.for_workspace(ws).filter(id=showing.id).exists()


def test_an_agent_cannot_delete_a_stage_by_moving_its_contacts(
    bob_client: Client, alice: Any, workspace_of: Any
) -> None:
    ws = workspace_of(alice)
    showing, new = _stage(ws, "Showing"), _stage(ws, "New")
    (lead,) = _contacts_in(ws, alice, showing, 1)

    response = bob_client.post(
        "/settings/pipeline/", {"action": "delete", "stage_id": showing.id, "move_to": new.id}
    )

    lead.refresh_from_db()
    assert response.status_code == 403
    assert lead.stage == showing
