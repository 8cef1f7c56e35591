"""The inbox pages: the thread list (answer-first, unread, the reply window, paging, a fixed query
count), one thread (messages, attachments shown safely, read marks, new messages by polling),
linking a thread to a contact or creating a lead, and another workspace's user seeing nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alt.accounts.models import User, Workspace
from contacts.inbox import threads, views
from contacts.models import Contact, Conversation, Message
from tests.conftest import workspace_of
from tests.contacts.conftest import add_contact
from tests.contacts.inbox_rows import conversation, hours_ago, received, sent

HTMX = {"HX-Request": "true"}


def names_in_order(page: str) -> list[str]:
    return re.findall(r'class="thread-name" href="/inbox/\d+/" dir="auto">([^<]+)</a>', page)


def test_the_inbox_lists_threads_waiting_for_an_answer_first_longest_wait_on_top(
    alice_client: Client, ws: Workspace
) -> None:
    answered_recently = conversation(ws, party_handle="answered.recently")
    received(answered_recently, at=hours_ago(3))
    sent(answered_recently, at=hours_ago(0.5))
    waiting_long = conversation(ws, party_handle="waiting.long")
    received(waiting_long, at=hours_ago(5))
    received(waiting_long, at=hours_ago(0.1))  # a newer message does not move the wait
    waiting_short = conversation(ws, party_handle="waiting.short")
    received(waiting_short, at=hours_ago(1))
    answered_long_ago = conversation(ws, party_handle="answered.long.ago")
    received(answered_long_ago, at=hours_ago(30))
    sent(answered_long_ago, at=hours_ago(29))

    page = alice_client.get("/inbox/").content.decode()

    assert names_in_order(page) == [
        "@waiting.long",
        "@waiting.short",
        "@answered.recently",
        "@answered.long.ago",
    ]


def test_paging_walks_every_thread_once_in_answer_first_order(ws: Workspace) -> None:
    for i in range(4):
        received(conversation(ws, party_handle=f"waiting{i}"), at=hours_ago(10 - i))
    for i in range(5):
        thread = conversation(ws, party_handle=f"answered{i}")
        received(thread, at=hours_ago(40))
        sent(thread, at=hours_ago(20 - i))
    expected = [f"waiting{i}" for i in range(4)] + [f"answered{i}" for i in reversed(range(5))]

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        rows, cursor = threads.conversations_page(ws, after=cursor, limit=2)
        seen += [r.party_handle for r in rows]
        if not cursor:
            break

    assert seen == expected


def test_a_cursor_that_is_not_one_starts_at_the_first_page(
    alice_client: Client, ws: Workspace
) -> None:
    received(conversation(ws, party_handle="someone"))

    for junk in ("w", "x1.2", "r99999999999999999999999.1", "w-1.1", "<script>"):
        response = alice_client.get("/inbox/", {"after": junk})
        assert response.status_code == 200
        assert "@someone" in response.content.decode()


def test_the_show_more_link_continues_below_the_last_thread(
    alice_client: Client, ws: Workspace
) -> None:
    for i in range(threads.THREADS_PAGE + 2):
        received(conversation(ws, party_handle=f"lead{i:03d}"), at=hours_ago(100 - i))

    first = alice_client.get("/inbox/").content.decode()
    cursor = re.search(r'after=(w[\d.]+)"', first)
    assert cursor is not None
    more = alice_client.get("/inbox/", {"after": cursor.group(1)}, headers=HTMX).content.decode()

    assert len(names_in_order(first)) == threads.THREADS_PAGE
    assert names_in_order(more) == ["@lead050", "@lead051"]
    assert "<html" not in more


def test_unread_counts_show_and_opening_a_thread_reads_it(
    alice_client: Client, ws: Workspace
) -> None:
    thread = conversation(ws, party_handle="maria.buys.homes")
    first = received(thread, "Hello")
    second = received(thread, "Are you there?")

    listing = alice_client.get("/inbox/").content.decode()
    assert (
        '<span class="badge unread-count">2<span class="visually-hidden"> unread</span>' in listing
    )

    opened = alice_client.get(f"/inbox/{thread.id}/")

    assert opened.status_code == 200
    thread.refresh_from_db()
    assert thread.unread_count == 0
    for message in (first, second):
        message.refresh_from_db()
        assert message.read_at is not None
    assert "unread-count" not in alice_client.get("/inbox/").content.decode()


def test_each_instagram_thread_shows_the_time_left_to_reply_then_window_closed(
    alice_client: Client, ws: Workspace
) -> None:
    thread = conversation(ws)
    last = timezone.now()
    received(thread, at=last)

    with time_machine.travel(last + timedelta(hours=20, minutes=48), tick=False):
        listing = alice_client.get("/inbox/").content.decode()
        page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert "Reply within 3 h 12 min" in listing
    assert "Reply within 3 h 12 min" in page

    with time_machine.travel(last + timedelta(hours=24, seconds=1), tick=False):
        listing = alice_client.get("/inbox/").content.decode()
        page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert "Window closed" in listing
    assert "Instagram only allows replies within 24 hours of their last message" in page


def test_an_sms_thread_shows_no_instagram_window_and_the_channel_filter_hides_it(
    alice_client: Client, ws: Workspace
) -> None:
    received(conversation(ws, party_handle="on.instagram"))
    received(
        conversation(
            ws,
            channel=Conversation.Channel.SMS,
            channel_account="+14155550100",
            party_id="+14155550123",
            party_handle="",
            party_name="Texting Tom",
        )
    )

    everything = alice_client.get("/inbox/").content.decode()
    only_instagram = alice_client.get("/inbox/", {"channel": "instagram"}).content.decode()
    only_sms = alice_client.get("/inbox/", {"channel": "sms"}).content.decode()
    unknown = alice_client.get("/inbox/", {"channel": "carrier-pigeon"}).content.decode()

    assert names_in_order(everything) == ["@on.instagram", "Texting Tom"]
    assert names_in_order(only_instagram) == ["@on.instagram"]
    assert names_in_order(only_sms) == ["Texting Tom"]
    assert names_in_order(unknown) == names_in_order(everything)
    assert everything.count("Reply within") == 1


def test_a_linked_thread_shows_the_contacts_name_and_a_one_line_preview(
    alice_client: Client, ws: Workspace
) -> None:
    maria = add_contact(ws, "Maria", "Lopez")
    thread = conversation(ws, contact=maria)
    received(thread, "First line\nsecond line   with   spaces")
    photo_only = conversation(ws, party_handle="sends.photos")
    received(
        photo_only, "", attachments=[{"type": "image", "url": "https://lookaside.fbsbx.com/x"}]
    )
    replied = conversation(ws, party_handle="we.replied")
    received(replied, "Hi", at=hours_ago(2))
    sent(replied, "Thanks, calling you now")

    page = alice_client.get("/inbox/").content.decode()

    assert ">Maria Lopez</a>" in page
    assert "First line second line with spaces" in page
    assert '<span class="small thread-preview" dir="auto">Photo</span>' in page
    assert '<span class="muted">You: </span>Thanks, calling you now' in page


def _threads(ws: Workspace, n: int, maria: Contact) -> None:
    for i in range(n):
        thread = conversation(ws, party_handle=f"p{i}", contact=maria if i % 2 else None)
        received(thread, f"message {i}", attachments=[{"type": "image", "url": "https://x"}])
        if i % 3 == 0:
            sent(thread)


def test_the_inbox_runs_the_same_queries_for_5_and_for_50_threads(
    alice_client: Client, ws: Workspace
) -> None:
    maria = add_contact(ws, "Maria", "Lopez")
    _threads(ws, 5, maria)
    alice_client.get("/inbox/")  # warm the session and the workspace lookups
    with CaptureQueriesContext(connection) as five:
        assert alice_client.get("/inbox/").status_code == 200
    _threads(ws, 45, maria)
    with CaptureQueriesContext(connection) as fifty:
        page = alice_client.get("/inbox/").content.decode()

    assert len(names_in_order(page)) == 50
    assert len(fifty) == len(five)
    # the user, the page of threads, the unread counts per channel (and the session)
    assert len(five) <= 4, [q["sql"] for q in five.captured_queries]


def test_a_thread_page_runs_the_same_queries_for_5_and_for_50_messages(
    alice_client: Client, ws: Workspace, alice: User
) -> None:
    thread = conversation(ws)
    for i in range(5):
        received(thread, f"m{i}", unread=False)
    alice_client.get(f"/inbox/{thread.id}/")
    with CaptureQueriesContext(connection) as five:
        alice_client.get(f"/inbox/{thread.id}/")
    for i in range(45):
        sent(thread, f"reply {i}", sent_by=alice)
    with CaptureQueriesContext(connection) as fifty:
        alice_client.get(f"/inbox/{thread.id}/")

    assert len(fifty) == len(five)


def test_a_thread_shows_its_newest_messages_oldest_first_with_a_link_to_older_ones(
    alice_client: Client, ws: Workspace
) -> None:
    thread = conversation(ws)
    for i in range(threads.MESSAGES_PAGE + 3):
        received(thread, f"message number {i:03d}", at=hours_ago(100 - i), unread=False)

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    shown = re.findall(r"message number (\d{3})", page)
    older = re.search(r'href="\?before=([\d.]+)">Older messages', page)
    assert older is not None
    older_page = alice_client.get(f"/inbox/{thread.id}/", {"before": older.group(1)})

    assert shown == [f"{i:03d}" for i in range(3, threads.MESSAGES_PAGE + 3)]
    assert re.findall(r"message number (\d{3})", older_page.content.decode()) == [
        "000",
        "001",
        "002",
    ]
    assert 'id="thread-poll"' not in older_page.content.decode()


def test_attachments_are_shown_safely(alice_client: Client, ws: Workspace) -> None:
    thread = conversation(ws)
    cdn = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&amp;signature=a"
    received(
        thread,
        "",
        attachments=[
            {
                "type": "image",
                "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=a",
            },
            {"type": "image", "url": "https://scontent-iad3-1.cdninstagram.com/v/photo.jpg"},
            {"type": "image", "url": "https://evil.example/tracker.gif"},
            {"type": "image", "url": "http://lookaside.fbsbx.com/plain-http.jpg"},
            {"type": "video", "url": "javascript:alert(1)"},
            {
                "type": "ig_reel",
                "url": "https://www.instagram.com/reel/abc/",
                "title": "Open house tour",
            },
            {"type": "brand_new_type"},
            "not even an object",
        ],
    )
    received(
        thread,
        "Love this!",
        meta={"story": {"id": "1", "url": "https://lookaside.fbsbx.com/story/1"}},
    )
    received(thread, "", attachments=[{"type": "story_mention", "url": "javascript:alert(2)"}])

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()

    assert f'<img src="{cdn}" alt="Photo"' in page
    assert '<img src="https://scontent-iad3-1.cdninstagram.com/v/photo.jpg"' in page
    assert (
        '<a href="https://evil.example/tracker.gif" rel="noopener noreferrer nofollow">Photo</a>'
        in page
    )
    assert '<img src="http://' not in page
    assert "javascript:" not in page
    assert "Reel: Open house tour" in page
    assert "An attachment Instagram does not show outside the app" in page
    assert (
        '<a href="https://lookaside.fbsbx.com/story/1" rel="noopener noreferrer">Replied to your story</a>'
        in page
    )
    assert "Mentioned you in their story" in page


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>",
        "\u05de\u05e8\u05d9\u05d4 \u05dc\u05d5\u05e4\u05d6 \u202eevil\u202c",
        "W" * 10_000,
    ],
    ids=["script", "rtl", "10000-chars"],
)
def test_hostile_text_is_shown_escaped_on_the_list_and_the_thread(
    alice_client: Client, ws: Workspace, text: str
) -> None:
    thread = conversation(ws, party_handle="<b>handle</b>", party_name=text[:150])
    received(thread, text)

    listing = alice_client.get("/inbox/")
    page = alice_client.get(f"/inbox/{thread.id}/")

    assert listing.status_code == page.status_code == 200
    for body in (listing.content.decode(), page.content.decode()):
        assert "<script>alert" not in body
        assert "<b>handle</b>" not in body
    if text.startswith("<script>"):
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.content.decode()
    if text.startswith("W"):
        assert text in page.content.decode()
        assert "W" * threads.PREVIEW_CHARS not in listing.content.decode()


def test_the_poll_returns_only_newer_messages_and_the_status_of_watched_ones(
    alice_client: Client, ws: Workspace
) -> None:
    thread = conversation(ws)
    old = received(thread, "Old one", unread=False)
    queued = sent(thread, "On its way", status=Message.Status.PENDING, external_id="")
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    poll = re.search(r'hx-get="(/inbox/\d+/poll/\?after=\d+&amp;watch=[\d,]*)"', page)
    assert poll is not None
    url = poll.group(1).replace("&amp;", "&")
    assert f"after={queued.id}&watch={queued.id}" in url

    nothing = alice_client.get(url, headers=HTMX).content.decode()
    assert "msg-text" not in nothing
    assert 'id="thread-poll"' in nothing

    newer = received(thread, "Brand new question")
    Message.objects.for_workspace(ws).filter(id=queued.id).update(status=Message.Status.SENT)
    update = alice_client.get(url, headers=HTMX).content.decode()

    assert "Brand new question" in update
    assert 'hx-swap-oob="beforeend:#messages"' in update
    assert f'id="message-{queued.id}" hx-swap-oob="true"' in update
    assert "Old one" not in update
    assert f"after={newer.id}&amp;watch=" in update
    assert f"watch={queued.id}" not in update
    thread.refresh_from_db()
    assert thread.unread_count == 0  # it arrived while the thread was open
    assert old.id < newer.id


def test_send_message_on_a_contact_page_opens_their_latest_thread_or_the_inbox(
    alice_client: Client, ws: Workspace
) -> None:
    maria = add_contact(ws, "Maria", "Lopez")
    older = conversation(ws, contact=maria)
    received(older, at=hours_ago(50))
    latest = conversation(ws, contact=maria)
    received(latest, at=hours_ago(1))
    tom = add_contact(ws, "Tom", "Quiet")

    to_maria = alice_client.get("/inbox/", {"contact": maria.id})
    to_tom = alice_client.get("/inbox/", {"contact": tom.id}, follow=True)

    assert to_maria.status_code == 302
    assert to_maria["Location"] == f"/inbox/{latest.id}/"
    assert "No conversation with this contact yet" in to_tom.content.decode()


def test_link_a_thread_to_a_contact_with_the_picker(alice_client: Client, ws: Workspace) -> None:
    maria = add_contact(ws, "Maria", "Lopez", emails=["maria@example.com"])
    thread = conversation(ws, party_handle="maria.buys.homes")
    received(thread)

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    found = alice_client.get(f"/inbox/{thread.id}/", {"contact_q": "lopez"}, headers=HTMX)
    linked = alice_client.post(f"/inbox/{thread.id}/contact/", {"contact": maria.id})

    assert "Link to a contact" in page
    assert "Create lead" in page
    assert "Maria Lopez · maria@example.com" in found.content.decode()
    assert "<html" not in found.content.decode()
    assert linked.status_code == 302
    thread.refresh_from_db()
    maria.refresh_from_db()
    assert thread.contact_id == maria.id
    assert maria.instagram_handle == "maria.buys.homes"
    after = alice_client.get(f"/inbox/{thread.id}/").content.decode()
    assert f'href="/contacts/{maria.id}/">Open Maria Lopez</a>' in after
    assert "Link to a contact" not in after


def test_linking_without_choosing_says_so(alice_client: Client, ws: Workspace) -> None:
    thread = conversation(ws)

    response = alice_client.post(f"/inbox/{thread.id}/contact/", {"contact": ""})

    assert response.status_code == 400
    assert "Choose a contact to link." in response.content.decode()


def test_create_lead_from_a_thread(alice_client: Client, ws: Workspace, alice: User) -> None:
    thread = conversation(ws, party_handle="sam.sells", party_name="Sam Seller")
    received(thread)

    response = alice_client.post(f"/inbox/{thread.id}/lead/")

    assert response.status_code == 302
    thread.refresh_from_db()
    lead = thread.contact
    assert lead is not None
    assert (lead.first_name, lead.last_name, lead.instagram_handle) == (
        "Sam",
        "Seller",
        "sam.sells",
    )
    assert lead.source is not None
    assert lead.source.key == "instagram"
    again = alice_client.post(f"/inbox/{thread.id}/lead/", follow=True)
    assert "already linked" in again.content.decode()
    assert Contact.objects.for_workspace(ws).count() == 1


def test_link_suggestions_from_the_ingest_are_offered(
    alice_client: Client, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    maria = add_contact(ws, "Maria", "Lopez")
    thread = conversation(ws)
    received(thread, "Call me at 415 555 0123")

    class Suggestion:
        contact = maria
        evidence = "Their message has the phone (415) 555-0123, Maria's number."

    monkeypatch.setattr(views, "link_suggestions_for", lambda c: [Suggestion()])
    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()

    assert "Is this one of your contacts?" in page
    assert "Their message has the phone (415) 555-0123" in page
    assert f'<input type="hidden" name="contact" value="{maria.id}">' in page


def test_another_workspace_gets_404_on_every_inbox_url_and_changes_nothing(
    alice: User, ws: Workspace, charlie_client: Client, charlie: User
) -> None:
    thread = conversation(ws)
    received(thread, "ALICE-DM")
    failed = sent(thread, "ALICE-REPLY", status=Message.Status.FAILED, external_id="")
    charlies_contact = add_contact(workspace_of(charlie), "Charlie", "Lead")
    before = list(Message.objects.for_workspace(ws).values_list("id", "status"))

    gets = [f"/inbox/{thread.id}/", f"/inbox/{thread.id}/poll/?after=0"]
    posts = {
        f"/inbox/{thread.id}/reply/": {"text": "hijack"},
        f"/inbox/{thread.id}/messages/{failed.id}/retry/": {},
        f"/inbox/{thread.id}/contact/": {"contact": charlies_contact.id},
        f"/inbox/{thread.id}/lead/": {},
    }

    for url in gets:
        assert charlie_client.get(url).status_code == 404, url
    for url, data in posts.items():
        assert charlie_client.post(url, data).status_code == 404, url
    assert "ALICE-DM" not in charlie_client.get("/inbox/").content.decode()
    assert list(Message.objects.for_workspace(ws).values_list("id", "status")) == before
    thread.refresh_from_db()
    assert thread.contact_id is None


def test_a_message_of_another_thread_is_404_on_retry(alice_client: Client, ws: Workspace) -> None:
    mine = conversation(ws)
    other = conversation(ws)
    failed = sent(other, status=Message.Status.FAILED, external_id="")

    response = alice_client.post(f"/inbox/{mine.id}/messages/{failed.id}/retry/")

    assert response.status_code == 404


def test_linking_another_workspaces_contact_is_404(
    alice_client: Client, ws: Workspace, charlie: User
) -> None:
    thread = conversation(ws)
    theirs = add_contact(workspace_of(charlie), "Not", "Yours")

    response = alice_client.post(f"/inbox/{thread.id}/contact/", {"contact": theirs.id})

    assert response.status_code == 404
    thread.refresh_from_db()
    assert thread.contact_id is None


@pytest.mark.parametrize(
    "moment",
    [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(26, 1, 1, 8, 0, tzinfo=UTC)],
    ids=["year-9999", "year-0026"],
)
def test_absurd_years_do_not_break_the_pages(
    alice_client: Client, ws: Workspace, moment: datetime
) -> None:
    thread = conversation(ws, party_handle="time.traveller")
    received(thread, "From another century", at=moment)

    listing = alice_client.get("/inbox/")
    page = alice_client.get(f"/inbox/{thread.id}/")

    assert listing.status_code == 200
    assert page.status_code == 200
    assert "From another century" in page.content.decode()
    # Year 26 is long past; a year-9999 timestamp counts as now, so the window is open.
    expected = "Window closed" if moment.year == 26 else "Reply within 23 h 59 min"
    assert expected in listing.content.decode()


def test_a_message_stuck_sending_says_it_is_not_confirmed_and_offers_no_retry(
    alice_client: Client, ws: Workspace
) -> None:
    thread = conversation(ws)
    received(thread, unread=False)
    stuck = sent(thread, "Lost in flight", status=Message.Status.SENDING, external_id="")
    fresh = sent(thread, "Just now", status=Message.Status.SENDING, external_id="")
    eleven_minutes_ago = timezone.now() - timedelta(minutes=11)
    Message.objects.for_workspace(ws).filter(id=stuck.id).update(
        created_at=eleven_minutes_ago, sent_at=eleven_minutes_ago
    )

    page = alice_client.get(f"/inbox/{thread.id}/").content.decode()

    assert page.count("Not confirmed: check on Instagram") == 1
    stuck_html = page[
        page.index(f'id="message-{stuck.id}"') : page.index(f'id="message-{fresh.id}"')
    ]
    assert "Not confirmed" in stuck_html
    assert "/retry/" not in page


def test_hand_edited_ids_in_inbox_urls_are_ignored(alice_client: Client, ws: Workspace) -> None:
    thread = conversation(ws)
    received(thread, "Still here", unread=False)
    huge = "9" * 30

    inbox = alice_client.get("/inbox/", {"contact": huge})
    poll = alice_client.get(f"/inbox/{thread.id}/poll/", {"after": huge, "watch": f"{huge},x,-1"})
    from_start = alice_client.get(f"/inbox/{thread.id}/poll/", {"after": "junk"})

    assert inbox.status_code == 200
    assert poll.status_code == 200
    assert "Still here" in from_start.content.decode()
