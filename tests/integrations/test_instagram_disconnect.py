"""Disconnect (IG-6) with its two choices, nothing preselected, and Meta's deauthorize and
data-deletion callbacks (IG-7) with their signed_request."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.models import Contact, Conversation, Message
from integrations.instagram.models import (
    InstagramAccount,
    InstagramComment,
    InstagramDailyInsight,
    InstagramDeletionRequest,
    InstagramMedia,
    InstagramPost,
)
from integrations.instagram.services import instagram_data_delete
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram.oauth import signed_request
from tests.conftest import Outbox, workspace_of
from tests.factories import create_contact
from tests.integrations.test_instagram_connect import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(
    alice: User,
    alice_client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> InstagramAccount:
    with django_capture_on_commit_callbacks(execute=True):
        connect(alice_client, instagram)
    outbox.drain()
    return InstagramAccount.objects.for_workspace(workspace_of(alice)).get()


def imported(account: InstagramAccount, *, threads: int = 2, per_thread: int = 3) -> Contact:
    """Threads, messages, a post with insights and comments, as the ingest stores them; and the
    contact a DM created."""
    ws = account.workspace
    contact = create_contact(workspace=ws, first_name="Mia")
    Contact.objects.for_workspace(ws).filter(id=contact.id).update(instagram_handle="mia.buys")
    for t in range(threads):
        conversation = Conversation.objects.create(
            workspace=ws, channel="instagram", channel_account=account.ig_user_id,
            party_id=f"9{t:016d}", party_handle="mia.buys", contact=contact,
        )  # fmt: skip
        for m in range(per_thread):
            Message.objects.create(
                workspace=ws, conversation=conversation, channel="instagram", direction="in",
                author="party", external_id=f"mid.{ws.id}.{t}.{m}", text="Is the house still for sale?",
                status="received",
            )  # fmt: skip
    media = InstagramMedia.objects.create(
        workspace=ws, account=account, media_id=f"179000000{ws.id:04d}0001", caption="Open house",
        insights={"reach": 120},
    )  # fmt: skip
    for c in range(2):
        InstagramComment.objects.create(
            workspace=ws, account=account, media=media, comment_id=f"1790000{ws.id:04d}0010{c}",
            text="Price?",
        )  # fmt: skip
    InstagramPost.objects.create(
        workspace=ws, account=account, author=None, caption="Just listed", state="published",
        image_url="https://cdn.example.com/house.jpg",
    )  # fmt: skip
    InstagramDailyInsight.objects.create(
        workspace=ws, account=account, date=date(2026, 11, 1), metrics={"reach": 99}
    )
    return contact


def counts(ws: Workspace) -> dict[str, int]:
    return {
        "conversations": Conversation.objects.for_workspace(ws).count(),
        "messages": Message.objects.for_workspace(ws).count(),
        "media": InstagramMedia.objects.for_workspace(ws).count(),
        "comments": InstagramComment.objects.for_workspace(ws).count(),
        "posts": InstagramPost.objects.for_workspace(ws).count(),
        "insights": InstagramDailyInsight.objects.for_workspace(ws).count(),
        "accounts": InstagramAccount.objects.for_workspace(ws).count(),
    }


def reload(account: InstagramAccount) -> InstagramAccount | None:
    return InstagramAccount.objects.for_workspace(account.workspace).filter(id=account.id).first()


@pytest.mark.promise("IG-6")
def test_the_dialog_offers_both_choices_with_nothing_preselected(
    alice_client: Client, account: InstagramAccount
) -> None:
    page = alice_client.get(f"/settings/social/instagram/{account.id}/disconnect/").content.decode()

    radios = re.findall(r"<input[^>]*type=\"radio\"[^>]*>", page)
    assert len(radios) == 2
    assert not any("checked" in radio for radio in radios)
    assert "Keep the conversation history" in page
    assert "Delete all imported Instagram data now" in page
    assert "Your contacts stay" in page


@pytest.mark.promise("IG-6")
def test_disconnecting_without_a_choice_is_a_form_error_and_changes_nothing(
    alice_client: Client, account: InstagramAccount
) -> None:
    imported(account)
    before = counts(account.workspace)

    response = alice_client.post(f"/settings/social/instagram/{account.id}/disconnect/", {})

    assert response.status_code == 400
    assert "Choose whether to keep the conversation history or delete it." in (
        response.content.decode()
    )
    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.CONNECTED
    assert str(fresh.access_token) == str(account.access_token)
    assert counts(account.workspace) == before


@pytest.mark.promise("IG-6")
def test_keep_erases_the_token_at_once_stops_ingestion_and_keeps_the_history(
    alice_client: Client, account: InstagramAccount
) -> None:
    imported(account)
    before = counts(account.workspace)

    response = alice_client.post(
        f"/settings/social/instagram/{account.id}/disconnect/", {"choice": "keep"}, follow=True
    )

    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.DISCONNECTED
    assert str(fresh.access_token) == ""
    assert fresh.disconnected_at is not None
    assert not InstagramAccount.objects.accepting_events(account.ig_user_id)
    assert counts(account.workspace) == before
    assert "the conversation history stays" in response.content.decode()
    assert "Connect Instagram" in response.content.decode()


@pytest.mark.promise("IG-6")
def test_delete_erases_the_token_and_all_imported_data_now_but_keeps_contacts(
    alice_client: Client, account: InstagramAccount, charlie: User
) -> None:
    contact = imported(account)
    other = workspace_of(charlie)
    # The same professional id in another workspace (connected there before, now history only).
    elsewhere = InstagramAccount.objects.create(
        workspace=other, ig_user_id=account.ig_user_id, status="disconnected"
    )
    imported(elsewhere, threads=1)
    before_other = counts(other)

    response = alice_client.post(
        f"/settings/social/instagram/{account.id}/disconnect/", {"choice": "delete"}, follow=True
    )

    assert counts(account.workspace) == {
        "conversations": 0, "messages": 0, "media": 0, "comments": 0, "posts": 0, "insights": 0,
        "accounts": 0,
    }  # fmt: skip
    assert not InstagramAccount.objects.accepting_events(account.ig_user_id)
    kept = Contact.objects.for_workspace(account.workspace).get(id=contact.id)
    assert kept.instagram_handle == "mia.buys"
    assert counts(other) == before_other
    assert "its imported data is being deleted" in response.content.decode()


def test_a_large_deletion_goes_in_batches_and_resumes(account: InstagramAccount) -> None:
    imported(account, threads=3, per_thread=4)
    InstagramAccount.objects.for_workspace(account.workspace).filter(id=account.id).update(
        status="disconnected", access_token=""
    )

    rounds = 1
    while not instagram_data_delete(
        workspace=account.workspace, ig_user_id=account.ig_user_id, batch_size=5
    ):
        rounds += 1

    assert rounds >= 4
    assert sum(counts(account.workspace).values()) == 0


def test_deletion_stops_if_the_account_was_connected_again(account: InstagramAccount) -> None:
    imported(account)
    before = counts(account.workspace)

    assert instagram_data_delete(workspace=account.workspace, ig_user_id=account.ig_user_id)
    assert counts(account.workspace) == before


def test_an_agent_cannot_disconnect_and_another_workspace_gets_404(
    account: InstagramAccount, bob_client: Client, charlie_client: Client
) -> None:
    url = f"/settings/social/instagram/{account.id}/disconnect/"

    assert bob_client.post(url, {"choice": "delete"}).status_code == 403
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url, {"choice": "delete"}).status_code == 404
    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.CONNECTED


# --- Meta's callbacks (IG-7) ---------------------------------------------------------------------
@pytest.mark.promise("IG-7")
@pytest.mark.parametrize("padded", [False, True])
def test_deauthorize_disconnects_keeping_history(
    client: Client, account: InstagramAccount, instagram: InstagramEmulator, padded: bool
) -> None:
    imported(account)
    before = counts(account.workspace)
    value = instagram.remove_app(instagram.account_named("sunset_realty"), padded=padded)
    if padded:
        assert "=" in value

    response = client.post("/webhooks/instagram/deauthorize/", {"signed_request": value})

    assert response.status_code == 200
    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.DISCONNECTED
    assert str(fresh.access_token) == ""
    assert counts(account.workspace) == before


@pytest.mark.promise("IG-7")
@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "abc.def",
        "signed-with-another-secret",
        "wrong-algorithm",
        "x" * 10_000 + "." + "y" * 10_000,
    ],
    ids=["empty", "garbage", "not-base64", "another-secret", "wrong-algorithm", "absurd"],
)
def test_callbacks_with_a_bad_signed_request_answer_403_and_change_nothing(
    client: Client, account: InstagramAccount, instagram: InstagramEmulator, value: str
) -> None:
    payload = {"algorithm": "HMAC-SHA256", "user_id": account.app_user_id, "issued_at": 1}
    if value == "signed-with-another-secret":
        value = signed_request(payload, "not-our-secret")
    elif value == "wrong-algorithm":
        value = signed_request(payload | {"algorithm": "HMAC-SHA1"}, instagram.app_secret)

    for path in ("/webhooks/instagram/deauthorize/", "/webhooks/instagram/data-deletion/"):
        response = client.post(path, {"signed_request": value})
        assert response.status_code == 403

    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.CONNECTED
    assert not InstagramDeletionRequest.objects.exists()


@pytest.mark.promise("IG-7")
def test_the_meta_app_secret_is_also_accepted_when_set(
    client: Client, account: InstagramAccount, settings: Any
) -> None:
    settings.META_APP_SECRET = "meta-app-secret"
    value = signed_request(
        {"algorithm": "hmac-sha256", "user_id": account.app_user_id}, "meta-app-secret"
    )

    response = client.post("/webhooks/instagram/deauthorize/", {"signed_request": value})

    assert response.status_code == 200
    fresh = reload(account)
    assert fresh is not None
    assert fresh.status == InstagramAccount.Status.DISCONNECTED


@pytest.mark.promise("IG-7")
@pytest.mark.parametrize("padded", [False, True])
def test_data_deletion_deletes_everything_and_answers_a_public_status_url_and_code(
    client: Client,
    account: InstagramAccount,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
    padded: bool,
) -> None:
    contact = imported(account)
    value = instagram.signed_request_for(instagram.account_named("sunset_realty"), padded=padded)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/webhooks/instagram/data-deletion/", {"signed_request": value})
    pending = Client().get(urlsplit(response.json()["url"]).path)
    outbox.drain()

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"url", "confirmation_code"}
    code = body["confirmation_code"]
    assert body["url"].endswith(f"/webhooks/instagram/data-deletion/{code}/")
    assert "In progress" in pending.content.decode()
    assert sum(counts(account.workspace).values()) == 0
    assert Contact.objects.for_workspace(account.workspace).filter(id=contact.id).exists()
    page = Client().get(f"/webhooks/instagram/data-deletion/{code}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Completed" in text
    for secret in ("sunset_realty", account.ig_user_id, account.app_user_id, "Alice"):
        assert secret not in text
    done = InstagramDeletionRequest.objects.get(confirmation_code=code)
    assert done.targets == []
    assert done.completed_at is not None


def test_an_unknown_or_absurd_deletion_code_is_404(db: None) -> None:
    assert Client().get("/webhooks/instagram/data-deletion/nope/").status_code == 404
    assert Client().get(f"/webhooks/instagram/data-deletion/{'9' * 10_000}/").status_code == 404


def test_data_deletion_for_an_unknown_user_still_answers_a_code(
    client: Client,
    instagram: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    value = signed_request({"algorithm": "HMAC-SHA256", "user_id": "123"}, instagram.app_secret)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/webhooks/instagram/data-deletion/", {"signed_request": value})
    outbox.drain()

    code = response.json()["confirmation_code"]
    deletion = InstagramDeletionRequest.objects.get(confirmation_code=code)
    assert deletion.status == InstagramDeletionRequest.Status.DONE
    assert deletion.requested_at <= timezone.now()
