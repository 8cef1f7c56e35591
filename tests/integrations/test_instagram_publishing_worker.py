"""Publishing through a real Celery worker and broker: the first step runs at once, the next
comes back by countdown (the worker never sleeps), and a step whose message is overdue is
re-sent by the sweeper and finishes the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alt.accounts.models import User
from integrations.instagram.models import InstagramAccount, InstagramPost
from integrations.instagram.publishing import PostInput, post_create
from integrations.instagram.tasks import instagram_posts_sweep
from integrations.sandbox.instagram import InstagramEmulator
from tests.conftest import wait_for, workspace_of


@pytest.mark.promise("IG-8")
def test_a_real_worker_publishes_by_countdown_and_the_sweeper(
    celery_worker: Any, ig: InstagramEmulator, alice: User
) -> None:
    remote = ig.add_account("sunset_realty")
    account = InstagramAccount.objects.create(
        workspace=workspace_of(alice), connected_by=alice, ig_user_id=remote.ig_user_id,
        username=remote.username, access_token=ig.issue_token(remote).value,
        connected_at=timezone.now(),
    )  # fmt: skip
    ig.container_ready_after_polls = 0

    post = post_create(
        workspace=account.workspace, author=alice, account=account,
        data=PostInput(kind="post", caption="Just listed", image_url="https://cdn.example.com/a.jpg"),
        publish=True,
    )  # fmt: skip

    def reloaded() -> InstagramPost:
        return InstagramPost.objects.for_workspace(account.workspace).get(id=post.id)

    created = wait_for(lambda: (p := reloaded()).container_id and p, timeout=30)
    assert created.state == "publishing"
    assert created.next_step_at is not None
    assert created.next_step_at > timezone.now() + timedelta(seconds=40)  # a countdown, ~60 s
    assert [r.form()["caption"] for r in ig.requests_to("POST", r"/media$")] == ["Just listed"]

    # Pretend the countdown message was lost: the sweeper re-sends the overdue step.
    InstagramPost.objects.for_workspace(account.workspace).filter(id=post.id).update(
        next_step_at=timezone.now() - timedelta(minutes=3)
    )
    instagram_posts_sweep.run()

    published = wait_for(lambda: (p := reloaded()).state == "published" and p, timeout=30)
    assert published.media_id is not None
    assert [m.caption for m in ig.published.values()] == ["Just listed"]
