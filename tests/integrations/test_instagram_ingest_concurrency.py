"""Instagram ingestion under real concurrency and disorder: workers racing on a first burst open one
thread and one lead; any order and repetition of deliveries converges to the same rows; a real
Celery worker processes a delivery end to end."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from alt.accounts.models import Workspace
from contacts.inbox import services as inbox
from contacts.models import Contact, Conversation, Message, MessageChange
from integrations import webhooks
from integrations.instagram.models import InstagramAccount
from integrations.models import InboundEvent
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram import deliveries as d
from tests.conftest import IG_APP_SECRET, Outbox, wait_for
from tests.integrations.test_instagram_ingest import IG_ID, URL, ms, post, process_all


@pytest.fixture
def account(
    instagram: InstagramEmulator, ws_with_stages: Workspace, alice: Any
) -> InstagramAccount:
    emulated = instagram.add_account("sunset_realty", ig_user_id=IG_ID)
    token = instagram.issue_token(emulated)
    return InstagramAccount.objects.create(
        workspace=ws_with_stages,
        connected_by=alice,
        ig_user_id=IG_ID,
        username="sunset_realty",
        access_token=token.value,
        status=InstagramAccount.Status.CONNECTED,
        connected_at=timezone.now(),
    )


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in `count` threads that start together; each closes its own DB connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_a_first_burst_open_one_thread_and_one_lead(
    instagram: InstagramEmulator, account: InstagramAccount, outbox: Outbox
) -> None:
    for round_ in range(3):
        party = instagram.add_profile(f"burst.{round_}", f"Burst Person{round_}").igsid
        for i in range(4):
            post(
                d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, party, f"msg {i}")])),
                emulator=instagram,
            )
        event_ids = list(
            InboundEvent.objects.filter(status="received")
            .order_by("id")
            .values_list("id", flat=True)
        )

        def process(i: int, ids: list[int] = event_ids) -> None:
            webhooks.inbound_event_process(event_id=ids[i])

        in_threads(4, process)

        ws = account.workspace
        assert Conversation.objects.for_workspace(ws).filter(party_id=party).count() == 1
        conversation = Conversation.objects.for_workspace(ws).get(party_id=party)
        assert Message.objects.for_workspace(ws).filter(conversation=conversation).count() == 4
        assert conversation.unread_count == 4
        assert (
            Contact.objects.for_workspace(ws).filter(instagram_handle=f"burst.{round_}").count()
            == 1
        )
        assert set(InboundEvent.objects.values_list("status", flat=True)) == {"processed"}


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_a_thread_an_echo_opened_make_one_lead(
    instagram: InstagramEmulator, account: InstagramAccount, outbox: Outbox
) -> None:
    for round_ in range(3):
        party = instagram.add_profile(f"echoed.{round_}", f"Echoed Person{round_}").igsid
        post(d.delivery(d.entry(IG_ID, messaging=[d.echo(IG_ID, party, "Hi from the app")])))
        process_all()  # the thread exists, with no contact: an echo makes no lead
        for i in range(4):
            post(
                d.delivery(d.entry(IG_ID, messaging=[d.message(IG_ID, party, f"reply {i}")])),
                emulator=instagram,
            )
        event_ids = list(
            InboundEvent.objects.filter(status="received")
            .order_by("id")
            .values_list("id", flat=True)
        )

        def process(i: int, ids: list[int] = event_ids) -> None:
            webhooks.inbound_event_process(event_id=ids[i])

        in_threads(4, process)

        ws = account.workspace
        conversation = Conversation.objects.for_workspace(ws).get(party_id=party)
        assert Contact.objects.for_workspace(ws).filter(first_name="Echoed").count() == round_ + 1
        assert conversation.unread_count == 4
        assert conversation.awaiting_reply_since is not None


@pytest.mark.django_db(transaction=True)
def test_the_thread_upsert_itself_never_opens_two(account: InstagramAccount) -> None:
    ws = account.workspace

    ids = in_threads(
        6,
        lambda i: (
            inbox.conversation_get_or_create(
                workspace=ws, channel="instagram", channel_account=IG_ID, party_id="4242"
            ).id
        ),
    )

    assert len(set(ids)) == 1
    assert Conversation.objects.for_workspace(ws).count() == 1


def snapshot(ws: Workspace, party: str, tag: str) -> Any:
    """The rows one party's deliveries left, with the run's tag taken out of the ids."""
    conversation = Conversation.objects.for_workspace(ws).get(party_id=party)
    rows = [
        (m.external_id.replace(tag, ""), m.direction, m.author, m.text, m.status, m.meta, m.sent_at)
        for m in Message.objects.for_workspace(ws)
        .filter(conversation=conversation)
        .order_by("sent_at", "id")
    ]
    return (
        rows,
        conversation.last_message_at,
        conversation.last_inbound_at,
        conversation.awaiting_reply_since,
        conversation.party_read_at,
    )


@pytest.mark.django_db
def test_any_order_and_repetition_of_deliveries_converges_to_the_same_rows(
    instagram: InstagramEmulator, account: InstagramAccount, outbox: Outbox
) -> None:
    t0 = (timezone.now() - timedelta(hours=30)).replace(microsecond=0)

    def at(minutes: int) -> int:
        return ms(t0 + timedelta(minutes=minutes))

    def items(party: str, tag: str) -> list[dict[str, Any]]:
        return [
            d.message(IG_ID, party, "Hi, the Sunset house?", mid=f"m1{tag}", timestamp=at(0)),
            d.message(IG_ID, party, "wrong chat", mid=f"m2{tag}", timestamp=at(1)),
            d.unsend(IG_ID, party, f"m2{tag}", timestamp=at(2)),
            d.echo(IG_ID, party, "Yes, Saturday?", mid=f"e1{tag}", timestamp=at(3)),
            d.read(IG_ID, party, f"e1{tag}", timestamp=at(4)),
            d.reaction(IG_ID, party, f"e1{tag}", timestamp=at(5)),
            d.edit(IG_ID, party, f"m1{tag}", num_edit=1, timestamp=at(6)),
            d.message(IG_ID, party, "Saturday works", mid=f"m3{tag}", timestamp=at(7)),
            d.echo(IG_ID, party, "Great, see you", mid=f"e2{tag}", timestamp=at(8)),
            d.message(IG_ID, party, "Address?", mid=f"m4{tag}", timestamp=at(9)),
        ]

    shuffler = random.Random(10)
    results = []
    for run in range(5):
        tag = f"-run{run}"
        party = instagram.add_profile(f"order.{run}", "Order Test").igsid
        batch = items(party, tag)
        if run == 1:
            batch.reverse()
        elif run > 1:
            shuffler.shuffle(batch)
            batch += shuffler.sample(batch, 5)  # Meta's retries, in yet another order
        for item in batch:
            post(d.delivery(d.entry(IG_ID, messaging=[item])), emulator=instagram)
        process_all()
        results.append(snapshot(account.workspace, party, tag))

    for result in results[1:]:
        assert result == results[0]
    rows, *_times, awaiting, read_at = results[0]
    assert read_at == t0 + timedelta(minutes=3)  # e1's time: the receipt named it
    assert [(r[0], r[4]) for r in rows] == [
        ("m1", "received"),
        ("e1", "read"),
        ("m3", "received"),
        ("e2", "sent"),
        ("m4", "received"),
    ]
    assert rows[0][5] == {"edit": {"num_edit": 1}}
    assert rows[1][5]["reaction"]["action"] == "react"
    assert awaiting == t0 + timedelta(minutes=9)
    # The unsent message left only its tombstone behind.
    assert MessageChange.objects.for_workspace(account.workspace).filter(deleted=True).count() == 5


@pytest.mark.worker
def test_a_real_worker_turns_a_signed_delivery_into_a_thread_and_a_lead(
    celery_worker: Any, live_server: Any, instagram: InstagramEmulator, account: InstagramAccount
) -> None:
    person = instagram.add_profile("worker.jane", "Jane Worker").igsid
    payload = d.delivery(
        d.entry(IG_ID, messaging=[d.message(IG_ID, person, "Is it still for sale? ☀️")])
    )

    response = d.deliver_signed(live_server.url + URL, payload, IG_APP_SECRET, emulator=instagram)

    assert response.status_code == 200
    ws = account.workspace
    message = wait_for(lambda: Message.objects.for_workspace(ws).first(), timeout=30)
    assert message.text == "Is it still for sale? ☀️"
    contact = wait_for(
        lambda: Contact.objects.for_workspace(ws).filter(instagram_handle="worker.jane").first()
    )
    assert contact.name == "Jane Worker"
    assert InboundEvent.objects.get().status == "processed"


@pytest.mark.django_db(transaction=True)
def test_a_drains_batch_stores_what_one_by_one_would_and_a_bad_delivery_fails_alone(
    instagram: InstagramEmulator, account: InstagramAccount, outbox: Outbox, monkeypatch: Any
) -> None:
    from integrations.instagram import ingest

    jane = instagram.add_profile("jane.buys.homes", "Jane Doe").igsid
    omar = instagram.add_profile("omar.rents", "Omar Diaz").igsid
    at = ms(timezone.now() - timedelta(minutes=5))
    items = [
        d.message(IG_ID, jane, "Is it available?", mid="mid.j1", timestamp=at),
        d.unsend(IG_ID, jane, "mid.j2", timestamp=at + 2),  # before its message
        d.message(IG_ID, jane, "Oops", mid="mid.j2", timestamp=at + 1),
        d.message(IG_ID, omar, "Hello", mid="mid.o1", timestamp=at + 3),
        d.message(IG_ID, omar, "Hello", mid="mid.o1", timestamp=at + 3),  # a re-delivered mid
        d.message(IG_ID, omar, "breaks", mid="mid.o2", timestamp=at + 4),
        d.reaction(IG_ID, jane, "mid.j1", timestamp=at + 5),
    ]
    for n, item in enumerate(items):
        raw = d.delivery(d.entry(IG_ID, messaging=[item], time_s=at // 1000 + n))
        post(raw, emulator=instagram)
    real_apply = ingest._dm_apply

    def apply(account: Any, event: Any, *args: Any) -> None:
        if event.mid == "mid.o2":
            raise RuntimeError("a bug in one delivery")
        real_apply(account, event, *args)

    monkeypatch.setattr(ingest, "_dm_apply", apply)

    assert webhooks.inbound_events_drain() == len(items)

    ws = account.workspace
    stored = Message.objects.for_workspace(ws).order_by("sent_at")
    assert list(stored.values_list("external_id", flat=True)) == ["mid.j1", "mid.o1"]
    assert stored.get(external_id="mid.j1").meta["reaction"]["emoji"] == "\u2764\ufe0f"
    assert MessageChange.objects.for_workspace(ws).get(external_id="mid.j2").deleted
    handles = set(Contact.objects.for_workspace(ws).values_list("instagram_handle", flat=True))
    assert handles == {"jane.buys.homes", "omar.rents"}
    assert Conversation.objects.for_workspace(ws).get(party_id=omar).unread_count == 1
    statuses = list(InboundEvent.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["processed"] * 5 + ["failed", "processed"]
    assert "a bug in one delivery" in InboundEvent.objects.get(status="failed").last_error
