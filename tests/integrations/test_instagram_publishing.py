"""Publishing an image post or story from ALT (IG-8, EXTERNAL_APIS.md §3.8): compose, container
create, status polls once a minute by countdown, media_publish; Meta's errors in plain words."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from integrations.instagram import publishing
from integrations.instagram.client import InstagramError
from integrations.instagram.images import image_check, jpeg_dimensions, tiny_jpeg
from integrations.instagram.models import InstagramAccount, InstagramMedia, InstagramPost
from integrations.instagram.publishing import PostInput, post_create, post_publish_step
from integrations.instagram.tasks import instagram_post_publish, instagram_posts_sweep
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import Outbox, workspace_of

pytestmark = pytest.mark.django_db

PORTRAIT = tiny_jpeg(1080, 1350)  # 4:5, the tallest a feed post may be
CAPTION = "Open house Sunday 1-4 pm 🏡 #sandiego"


def compose(client: Client, **fields: Any) -> Any:
    data: dict[str, Any] = {"kind": "post", "caption": CAPTION, "action": "publish"}
    if "image_url" not in fields:
        data["image"] = SimpleUploadedFile("house.jpg", PORTRAIT, content_type="image/jpeg")
    return client.post("/settings/social/instagram/posts/new/", data | fields)


def the_post(account: InstagramAccount) -> InstagramPost:
    return InstagramPost.objects.for_workspace(account.workspace).get()


def step(post: InstagramPost) -> float | None:
    return post_publish_step(workspace_id=post.workspace_id, post_id=post.id, attempt=post.attempt)


def run_to_the_end(post: InstagramPost, traveller: Any, limit: int = 10) -> InstagramPost:
    """Take steps as the worker would, a countdown apart, until there is no next one."""
    for _ in range(limit):
        post.refresh_from_db()
        if post.state != InstagramPost.State.PUBLISHING:
            break
        if post.next_step_at is not None and post.next_step_at > timezone.now():
            traveller.shift((post.next_step_at - timezone.now()).total_seconds())
        step(post)
    post.refresh_from_db()
    return post


def workspace_owner(account: InstagramAccount) -> User:
    owner = account.connected_by
    assert owner is not None
    return owner


def create_post(account: InstagramAccount, author: User | None, **fields: Any) -> InstagramPost:
    data = PostInput(
        kind=fields.pop("kind", "post"),
        caption=fields.pop("caption", CAPTION),
        image=fields.pop("image", None),
        image_url=fields.pop("image_url", "https://cdn.example.com/house.jpg"),
    )
    post = post_create(
        workspace=account.workspace,
        author=author or workspace_owner(account),
        account=account,
        data=data,
        publish=True,
    )
    if author is None:
        InstagramPost.objects.for_workspace(account.workspace).filter(id=post.id).update(
            author=None
        )
    post.refresh_from_db()
    return post


@pytest.mark.promise("IG-8")
def test_a_composed_post_is_published_after_the_container_is_ready(
    alice_client: Client,
    ig_account: InstagramAccount,
    ig: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = compose(alice_client)

    assert response.status_code == 302
    post = the_post(ig_account)
    assert post.state == "publishing"
    assert outbox.names() == ["instagram_post_publish"]
    image_url = publishing.image_public_url(post)
    assert image_url.startswith("https://alt.example.com/webhooks/instagram/images/")
    # Meta can fetch the upload while it prepares the post.
    served = Client().get(image_url.removeprefix("https://alt.example.com"))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert served.content == PORTRAIT
    assert Client().head(image_url.removeprefix("https://alt.example.com")).status_code == 200

    with time_machine.travel(time.time(), tick=False) as traveller:
        assert step(post) == 60  # container created; first poll in a minute
        post = run_to_the_end(post, traveller)

    assert post.state == "published"
    assert post.error == ""
    # Exactly what Alice composed went out (IG-8): her caption, her image, nothing added.
    (create,) = ig.requests_to("POST", r"/media$")
    assert create.form() == {"image_url": image_url, "caption": CAPTION}
    assert [r.path.rsplit("/", 1)[-1] for r in ig.requests if r.method == "GET"] == [
        "content_publishing_limit", post.container_id, post.container_id,
    ]  # fmt: skip
    (publish,) = ig.requests_to("POST", r"/media_publish$")
    assert publish.form() == {"creation_id": post.container_id}
    media = InstagramMedia.objects.for_workspace(post.workspace).get()
    assert post.media == media
    assert ig.published[media.media_id].caption == CAPTION
    assert media.media_product_type == "FEED"
    # Published: Meta has copied the image, ALT stops serving it.
    assert Client().get(image_url.removeprefix("https://alt.example.com")).status_code == 404
    page = alice_client.get("/settings/social/instagram/posts/").content.decode()
    assert "Published" in page


def test_the_task_comes_back_by_countdown_instead_of_sleeping(
    ig_account: InstagramAccount, ig: InstagramEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = create_post(ig_account, ig_account.connected_by)
    sent: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(
        instagram_post_publish, "apply_async", lambda args, **options: sent.append((args, options))
    )

    started = time.monotonic()
    instagram_post_publish.run(post.workspace_id, post.id, post.attempt)

    assert time.monotonic() - started < 5
    assert sent == [((post.workspace_id, post.id, post.attempt), {"countdown": 60})]


def test_a_story_goes_out_as_stories_without_a_caption(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by, kind="story", caption="ignored")

    with time_machine.travel(time.time(), tick=False) as traveller:
        post = run_to_the_end(post, traveller)

    assert post.state == "published"
    create = ig.requests_to("POST", r"/media$")[-1]
    assert create.form() == {"image_url": post.image_url, "media_type": "STORIES"}
    assert post.media is not None
    assert post.media.media_product_type == "STORY"


def test_not_ready_at_publish_9007_keeps_polling(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by)
    ig.container_ready_after_polls = 0
    not_ready = {
        "error": {"message": "Media ID is not available", "type": "OAuthException",
                  "code": 9007, "error_subcode": 2207027, "is_transient": False}
    }  # fmt: skip
    ig.fail_next(400, not_ready, when=lambda r: r.path.endswith("/media_publish"))

    with time_machine.travel(time.time(), tick=False) as traveller:
        assert step(post) == 60
        traveller.shift(60)
        assert step(post) == 60  # FINISHED, but Meta said not ready: poll again
        post.refresh_from_db()
        assert (post.state, post.polls) == ("publishing", 1)
        traveller.shift(60)
        assert step(post) is None

    post.refresh_from_db()
    assert post.state == "published"
    assert len(ig.requests_to("POST", r"/media_publish$")) == 2


def test_a_bad_image_9004_fails_in_plain_words_and_retry_starts_again(
    alice_client: Client,
    ig_account: InstagramAccount,
    ig: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    post = create_post(ig_account, ig_account.connected_by, image_url="https://x.test/photo.png")

    assert step(post) is None

    post.refresh_from_db()
    assert post.state == "failed"
    assert "could not fetch the image, or it is not a JPEG" in post.error
    page = alice_client.get("/settings/social/instagram/posts/").content.decode()
    assert "could not fetch the image" in page
    assert f'action="/settings/social/instagram/posts/{post.id}/publish/"' in page
    assert ">Retry<" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/settings/social/instagram/posts/{post.id}/publish/")

    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.state, post.attempt, post.error) == ("publishing", 2, "")
    assert outbox.names()[-1] == "instagram_post_publish"
    # The first attempt's chain, should it still run, stops by itself.
    calls = len(ig.requests)
    assert post_publish_step(workspace_id=post.workspace_id, post_id=post.id, attempt=1) is None
    assert len(ig.requests) == calls
    post.refresh_from_db()
    assert (post.state, post.attempt) == ("publishing", 2)


def test_an_image_meta_rejects_while_processing_fails_the_post(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    ig.register_bad_image("https://cdn.example.com/broken.jpg", at_status=True)
    post = create_post(
        ig_account, ig_account.connected_by, image_url="https://cdn.example.com/broken.jpg"
    )

    with time_machine.travel(time.time(), tick=False) as traveller:
        post = run_to_the_end(post, traveller)

    assert post.state == "failed"
    assert post.error.startswith("Instagram could not process the image (Error:")
    assert ig.requests_to("POST", r"/media_publish$") == []


def test_a_full_quota_is_checked_before_any_container_is_made(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    ig.use_quota(ig_account.ig_user_id, 100)
    post = create_post(ig_account, ig_account.connected_by)

    assert step(post) is None

    post.refresh_from_db()
    assert post.state == "failed"
    assert "100 posts per 24 hours" in post.error
    assert ig.requests_to("POST", r"/media$") == []


def test_the_quota_filling_up_meanwhile_fails_at_publish(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by)

    with time_machine.travel(time.time(), tick=False) as traveller:
        step(post)
        ig.use_quota(ig_account.ig_user_id, 100)
        post = run_to_the_end(post, traveller)

    assert post.state == "failed"
    assert "100 posts per 24 hours" in post.error


def test_five_minutes_of_processing_is_the_limit(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    ig.container_ready_after_polls = 99
    post = create_post(ig_account, ig_account.connected_by)

    with time_machine.travel(time.time(), tick=False) as traveller:
        post = run_to_the_end(post, traveller)

    assert post.state == "failed"
    assert "still processing the image after 5 minutes" in post.error
    assert len(ig.requests_to("GET", rf"/{post.container_id}$")) == 5


def test_a_container_left_for_24_hours_has_expired(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by)

    with time_machine.travel(time.time(), tick=False) as traveller:
        step(post)
        traveller.shift(25 * 3600)  # the worker was down for a day
        assert step(post) is None

    post.refresh_from_db()
    assert post.state == "failed"
    assert "not published within 24 hours" in post.error


def test_a_duplicate_step_arriving_early_does_nothing(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by)

    with time_machine.travel(time.time(), tick=False):
        assert step(post) == 60
        calls = len(ig.requests)
        assert step(post) is None  # the sweeper's copy, or a redelivered message

    assert len(ig.requests) == calls


def test_a_transient_failure_is_retried_and_the_last_retry_fails_the_post(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, ig_account.connected_by)
    ig.fail_next(500, {"error": {"message": "An unknown error occurred", "code": 1}}, times=2)

    with pytest.raises(InstagramError) as raised:
        step(post)
    assert not raised.value.permanent
    post.refresh_from_db()
    assert (post.state, post.container_id) == ("publishing", "")

    instagram_post_publish.push_request(retries=8)
    try:
        instagram_post_publish.run(post.workspace_id, post.id, post.attempt)
    finally:
        instagram_post_publish.pop_request()

    post.refresh_from_db()
    assert post.state == "failed"
    assert "Nothing was published" in post.error


def test_a_dead_token_fails_the_post_and_marks_the_account(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    ig.revoke_tokens(ig_account.ig_user_id)
    post = create_post(ig_account, ig_account.connected_by)

    assert step(post) is None

    post.refresh_from_db()
    ig_account.refresh_from_db()
    assert post.state == "failed"
    assert "connect the account again" in post.error
    assert ig_account.status == "needs_reconnect"


@pytest.mark.promise("IG-8")
def test_a_post_whose_author_is_gone_is_never_published(
    ig_account: InstagramAccount, ig: InstagramEmulator
) -> None:
    post = create_post(ig_account, None)

    assert step(post) is None

    post.refresh_from_db()
    assert post.state == "failed"
    assert "no longer in the workspace" in post.error
    assert ig.requests == []


@pytest.mark.promise("IG-8")
def test_nothing_is_published_that_a_person_did_not_compose(
    alice_client: Client,
    charlie_client: Client,
    ig_account: InstagramAccount,
    ig: InstagramEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A draft is composed but not sent; another workspace's user posting the form publishes
    # nothing of Alice's; only Alice's own Publish sends it.
    with django_capture_on_commit_callbacks(execute=True):
        compose(alice_client, action="draft")
        compose(charlie_client)
    draft = the_post(ig_account)
    assert draft.state == "draft"
    assert outbox.names() == []
    assert (
        charlie_client.post(f"/settings/social/instagram/posts/{draft.id}/publish/").status_code
        == 404
    )
    outbox.drain()
    assert ig.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/settings/social/instagram/posts/{draft.id}/publish/")
    with time_machine.travel(time.time(), tick=False) as traveller:
        draft.refresh_from_db()
        post = run_to_the_end(draft, traveller)

    assert post.state == "published"
    assert [ig.published[m].caption for m in ig.published] == [CAPTION]


def test_the_sweeper_resends_a_lost_step_once(
    ig_account: InstagramAccount, ig: InstagramEmulator, outbox: Outbox
) -> None:
    post = create_post(ig_account, ig_account.connected_by)
    InstagramPost.objects.for_workspace(post.workspace).filter(id=post.id).update(
        next_step_at=timezone.now() - timedelta(minutes=3)
    )

    instagram_posts_sweep.run()
    instagram_posts_sweep.run()

    assert outbox.sent == [(instagram_post_publish, (post.workspace_id, post.id, post.attempt))]


def test_an_unknown_image_token_is_404(client: Client, ig_account: InstagramAccount) -> None:
    assert client.get("/webhooks/instagram/images/not-a-real-token.jpg").status_code == 404


def test_the_post_list_and_compose_page_without_an_account(alice_client: Client) -> None:
    listing = alice_client.get("/settings/social/instagram/posts/").content.decode()
    compose_page = alice_client.get("/settings/social/instagram/posts/new/")

    assert "Connect an Instagram professional account" in listing
    assert compose_page.status_code == 200
    assert "Connect an Instagram professional account" in compose_page.content.decode()
    assert compose(alice_client).status_code == 200
    assert not InstagramPost.objects.for_workspace(
        workspace_of(alice_client_user(alice_client))
    ).exists()


def alice_client_user(client: Client) -> User:
    return User.objects.get(id=client.session["_auth_user_id"])


# --- the compose form: what Instagram would refuse is refused here, in plain words ---------------
WIDE = tiny_jpeg(2000, 1000)  # 2:1, wider than 1.91:1
TALL = tiny_jpeg(1080, 1920)  # 9:16: a story, not a post
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"image": ("photo.png", PNG)}, "image", "This is a PNG image. Instagram accepts JPEG only"),
        ({"image": ("wide.jpg", WIDE)}, "image", "2000 x 1000 pixels, too wide"),
        ({"image": ("tall.jpg", TALL)}, "image", "too tall for an Instagram post"),
        ({"image": ("fake.jpg", b"\xff\xd8\xff" + b"not really")}, "image", "not a JPEG image"),
        ({"image": ("notes.jpg", b"hello")}, "image", "not a JPEG image"),
        ({"image": ("huge.jpg", PORTRAIT + b"\x00" * (8 * 1024 * 1024))}, "image", "up to 8 MB"),
        ({"image_url": "http://cdn.example.com/a.jpg"}, "image_url", "https only"),
        ({"image_url": "not a url"}, "image_url", "Enter a valid URL"),
        ({"image_url": ""}, "image", "Choose a JPEG image"),
        ({"image_url": "https://cdn.example.com/a.jpg", "image": ("a.jpg", PORTRAIT)}, "image_url", "not both"),
        ({"caption": "x" * 2201}, "caption", "at most 2200 characters"),
        ({"kind": "story", "image": ("tall.jpg", TALL)}, "caption", "stories carry no caption"),
    ],
)  # fmt: skip
def test_the_form_refuses_what_instagram_would(
    alice_client: Client,
    ig_account: InstagramAccount,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    data: dict[str, Any] = {"kind": "post", "caption": CAPTION, "action": "publish"}
    for name, value in fields.items():
        if name == "image":
            data["image"] = SimpleUploadedFile(value[0], value[1], content_type="image/jpeg")
        else:
            data[name] = value
    if "image" not in data and "image_url" not in fields:
        data["image"] = SimpleUploadedFile("house.jpg", PORTRAIT, content_type="image/jpeg")

    response = alice_client.post("/settings/social/instagram/posts/new/", data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not InstagramPost.objects.for_workspace(ig_account.workspace).exists()


def test_a_tall_image_is_fine_for_a_story_and_absurd_captions_are_stored_as_typed(
    alice_client: Client, ig_account: InstagramAccount, outbox: Outbox
) -> None:
    story = {"kind": "story", "caption": "", "action": "draft",
             "image": SimpleUploadedFile("tall.jpg", TALL, content_type="image/jpeg")}  # fmt: skip
    rtl = "\u05d1\u05d9\u05ea \u05dc\u05de\u05db\u05d9\u05e8\u05d4 " + "W" * 2180
    assert alice_client.post("/settings/social/instagram/posts/new/", story).status_code == 302
    assert compose(alice_client, caption=rtl, action="draft").status_code == 302

    captions = sorted(
        InstagramPost.objects.for_workspace(ig_account.workspace).values_list("caption", flat=True)
    )
    assert captions == ["", rtl]
    assert alice_client.get("/settings/social/instagram/posts/").status_code == 200


def test_jpeg_dimensions_come_from_the_frame_header() -> None:
    progressive = PORTRAIT.replace(b"\xff\xc0", b"\xff\xc2")

    assert jpeg_dimensions(PORTRAIT) == (1080, 1350)
    assert jpeg_dimensions(progressive) == (1080, 1350)
    assert jpeg_dimensions(PORTRAIT[:20]) is None
    assert jpeg_dimensions(b"") is None
    assert image_check(tiny_jpeg(1910, 1000), story=False).width == 1910
