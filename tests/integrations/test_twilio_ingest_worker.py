"""An inbound MMS through a real Celery worker: signed webhook -> stored event -> Redis -> worker
-> thread, lead and message -> the media job -> the picture fetched from Twilio and stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from contacts.models import Conversation, Message
from integrations.models import InboundEvent
from integrations.twilio_sms.models import SmsMedia, TwilioAccount
from tests.conftest import wait_for
from tests.integrations.twilio_wire_helpers import (
    PNG,
    THEIR_NUMBER,
    MediaHost,
    inbound,
    inbound_params,
)

pytestmark = pytest.mark.worker


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    with MediaHost() as host:  # on 127.0.0.1, a TWILIO_MEDIA_HOSTS entry of the worker too
        yield host


def test_a_real_worker_turns_a_signed_mms_into_a_lead_a_message_and_a_stored_picture(
    celery_worker: Any, sms_account: TwilioAccount, media_host: MediaHost, alice: Any
) -> None:
    workspace = sms_account.workspace
    url = media_host.serve("ME1", PNG, "image/png")
    params = inbound_params(
        "Here is the kitchen", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png"
    )

    first, retry = inbound(params), inbound(params)

    assert (first.status_code, retry.status_code) == (200, 200)
    stored = wait_for(lambda: SmsMedia.objects.for_workspace(workspace).first(), timeout=30)
    assert bytes(stored.data) == PNG
    message = Message.objects.for_workspace(workspace).get()
    assert (message.external_id, message.text) == (params["MessageSid"], "Here is the kitchen")
    conversation = Conversation.objects.for_workspace(workspace).get()
    assert conversation.party_id == THEIR_NUMBER
    assert conversation.contact is not None
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED
    client = Client()
    client.force_login(alice)
    page = client.get(f"/inbox/{conversation.id}/").content.decode()
    assert "Here is the kitchen" in page
    assert f'src="/sms/media/{stored.id}/"' in page
