"""The webhook recipe (integrations/webhooks.py), proven with the test-only provider of
tests/testapp before Instagram, Twilio, Stripe and Resend use it: verify the signature on the raw
body, store once, answer 200 at once, process once in the worker."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from alt.lib.errors import IntegrationError
from integrations import webhooks
from integrations.models import InboundEvent
from integrations.sandbox.webhooks import deliver
from tests.conftest import Outbox, wait_for
from tests.testapp import webhooks as provider
from tests.testapp.models import WebhookDelivery

URL = "/webhooks/test/"


@pytest.fixture(autouse=True)
def _test_provider_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.testapp.urls"


def body(**payload: Any) -> bytes:
    return json.dumps({"id": "evt_1", "text": "Hi, is this available?", **payload}).encode()


def post(raw: bytes, signer: Any = None) -> Any:
    headers = (signer or provider.signer())(raw, "http://testserver" + URL)
    return Client().post(URL, raw, content_type="application/json", headers=headers)


def process_all() -> None:
    for event_id in InboundEvent.objects.order_by("id").values_list("id", flat=True):
        webhooks.inbound_event_process(event_id=event_id)


@pytest.mark.django_db
@pytest.mark.promise("SEC-4")
def test_a_signed_delivery_is_stored_once_and_its_processing_sent_on_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(body())

    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.provider, event.external_id, event.status) == (
        "testprovider",
        "evt_1",
        "received",
    )
    assert bytes(event.body) == body()
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_processing_runs_once_and_a_replay_is_a_no_op(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(body())
        process_all()
        replay = post(body())
        process_all()

    assert replay.status_code == 200
    assert InboundEvent.objects.count() == 1
    assert len(callbacks) == 1  # the replay sent no second job
    event = InboundEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 1)
    assert event.processed_at is not None
    assert WebhookDelivery.objects.get().times_processed == 1


@pytest.mark.django_db
@pytest.mark.promise("SEC-4")
@pytest.mark.parametrize(
    "signer",
    [provider.signer("someone-elses-secret"), lambda raw, url: {}],
    ids=["wrong secret", "no signature"],
)
def test_a_forged_delivery_is_403_and_stored_nowhere(signer: Any) -> None:
    before = webhooks.signature_failures("testprovider")

    response = post(body(), signer)

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert webhooks.signature_failures("testprovider") == before + 1


@pytest.mark.django_db
@pytest.mark.promise("SEC-4")
def test_a_body_changed_after_signing_is_403() -> None:
    headers = provider.signer()(body(), URL)

    response = Client().post(
        URL, body(text="tampered"), content_type="application/json", headers=headers
    )

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"text": "no id"}', b'{"id": ""}'])
def test_a_malformed_signed_delivery_is_400_and_stored_nowhere(raw: bytes) -> None:
    response = post(raw)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_a_delivery_the_provider_says_to_drop_is_200_and_stored_nowhere() -> None:
    response = post(body(account="disconnected"))

    assert response.status_code == 200
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_the_endpoint_only_takes_post() -> None:
    assert Client().get(URL).status_code == 405


@pytest.mark.django_db
def test_a_transient_failure_is_retried_then_given_up_for_a_person(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        post(body(fail="transient"))
    event = InboundEvent.objects.get()

    with pytest.raises(IntegrationError):
        webhooks.inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("received", 1)
    assert "provider busy" in event.last_error
    # The provider's own writes of the failed attempt were rolled back with it.
    assert not WebhookDelivery.objects.exists()

    assert event.process_after is not None
    assert event.process_after > timezone.now()
    webhooks.inbound_event_process(event_id=event.id)  # backing off: not claimed yet
    event.refresh_from_db()
    assert event.attempts == 1

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(webhooks.MAX_ATTEMPTS - 1):
            clock.shift(timedelta(minutes=11))  # beyond the longest backoff
            with contextlib.suppress(IntegrationError):
                webhooks.inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    webhooks.inbound_event_process(event_id=event.id)  # failed: left alone
    event.refresh_from_db()
    assert event.attempts == webhooks.MAX_ATTEMPTS


@pytest.mark.django_db
def test_a_permanent_failure_is_visible_and_can_be_sent_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        post(body(fail="permanent"))
    event = InboundEvent.objects.get()

    webhooks.inbound_event_process(event_id=event.id)
    event.refresh_from_db()
    assert event.status == "failed"
    assert "unknown account" in event.last_error

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert webhooks.inbound_event_retry(event_id=event.id)
        assert not webhooks.inbound_event_retry(event_id=event.id)  # already back in line
    event.refresh_from_db()
    assert event.status == "received"
    assert len(callbacks) == 1


@pytest.fixture
def prepared() -> Any:
    provider.prepared.clear()
    return provider.prepared


@pytest.mark.django_db
def test_deliveries_send_one_drain_while_one_is_pending_and_again_once_it_started(
    outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            assert post(body(id=f"evt_{n}")).status_code == 200
    assert outbox.names() == ["inbound_events_drain"]

    outbox.drain()
    with django_capture_on_commit_callbacks(execute=True):
        post(body(id="evt_after"))

    assert outbox.names() == ["inbound_events_drain"]
    assert InboundEvent.objects.filter(status="processed").count() == 3


@pytest.mark.django_db
def test_a_drain_processes_batches_and_a_bad_delivery_fails_alone(
    django_capture_on_commit_callbacks: Any, prepared: list[int]
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        for n in range(4):
            post(body(id=f"evt_{n}"))
        post(body(id="evt_bad", fail="permanent"))
        post(body(id="evt_busy", fail="transient"))

    with django_capture_on_commit_callbacks(execute=False) as later:
        assert webhooks.inbound_events_drain(batch=4) == 5

    assert prepared == [4, 2]
    statuses = dict(InboundEvent.objects.values_list("external_id", "status"))
    assert statuses == {
        **{f"evt_{n}": "processed" for n in range(4)},
        "evt_bad": "failed",
        "evt_busy": "received",
    }
    assert sorted(WebhookDelivery.objects.values_list("external_id", flat=True)) == [
        f"evt_{n}" for n in range(4)
    ]
    busy = InboundEvent.objects.get(external_id="evt_busy")
    assert busy.process_after is not None
    assert busy.process_after > timezone.now()
    assert len(later) == 1  # the drain sent for the end of its backoff
    assert webhooks.inbound_events_drain() == 0  # backing off


@pytest.mark.django_db
def test_a_batch_whose_shared_work_fails_is_processed_one_by_one(prepared: list[int]) -> None:
    for n in range(2):
        post(body(id=f"evt_{n}"))
    post(body(id="evt_odd", fail="prepare"))

    webhooks.inbound_events_drain()

    assert prepared == [3]
    assert InboundEvent.objects.filter(status="processed").count() == 3
    assert WebhookDelivery.objects.count() == 3


@pytest.mark.django_db
def test_a_claim_whose_worker_died_is_claimed_again_when_its_lease_ends() -> None:
    post(body(id="evt_1"))
    [claimed] = webhooks._claim(limit=10)  # a worker claims it, then dies
    assert claimed.attempts == 1

    assert webhooks.inbound_events_drain() == 0
    assert webhooks.inbound_events_waiting() == []
    with time_machine.travel(timezone.now() + webhooks.DRAIN_LEASE + timedelta(seconds=1)):
        assert webhooks.inbound_events_waiting() == [claimed.id]  # the sweeper sends a drain
        assert webhooks.inbound_events_drain() == 1

    event = InboundEvent.objects.get()
    assert (event.status, event.attempts) == ("processed", 2)
    assert WebhookDelivery.objects.get().times_processed == 1


@pytest.mark.django_db
def test_a_delivery_that_kills_its_worker_every_time_is_given_up() -> None:
    post(body(id="evt_1"))
    InboundEvent.objects.update(attempts=webhooks.MAX_ATTEMPTS)

    webhooks.inbound_events_drain()

    event = InboundEvent.objects.get()
    assert event.status == "failed"
    assert "worker was lost" in event.last_error
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_the_sweeper_finds_deliveries_whose_job_was_lost(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        post(body(id="evt_old"))
        post(body(id="evt_new"))
    InboundEvent.objects.filter(external_id="evt_old").update(
        received_at=timezone.now() - timedelta(minutes=10)
    )

    waiting = webhooks.inbound_events_waiting()

    assert waiting == [InboundEvent.objects.get(external_id="evt_old").id]


@pytest.mark.worker
def test_over_http_a_real_worker_processes_each_delivery_once(
    celery_worker: Any, live_server: Any
) -> None:
    url = live_server.url + URL
    raws = [body(id=f"evt_{n}", text=f"message {n}") for n in range(5)]

    answers = [deliver(url, raw, provider.signer()).status_code for raw in raws + raws[:2]]
    forged = deliver(url, body(id="evt_forged"), None)

    assert answers == [200] * 7
    assert forged.status_code == 403
    wait_for(
        lambda: (
            WebhookDelivery.objects.count() == 5
            and not InboundEvent.objects.filter(status="received").exists()
        )
    )
    assert sorted(WebhookDelivery.objects.values_list("external_id", "times_processed")) == [
        (f"evt_{n}", 1) for n in range(5)
    ]
    assert InboundEvent.objects.filter(status="processed").count() == 5


@pytest.mark.django_db
def test_a_delivery_skips_the_page_middleware_but_keeps_request_id_https_and_csp(
    settings: Any,
) -> None:
    response = post(body())

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session")  # sessions, auth, messages, workspace: not run
    assert not hasattr(request, "user")
    assert "X-Frame-Options" not in response
    assert len(response["X-Request-ID"]) >= 8
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    settings.SECURE_SSL_REDIRECT = True
    assert post(body(id="evt_2")).status_code == 301


@pytest.mark.django_db
def test_a_page_under_the_webhook_prefix_still_takes_the_page_middleware(client: Client) -> None:
    response = client.get("/webhooks/instagram/data-deletion/no-such-code/")

    assert hasattr(response.wsgi_request, "session")
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_drains_run_in_their_slots_only_and_hand_over_what_is_left(
    outbox: Outbox, django_capture_on_commit_callbacks: Any
) -> None:
    import psycopg
    from django.db import connection

    with django_capture_on_commit_callbacks(execute=False):
        post(body(id="evt_1"))
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:  # other workers' drains
        for slot in range(webhooks.DRAIN_SLOTS):
            other.execute("SELECT pg_advisory_lock(%s)", [webhooks._DRAIN_LOCK + slot])
        assert webhooks.inbound_events_drain() == 0
        assert InboundEvent.objects.get().status == "received"

    assert webhooks.inbound_events_drain(seconds=0) == 0  # its time is up at once
    assert outbox.names() == ["inbound_events_drain"]  # so it sends the next one
    assert webhooks.inbound_events_drain() == 1
    assert InboundEvent.objects.get().status == "processed"


@pytest.mark.django_db
def test_a_store_condition_is_checked_by_the_insert_and_tells_a_refusal_from_a_duplicate() -> None:
    holds = webhooks.StoreCondition("%s = 1", [1])
    fails = webhooks.StoreCondition("%s = 1", [2])

    first = webhooks.inbound_event_store(
        provider="testprovider", external_id="evt_1", body=b"{}", condition=holds
    )
    again = webhooks.inbound_event_store(
        provider="testprovider", external_id="evt_1", body=b"{}", condition=holds
    )
    with pytest.raises(webhooks.StoreRefused):
        webhooks.inbound_event_store(
            provider="testprovider", external_id="evt_2", body=b"{}", condition=fails
        )

    assert first == InboundEvent.objects.get().id
    assert again is None
    assert list(InboundEvent.objects.values_list("external_id", flat=True)) == ["evt_1"]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_a_dead_persistent_connection_is_received_on_a_new_one(
    outbox: Outbox,
) -> None:
    import psycopg
    from django.db import close_old_connections, connection

    connection.ensure_connection()
    close_old_connections()  # a request starts: the health check is due
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:  # e.g. a database restart
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    response = post(body(id="evt_after_restart"))

    assert response.status_code == 200
    assert InboundEvent.objects.filter(external_id="evt_after_restart").exists()
    assert outbox.names() == ["inbound_events_drain"]
