"""Texting out through the SMS channel against the Twilio emulator: the row written first and the
MessageSid recorded after (status kept at Twilio's stage until a callback says sent), the status
callback URL passed, STOP'd contacts refused before any request reaches Twilio (in the form and
again in the worker), Twilio's 21610 marking the contact opted out, other refusals in plain
words, a retried task never sending twice, and click-to-text from the contact page."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from alt.accounts.models import User
from contacts.consent import consent_record
from contacts.inbox import sending
from contacts.inbox.tasks import inbox_message_send
from contacts.models import Consent, ConsentEvent, Contact, Conversation, Message
from contacts.services import ContactInput, contact_create
from integrations.sandbox.twilio import TwilioEmulator
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.services import sms_thread_for
from tests.conftest import Outbox, workspace_of

MARIA = "+14155550123"
POSTS = r"/Messages\.json$"


@pytest.fixture
def maria(alice: User) -> Contact:
    return contact_create(
        workspace=workspace_of(alice),
        actor=alice,
        data=ContactInput(first_name="Maria", last_name="Buyer", phones=[MARIA]),
    )


@pytest.fixture
def thread(maria: Contact, sms_account: TwilioAccount, alice: User) -> Conversation:
    return sms_thread_for(contact=maria, account=sms_account, phone=MARIA, user=alice)


def text(
    thread: Conversation, body: str = "Hi Maria, the showing is at 5.", **kw: object
) -> Message:
    return sending.message_send(
        conversation=thread,
        text=body,
        author=kw.pop("author", Message.Author.PERSON),  # type: ignore[arg-type]
        sent_by=None,
    )


def reload(message: Message) -> Message:
    return Message.objects.for_workspace(message.workspace).get(id=message.id)


def opt_out(contact: Contact) -> None:
    consent_record(contact, Consent.Channel.SMS, ConsentEvent.Kind.STOP, address=MARIA)


def test_a_text_is_stored_then_sent_with_the_status_callback_and_its_sid_recorded(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread)
    assert (message.status, message.external_id) == ("pending", "")

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    (request,) = twilio.requests_to("POST", POSTS)
    assert request.form() == {
        "To": MARIA,
        "From": TwilioEmulator.default_number,
        "Body": "Hi Maria, the showing is at 5.",
        "StatusCallback": "http://testserver/webhooks/twilio/status/",
    }
    message = reload(message)
    assert message.external_id.startswith("SM")
    # Twilio said "queued": not sent yet; the status callback moves it on.
    assert message.status == Message.Status.SENDING
    assert message.external_id in twilio.messages


def test_a_retried_or_duplicated_task_never_sends_twice(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))
    inbox_message_send.apply(args=(message.id, thread.workspace_id))
    # Even a row put back to PENDING by hand (or a lost update) is not handed to Twilio again:
    # it has a MessageSid.
    Message.objects.for_workspace(thread.workspace).filter(id=message.id).update(status="pending")
    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert len(twilio.requests_to("POST", POSTS)) == 1
    assert reload(message).error.startswith("Twilio already has this text")


def test_a_worker_that_died_after_twilio_accepted_leaves_the_row_sending_and_never_resends(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread)
    # The state such a crash leaves: claimed (SENDING), Twilio has it, no SID stored.
    Message.objects.for_workspace(thread.workspace).filter(id=message.id).update(status="sending")

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert twilio.requests_to("POST", POSTS) == []
    assert reload(message).status == Message.Status.SENDING


def test_an_opted_out_contact_is_refused_before_anything_is_stored_or_sent(
    alice_client: Client, thread: Conversation, maria: Contact, twilio: TwilioEmulator
) -> None:
    opt_out(maria)

    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "Still interested?"})

    assert response.status_code == 400
    assert "opted out of text messages" in response.content.decode()
    assert not Message.objects.for_workspace(thread.workspace).filter(conversation=thread).exists()
    with pytest.raises(sending.SendRefused, match="opted out"):
        text(thread)
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert 'id="reply-refusal"' in page
    assert ">Send</button>" not in page
    assert twilio.requests_to("POST", POSTS) == []


def test_an_opt_out_between_queueing_and_sending_is_refused_in_the_worker(
    thread: Conversation, maria: Contact, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread)
    opt_out(maria)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message = reload(message)
    assert message.status == Message.Status.FAILED
    assert "opted out" in message.error
    assert twilio.requests_to("POST", POSTS) == []


def test_an_automated_text_needs_agreement_in_the_worker_too(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread, "Reminder: your tour is tomorrow.", author=Message.Author.AUTOMATION)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message = reload(message)
    assert (message.status, message.error) == (
        "failed",
        "This contact has not agreed to text messages.",
    )
    assert twilio.requests_to("POST", POSTS) == []


def test_twilio_21610_marks_the_contact_opted_out_and_fails_the_text_plainly(
    thread: Conversation, maria: Contact, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    twilio.opt_out(TwilioEmulator.default_number, MARIA)  # STOP reached Twilio, not us
    message = text(thread)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    message = reload(message)
    assert message.status == Message.Status.FAILED
    assert "opted out of texts from you" in message.error
    consent = Consent.objects.for_workspace(maria.workspace).get(contact=maria, channel="sms")
    assert consent.state == Consent.State.OPTED_OUT
    assert list(consent.events.values_list("kind", "address")) == [("carrier_blocked", MARIA)]
    with pytest.raises(sending.SendRefused):  # the next one never reaches Twilio
        text(thread)


def test_a_wrong_token_fails_the_text_and_shows_the_account_blocked(
    thread: Conversation, sms_account: TwilioAccount, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    TwilioAccount.objects.for_workspace(sms_account.workspace).filter(id=sms_account.id).update(
        auth_token="a-token-twilio-does-not-know"
    )
    message = text(thread)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert "Twilio refused the Account SID and auth token" in reload(message).error
    sms_account.refresh_from_db()
    assert sms_account.status == TwilioAccount.Status.BLOCKED
    assert "auth token" in sms_account.status_detail


def test_a_transient_failure_is_retried_as_the_same_row_and_sent_once(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    twilio.fail_next(503, {"code": 20500, "message": "Internal", "status": 503})
    message = text(thread)

    outbox.sent.clear()
    inbox_message_send.apply(args=(message.id, thread.workspace_id))  # Celery's eager retry

    message = reload(message)
    assert message.external_id.startswith("SM")
    assert len(twilio.requests_to("POST", POSTS)) == 2  # the 503, then the one that went out
    assert len(twilio.messages) == 1


def test_a_removed_account_refuses_the_text_with_where_to_fix_it(
    thread: Conversation, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    TwilioAccount.objects.for_workspace(sms_account.workspace).update(status="removed")

    with pytest.raises(sending.SendRefused, match="Settings → SMS"):
        text(thread)


# --- click-to-text -------------------------------------------------------------------------------
def test_every_phone_on_the_contact_page_has_a_text_link(
    alice_client: Client, maria: Contact
) -> None:
    page = alice_client.get(f"/contacts/{maria.id}/").content.decode()

    assert f'href="/sms/contacts/{maria.id}/text/?phone=%2B14155550123"' in page


def test_click_to_text_without_an_account_leads_to_settings(
    alice_client: Client, maria: Contact
) -> None:
    response = alice_client.get(f"/sms/contacts/{maria.id}/text/", {"phone": MARIA})

    assert response.status_code == 302
    assert response["Location"] == "/settings/sms/"


def test_click_to_text_composes_a_first_text_then_opens_the_thread(
    alice_client: Client,
    maria: Contact,
    sms_account: TwilioAccount,
    twilio: TwilioEmulator,
    outbox: Outbox,
    django_capture_on_commit_callbacks: object,
) -> None:
    url = f"/sms/contacts/{maria.id}/text/"
    page = alice_client.get(url, {"phone": MARIA})
    assert page.status_code == 200
    assert "autofocus" in page.content.decode()

    emoji = "Hi Maria 🏡 " + "x" * 60  # UCS-2: two segments
    refused = alice_client.post(url, {"phone": MARIA, "text": "   "})
    assert refused.status_code == 400
    assert "Write a message first." in refused.content.decode()
    long = alice_client.post(url, {"phone": MARIA, "text": "x" * 1601})
    assert "at most 1,600 characters" in long.content.decode()
    assert not Conversation.objects.for_workspace(maria.workspace).exists()

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = alice_client.post(url, {"phone": MARIA, "text": emoji})

    thread = Conversation.objects.for_workspace(maria.workspace).get()
    assert (thread.channel, thread.party_id, thread.contact_id) == ("sms", MARIA, maria.id)
    assert thread.channel_account == TwilioEmulator.default_number
    assert response["Location"] == f"/inbox/{thread.id}/#reply"
    outbox.drain()
    assert twilio.requests_to("POST", POSTS)[0].form()["Body"] == emoji

    again = alice_client.get(url, {"phone": MARIA})  # the thread exists now: straight to it
    assert again["Location"] == f"/inbox/{thread.id}/?compose=1#reply"
    thread_page = alice_client.get(again["Location"]).content.decode()
    assert "autofocus" in thread_page
    assert "sms_segments.js" in thread_page


def test_click_to_text_for_a_phone_that_is_not_the_contacts_is_404(
    alice_client: Client, maria: Contact, sms_account: TwilioAccount
) -> None:
    response = alice_client.get(f"/sms/contacts/{maria.id}/text/", {"phone": "+14155550999"})

    assert response.status_code == 404


def test_click_to_text_to_an_opted_out_contact_says_why_and_offers_no_send(
    alice_client: Client, maria: Contact, sms_account: TwilioAccount
) -> None:
    opt_out(maria)

    page = alice_client.get(f"/sms/contacts/{maria.id}/text/", {"phone": MARIA}).content.decode()

    assert "opted out of text messages" in page
    assert ">Send</button>" not in page


def test_after_a_submit_without_javascript_the_thread_shows_the_segment_count(
    alice_client: Client, thread: Conversation, twilio: TwilioEmulator
) -> None:
    response = alice_client.post(f"/inbox/{thread.id}/reply/", {"text": "x" * 1601})

    page = response.content.decode()
    assert response.status_code == 400
    assert "SMS accepts at most 1600 characters" in page
    assert "11 text messages" in page


def test_a_twilio_that_takes_the_text_but_never_answers_is_not_retried_and_says_so(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox, settings: Any
) -> None:
    # A loopback server that reads the request and never answers: the request reached "Twilio",
    # which may have sent it, so trying again could text twice.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []

    def hold_every_connection() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # the server is closed: the test is over
                return

    listener = threading.Thread(target=hold_every_connection, daemon=True)
    listener.start()
    settings.TWILIO_API_URL = f"http://127.0.0.1:{server.getsockname()[1]}"
    settings.TWILIO_HTTP_TIMEOUT_SECONDS = 1
    message = text(thread)
    try:
        inbox_message_send.apply(args=(message.id, thread.workspace_id))
    finally:
        server.close()
        listener.join(timeout=5)
        for connection in held:
            connection.close()

    message = reload(message)
    assert message.status == Message.Status.FAILED
    assert "may or may not have gone out" in message.error
    assert len(held) == 1  # one attempt: no automatic retry


def test_a_text_twilio_has_waits_for_its_status_without_a_not_confirmed_warning(
    alice_client: Client, thread: Conversation, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    message = text(thread)
    inbox_message_send.apply(args=(message.id, thread.workspace_id))
    an_hour_ago = timezone.now() - timedelta(hours=1)
    messages = Message.objects.for_workspace(thread.workspace).filter(id=message.id)
    messages.update(sent_at=an_hour_ago, created_at=an_hour_ago)

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()

    assert "Sending" in page
    assert "Not confirmed" not in page
    messages.update(external_id="")  # a worker died mid-call: nobody knows
    assert "Not confirmed" in alice_client.get(f"/inbox/{thread.id}/").content.decode()


def test_with_a_messaging_service_the_text_goes_through_it_and_waits_accepted(
    thread: Conversation, sms_account: TwilioAccount, twilio: TwilioEmulator, outbox: Outbox
) -> None:
    service = "MG" + "5b" * 16
    twilio.add_account(
        TwilioEmulator.default_account_sid,
        TwilioEmulator.default_auth_token,
        numbers=[TwilioEmulator.default_number],
        services={service: [TwilioEmulator.default_number]},
    )
    TwilioAccount.objects.for_workspace(sms_account.workspace).update(messaging_service_sid=service)
    message = text(thread)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    (request,) = twilio.requests_to("POST", POSTS)
    form = request.form()
    assert form["MessagingServiceSid"] == service
    assert "From" not in form
    message = reload(message)
    assert (message.status, message.external_id[:2]) == (Message.Status.SENDING, "SM")


def test_a_status_callback_that_beats_the_sid_update_is_applied_when_the_sid_is_saved(
    thread: Conversation, twilio: TwilioEmulator, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio can call the status callback before our UPDATE after the API call has stored the
    SID: the report waits (MessageChange) and the channel applies it as it stores the SID."""
    from contacts.inbox.services import message_status_advance
    from integrations.twilio_sms import channel

    real_accepted = channel._accepted

    def callback_first(message: Message, sent: Any) -> None:
        found = message_status_advance(
            workspace=thread.workspace,
            channel="sms",
            external_id=sent.sid,
            status=Message.Status.DELIVERED,
        )
        assert found is None  # the row has no SID yet: the report waits
        real_accepted(message, sent)

    monkeypatch.setattr(channel, "_accepted", callback_first)
    message = text(thread)

    inbox_message_send.apply(args=(message.id, thread.workspace_id))

    assert reload(message).status == Message.Status.DELIVERED
