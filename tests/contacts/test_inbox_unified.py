"""The unified inbox (issue 11): SMS threads beside Instagram ones with a channel badge, a channel
filter with unread counts that do not grow with the workspace, one timeline per contact across
channels (merged by time, each message marked, paged), the reply on the channel the contact last
used with a switch to the other (an SMS thread opened from the contact's number), absurd text,
and another workspace seeing none of it. A fake SMS channel stands in for Twilio's
(helper "send" tests the real one against the emulator)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import User, Workspace
from contacts.inbox import channels, threads
from contacts.inbox.channels import ReplyWindow
from contacts.models import Contact, Conversation, Message
from integrations.twilio_sms.models import TwilioAccount
from tests.conftest import Outbox, workspace_of
from tests.contacts.conftest import add_contact
from tests.contacts.inbox_rows import conversation, hours_ago, received, sent

OUR_NUMBER = "+14155550100"
MARIA_PHONE = "+14155550123"


@dataclass
class FakeSms:
    """Stands in for the SMS channel: records sends, refuses an opted-out contact plainly."""

    name: str = Conversation.Channel.SMS.value
    max_text_length: int = 1600
    opted_out: bool = False
    calls: list[int] = field(default_factory=list)

    def reply_window(self, conversation: Conversation) -> ReplyWindow:
        if self.opted_out:
            return ReplyWindow(open=False, reason="Maria texted STOP: she has opted out of SMS.")
        return ReplyWindow(open=True)

    def send(self, message: Message) -> None:
        self.calls.append(message.id)


@pytest.fixture
def sms(monkeypatch: pytest.MonkeyPatch) -> FakeSms:
    channel = FakeSms()
    monkeypatch.setitem(channels._channels, channel.name, channel)
    return channel


@pytest.fixture
def our_number(ws: Workspace, alice: User) -> TwilioAccount:
    return TwilioAccount.objects.create(
        workspace=ws,
        connected_by=alice,
        account_sid="AC" + "0" * 32,
        auth_token="not-a-real-token",
        from_number=OUR_NUMBER,
        status=TwilioAccount.Status.WORKING,
    )


@pytest.fixture
def maria(ws: Workspace) -> Contact:
    return add_contact(ws, "Maria", "Lopez", phones=[MARIA_PHONE])


def sms_thread(ws: Workspace, contact: Contact | None = None, party_id: str = MARIA_PHONE) -> Any:
    return conversation(
        ws,
        channel=Conversation.Channel.SMS,
        channel_account=OUR_NUMBER,
        party_id=party_id,
        party_handle="",
        contact=contact,
    )


def tab(page: str, label: str) -> str:
    found = re.search(rf'<a class="inbox-channel"[^>]*>{label}(.*?)</a>', page)
    assert found is not None, label
    return found.group(0)


def texts_in_order(page: str) -> list[str]:
    return re.findall(r'<p class="msg-text" dir="auto">([^<]+)</p>', page)


def checked_channel(page: str) -> str:
    found = re.search(r'<input type="radio" name="channel" value="(\w+)"[^>]*checked', page)
    assert found is not None
    return found.group(1)


# --- the list ----------------------------------------------------------------------------------
def test_sms_threads_are_listed_beside_instagram_ones_with_a_badge_in_words(
    alice_client: Client, ws: Workspace
) -> None:
    received(conversation(ws, party_handle="maria.ig"), "on instagram", at=hours_ago(2))
    received(sms_thread(ws), "by text", at=hours_ago(1))

    page = alice_client.get("/inbox/").content.decode()

    assert "@maria.ig" in page
    assert "(415) 555-0123" in page  # a party with no name: the number, formatted
    badges = re.findall(
        r'<span class="badge channel-badge channel-(\w+)"><svg[^>]*aria-hidden', page
    )
    assert sorted(badges) == ["instagram", "sms"]
    assert re.search(r"</svg> SMS</span>", page)
    assert re.search(r"</svg> Instagram</span>", page)


def test_the_channel_filter_keeps_the_channel_in_the_url_and_counts_unread_per_channel(
    alice_client: Client, ws: Workspace
) -> None:
    for i in range(3):
        received(conversation(ws, party_handle=f"ig{i}"), "dm")
    texting = sms_thread(ws)
    received(texting, "one")
    received(texting, "two")
    received(sms_thread(ws, party_id="+14155550999"), "read already", unread=False)

    everything = alice_client.get("/inbox/").content.decode()
    only_sms = alice_client.get("/inbox/", {"channel": "sms"}).content.decode()

    assert "3" in tab(everything, "Instagram")
    assert "unread" in tab(everything, "Instagram")
    assert ">2<" in tab(everything, "SMS")
    assert ">5<" in tab(everything, "All")
    assert 'aria-current="page"' in tab(only_sms, "SMS")
    assert 'href="/inbox/?channel=sms"' in tab(only_sms, "SMS")
    assert "@ig0" not in only_sms
    assert only_sms.count('class="thread-name"') == 2


def test_the_unread_counts_come_from_the_threads_counters_not_from_counting_messages(
    ws: Workspace,
) -> None:
    thread = sms_thread(ws)
    received(thread, "counted", unread=False)  # a message with no read_at, on a read thread
    received(conversation(ws), "dm")

    assert threads.unread_by_channel(ws) == {"": 1, "instagram": 1}


def test_the_channel_filtered_list_runs_a_fixed_number_of_queries(
    alice_client: Client, ws: Workspace, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        received(sms_thread(ws, party_id=f"+1415555{i:04d}"), f"text {i}")
        received(conversation(ws, party_handle=f"ig{i}"), f"dm {i}")
    alice_client.get("/inbox/?channel=sms")

    with django_assert_max_num_queries(4):
        page = alice_client.get("/inbox/?channel=sms").content.decode()

    assert page.count('class="thread-name"') == 30


# --- one contact, one timeline -----------------------------------------------------------------
def test_a_contacts_instagram_and_sms_messages_show_in_one_timeline_by_time(
    alice_client: Client, ws: Workspace, maria: Contact, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(instagram, "ig first", at=hours_ago(5))
    received(texting, "sms second", at=hours_ago(4))
    sent(instagram, "ig third", at=hours_ago(3))
    sent(texting, "sms fourth", at=hours_ago(2))
    received(conversation(ws, party_handle="someone.else"), "not maria", at=hours_ago(1))

    from_instagram = alice_client.get(f"/inbox/{instagram.id}/").content.decode()
    from_sms = alice_client.get(f"/inbox/{texting.id}/").content.decode()

    expected = ["ig first", "sms second", "ig third", "sms fourth"]
    assert texts_in_order(from_instagram) == expected
    assert texts_in_order(from_sms) == expected
    marks = re.findall(r'class="msg msg-(?:in|out) msg-channel-(\w+)', from_instagram)
    assert marks == ["instagram", "sms", "instagram", "sms"]
    assert "one timeline: Instagram and SMS" in from_instagram


def test_a_thread_without_a_contact_shows_only_its_own_messages(
    alice_client: Client, ws: Workspace
) -> None:
    alone = sms_thread(ws)
    received(alone, "mine")
    received(conversation(ws), "another thread")

    page = alice_client.get(f"/inbox/{alone.id}/").content.decode()

    assert texts_in_order(page) == ["mine"]


def test_the_timeline_pages_through_both_channels_newest_first_without_gaps(
    alice_client: Client, ws: Workspace, maria: Contact
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    total = threads.MESSAGES_PAGE + 12
    for i in range(total):
        received(instagram if i % 3 else texting, f"m{i:03d}", at=hours_ago(200 - i), unread=False)

    page = alice_client.get(f"/inbox/{texting.id}/").content.decode()
    older = re.search(r'href="\?before=([\d.]+)">Older messages', page)
    assert older is not None
    older_page = alice_client.get(f"/inbox/{texting.id}/", {"before": older.group(1)})

    newest = texts_in_order(page)
    rest = texts_in_order(older_page.content.decode())
    assert newest == [f"m{i:03d}" for i in range(12, total)]
    assert rest == [f"m{i:03d}" for i in range(12)]


def test_the_timeline_page_runs_the_same_queries_for_few_and_many_messages(
    alice_client: Client, ws: Workspace, maria: Contact, our_number: TwilioAccount, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    for i in range(4):
        received(instagram, f"ig {i}")
        received(texting, f"sms {i}")
    alice_client.get(f"/inbox/{instagram.id}/")
    counts = []
    for more in (0, 120):
        for i in range(more):
            sent(texting if i % 2 else instagram, f"more {i}")
        received(texting, "unread again")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(f"/inbox/{instagram.id}/").status_code == 200
        counts.append(len(ctx))

    assert counts[0] == counts[1], counts


def test_opening_a_contacts_thread_reads_the_threads_shown_beside_it(
    alice_client: Client, ws: Workspace, maria: Contact
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(instagram, "dm")
    received(texting, "text")
    received(texting, "text again")
    stranger = sms_thread(ws, party_id="+14155550777")
    received(stranger, "not maria")

    alice_client.get(f"/inbox/{instagram.id}/")

    for thread, unread in ((instagram, 0), (texting, 0), (stranger, 1)):
        thread.refresh_from_db()
        assert thread.unread_count == unread
    assert not Message.objects.for_workspace(ws).filter(
        conversation__in=[instagram, texting], read_at=None, direction="in"
    )
    assert threads.unread_by_channel(ws) == {"": 1, "sms": 1}


# --- the reply box -----------------------------------------------------------------------------
def test_the_reply_goes_on_the_channel_the_contact_last_wrote_on_by_default(
    alice_client: Client, ws: Workspace, maria: Contact, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(texting, "text", at=hours_ago(3))
    received(instagram, "dm", at=hours_ago(2))
    sent(texting, "our text after it does not count", at=hours_ago(1))

    assert checked_channel(alice_client.get(f"/inbox/{texting.id}/").content.decode()) == (
        "instagram"
    )
    received(texting, "texting now", at=hours_ago(0.5))
    assert checked_channel(alice_client.get(f"/inbox/{instagram.id}/").content.decode()) == "sms"


def test_the_switch_sends_on_the_other_channel_into_its_thread(
    alice_client: Client,
    ws: Workspace,
    maria: Contact,
    sms: FakeSms,
    outbox: Outbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(instagram, "dm", at=hours_ago(1))
    received(texting, "text", at=hours_ago(2))

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            f"/inbox/{instagram.id}/reply/", {"channel": "sms", "text": "Texting you the address"}
        )

    assert response.status_code == 302
    [message] = Message.objects.for_workspace(ws).filter(direction="out")
    assert (message.conversation_id, message.channel, message.status) == (
        texting.id,
        "sms",
        "pending",
    )
    assert outbox.names() == ["inbox_message_send"]


def test_an_sms_to_a_contact_with_no_sms_thread_opens_one_from_our_number(
    alice_client: Client,
    ws: Workspace,
    maria: Contact,
    our_number: TwilioAccount,
    sms: FakeSms,
    outbox: Outbox,
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    received(instagram, "dm")

    page = alice_client.get(f"/inbox/{instagram.id}/").content.decode()
    response = alice_client.post(
        f"/inbox/{instagram.id}/reply/", {"channel": "sms", "text": "Hi Maria, it's Alice"}
    )
    again = alice_client.post(f"/inbox/{instagram.id}/reply/", {"channel": "sms", "text": "PS"})

    assert "SMS to (415) 555-0123" in page
    assert checked_channel(page) == "instagram"
    assert (response.status_code, again.status_code) == (302, 302)
    opened = Conversation.objects.for_workspace(ws).get(channel="sms")
    assert (opened.channel_account, opened.party_id, opened.contact_id) == (
        OUR_NUMBER,
        MARIA_PHONE,
        maria.id,
    )
    assert list(opened.messages.values_list("text", flat=True).order_by("id")) == [
        "Hi Maria, it's Alice",
        "PS",
    ]


def test_without_a_number_there_is_no_sms_switch_and_a_forged_one_is_refused(
    alice_client: Client, ws: Workspace, maria: Contact, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    received(instagram, "dm")

    page = alice_client.get(f"/inbox/{instagram.id}/").content.decode()
    response = alice_client.post(
        f"/inbox/{instagram.id}/reply/", {"channel": "sms", "text": "sneaky"}
    )

    assert 'name="channel"' in page
    assert 'type="radio"' not in page
    assert response.status_code == 400
    assert "Choose one of the channels shown." in response.content.decode()
    assert not Message.objects.for_workspace(ws).filter(direction="out").exists()
    assert not Conversation.objects.for_workspace(ws).filter(channel="sms").exists()


def test_the_other_channels_refusal_shows_in_plain_words_and_nothing_is_stored(
    alice_client: Client, ws: Workspace, maria: Contact, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(instagram, "old dm", at=hours_ago(30))  # Instagram's 24 hours have passed
    received(texting, "text", at=hours_ago(1))
    sms.opted_out = True

    page = alice_client.get(f"/inbox/{texting.id}/").content.decode()
    refused_ig = alice_client.post(
        f"/inbox/{texting.id}/reply/", {"channel": "instagram", "text": "hello?"}
    )
    refused_sms = alice_client.post(
        f"/inbox/{instagram.id}/reply/", {"channel": "sms", "text": "hello?"}
    )

    assert "Instagram @maria.ig: " in page
    assert "Maria texted STOP" in page
    assert refused_ig.status_code == 400
    assert refused_sms.status_code == 400
    assert "Maria texted STOP" in refused_sms.content.decode()
    assert not Message.objects.for_workspace(ws).filter(direction="out").exists()


# --- absurd input ------------------------------------------------------------------------------
def test_a_long_rtl_and_emoji_sms_thread_with_no_name_renders(
    alice_client: Client, ws: Workspace
) -> None:
    thread = sms_thread(ws, party_id="+442071838750")
    novel = "Ok " * 3_333 + "!"  # 10,000 characters
    received(thread, "مرحبا، هل المنزل متاح؟ 🏠🔑", at=hours_ago(1))
    received(thread, novel)

    listing = alice_client.get("/inbox/").content.decode()
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()

    assert "+44 20 7183 8750" in listing
    assert "+44 20 7183 8750" in page
    assert novel in page
    assert "مرحبا، هل المنزل متاح؟ 🏠🔑" in page
    assert novel not in listing
    assert "Ok Ok Ok" in listing


# --- another workspace -------------------------------------------------------------------------
def test_another_workspace_reaches_no_thread_of_the_timeline_and_opens_none(
    ws: Workspace, maria: Contact, charlie: User, charlie_client: Client, sms: FakeSms
) -> None:
    instagram = conversation(ws, party_handle="maria.ig", contact=maria)
    texting = sms_thread(ws, maria)
    received(texting, "ALICE-SMS")
    theirs = sms_thread(workspace_of(charlie), party_id="+14155550888")
    received(theirs, "charlie's own")

    for thread in (instagram, texting):
        assert charlie_client.get(f"/inbox/{thread.id}/").status_code == 404
        response = charlie_client.post(
            f"/inbox/{thread.id}/reply/", {"channel": "sms", "text": "hijack"}
        )
        assert response.status_code == 404
    own = charlie_client.get(f"/inbox/{theirs.id}/").content.decode()

    assert "ALICE-SMS" not in own
    assert not Message.objects.for_workspace(ws).filter(direction="out").exists()
