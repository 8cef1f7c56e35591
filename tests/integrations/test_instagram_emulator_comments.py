"""The Instagram emulator's comment routes (EXTERNAL_APIS.md §3.7, §3.9, §3.10), driven over
plain HTTP as Meta would be, and through ALT's client where the shapes matter."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import time_machine

from integrations.instagram import client
from integrations.instagram.client import InstagramError
from integrations.sandbox.instagram.core import Comment, new_id


@pytest.fixture
def ig(instagram: Any) -> Any:
    account = instagram.add_account("sunset_realty")
    token = instagram.issue_token(account)
    return account, token.value


def _get(instagram: Any, path: str, token: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{instagram.base_url}/v23.0/{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )


def _comment(instagram: Any, account: Any, media: Any, text: str, **fields: Any) -> Comment:
    comment = Comment(
        comment_id=new_id(),
        ig_user_id=account.ig_user_id,
        media_id=media.media_id,
        from_id=fields.pop("from_id", new_id(16)),
        from_username=fields.pop("from_username", "some_customer"),
        text=text,
        **fields,
    )
    instagram.customer_commented(comment)
    return comment


def test_media_lists_newest_first_with_only_the_fields_asked_and_metas_timestamps(
    instagram: Any, ig: Any
) -> None:
    account, token = ig
    instagram.add_media(account, "Old listing", at=1_554_450_992.0)  # 2019-04-05T07:56:32Z
    instagram.add_media(account, "New listing")

    body = _get(instagram, f"{account.ig_user_id}/media", token, fields="caption,timestamp").json()

    assert [row["caption"] for row in body["data"]] == ["New listing", "Old listing"]
    assert body["data"][1]["timestamp"] == "2019-04-05T07:56:32+0000"
    assert set(body["data"][0]) == {"id", "caption", "timestamp"}


def test_media_pages_with_cursors_and_the_client_follows_them(instagram: Any, ig: Any) -> None:
    account, token = ig
    for i in range(5):
        instagram.add_media(account, f"Post {i}", at=1_700_000_000.0 + i)

    first = _get(instagram, "me/media", token, fields="caption", limit="2").json()
    items = client.recent_media(token=token, ig_user_id=account.ig_user_id, limit=4)

    assert len(first["data"]) == 2
    assert "next" in first["paging"]
    assert [m.caption for m in items] == ["Post 4", "Post 3", "Post 2", "Post 1"]
    assert items[0].posted_at is not None
    assert items[0].posted_at.year == 2023


def test_an_unknown_field_or_another_accounts_media_is_a_graph_error(
    instagram: Any, ig: Any
) -> None:
    _account, token = ig
    other = instagram.add_account("other_shop")
    their_post = instagram.add_media(other, "Theirs")

    unknown = _get(instagram, "me/media", token, fields="caption,like_count")
    theirs = _get(instagram, f"{their_post.media_id}/comments", token)

    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == 100
    assert theirs.json()["error"]["code"] == 100


def test_comments_list_top_level_comments_newest_first_and_from_when_asked(
    instagram: Any, ig: Any
) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    first = _comment(instagram, account, post, "Is it available?", at=time.time() - 60)
    _comment(instagram, account, post, "How much?")
    _comment(instagram, account, post, "a reply", parent_id=first.comment_id)

    default = _get(instagram, f"{post.media_id}/comments", token).json()
    items = client.media_comments(token=token, media_id=post.media_id)

    assert [row["text"] for row in default["data"]] == ["How much?", "Is it available?"]
    assert set(default["data"][0]) == {"id", "text", "timestamp"}
    assert [c.text for c in items] == ["How much?", "Is it available?"]
    assert items[1].from_id == first.from_id
    assert items[1].from_username == "some_customer"


@pytest.mark.parametrize("how", ["form", "query", "json"])
def test_a_public_reply_takes_message_as_form_query_or_json(
    instagram: Any, ig: Any, how: str
) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    comment = _comment(instagram, account, post, "How much?")
    url = f"{instagram.base_url}/v23.0/{comment.comment_id}/replies"
    headers = {"Authorization": f"Bearer {token}"}
    kwargs: dict[str, Any] = {
        "form": {"data": {"message": "Check your DMs! ✨"}},
        "query": {"params": {"message": "Check your DMs! ✨"}},
        "json": {"json": {"message": "Check your DMs! ✨"}},
    }[how]

    response = httpx.post(url, headers=headers, **kwargs)

    reply_id = response.json()["id"]
    assert instagram.comments[reply_id].text == "Check your DMs! ✨"
    assert instagram.comments[reply_id].parent_id == comment.comment_id
    assert instagram.comments[reply_id].from_id == account.ig_user_id


def test_a_reply_without_message_or_to_a_missing_comment_is_refused(
    instagram: Any, ig: Any
) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    comment = _comment(instagram, account, post, "How much?")

    with pytest.raises(InstagramError) as empty:
        client.comment_reply(token=token, comment_id=comment.comment_id, text="")
    with pytest.raises(InstagramError) as missing:
        client.comment_reply(token=token, comment_id="12345", text="Hi")

    assert empty.value.meta_code == 100
    assert missing.value.meta_code == 100


def test_hide_and_delete_answer_success_and_a_second_delete_is_not_found(
    instagram: Any, ig: Any
) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    comment = _comment(instagram, account, post, "spam")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{instagram.base_url}/v23.0/{comment.comment_id}"

    hidden = httpx.post(url, params={"hide": "true"}, headers=headers)
    assert hidden.json() == {"success": True}
    assert instagram.comments[comment.comment_id].hidden
    deleted = httpx.delete(url, headers=headers)
    again = httpx.delete(url, headers=headers)

    assert deleted.json() == {"success": True}
    assert again.json()["error"]["code"] == 100


def test_a_private_reply_goes_once_within_seven_days(instagram: Any, ig: Any) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    fresh = _comment(instagram, account, post, "Price?")
    with time_machine.travel(time.time() - 8 * 86400, tick=False):
        old = _comment(instagram, account, post, "Price?")

    sent = client.send_private_reply(
        token=token, ig_user_id=account.ig_user_id, comment_id=fresh.comment_id, text="Hi!"
    )
    with pytest.raises(InstagramError) as twice:
        client.send_private_reply(
            token=token, ig_user_id=account.ig_user_id, comment_id=fresh.comment_id, text="Hi!"
        )
    with pytest.raises(InstagramError) as late:
        client.send_private_reply(
            token=token, ig_user_id=account.ig_user_id, comment_id=old.comment_id, text="Hi!"
        )

    assert sent.message_id
    assert twice.value.meta_code == 10
    assert not twice.value.window_closed
    assert late.value.window_closed


def test_a_dead_token_is_190_on_every_comment_route(instagram: Any, ig: Any) -> None:
    account, token = ig
    post = instagram.add_media(account, "Listing")
    instagram.revoke_tokens(account.ig_user_id)

    with pytest.raises(InstagramError) as error:
        client.media_comments(token=token, media_id=post.media_id)

    assert error.value.needs_reconnect


@pytest.mark.parametrize(
    ("value", "year"),
    [
        ("2019-04-05T07:56:32+0000", 2019),
        ("9999-12-31T23:59:59+0000", 9999),
        ("0026-01-01T00:00:00+0000", 26),
        ("2019-04-05T07:56:32Z", 2019),  # ISO "Z" is read too
        ("05/04/2019 07:56", None),
        ("", None),
        (1554450992, None),
    ],
)
def test_metas_timestamps_parse_and_odd_ones_are_absent(value: Any, year: int | None) -> None:
    parsed = client.parse_graph_time(value)

    assert (parsed.year if parsed else None) == year
