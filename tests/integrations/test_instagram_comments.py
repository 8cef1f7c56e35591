"""The comments page: posts with their comments, Refresh, public replies and the one private
reply a comment allows within 7 days (EXTERNAL_APIS.md §3.6, §3.7), IG-8 and isolation."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from contacts.models import Conversation, Message
from integrations.instagram import comments
from integrations.instagram.comments import ReplyRefused
from integrations.instagram.models import InstagramComment, InstagramMedia
from tests.conftest import Outbox
from tests.integrations.instagram_comments_helpers import (
    comment,
    connect,
    post,
    sent_private_replies,
)

pytestmark = pytest.mark.django_db
RTL = "\u05de\u05d4 \u05d4\u05de\u05d7\u05d9\u05e8?"  # Hebrew: "what is the price?"
LONG_WORD = "Supercalifragilisticexpialidocious" * 300


def _private(client: Client, row: InstagramComment, text: str = "Sent you the details!") -> Any:
    return client.post(f"/settings/social/comments/{row.id}/private-reply/", {"text": text})


def test_the_page_lists_posts_newest_first_with_their_comments_and_replies(
    alice: User, alice_client: Client, instagram: Any, django_assert_max_num_queries: Any
) -> None:
    account = connect(alice, instagram)
    older = post(account, instagram, "Older listing")
    InstagramMedia.objects.for_workspace(account.workspace).filter(id=older.id).update(
        posted_at=timezone.now() - timedelta(days=3)
    )
    newer = post(account, instagram, "Newer listing")
    first = comment(newer, instagram, "Is it available?", at=time.time() - 60)
    comment(newer, instagram, RTL)
    comment(older, instagram, LONG_WORD, username="long.word")
    InstagramComment.objects.create(
        workspace=account.workspace, account=account, media=newer, comment_id="999",
        parent_comment_id=first.comment_id, from_id=account.ig_user_id,
        from_username="sunset_realty", text="Yes it is!", is_ours=True,
    )  # fmt: skip

    with django_assert_max_num_queries(12):
        response = alice_client.get("/settings/social/comments/")

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("Newer listing") < page.index(RTL) < page.index("Is it available?")
    assert page.index("Is it available?") < page.index("Yes it is!") < page.index("Older listing")
    assert LONG_WORD in page
    assert page.count("Send a private reply") == 3


def test_without_an_account_the_page_says_to_connect_first(alice_client: Client) -> None:
    response = alice_client.get("/settings/social/comments/")

    assert "Connect your Instagram professional account" in response.content.decode()


def test_a_public_reply_is_posted_and_stored_as_ours(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "How many bedrooms?")

    response = alice_client.post(
        f"/settings/social/comments/{row.id}/reply/", {"text": "@maria.buys Three! ✨"}
    )

    assert response.status_code == 302
    [remote] = [c for c in instagram.comments.values() if c.parent_id == row.comment_id]
    assert remote.text == "@maria.buys Three! ✨"
    ours = InstagramComment.objects.for_workspace(account.workspace).get(
        comment_id=remote.comment_id
    )
    assert ours.is_ours
    assert ours.parent_comment_id == row.comment_id
    assert "Three! ✨" in alice_client.get("/settings/social/comments/").content.decode()


def test_a_private_reply_goes_once_and_is_recorded_in_the_inbox(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    assert _private(alice_client, row).status_code == 302
    second = _private(alice_client, row, "Again")

    [dm] = sent_private_replies(instagram)
    assert dm.text == "Sent you the details!"
    assert dm.tag == ""
    message = Message.objects.for_workspace(account.workspace).get()
    assert (message.direction, message.author, message.sent_by, message.status) == (
        "out", "person", alice, "sent"
    )  # fmt: skip
    assert message.external_id == dm.message_id
    assert message.conversation.party_id == row.from_id
    assert message.conversation.channel_account == account.ig_user_id
    row.refresh_from_db()
    assert row.private_reply_sent_at is not None
    assert row.private_reply_message == message
    assert second.status_code == 400
    assert "already sent" in second.content.decode()
    assert "Again" in second.content.decode()  # what was typed is kept
    page = alice_client.get("/settings/social/comments/").content.decode()
    assert "Private reply sent" in page
    assert "Send a private reply" not in page


def test_a_private_reply_after_seven_days_is_refused_before_meta_is_called(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        page = alice_client.get("/settings/social/comments/").content.decode()
        response = _private(alice_client, row)

    assert "Send a private reply" not in page
    assert "only within 7 days" in page
    assert response.status_code == 400
    assert "only within 7 days" in response.content.decode()
    assert instagram.requests_to("POST", r"/messages$") == []
    assert not Message.objects.for_workspace(account.workspace).exists()


def test_metas_refusal_is_explained_and_recorded(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")
    instagram.comments[row.comment_id].private_replied = True  # answered from the Instagram app

    response = _private(alice_client, row)

    assert response.status_code == 400
    assert "already has its private reply" in response.content.decode()
    message = Message.objects.for_workspace(account.workspace).get()
    assert message.status == "failed"
    row.refresh_from_db()
    assert row.private_reply_sent_at is not None  # Meta's record counts: no more attempts
    assert _private(alice_client, row).status_code == 400
    assert len(instagram.requests_to("POST", r"/messages$")) == 1


def test_metas_seven_day_clock_counts_when_ours_disagrees(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")
    instagram.comments[row.comment_id].at = time.time() - 8 * 86400

    response = _private(alice_client, row)

    assert response.status_code == 400
    assert "only within 7 days" in response.content.decode()
    row.refresh_from_db()
    assert row.private_reply_sent_at is None


def test_a_transient_failure_leaves_the_comment_answerable(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")
    instagram.fail_next(503, {"error": {"message": "Service unavailable", "code": 2}})

    failed = _private(alice_client, row)
    retried = _private(alice_client, row)

    assert failed.status_code == 400
    assert "try again" in failed.content.decode()
    assert retried.status_code == 302
    assert len(sent_private_replies(instagram)) == 1


def test_a_dead_token_marks_the_account_needs_reconnect(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")
    instagram.revoke_tokens(account.ig_user_id)

    response = alice_client.post(f"/settings/social/comments/{row.id}/reply/", {"text": "Hi"})

    assert response.status_code == 400
    account.refresh_from_db()
    assert account.status == "needs_reconnect"


def test_empty_and_absurd_replies_get_a_clear_error(
    alice: User, alice_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    empty = alice_client.post(f"/settings/social/comments/{row.id}/reply/", {"text": "  "})
    huge = _private(alice_client, row, LONG_WORD[:1001])

    assert empty.status_code == 400
    assert "Write the reply first." in empty.content.decode()
    assert huge.status_code == 400
    assert "at most 1000 characters" in huge.content.decode()
    assert instagram.requests_to("POST", r".") == []


@pytest.mark.promise("IG-8")
def test_nothing_goes_out_without_a_person_or_their_trigger(alice: User, instagram: Any) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    with pytest.raises(ReplyRefused):
        comments.comment_private_reply(comment=row, text="Hi")
    with pytest.raises(ReplyRefused):
        comments.comment_reply_public(comment=row, text="Hi")

    assert instagram.requests_to("POST", r".") == []
    assert not Message.objects.for_workspace(account.workspace).exists()


@pytest.mark.promise("IG-8")
def test_a_person_s_private_reply_is_theirs_and_carries_no_disclosure(
    alice: User, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    message = comments.comment_private_reply(comment=row, text="Hi Maria", sent_by=alice)

    assert (message.author, message.sent_by, message.text) == ("person", alice, "Hi Maria")


def test_another_workspaces_comment_is_a_404_and_nothing_is_sent(
    alice: User, charlie: User, charlie_client: Client, instagram: Any
) -> None:
    account = connect(alice, instagram)
    row = comment(post(account, instagram), instagram, "Price?")

    reply = charlie_client.post(f"/settings/social/comments/{row.id}/reply/", {"text": "Hi"})
    private = _private(charlie_client, row)
    page = charlie_client.get("/settings/social/comments/").content.decode()

    assert (reply.status_code, private.status_code) == (404, 404)
    assert "Price?" not in page
    assert instagram.requests_to("POST", r".") == []


def test_refresh_fetches_recent_posts_and_their_comments_once(
    alice: User, alice_client: Client, instagram: Any, outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    account = connect(alice, instagram)
    remote_account = instagram.accounts[account.ig_user_id]
    listing = instagram.add_media(remote_account, "Fresh listing 🏡")
    from integrations.sandbox.instagram.core import Comment

    instagram.customer_commented(
        Comment(comment_id="1789", ig_user_id=account.ig_user_id, media_id=listing.media_id,
                from_id="555", from_username="ana", text="Open house?")
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/settings/social/comments/refresh/")
    outbox.drain()
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post("/settings/social/comments/refresh/")
    outbox.drain()

    assert response.status_code == 302
    media = InstagramMedia.objects.for_workspace(account.workspace).get()
    assert media.caption == "Fresh listing 🏡"
    stored = InstagramComment.objects.for_workspace(account.workspace).get()
    assert (stored.comment_id, stored.from_id, stored.media) == ("1789", "555", media)
    assert not Conversation.objects.for_workspace(account.workspace).exists()
