"""Saved smart lists: "Save this list" keeps the validated query (search, filters, sort), the
sidebar shows the workspace's lists, opening one applies it, and only the workspace can delete
its lists."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from contacts.models import SavedList
from tests.contacts.conftest import add_contact, names_on_page, stage_named

pytestmark = pytest.mark.django_db

CREATE = "/contacts/lists/"


def saved(ws: Any) -> list[SavedList]:
    return list(SavedList.objects.for_workspace(ws).order_by("id"))


def test_saving_keeps_the_current_search_filters_and_sort(
    alice_client: Client, ws: Any, alice: Any
) -> None:
    qualified = stage_named(ws, "Qualified")

    response = alice_client.post(
        CREATE,
        {"name": "  Hot   buyers ", "q": "jane", "stage": qualified.id, "stale": "30",
         "follow_up": "on", "sort": "name"},
    )  # fmt: skip

    [hot] = saved(ws)
    assert hot.name == "Hot buyers"
    assert hot.owner == alice
    assert hot.query == {
        "q": "jane", "stage": str(qualified.id), "stale": "30", "follow_up": "1", "sort": "name",
    }  # fmt: skip
    assert response.status_code == 302
    assert response["Location"].startswith("/contacts/?q=jane&stage=")


def test_only_validated_parameters_are_stored(
    alice_client: Client, ws: Any, charlie: Any, workspace_of: Any
) -> None:
    theirs = stage_named(workspace_of(charlie), "New")

    alice_client.post(
        CREATE,
        {"name": "Odd", "q": "  two   words ", "stage": theirs.id, "stale": "3", "sort": "price",
         "cursor": "abc", "evil": "<script>", "assignee": "unassigned"},
    )  # fmt: skip

    [odd] = saved(ws)
    assert odd.query == {"q": "two words", "assignee": "unassigned"}


def test_a_list_needs_a_name(alice_client: Client, ws: Any) -> None:
    response = alice_client.post(CREATE, {"name": " ", "q": "jane"}, follow=True)

    assert "Give the list a name" in response.content.decode()
    assert saved(ws) == []


def test_the_sidebar_lists_the_workspaces_lists_and_opening_one_applies_it(
    alice_client: Client, ws: Any, bob: Any
) -> None:
    add_contact(ws, "Jane", "Doe", assigned_to=bob)
    add_contact(ws, "John", "Roe")
    alice_client.post(CREATE, {"name": "Bobs leads", "assignee": bob.id})

    body = alice_client.get("/contacts/").content.decode()

    assert "Bobs leads" in body
    link = f'href="/contacts/?assignee={bob.id}"'
    assert link in body
    assert names_on_page(alice_client, "/contacts/", assignee=bob.id) == ["Jane Doe"]


def test_a_teammate_sees_the_teams_lists(alice_client: Client, bob_client: Client, ws: Any) -> None:
    alice_client.post(CREATE, {"name": "Open house leads", "source": "open_house"})

    assert "Open house leads" in bob_client.get("/contacts/").content.decode()


def test_deleting_a_list_removes_it_and_no_contact(alice_client: Client, ws: Any) -> None:
    add_contact(ws, "Jane", "Doe")
    alice_client.post(CREATE, {"name": "Janes", "q": "jane"})
    [janes] = saved(ws)

    response = alice_client.post(f"/contacts/lists/{janes.id}/delete/", follow=True)

    assert saved(ws) == []
    assert "Deleted the list “Janes”" in response.content.decode()
    assert names_on_page(alice_client, "/contacts/") == ["Jane Doe"]


def test_another_workspace_cannot_delete_a_list(
    alice_client: Client, charlie_client: Client, ws: Any
) -> None:
    alice_client.post(CREATE, {"name": "Mine", "q": "jane"})
    [mine] = saved(ws)

    response = charlie_client.post(f"/contacts/lists/{mine.id}/delete/")

    assert response.status_code == 404
    assert saved(ws) == [mine]


def test_delete_only_accepts_post(alice_client: Client, ws: Any) -> None:
    alice_client.post(CREATE, {"name": "Mine", "q": "jane"})
    [mine] = saved(ws)

    assert alice_client.get(f"/contacts/lists/{mine.id}/delete/").status_code == 405
    assert alice_client.get(CREATE).status_code == 405
    assert saved(ws) == [mine]


def test_another_workspaces_lists_are_not_in_the_sidebar(
    alice_client: Client, charlie_client: Client, ws: Any
) -> None:
    alice_client.post(CREATE, {"name": "ALICE-ONLY", "q": "jane"})

    assert "ALICE-ONLY" not in charlie_client.get("/contacts/").content.decode()
