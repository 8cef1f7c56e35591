"""The Instagram emulator's publishing and insights routes, spoken to over HTTP as Meta's API
(EXTERNAL_APIS.md §3.8, §3.9): the harsh behaviours ALT must handle."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import time_machine

from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram.core import Account, Token

V = "/v23.0"


@pytest.fixture(scope="module")
def server() -> Iterator[InstagramEmulator]:
    emulator = InstagramEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(server: InstagramEmulator) -> InstagramEmulator:
    server.reset()
    return server


@pytest.fixture
def account(emulator: InstagramEmulator) -> Account:
    return emulator.add_account("sunset_realty")


@pytest.fixture
def token(emulator: InstagramEmulator, account: Account) -> Token:
    return emulator.issue_token(account)


def call(
    emulator: InstagramEmulator, token: Token, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token.value}"}
    return httpx.request(method, emulator.base_url + V + path, headers=headers, **kwargs)


def create(emulator: InstagramEmulator, token: Token, **data: str) -> httpx.Response:
    return call(emulator, token, "POST", f"/{token.ig_user_id}/media", data=data)


def error_of(response: httpx.Response) -> tuple[int, int | None]:
    error = response.json()["error"]
    return error["code"], error.get("error_subcode")


def test_a_jpeg_container_is_in_progress_then_finished_then_published(
    emulator: InstagramEmulator, token: Token
) -> None:
    container = create(
        emulator, token, image_url="https://cdn.example.com/house.jpg", caption="Open house"
    ).json()["id"]

    statuses = [
        call(
            emulator, token, "GET", f"/{container}", params={"fields": "status_code,status"}
        ).json()["status_code"]
        for _ in range(3)
    ]
    published = call(
        emulator,
        token,
        "POST",
        f"/{token.ig_user_id}/media_publish",
        data={"creation_id": container},
    )

    assert statuses == ["IN_PROGRESS", "FINISHED", "FINISHED"]
    assert published.status_code == 200
    media_id = published.json()["id"]
    assert emulator.published[media_id].caption == "Open house"
    status = call(emulator, token, "GET", f"/{container}").json()["status_code"]
    assert status == "PUBLISHED"


def test_publishing_before_finished_is_9007_2207027_and_twice_is_refused(
    emulator: InstagramEmulator, token: Token
) -> None:
    container = create(emulator, token, image_url="https://cdn.example.com/a.jpeg").json()["id"]
    publish = f"/{token.ig_user_id}/media_publish"

    early = call(emulator, token, "POST", publish, data={"creation_id": container})
    emulator.container_ready_after_polls = 0
    first = call(emulator, token, "POST", publish, data={"creation_id": container})
    again = call(emulator, token, "POST", publish, data={"creation_id": container})

    assert early.status_code == 400
    assert error_of(early) == (9007, 2207027)
    assert early.json()["error"]["error_user_title"] == "Cannot publish"
    assert first.status_code == 200
    assert again.status_code == 400


@pytest.mark.parametrize(
    "image_url",
    ["https://cdn.example.com/house.png", "https://cdn.example.com/photo", "https://x.test/a.gif"],
)
def test_a_url_that_is_not_a_jpeg_is_refused_with_9004_2207052(
    emulator: InstagramEmulator, token: Token, image_url: str
) -> None:
    response = create(emulator, token, image_url=image_url)

    assert response.status_code == 400
    assert error_of(response) == (9004, 2207052)
    assert emulator.containers == {}


def test_registered_urls_count_as_jpeg_or_as_bad_images(
    emulator: InstagramEmulator, token: Token
) -> None:
    emulator.register_jpeg("https://alt.example.com/i/abc")
    emulator.register_bad_image("https://cdn.example.com/gone.jpg")
    emulator.register_bad_image("https://cdn.example.com/late.jpg", at_status=True)
    emulator.container_ready_after_polls = 0

    ok = create(emulator, token, image_url="https://alt.example.com/i/abc")
    gone = create(emulator, token, image_url="https://cdn.example.com/gone.jpg")
    late = create(emulator, token, image_url="https://cdn.example.com/late.jpg")
    late_status = call(emulator, token, "GET", f"/{late.json()['id']}").json()

    assert ok.status_code == 200
    assert error_of(gone) == (9004, 2207052)
    assert late.status_code == 200
    assert late_status["status_code"] == "ERROR"
    assert late_status["status"].startswith("Error:")


def test_a_story_container_and_a_caption_over_2200_characters(
    emulator: InstagramEmulator, token: Token
) -> None:
    story = create(emulator, token, image_url="https://cdn.example.com/s.jpg", media_type="STORIES")
    long = create(emulator, token, image_url="https://cdn.example.com/s.jpg", caption="x" * 2201)

    assert emulator.containers[story.json()["id"]].media_type == "STORIES"
    assert error_of(long)[0] == 100


def test_containers_expire_after_24_hours(emulator: InstagramEmulator, token: Token) -> None:
    with time_machine.travel(time.time(), tick=False) as traveller:
        container = create(emulator, token, image_url="https://cdn.example.com/a.jpg").json()["id"]
        traveller.shift(24 * 3600 + 1)
        status = call(emulator, token, "GET", f"/{container}").json()["status_code"]
        publish = call(
            emulator, token, "POST", f"/{token.ig_user_id}/media_publish",
            data={"creation_id": container},
        )  # fmt: skip

    assert status == "EXPIRED"
    assert error_of(publish) == (9007, 2207027)


def test_the_quota_is_100_posts_per_rolling_24_hours(
    emulator: InstagramEmulator, token: Token
) -> None:
    emulator.container_ready_after_polls = 0
    with time_machine.travel(time.time(), tick=False) as traveller:
        emulator.use_quota(token.ig_user_id, 100)
        limit = call(
            emulator, token, "GET", f"/{token.ig_user_id}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
        ).json()  # fmt: skip
        container = create(emulator, token, image_url="https://cdn.example.com/a.jpg").json()["id"]
        refused = call(
            emulator, token, "POST", f"/{token.ig_user_id}/media_publish",
            data={"creation_id": container},
        )  # fmt: skip
        traveller.shift(24 * 3600 + 1)
        later = call(
            emulator, token, "POST", f"/{token.ig_user_id}/media_publish",
            data={"creation_id": container},
        )  # fmt: skip

    assert limit == {
        "data": [{"quota_usage": 100, "config": {"quota_total": 100, "quota_duration": 86400}}]
    }
    assert error_of(refused) == (9, 2207042)
    # A day later the quota is back but the container expired with it.
    assert error_of(later) == (9007, 2207027)


def test_another_accounts_token_cannot_see_or_publish_a_container(
    emulator: InstagramEmulator, token: Token
) -> None:
    other = emulator.issue_token(emulator.add_account("other_realty"))
    emulator.container_ready_after_polls = 0
    container = create(emulator, token, image_url="https://cdn.example.com/a.jpg").json()["id"]

    seen = call(emulator, other, "GET", f"/{container}")
    published = call(
        emulator,
        other,
        "POST",
        f"/{other.ig_user_id}/media_publish",
        data={"creation_id": container},
    )
    wrong_path = create(emulator, other, image_url="https://cdn.example.com/a.jpg")
    posted_as = call(
        emulator, other, "POST", f"/{token.ig_user_id}/media", data={"image_url": "https://c/a.jpg"}
    )

    assert error_of(seen)[0] == 100
    assert error_of(published)[0] == 100
    assert wrong_path.status_code == 200
    assert error_of(posted_as)[0] == 100


def test_a_revoked_token_gets_190(emulator: InstagramEmulator, token: Token) -> None:
    emulator.revoke_tokens(token.ig_user_id)

    response = create(emulator, token, image_url="https://cdn.example.com/a.jpg")

    assert error_of(response) == (190, 458)


def test_account_insights_are_deterministic_totals_per_day(
    emulator: InstagramEmulator, token: Token
) -> None:
    params = {
        "metric": "reach,views,accounts_engaged",
        "period": "day",
        "metric_type": "total_value",
        "since": "1777593600",
        "until": "1777680000",
    }

    first = call(emulator, token, "GET", f"/{token.ig_user_id}/insights", params=params).json()
    second = call(emulator, token, "GET", f"/{token.ig_user_id}/insights", params=params).json()
    emulator.account_days_without_data.add(1777593600)
    empty = call(emulator, token, "GET", f"/{token.ig_user_id}/insights", params=params).json()

    assert [row["name"] for row in first["data"]] == ["reach", "views", "accounts_engaged"]
    assert all(isinstance(row["total_value"]["value"], int) for row in first["data"])
    assert first == second
    assert empty == {"data": []}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"metric": "reach,impressions"}, 100),  # deprecated since v22 (§3.9)
        ({"metric_type": ""}, 100),
        ({"since": "1770000000", "until": "1777680000"}, 100),  # more than 30 days
        ({"period": ""}, 100),
    ],
)
def test_account_insights_refuse_what_meta_refuses(
    emulator: InstagramEmulator, token: Token, changes: dict[str, str], code: int
) -> None:
    params = {
        "metric": "reach",
        "period": "day",
        "metric_type": "total_value",
        "since": "1777593600",
        "until": "1777680000",
    } | changes

    response = call(emulator, token, "GET", f"/{token.ig_user_id}/insights", params=params)

    assert error_of(response)[0] == code


def test_media_insights_data_no_data_and_not_enough_viewers(
    emulator: InstagramEmulator, token: Token
) -> None:
    post = emulator.add_published_media(token.ig_user_id)
    quiet = emulator.add_published_media(token.ig_user_id)
    fresh = emulator.add_published_media(token.ig_user_id)
    emulator.media_with_few_viewers.add(quiet)
    emulator.media_without_data.add(fresh)
    metric = {"metric": "reach,likes,comments,saved,shares,total_interactions,views"}

    data = call(emulator, token, "GET", f"/{post}/insights", params=metric).json()
    few = call(emulator, token, "GET", f"/{quiet}/insights", params=metric)
    none = call(emulator, token, "GET", f"/{fresh}/insights", params=metric).json()
    plays = call(emulator, token, "GET", f"/{post}/insights", params={"metric": "plays"})

    assert len(data["data"]) == 7
    assert data["data"][0]["values"][0]["value"] >= 10
    assert error_of(few) == (10, None)
    assert "Not enough viewers" in few.json()["error"]["message"]
    assert none == {"data": []}
    assert error_of(plays)[0] == 100


def test_story_insights_refuse_feed_only_metrics(emulator: InstagramEmulator, token: Token) -> None:
    story = emulator.add_published_media(token.ig_user_id, story=True)

    likes = call(emulator, token, "GET", f"/{story}/insights", params={"metric": "reach,likes"})
    ok = call(emulator, token, "GET", f"/{story}/insights", params={"metric": "reach,replies"})

    assert error_of(likes)[0] == 100
    assert ok.status_code == 200
