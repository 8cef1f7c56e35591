"""Workspace names: line breaks and control characters are refused, accents and emoji are kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import Workspace

pytestmark = pytest.mark.django_db

ERROR = "Use one line of plain text: no line breaks, tabs or other control characters."


@pytest.mark.parametrize(
    "name",
    ["Alice\nRealty", "Alice\r\nBcc: x@example.com", "Alice\tRealty", "Alice\u2028Realty",
     "Alice\x1b[2JRealty", "Alice \u202eytlaeR"],
    ids=["newline", "header-injection", "tab", "line-separator", "escape", "bidi-override"],
)  # fmt: skip
def test_a_workspace_name_with_a_line_break_or_control_character_is_refused(
    alice_client: Client, alice: Any, workspace_of: Any, name: str
) -> None:
    response = alice_client.post("/settings/workspace/", {"name": name})

    assert response.status_code == 200
    assert ERROR in response.content.decode()
    assert workspace_of(alice).name == "Alice Realty"


def test_a_new_workspace_cannot_be_named_with_a_line_break(alice_client: Client) -> None:
    response = alice_client.post("/workspaces/new/", {"name": "Second\nOffice"})

    assert response.status_code == 200
    assert ERROR in response.content.decode()
    assert not Workspace.objects.filter(name__startswith="Second").exists()


def test_a_name_with_accents_and_emoji_is_kept(
    alice_client: Client, alice: Any, workspace_of: Any
) -> None:
    response = alice_client.post("/settings/workspace/", {"name": "Équipe Zoë 🏡"})

    assert response.status_code == 302
    assert workspace_of(alice).name == "Équipe Zoë 🏡"
