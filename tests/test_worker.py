"""Background work really runs: a web request sends a task through Redis to a real Celery worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from alt.accounts.models import Invite
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_an_invite_posted_on_the_web_is_emailed_by_a_real_worker(
    celery_worker: Any, resend: Any, alice: Any
) -> None:
    assert not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    client = Client()
    client.force_login(alice)

    response = client.post(
        "/settings/workspace/invites/", {"email": "dora@example.com", "role": "agent"}
    )

    assert response.status_code == 302
    [email] = wait_for(lambda: resend.sent_to("dora@example.com"), timeout=30)
    assert "Alice Realty" in email["subject"]
    invite = Invite.objects.get(email="dora@example.com")
    assert "/invites/" in email["text"]
    assert invite.token_hash not in email["text"]
    post = resend.requests_to("POST", r"^/emails$")[-1]
    assert post.headers["authorization"] == "Bearer re_test_key_123"
