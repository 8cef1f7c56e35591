"""Bulk actions on every contact matching the list's filter ("Select all N matching"): a
confirmation that states N, the filter evaluated again when the job runs and only ever within the
workspace, small sets in the request and large ones in the worker with a progress bar, failures
that stop visibly and resume on retry, stuck jobs found by the sweeper, and undo within 24 hours
for every action."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services
from contacts import tasks as contact_tasks
from contacts.bulk import services as bulk
from contacts.listing.services import ContactListQuery
from contacts.models import Activity, BulkJob, Contact, Tag
from tests.conftest import wait_for
from tests.contacts.conftest import add_contact, bulk_contacts, stage_named

pytestmark = pytest.mark.django_db

BULK = "/contacts/bulk/"


@pytest.fixture
def board(ws: Any) -> dict[str, list[Contact]]:
    """Four leads in Qualified (one already tagged Hot), two in New."""
    qualified = stage_named(ws, "Qualified")
    return {
        "qualified": [
            add_contact(ws, "Q", str(i), stage=qualified, tags=["Hot"] if i == 0 else [])
            for i in range(4)
        ],
        "new": [add_contact(ws, "N", str(i)) for i in range(2)],
    }


def matching(ws: Any, filter_params: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {"scope": "matching", "filter": urlencode(filter_params), **data}


def fresh(ws: Any, contact: Contact) -> Contact:
    return Contact.objects.for_workspace(ws).select_related("stage").get(id=contact.id)


def hot(ws: Any) -> set[str]:
    tagged = Contact.objects.for_workspace(ws).filter(tags__name="Hot", deleted_at=None)
    return {c.name for c in tagged}


def only_job(ws: Any) -> BulkJob:
    return BulkJob.objects.for_workspace(ws).get()


# --- confirmation --------------------------------------------------------------------------------
def test_the_confirmation_states_n_and_the_action_and_changes_nothing(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    qualified = stage_named(ws, "Qualified")

    response = alice_client.post(
        BULK, matching(ws, {"stage": qualified.id}, action="tag", tag=" Hot ")
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Add the tag “Hot” to all 4 contacts matching this filter?" in body
    assert "Yes, 4 contacts" in body
    assert f'name="filter" value="stage={qualified.id}"' in body
    assert hot(ws) == {"Q 0"}
    assert not BulkJob.objects.for_workspace(ws).exists()


@pytest.mark.parametrize(
    ("data", "question"),
    [
        ({"action": "untag", "tag": "Hot"}, "Remove the tag “Hot” from all 6 contacts matching"),
        ({"action": "delete"}, "Delete all 6 contacts matching this filter?"),
        ({"action": "assign", "assignee": "nobody"}, "Assign all 6 contacts matching this filter to nobody?"),
    ],
)  # fmt: skip
def test_every_action_is_named_in_its_confirmation(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], data: dict[str, str],
    question: str,
) -> None:  # fmt: skip
    response = alice_client.post(BULK, matching(ws, {}, **data))

    assert question in response.content.decode()


def test_a_confirmation_for_a_filter_nothing_matches_offers_no_button(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    response = alice_client.post(BULK, matching(ws, {"q": "nobody-by-this-name"}, action="delete"))

    body = response.content.decode()
    assert "No contact matches this filter any more." in body
    assert "Yes," not in body


# --- running inline ------------------------------------------------------------------------------
def test_a_small_set_runs_in_the_request_on_every_match_and_only_on_matches(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    qualified = stage_named(ws, "Qualified")
    data = matching(ws, {"stage": qualified.id}, action="tag", tag="Hot", confirmed="1")

    response = alice_client.post(BULK, {**data, "next": f"/contacts/?stage={qualified.id}"})

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/?stage={qualified.id}"
    assert hot(ws) == {"Q 0", "Q 1", "Q 2", "Q 3"}
    job = only_job(ws)
    assert (job.state, job.total, job.done, job.changed) == ("done", 4, 4, 3)
    flash = alice_client.get(response["Location"]).content.decode()
    assert "Tagged 3 contacts “Hot”." in flash
    assert f'action="/contacts/bulk/jobs/{job.id}/undo/"' in flash


def test_more_than_a_page_is_reached_and_the_list_offers_select_all_n_matching(
    alice_client: Client, ws: Any
) -> None:
    bulk_contacts(ws, [{"first_name": f"Lead{i:02d}", "source": "website"} for i in range(57)])
    bulk_contacts(ws, [{"first_name": "Walkin", "source": "open_house"}])

    page = alice_client.get("/contacts/", {"source": "website"}).content.decode()
    unfiltered = alice_client.get("/contacts/").content.decode()
    # A filtered list does not count its matches on every load; the confirmation states N.
    assert "Select all matching this filter" in page
    assert "Select all 58 matching" in unfiltered
    assert 'name="filter" value="source=website"' in page
    alice_client.post(
        BULK, matching(ws, {"source": "website"}, action="tag", tag="Web", confirmed="1")
    )

    tagged = Contact.objects.for_workspace(ws).filter(tags__name="Web")
    assert tagged.count() == 57
    assert not tagged.filter(first_name="Walkin").exists()


def test_a_single_page_of_matches_does_not_offer_select_all_matching(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    assert "matching</label>" not in alice_client.get("/contacts/").content.decode()


def test_the_filter_is_evaluated_again_when_the_job_runs(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    qualified = stage_named(ws, "Qualified")
    data = matching(ws, {"stage": qualified.id}, action="tag", tag="Hot")
    assert "all 4 contacts" in alice_client.post(BULK, data).content.decode()
    late = add_contact(ws, "Late", "Arrival", stage=qualified)
    services.contacts_delete(workspace=ws, ids=[board["qualified"][3].id], actor=None)

    alice_client.post(BULK, {**data, "confirmed": "1"})

    assert hot(ws) == {"Q 0", "Q 1", "Q 2", "Late Arrival"}
    assert fresh(ws, late).tags.count() == 1


def test_stage_changes_on_all_matching_are_logged_on_each_timeline(
    alice_client: Client, alice: Any, ws: Any, board: dict[str, list[Contact]]
) -> None:
    showing = stage_named(ws, "Showing")

    alice_client.post(BULK, matching(ws, {}, action="stage", stage=showing.id, confirmed="1"))

    entries = Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.STAGE_CHANGED)
    assert entries.count() == 6
    assert {e.summary for e in entries} == {"Stage: Qualified → Showing", "Stage: New → Showing"}
    assert {e.actor for e in entries} == {alice}


# --- another workspace ---------------------------------------------------------------------------
def test_a_filter_naming_another_workspaces_stage_is_refused_not_widened(
    charlie_client: Client, charlie: Any, workspace_of: Any, ws: Any,
    board: dict[str, list[Contact]],
) -> None:  # fmt: skip
    theirs = workspace_of(charlie)
    charlies = add_contact(theirs, "Charlies", "Lead")
    alices_stage = stage_named(ws, "Qualified")

    response = charlie_client.post(
        BULK,
        matching(ws, {"stage": alices_stage.id}, action="delete", confirmed="1"),
        follow=True,
    )

    assert "The list&#x27;s filters have changed since the page loaded" in response.content.decode()
    assert Contact.objects.for_workspace(theirs).get(id=charlies.id).deleted_at is None
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6
    assert not BulkJob.objects.for_workspace(theirs).exists()


def test_all_matching_in_another_workspace_never_reaches_alices_contacts(
    charlie_client: Client, charlie: Any, workspace_of: Any, ws: Any,
    board: dict[str, list[Contact]],
) -> None:  # fmt: skip
    theirs = workspace_of(charlie)
    charlies = add_contact(theirs, "Charlies", "Lead")
    ids = [c.id for c in board["qualified"]]

    charlie_client.post(BULK, {**matching(ws, {}, action="delete", confirmed="1"), "ids": ids})

    assert Contact.objects.for_workspace(theirs).get(id=charlies.id).deleted_at is not None
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6
    assert BulkJob.objects.for_workspace(theirs).get().total == 1


def test_a_stored_filter_with_another_workspaces_ids_matches_nothing_when_run(
    charlie: Any, workspace_of: Any, ws: Any, board: dict[str, list[Contact]]
) -> None:
    theirs = workspace_of(charlie)
    add_contact(theirs, "Charlies", "Lead")
    alices_tag = Tag.objects.for_workspace(ws).get(name="Hot")
    query = ContactListQuery(stage=stage_named(ws, "Qualified").id, tag=alices_tag.id)

    job = bulk.bulk_job_start(
        workspace=theirs, actor=charlie, action="delete", params={}, query=query
    )

    assert (job.state, job.total, job.changed) == ("done", 0, 0)
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6


def test_another_workspace_cannot_see_retry_or_undo_a_job(
    alice_client: Client, charlie_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    alice_client.post(BULK, matching(ws, {}, action="delete", confirmed="1"))
    job = only_job(ws)

    assert charlie_client.get(f"/contacts/bulk/jobs/{job.id}/").status_code == 404
    assert charlie_client.post(f"/contacts/bulk/jobs/{job.id}/undo/").status_code == 404
    assert charlie_client.post(f"/contacts/bulk/jobs/{job.id}/retry/").status_code == 404
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 0


# --- large sets: the worker, progress, failures, retry -------------------------------------------
@pytest.fixture
def small_inline(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 3
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)


def test_a_large_set_is_queued_for_the_worker_and_its_page_polls_until_done(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], small_inline: None,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as sent:
        response = alice_client.post(BULK, matching(ws, {}, action="tag", tag="Hot", confirmed="1"))
    job = only_job(ws)
    assert response["Location"] == f"/contacts/bulk/jobs/{job.id}/"
    assert len(sent) == 1
    assert (job.state, job.expected) == ("queued", 6)
    assert hot(ws) == {"Q 0"}
    queued = alice_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in queued
    assert "Starting shortly: 6 contacts matched." in queued

    contact_tasks.bulk_job_run(job.id, ws.id)  # what the worker runs

    job.refresh_from_db()
    assert (job.state, job.total, job.done, job.changed) == ("done", 6, 6, 5)
    assert len(hot(ws)) == 6
    done = alice_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done  # polling stops
    assert 'value="100"' in done
    assert "Tagged 5 contacts “Hot”." in done


@pytest.mark.worker
def test_a_real_worker_runs_a_large_set_sent_from_the_web(
    celery_worker: Any, alice_client: Client, ws: Any, settings: Any
) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 3  # read by the web side, which decides to queue
    bulk_contacts(ws, [{"first_name": f"Web{i}", "source": "website"} for i in range(6)])
    bulk_contacts(ws, [{"first_name": "Walkin", "source": "open_house"}])

    response = alice_client.post(
        BULK, matching(ws, {"source": "website"}, action="tag", tag="Worker", confirmed="1")
    )

    job = only_job(ws)
    assert response["Location"] == f"/contacts/bulk/jobs/{job.id}/"
    jobs = BulkJob.objects.for_workspace(ws)
    wait_for(lambda: jobs.get(id=job.id).state == "done", timeout=30)
    tagged = Contact.objects.for_workspace(ws).filter(tags__name="Worker")
    assert sorted(tagged.values_list("first_name", flat=True)) == [f"Web{i}" for i in range(6)]


def test_a_running_job_shows_its_progress(
    alice_client: Client, ws: Any, alice: Any, board: dict[str, list[Contact]]
) -> None:
    job = BulkJob.objects.create(
        workspace=ws, created_by=alice, action="tag", params={"tag": "x"}, state="running",
        total=8, done=2,
    )  # fmt: skip

    body = alice_client.get(f"/contacts/bulk/jobs/{job.id}/").content.decode()

    assert "2 of 8 contacts · 25%" in body
    assert 'value="25"' in body
    assert 'hx-trigger="every 1s"' in body


def test_a_failure_stops_the_job_visibly_and_a_retry_finishes_the_rest(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], small_inline: None,
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    real_tag = services.contacts_bulk_tag
    calls = []

    def flaky(**kwargs: Any) -> list[int]:
        calls.append(kwargs["ids"])
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_tag(**kwargs)

    monkeypatch.setattr(services, "contacts_bulk_tag", flaky)
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.post(BULK, matching(ws, {}, action="tag", tag="Warm", confirmed="1"))
    job = only_job(ws)
    contact_tasks.bulk_job_run(job.id, ws.id)

    job.refresh_from_db()
    assert (job.state, job.done, job.total) == ("failed", 2, 6)
    assert job.error == bulk.FAILED_UNEXPECTEDLY
    assert Contact.objects.for_workspace(ws).filter(tags__name="Warm").count() == 2
    page = alice_client.get(f"/contacts/bulk/jobs/{job.id}/").content.decode()
    assert "What was done so far is kept; retry to finish the rest." in page
    assert "2 of 6 contacts done before it stopped." in page
    assert "hx-trigger" not in page

    with django_capture_on_commit_callbacks(execute=False) as sent:
        alice_client.post(f"/contacts/bulk/jobs/{job.id}/retry/")
        alice_client.post(f"/contacts/bulk/jobs/{job.id}/retry/")  # a double click
    assert len(sent) == 1
    contact_tasks.bulk_job_run(job.id, ws.id)

    job.refresh_from_db()
    assert (job.state, job.done, job.changed, job.attempts) == ("done", 6, 6, 2)
    assert Contact.objects.for_workspace(ws).filter(tags__name="Warm").count() == 6
    assert calls[1] == calls[2]  # the retry began with the batch that failed
    assert len(job.undo) == 6


def test_a_stage_deleted_meanwhile_stops_the_job_with_a_clear_message(
    ws: Any,
    alice: Any,
    board: dict[str, list[Contact]],
    settings: Any,
) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 0
    lost = stage_named(ws, "Lost")
    job = bulk.bulk_job_start(
        workspace=ws, actor=alice, action="stage", params={"stage_id": lost.id},
        query=ContactListQuery(),
    )  # fmt: skip
    lost.delete()

    bulk.bulk_job_run(workspace_id=ws.id, bulk_job_id=job.id)

    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error == "The stage was deleted after the action started."


def test_a_second_delivery_of_the_task_does_nothing(
    ws: Any, alice: Any, board: dict[str, list[Contact]], settings: Any
) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 0
    job = bulk.bulk_job_start(
        workspace=ws, actor=alice, action="tag", params={"tag": "Once"}, query=ContactListQuery()
    )
    contact_tasks.bulk_job_run(job.id, ws.id)
    contact_tasks.bulk_job_run(job.id, ws.id)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.changed) == ("done", 1, 6)


# --- the sweeper ---------------------------------------------------------------------------------
def test_the_sweeper_stops_a_job_whose_worker_went_quiet_and_resends_lost_ones(
    ws: Any, alice: Any, board: dict[str, list[Contact]], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()

    def job(state: str, minutes_ago: int) -> BulkJob:
        return BulkJob.objects.create(
            workspace=ws, created_by=alice, action="tag", params={"tag": "x"}, state=state,
            heartbeat_at=now - timedelta(minutes=minutes_ago),
        )  # fmt: skip

    stuck, busy = job("running", 6), job("running", 1)
    lost, waiting = job("queued", 3), job("queued", 1)
    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(contact_tasks.bulk_job_run, "delay", lambda *a: sent.append(a))

    contact_tasks.bulk_jobs_sweep()
    contact_tasks.bulk_jobs_sweep()  # a second run right after re-sends nothing more

    states = dict(BulkJob.objects.for_workspace(ws).values_list("id", "state"))
    assert states == {
        stuck.id: "failed",
        busy.id: "running",
        lost.id: "queued",
        waiting.id: "queued",
    }
    stuck.refresh_from_db()
    assert stuck.error == bulk.STOPPED_QUIETLY
    assert sent == [(lost.id, ws.id)]


def test_a_stopped_jobs_worker_cannot_carry_on(
    ws: Any, alice: Any, board: dict[str, list[Contact]], settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings.CONTACT_BULK_INLINE_MAX = 0
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    job = bulk.bulk_job_start(
        workspace=ws, actor=alice, action="tag", params={"tag": "Slow"}, query=ContactListQuery()
    )
    real_tag = services.contacts_bulk_tag

    def sweeper_strikes(**kwargs: Any) -> list[int]:
        # The sweeper gives up on this attempt between two batches.
        BulkJob.objects.for_workspace(ws).filter(id=job.id).update(state="failed")
        return real_tag(**kwargs)

    monkeypatch.setattr(services, "contacts_bulk_tag", sweeper_strikes)
    bulk.bulk_job_run(workspace_id=ws.id, bulk_job_id=job.id)

    assert Contact.objects.for_workspace(ws).filter(tags__name="Slow").count() == 2


# --- undo ----------------------------------------------------------------------------------------
def run_all(client: Client, ws: Any, **data: Any) -> BulkJob:
    client.post(BULK, matching(ws, {}, confirmed="1", **data))
    return BulkJob.objects.for_workspace(ws).latest("id")


def undo(client: Client, job: BulkJob) -> Any:
    return client.post(f"/contacts/bulk/jobs/{job.id}/undo/", follow=True)


def test_undoing_a_delete_of_all_matching_restores_those_contacts(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    earlier = board["new"][0]
    services.contacts_delete(workspace=ws, ids=[earlier.id], actor=None)
    job = run_all(alice_client, ws, action="delete")
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 0
    flash = alice_client.get("/contacts/").content.decode()
    assert 'href="/contacts/deleted/">Recently deleted</a>' in flash

    response = undo(alice_client, job)

    assert "Undone: 5 contacts put back." in response.content.decode()
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 5
    assert fresh(ws, earlier).deleted_at is not None  # not deleted by this job
    restored = Activity.objects.for_workspace(ws).filter(kind=Activity.Kind.RESTORED)
    assert restored.count() == 5


def test_undoing_a_tag_takes_it_off_only_the_contacts_that_gained_it(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    job = run_all(alice_client, ws, action="tag", tag="hot")

    undo(alice_client, job)

    assert hot(ws) == {"Q 0"}


def test_undoing_an_untag_puts_the_tag_back(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    job = run_all(alice_client, ws, action="untag", tag="Hot")
    assert hot(ws) == set()

    undo(alice_client, job)

    assert hot(ws) == {"Q 0"}


def test_undoing_a_stage_change_moves_back_what_it_moved_and_logs_it(
    alice_client: Client, alice: Any, ws: Any, board: dict[str, list[Contact]]
) -> None:
    showing, lost = stage_named(ws, "Showing"), stage_named(ws, "Lost")
    job = run_all(alice_client, ws, action="stage", stage=showing.id)
    moved_on = board["new"][1]
    services.contacts_bulk_set_stage(workspace=ws, ids=[moved_on.id], stage=lost, actor=alice)

    undo(alice_client, job)

    assert {fresh(ws, c).stage.name for c in board["qualified"]} == {"Qualified"}
    assert fresh(ws, board["new"][0]).stage.name == "New"
    assert fresh(ws, moved_on).stage.name == "Lost"  # changed again since: left as it is
    back = Activity.objects.for_workspace(ws).filter(summary="Stage: Showing → Qualified")
    assert back.count() == 4


def test_undoing_an_assignment_gives_each_contact_back_to_its_previous_owner(
    alice_client: Client, alice: Any, bob: Any, ws: Any, board: dict[str, list[Contact]]
) -> None:
    services.contacts_bulk_assign(workspace=ws, ids=[board["new"][0].id], assignee=alice)
    job = run_all(alice_client, ws, action="assign", assignee=bob.id)
    assert {fresh(ws, c).assigned_to for c in board["qualified"]} == {bob}

    undo(alice_client, job)

    assert fresh(ws, board["new"][0]).assigned_to == alice
    assert {fresh(ws, c).assigned_to for c in board["qualified"]} == {None}


def test_undo_works_once_and_only_within_the_undo_window(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    first = run_all(alice_client, ws, action="tag", tag="Once")
    undo(alice_client, first)
    twice = undo(alice_client, first)
    assert "This can no longer be undone" in twice.content.decode()

    late = run_all(alice_client, ws, action="tag", tag="Late")
    later = timezone.now() + timedelta(hours=settings.CONTACT_UNDO_HOURS, minutes=1)
    with time_machine.travel(later):
        response = undo(alice_client, late)

    assert "This can no longer be undone" in response.content.decode()
    assert Contact.objects.for_workspace(ws).filter(tags__name="Late").count() == 6


def test_an_unfinished_job_cannot_be_undone(alice_client: Client, ws: Any, alice: Any) -> None:
    job = BulkJob.objects.create(
        workspace=ws, created_by=alice, action="delete", state="running", total=5, changed=2,
        undo={"1": None},
    )  # fmt: skip

    response = undo(alice_client, job)

    assert "This can no longer be undone" in response.content.decode()


# --- a large undo runs in the worker -------------------------------------------------------------
def test_a_large_undo_runs_in_the_worker_and_its_page_polls_until_done(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    job = run_all(alice_client, ws, action="tag", tag="hot")
    settings.CONTACT_BULK_INLINE_MAX = 3  # the job changed 5: too many to undo in the request
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = undo(alice_client, job)

    body = response.content.decode()
    assert "Undoing: putting 5 contacts back." in body
    assert "Undoing…" in body
    assert 'hx-trigger="every 1s"' in body
    assert hot(ws) == {"Q 0", "Q 1", "Q 2", "Q 3", "N 0", "N 1"}  # nothing put back yet
    assert len(callbacks) == 1
    contact_tasks.bulk_job_undo_run(job.id, ws.id, job.created_by_id)  # what the worker runs

    assert hot(ws) == {"Q 0"}
    job.refresh_from_db()
    assert (job.undo_state, job.undone_count) == ("done", 5)
    page = alice_client.get(f"/contacts/bulk/jobs/{job.id}/").content.decode()
    assert "5 contacts put back." in page
    assert 'hx-trigger="every 1s"' not in page
    assert "Undo</button>" not in page


def test_a_failed_undo_shows_why_and_a_retry_finishes_it(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], settings: Any,
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    job = run_all(alice_client, ws, action="stage", stage=stage_named(ws, "Showing").id)
    settings.CONTACT_BULK_INLINE_MAX = 3
    real_set_stage = services.contacts_bulk_set_stage
    calls: list[int] = []

    def flaky(**kwargs: Any) -> dict[int, int]:
        calls.append(1)
        if len(calls) == 2:  # one group went back, then the database went away
            raise RuntimeError("database went away")
        return real_set_stage(**kwargs)

    monkeypatch.setattr(services, "contacts_bulk_set_stage", flaky)
    with django_capture_on_commit_callbacks(execute=False):
        undo(alice_client, job)
    contact_tasks.bulk_job_undo_run(job.id, ws.id, job.created_by_id)

    job.refresh_from_db()
    assert job.undo_state == "failed"
    page = alice_client.get(f"/contacts/bulk/jobs/{job.id}/").content.decode()
    assert bulk.FAILED_UNEXPECTEDLY in page
    assert "Retry the undo" in page

    with django_capture_on_commit_callbacks(execute=False) as sent:
        alice_client.post(f"/contacts/bulk/jobs/{job.id}/undo/retry/")
        alice_client.post(f"/contacts/bulk/jobs/{job.id}/undo/retry/")  # a double click
    assert len(sent) == 1
    contact_tasks.bulk_job_undo_run(job.id, ws.id, job.created_by_id)

    job.refresh_from_db()
    assert job.undo_state == "done"
    assert {fresh(ws, c).stage.name for c in board["qualified"]} == {"Qualified"}
    assert {fresh(ws, c).stage.name for c in board["new"]} == {"New"}


def test_the_sweeper_fails_a_stuck_undo_and_resends_a_lost_one(
    ws: Any, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()

    def job(undo_state: str, minutes_ago: int) -> BulkJob:
        return BulkJob.objects.create(
            workspace=ws, created_by=alice, action="tag", params={"tag": "x"}, state="done",
            undo_state=undo_state, undone_at=now, heartbeat_at=now - timedelta(minutes=minutes_ago),
        )  # fmt: skip

    stuck, busy = job("running", 6), job("running", 1)
    lost, waiting = job("queued", 3), job("queued", 1)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(contact_tasks.bulk_job_undo_run, "delay", lambda *a: sent.append(a))

    contact_tasks.bulk_jobs_sweep()
    contact_tasks.bulk_jobs_sweep()

    states = dict(BulkJob.objects.for_workspace(ws).values_list("id", "undo_state"))
    assert states == {
        stuck.id: "failed",
        busy.id: "running",
        lost.id: "queued",
        waiting.id: "queued",
    }
    assert sent == [(lost.id, ws.id, alice.id)]


def test_another_workspace_cannot_retry_an_undo(
    alice_client: Client, charlie_client: Client, ws: Any, alice: Any
) -> None:
    job = BulkJob.objects.create(
        workspace=ws, created_by=alice, action="tag", params={"tag": "x"}, state="done",
        undo_state="failed", undone_at=timezone.now(),
    )  # fmt: skip

    response = charlie_client.post(f"/contacts/bulk/jobs/{job.id}/undo/retry/")

    assert response.status_code == 404
    job.refresh_from_db()
    assert job.undo_state == "failed"


# --- the list of bulk actions --------------------------------------------------------------------
def test_the_bulk_actions_page_lists_the_workspaces_jobs_newest_first_in_fixed_queries(
    alice_client: Client, charlie_client: Client, ws: Any, alice: Any, bob: Any
) -> None:
    showing = stage_named(ws, "Showing")

    def job(**fields: Any) -> BulkJob:
        return BulkJob.objects.create(workspace=ws, expected=12, **fields)

    job(created_by=alice, action="tag", params={"tag": "<b>Hot</b>"}, state="done")
    job(created_by=bob, action="stage", params={"stage_id": showing.id}, state="failed")
    alice_client.get("/contacts/bulk/jobs/")  # per-session lookups (the calendar banner) cached
    with CaptureQueriesContext(connection) as two:
        body = alice_client.get("/contacts/bulk/jobs/").content.decode()
    job(created_by=None, action="delete", state="done", undo_state="done")
    job(created_by=alice, action="stage", params={"stage_id": 999_999}, state="queued")
    with CaptureQueriesContext(connection) as four:
        more = alice_client.get("/contacts/bulk/jobs/").content.decode()

    assert len(four.captured_queries) == len(two.captured_queries)
    assert body.index("Move 12 contacts to Showing") < body.index("Tag 12 contacts “&lt;b&gt;Hot")
    assert "Stopped" in body
    assert "Move 12 contacts to a deleted stage" in more
    assert "Delete 12 contacts" in more
    assert "Undone" in more
    assert "Tag 12" not in charlie_client.get("/contacts/bulk/jobs/").content.decode()


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "filter_value", ["stage=abc", "stale=3", "sort=evil", "q=" + "x" * 101, "assignee=999999"]
)
def test_a_filter_the_list_could_not_have_sent_is_refused(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]], filter_value: str
) -> None:
    response = alice_client.post(
        BULK,
        {"scope": "matching", "filter": filter_value, "action": "delete", "confirmed": "1"},
        follow=True,
    )

    assert "filters have changed since the page loaded" in response.content.decode()
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6


def test_the_selected_ids_path_still_needs_a_selection(
    alice_client: Client, board: dict[str, list[Contact]]
) -> None:
    response = alice_client.post(BULK, {"action": "delete", "scope": ""}, follow=True)

    assert "Select at least one contact first." in response.content.decode()


def test_undoing_an_assignment_leaves_alone_contacts_whose_previous_owner_left(
    alice_client: Client, alice: Any, bob: Any, ws: Any, board: dict[str, list[Contact]]
) -> None:
    services.contacts_bulk_assign(workspace=ws, ids=[board["new"][0].id], assignee=bob)
    job = run_all(alice_client, ws, action="assign", assignee=alice.id)
    bob.memberships.all().delete()

    response = undo(alice_client, job)

    assert "Undone: 5 contacts put back." in response.content.decode()
    assert fresh(ws, board["new"][0]).assigned_to == alice


def test_a_mine_filter_whose_owner_is_gone_stops_the_job_instead_of_guessing(
    ws: Any, alice: Any, board: dict[str, list[Contact]], settings: Any
) -> None:
    settings.CONTACT_BULK_INLINE_MAX = 0
    services.contacts_bulk_assign(workspace=ws, ids=[board["new"][0].id], assignee=alice)
    job = bulk.bulk_job_start(
        workspace=ws, actor=alice, action="delete", params={},
        query=ContactListQuery(assignee="mine"),
    )  # fmt: skip
    assert job.state == "queued"
    BulkJob.objects.for_workspace(ws).filter(id=job.id).update(created_by=None)

    bulk.bulk_job_run(workspace_id=ws.id, bulk_job_id=job.id)

    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error == "The teammate who started this is no longer in the workspace."
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6


def test_an_oversized_filter_is_refused(
    alice_client: Client, ws: Any, board: dict[str, list[Contact]]
) -> None:
    response = alice_client.post(
        BULK,
        {"scope": "matching", "filter": "q=a&" * 501, "action": "delete", "confirmed": "1"},
        follow=True,
    )

    assert "at most 2000 characters" in response.content.decode()
    assert Contact.objects.for_workspace(ws).filter(deleted_at=None).count() == 6


def test_a_filtered_list_beyond_one_page_counts_nothing_on_load(
    alice_client: Client, ws: Any
) -> None:
    bulk_contacts(ws, [{"first_name": f"Lead{i:02d}", "source": "website"} for i in range(57)])
    alice_client.get("/contacts/", {"source": "website"})  # stage counts cached

    with CaptureQueriesContext(connection) as ctx:
        page = alice_client.get("/contacts/", {"source": "website"}).content.decode()

    assert "Select all matching this filter" in page
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"]]
    assert not [sql for sql in counts if 'FROM "contacts_contact"' in sql]
