"""Inbound texts into the inbox, STOP/START/HELP, and delivery statuses moved forward only
(EXTERNAL_APIS.md §4.3, §4.4, §4.6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from alt.accounts.models import User
from contacts.inbox import channels
from contacts.inbox.channels import ReplyWindow
from contacts.inbox.services import (
    conversation_get_or_create,
    message_mark_sent,
    message_status_advance,
)
from contacts.models import (
    Consent,
    ConsentEvent,
    Contact,
    Conversation,
    Message,
    MessageChange,
)
from contacts.services import ContactInput, contact_create
from integrations.twilio_sms.models import TwilioAccount
from tests.conftest import workspace_of
from tests.integrations.twilio_wire_helpers import (
    OUR_NUMBER,
    THEIR_NUMBER,
    inbound,
    inbound_params,
    message_sid,
    process_events,
    status,
    status_params,
)

pytestmark = pytest.mark.django_db


class _OpenSms:
    """Stands in for the SMS channel (helper "send"'s SmsChannel) where it is not registered: the
    HELP answer is stored and queued through contacts.inbox.sending like any automated text."""

    name = "sms"
    max_text_length = 1600

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        return ReplyWindow(open=True)

    def send(self, message: Message) -> None:
        raise AssertionError("not sent in these tests")


@pytest.fixture
def sms_channel() -> Iterator[None]:
    existing = channels.channel_for("sms")
    if existing is None:
        channels.register(_OpenSms())
    yield
    if existing is None:
        channels._channels.pop("sms", None)


def receive(body: str = "Hi, is the house on Oak St still available?", **extra: str) -> str:
    params = inbound_params(body, **extra)
    assert inbound(params).status_code == 200
    process_events()
    return params["MessageSid"]


def thread(account: TwilioAccount) -> Conversation:
    return Conversation.objects.for_workspace(account.workspace).get(channel="sms")


def sms_consent(contact: Contact) -> Consent:
    return Consent.objects.for_workspace(contact.workspace).get(contact=contact, channel="sms")


# --- inbound texts -------------------------------------------------------------------------------
def test_an_unknown_number_becomes_a_lead_from_a_text_message(sms_account: TwilioAccount) -> None:
    sid = receive("Hi, is the house on Oak St still available?")

    conversation = thread(sms_account)
    assert (conversation.channel_account, conversation.party_id) == (OUR_NUMBER, THEIR_NUMBER)
    lead = conversation.contact
    assert lead is not None
    assert lead.source is not None and lead.source.key == "sms"
    assert list(lead.phones.values_list("e164", flat=True)) == [THEIR_NUMBER]
    message = Message.objects.for_workspace(sms_account.workspace).get()
    assert (message.external_id, message.direction, message.author, message.status) == (
        sid,
        "in",
        "party",
        "received",
    )
    assert message.text == "Hi, is the house on Oak St still available?"
    assert conversation.unread_count == 1
    assert conversation.awaiting_reply_since is not None
    assert lead.activities.filter(summary="Added from a text message").exists()
    sms_account.refresh_from_db()
    assert sms_account.last_inbound_at is not None


def test_a_known_number_attaches_to_the_contact_who_has_it(
    sms_account: TwilioAccount, alice: User
) -> None:
    maria = contact_create(
        workspace=workspace_of(alice),
        actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", phones=[THEIR_NUMBER]),
    )

    receive("Running 5 minutes late")

    assert thread(sms_account).contact == maria
    assert Contact.objects.for_workspace(workspace_of(alice)).count() == 1
    assert maria.activities.filter(kind="message_in").exists()


def test_a_contact_of_another_workspace_with_the_number_is_not_used(
    sms_account: TwilioAccount, charlie: User
) -> None:
    contact_create(
        workspace=workspace_of(charlie),
        actor=charlie,
        data=ContactInput(first_name="Other", phones=[THEIR_NUMBER]),
    )

    receive()

    contact = thread(sms_account).contact
    assert contact is not None and contact.workspace_id == sms_account.workspace_id


def test_a_second_text_from_the_same_number_joins_the_same_thread(
    sms_account: TwilioAccount,
) -> None:
    receive("first")
    receive("second")

    assert Conversation.objects.for_workspace(sms_account.workspace).count() == 1
    assert Contact.objects.for_workspace(sms_account.workspace).count() == 1
    assert thread(sms_account).unread_count == 2


def test_processing_a_text_twice_stores_it_once(sms_account: TwilioAccount) -> None:
    from integrations.models import InboundEvent
    from integrations.twilio_sms import ingest

    receive("once")
    body = bytes(InboundEvent.objects.get().body)

    ingest.inbound_process(body)

    assert Message.objects.for_workspace(sms_account.workspace).count() == 1
    assert thread(sms_account).unread_count == 1


def test_an_absurd_text_is_kept_within_twilios_limit(sms_account: TwilioAccount) -> None:
    receive("مرحبا " * 2000)

    message = Message.objects.for_workspace(sms_account.workspace).get()
    assert len(message.text) == 1600


def test_a_text_for_an_account_removed_since_it_arrived_is_dropped(
    sms_account: TwilioAccount,
) -> None:
    assert inbound(inbound_params()).status_code == 200
    TwilioAccount.objects.for_workspace(sms_account.workspace).filter(id=sms_account.id).update(
        status=TwilioAccount.Status.REMOVED
    )

    process_events()

    assert not Message.objects.for_workspace(sms_account.workspace).exists()


# --- keywords ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "word", ["STOP", "stop", "  Stop \n", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
             "REVOKE", "OPTOUT"],
)  # fmt: skip
def test_stop_and_its_synonyms_opt_the_number_out(sms_account: TwilioAccount, word: str) -> None:
    receive(word)

    contact = thread(sms_account).contact
    assert contact is not None
    consent = sms_consent(contact)
    assert consent.state == Consent.State.OPTED_OUT
    event = consent.events.get()
    assert (event.kind, event.address) == (ConsentEvent.Kind.STOP, THEIR_NUMBER)
    contact.refresh_from_db()
    assert contact.consent_sms is False
    # The keyword itself is in the thread like any text.
    assert Message.objects.for_workspace(sms_account.workspace).get().text == word


def test_stop_texting_me_is_a_message_not_a_keyword(sms_account: TwilioAccount) -> None:
    receive("stop texting me")

    contact = thread(sms_account).contact
    assert contact is not None
    assert not Consent.objects.for_workspace(contact.workspace).filter(contact=contact).exists()


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_start_opts_in_again(sms_account: TwilioAccount, word: str) -> None:
    receive("STOP")
    receive(word)

    contact = thread(sms_account).contact
    assert contact is not None
    consent = sms_consent(contact)
    assert consent.state == Consent.State.OPTED_IN
    assert list(consent.events.order_by("at", "id").values_list("kind", flat=True)) == [
        "stop",
        "start",
    ]


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_is_answered_with_who_we_are_and_how_to_stop(
    sms_account: TwilioAccount, sms_channel: None, word: str
) -> None:
    receive(word)

    answer = Message.objects.for_workspace(sms_account.workspace).get(direction="out")
    assert answer.author == Message.Author.AUTOMATION
    assert "Alice Realty" in answer.text
    assert "Reply STOP to opt out." in answer.text
    contact = thread(sms_account).contact
    assert contact is not None
    assert sms_consent(contact).events.get().kind == ConsentEvent.Kind.HELP
    assert sms_consent(contact).state == Consent.State.UNKNOWN


def test_help_delivered_twice_is_answered_once(
    sms_account: TwilioAccount, sms_channel: None
) -> None:
    params = inbound_params("HELP")
    inbound(params)
    inbound(params)
    process_events()

    assert Message.objects.for_workspace(sms_account.workspace).filter(direction="out").count() == 1


def test_opt_out_type_from_advanced_opt_out_wins(sms_account: TwilioAccount) -> None:
    receive("ARRET", OptOutType="STOP")

    contact = thread(sms_account).contact
    assert contact is not None
    assert sms_consent(contact).state == Consent.State.OPTED_OUT


# --- delivery statuses ---------------------------------------------------------------------------
@pytest.fixture
def sent(sms_account: TwilioAccount, alice: User) -> Message:
    """Alice's text to Maria, sent: Twilio gave it a SID."""
    conversation = conversation_get_or_create(
        workspace=sms_account.workspace,
        channel="sms",
        channel_account=OUR_NUMBER,
        party_id=THEIR_NUMBER,
    )
    maria = contact_create(
        workspace=sms_account.workspace,
        actor=alice,
        data=ContactInput(first_name="Maria", phones=[THEIR_NUMBER]),
    )
    Conversation.objects.for_workspace(sms_account.workspace).filter(id=conversation.id).update(
        contact=maria
    )
    message = Message.objects.create(
        workspace=sms_account.workspace, conversation=conversation, channel="sms",
        direction="out", author="person", sent_by=alice, text="The showing is at 5.",
        status="sending", sent_at=timezone.now(),
    )  # fmt: skip
    message.conversation = conversation
    return message_mark_sent(message=message, external_id=message_sid())


def report(message: Message, *statuses: str, **extra: str) -> Message:
    for name in statuses:
        assert status(status_params(message.external_id, name, **extra)).status_code == 200
    process_events()
    message.refresh_from_db()
    return message


def test_sent_then_delivered(sent: Message) -> None:
    assert report(sent, "sent", "delivered").status == Message.Status.DELIVERED


def test_delivered_then_a_late_sent_stays_delivered(sent: Message) -> None:
    assert report(sent, "delivered", "sent", "queued", "sending").status == "delivered"


def test_queued_accepted_and_sending_do_not_count_as_sent(
    sms_account: TwilioAccount, sent: Message
) -> None:
    Message.objects.for_workspace(sms_account.workspace).filter(id=sent.id).update(status="sending")

    assert report(sent, "queued", "accepted", "sending").status == "sending"
    assert report(sent, "sent").status == "sent"


def test_repeated_callbacks_change_nothing_more(sent: Message) -> None:
    report(sent, "sent", "delivered", "delivered", "sent", "delivered")

    assert sent.status == "delivered"


def test_read_after_delivered(sent: Message) -> None:
    message = report(sent, "read", "delivered")

    assert message.status == "read"
    assert message.read_at is not None


def test_undelivered_fails_with_the_plain_words_of_the_error(sent: Message) -> None:
    message = report(sent, "sent", "undelivered", ErrorCode="30005")

    assert message.status == "failed"
    assert message.error == "The number does not exist."


def test_a_failure_is_terminal(sent: Message) -> None:
    message = report(sent, "failed", ErrorCode="30007")
    message = report(message, "sent", "delivered")

    assert (message.status, message.error) == (
        "failed",
        "The carrier filtered the message as spam.",
    )


def test_a_failure_after_delivery_does_not_undo_it(sent: Message) -> None:
    assert report(sent, "delivered", "undelivered", ErrorCode="30003").status == "delivered"


@pytest.mark.parametrize(
    "order",
    [("sent", "delivered", "read"), ("read", "sent", "delivered"), ("delivered", "read", "sent")],
)
def test_any_order_of_reports_ends_in_the_same_state(sent: Message, order: tuple[str, ...]) -> None:
    assert report(sent, *order).status == "read"


def test_21610_in_a_callback_marks_the_number_opted_out(sent: Message) -> None:
    message = report(sent, "failed", ErrorCode="21610")

    assert message.status == "failed"
    contact = message.conversation.contact
    assert contact is not None
    consent = sms_consent(contact)
    assert consent.state == Consent.State.OPTED_OUT
    assert consent.events.get().kind == ConsentEvent.Kind.CARRIER_BLOCKED


def test_a_status_that_beats_our_record_of_the_sid_waits_for_it(
    sms_account: TwilioAccount, alice: User
) -> None:
    conversation = conversation_get_or_create(
        workspace=sms_account.workspace, channel="sms", channel_account=OUR_NUMBER,
        party_id=THEIR_NUMBER,
    )  # fmt: skip
    message = Message.objects.create(
        workspace=sms_account.workspace, conversation=conversation, channel="sms",
        direction="out", author="person", sent_by=alice, text="hi", status="sending",
    )  # fmt: skip
    message.conversation = conversation
    sid = message_sid()

    # Twilio answered the API call and its callbacks arrived before our UPDATE with the SID.
    status(status_params(sid, "sent"))
    status(status_params(sid, "delivered"))
    process_events()
    assert MessageChange.objects.for_workspace(sms_account.workspace).get().external_id == sid
    message_mark_sent(message=message, external_id=sid)

    message.refresh_from_db()
    assert (message.external_id, message.status) == (sid, "delivered")
    assert not MessageChange.objects.for_workspace(sms_account.workspace).exists()


def test_a_waiting_failure_is_applied_with_its_words(
    sms_account: TwilioAccount, alice: User
) -> None:
    conversation = conversation_get_or_create(
        workspace=sms_account.workspace, channel="sms", channel_account=OUR_NUMBER,
        party_id=THEIR_NUMBER,
    )  # fmt: skip
    message = Message.objects.create(
        workspace=sms_account.workspace, conversation=conversation, channel="sms",
        direction="out", author="person", sent_by=alice, text="hi", status="sending",
    )  # fmt: skip
    message.conversation = conversation
    sid = message_sid()
    message_status_advance(
        workspace=sms_account.workspace, channel="sms", external_id=sid, status="failed",
        error="The phone is off or unreachable.",
    )  # fmt: skip
    message_status_advance(
        workspace=sms_account.workspace, channel="sms", external_id=sid, status="sent"
    )

    message_mark_sent(message=message, external_id=sid)

    message.refresh_from_db()
    assert (message.status, message.error) == ("failed", "The phone is off or unreachable.")


def test_a_status_for_another_workspaces_message_is_not_applied(
    sms_account: TwilioAccount, sent: Message, charlie: User
) -> None:
    other = TwilioAccount.objects.create(
        workspace=workspace_of(charlie), account_sid="AC" + "cc" * 16,
        auth_token="charlie-token-00000000000000000000", from_number="+15005550007",
        status=TwilioAccount.Status.WORKING,
    )  # fmt: skip
    params = status_params(sent.external_id, "failed", ErrorCode="30005")
    params.update(AccountSid=other.account_sid, From=other.from_number)

    assert status(params, token="charlie-token-00000000000000000000").status_code == 200
    process_events()

    sent.refresh_from_db()
    assert sent.status == "sent"
