"""Every page an agent can reach, at 390 and 1280 px, checked by axe-core (WCAG 2.1 A and AA plus
axe's best practices) with zero violations as the bar; none scrolls sideways on a phone, even with
hostile data (long unbroken words, right-to-left text). Screenshots of each go to
var/test-artifacts/browser/.

One line of PAGES adds a page: a path with {placeholders} filled from the seeded workspace, and
optionally a step that puts the page in the state to check (a drawer open, a form submitted empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from alt.accounts.models import Membership, User
from appointments.models import Appointment
from appointments.services import appointment_create
from contacts.bulk.services import bulk_job_start
from contacts.imports import services as importer
from contacts.listing.services import ContactListQuery
from contacts.models import Conversation, CustomField, DuplicateFlag, Message
from contacts.pipeline.services import custom_field_create, pipeline_create_defaults
from contacts.properties.services import PropertyInput, property_create, property_link
from contacts.services import ContactInput, contact_create, contacts_delete, note_add, task_add
from integrations.instagram.models import InstagramAccount, InstagramDeletionRequest
from tests.browser.conftest import ARTIFACTS, _save_screenshot, axe_violations, sign_in

pytestmark = pytest.mark.browser

WIDTHS = [390, 1280]
LONG_WORD = "Supercalifragilisticexpialidocious" * 118  # 4,012 characters, no break opportunity
RTL = "\u05de\u05e8\u05d9\u05d4 \u05dc\u05d5\u05e4\u05d6"  # Hebrew: "Maria Lopez"


@dataclass(frozen=True)
class Stop:
    name: str
    path: str  # {contact}, {twin}, {property}, {appointment}, {import_job}, {member}, {task},
    # {stage}, {bulk_job}, {trigger}, {instagram}, {deletion}, {conversation}, {stranger} are
    # filled in
    signed_in: bool = True
    step: str = ""  # a key of STEPS, run after the page has loaded
    status: int = 200


PAGES = [
    Stop("dashboard", "/dashboard/"),
    Stop("contacts", "/contacts/"),
    Stop("contacts-filters-open", "/contacts/?stage=&sort=name", step="open-filters"),
    Stop("contacts-search", "/contacts/?q=lopez"),
    Stop("contact", "/contacts/{contact}/"),
    Stop("contact-new", "/contacts/new/"),
    Stop("contact-new-invalid", "/contacts/new/", step="submit-empty"),
    Stop("contact-edit", "/contacts/{contact}/edit/details/"),
    Stop("contact-edit-buyer", "/contacts/{contact}/edit/buyer/"),
    Stop("contact-edit-consent", "/contacts/{contact}/edit/consent/"),
    Stop("sms-reminders-settings", "/settings/sms/reminders/"),
    Stop("tasks", "/tasks/"),
    Stop("task-edit", "/tasks/{task}/edit/"),
    Stop("board", "/pipeline/"),
    Stop("board-column", "/pipeline/stages/{stage}/"),
    Stop("board-move-menu", "/pipeline/", step="open-move-menu"),
    Stop("board-move", "/pipeline/move/?contact={contact}"),
    Stop("recently-deleted", "/contacts/deleted/"),
    Stop("bulk-job", "/contacts/bulk/jobs/{bulk_job}/"),
    Stop("bulk-jobs", "/contacts/bulk/jobs/"),
    Stop("properties", "/properties/"),
    Stop("property", "/properties/{property}/"),
    Stop("property-new", "/properties/new/"),
    Stop("property-edit", "/properties/{property}/edit/"),
    Stop("pipeline-settings", "/settings/pipeline/"),
    Stop("custom-fields", "/settings/custom-fields/"),
    Stop("import-upload", "/contacts/import/"),
    Stop("import-mapping-preview", "/contacts/import/{import_job}/"),
    Stop("duplicates", "/contacts/duplicates/"),
    Stop("merge", "/contacts/{contact}/merge/{twin}/"),
    Stop("appointments-agenda", "/appointments/"),
    Stop("appointments-week", "/appointments/week/"),
    Stop("appointment-new", "/appointments/new/?contact={contact}"),
    Stop("appointment-edit", "/appointments/{appointment}/"),
    Stop("settings", "/settings/"),
    Stop("account", "/settings/account/"),
    Stop("team", "/settings/workspace/"),
    Stop("member-remove", "/settings/workspace/members/{member}/remove/"),
    Stop("workspace-new", "/workspaces/new/"),
    Stop("calendar-settings", "/settings/calendar/"),
    Stop("social-settings-connected", "/settings/social/"),
    Stop("instagram-disconnect", "/settings/social/instagram/{instagram}/disconnect/"),
    Stop(
        "instagram-disconnect-invalid",
        "/settings/social/instagram/{instagram}/disconnect/",
        step="submit-empty",
    ),
    Stop("email", "/accounts/email/"),
    Stop("password-change", "/accounts/password/change/"),
    Stop("two-factor", "/accounts/2fa/"),
    Stop("inbox", "/inbox/"),
    Stop("sms-settings", "/settings/sms/"),
    Stop("sms-settings-invalid", "/settings/sms/", step="submit-empty"),
    Stop("instagram-comments", "/settings/social/comments/"),
    Stop("instagram-triggers", "/settings/social/triggers/"),
    Stop("instagram-trigger-new", "/settings/social/triggers/new/"),
    Stop("instagram-trigger-new-invalid", "/settings/social/triggers/new/", step="submit-empty"),
    Stop("instagram-trigger-edit", "/settings/social/triggers/{trigger}/"),
    Stop("instagram-posts", "/settings/social/instagram/posts/"),
    Stop("instagram-compose", "/settings/social/instagram/posts/new/"),
    Stop("instagram-compose-invalid", "/settings/social/instagram/posts/new/", step="submit-empty"),
    Stop("inbox-thread", "/inbox/{conversation}/"),
    Stop("inbox-thread-unlinked", "/inbox/{stranger}/"),
    Stop("help-google-calendar", "/help/google-calendar/"),
    Stop("security-policy", "/legal/security/"),
    Stop("not-found", "/no-such-page/", status=404),
    Stop("login", "/accounts/login/", signed_in=False),
    Stop("login-invalid", "/accounts/login/", signed_in=False, step="submit-empty"),
    Stop("signup", "/accounts/signup/", signed_in=False),
    Stop("password-reset", "/accounts/password/reset/", signed_in=False),
    Stop("not-found-signed-out", "/no-such-page/", signed_in=False, status=404),
    Stop(
        "instagram-deletion-status",
        "/webhooks/instagram/data-deletion/{deletion}/",
        signed_in=False,
    ),
]


def _open_filters(page: Page) -> None:
    drawer = page.locator("details.filter-drawer")
    if not drawer.evaluate("el => el.open"):
        drawer.locator("summary").click()


def _submit_empty(page: Page) -> None:
    form = page.locator("main form[method=post]").last
    form.evaluate("form => { form.noValidate = true; }")
    form.locator("button[type=submit], button:not([type])").last.click()
    page.wait_for_load_state()


def _open_move_menu(page: Page) -> None:
    page.locator(".board-card-move").first.click()
    expect(page.locator("dialog#board-move")).to_be_visible()


STEPS = {
    "open-filters": _open_filters,
    "submit-empty": _submit_empty,
    "open-move-menu": _open_move_menu,
}

# Measured in the page: how wide the document is (a long word must wrap, not widen it), and the
# innermost elements that stick out past the window, to name in the failure.
WIDTH = """() => {
  const width = document.scrollingElement.scrollWidth;
  const limit = window.innerWidth;
  const wide = [...document.body.querySelectorAll("*")].filter(el =>
    el.getBoundingClientRect().right > limit + 1
    && ![...el.children].some(child => child.getBoundingClientRect().right > limit + 1));
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map(c => "." + c).join("");
  return {width, culprits: wide.slice(0, 5).map(el => name(el.parentElement) + " > " + name(el))};
}"""


def _seed(alice: User, bob: User) -> dict[str, int | str]:
    """Alice's workspace with a bit of everything, and hostile values where a page shows them."""
    ws = alice.memberships.get().workspace
    pipeline_create_defaults(workspace=ws)
    custom_field_create(workspace=ws, label="Preferred school district", kind=CustomField.Kind.TEXT)
    bob.full_name = f"{RTL} {LONG_WORD[:140]}"
    bob.save(update_fields=["full_name"])
    contact = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(
            first_name=RTL, last_name="Lopez" + "W" * 75, emails=["maria.lopez@example.com"],
            phones=["+14155550123"], tags=["Pre-approved", LONG_WORD[:40]], assigned_to=bob,
            budget_min=450_000, budget_max=1_250_000,
        ),
    )  # fmt: skip
    twin = contact_create(
        workspace=ws, actor=alice,
        data=ContactInput(first_name="Maria", last_name="Lopez", emails=["maria.lopez@example.com"],
                          budget_max=54_298),
    )  # fmt: skip
    assert DuplicateFlag.objects.for_workspace(ws).exists()
    for i in range(3):
        contact_create(
            workspace=ws, actor=alice,
            data=ContactInput(first_name=f"Lead{i}", last_name="Person",
                              emails=[f"{'x' * 60}{i}@{'long-domain-' * 6}example.com"]),
        )  # fmt: skip
    note_add(contact=contact, author=alice, body=LONG_WORD)
    # Consent with a history (a long, right-to-left detail; a STOP from a number) and a time zone.
    from contacts.consent import consent_record

    consent_record(contact, "sms", "opt_in", detail=RTL + " " + LONG_WORD[:250], by=alice)
    consent_record(contact, "sms", "stop", address="+14155550123", detail="Texted STOP")
    consent_record(contact, "email", "opt_in", detail="Ticked on the contact form by Alice")
    now = timezone.now()
    task = task_add(
        workspace=ws, contact=contact, actor=alice, title="Call " + "W" * 190, due_at=now
    )
    task_add(workspace=ws, contact=twin, actor=alice, title="Send comps", due_at=now)
    prop = property_create(
        workspace=ws,
        data=PropertyInput(street="12 " + "Oak" * 38 + " St", city="San Diego", state="CA",
                           zip_code="92104", price=1_250_000, beds=3, sqft=1_850),
    )  # fmt: skip
    property_link(property=prop, contact=contact, role="interested", actor=alice)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    appointment = appointment_create(
        workspace=ws, actor=alice, contact=contact, kind=Appointment.Kind.TOUR,
        title="Tour " + LONG_WORD[:195], starts_at=start, ends_at=start + timedelta(hours=1),
        location="12 Oak St, San Diego", property=prop,
    )  # fmt: skip
    csv = "First name,Last name,Email,Notes\n" + "".join(
        f"Ana{i},{RTL},ana{i}@example.com,{LONG_WORD[:300]}\n" for i in range(5)
    )
    job = importer.import_upload_create(
        workspace=ws, actor=alice, filename="leads.csv", content=csv.encode()
    )
    member = Membership.objects.get(user=bob, workspace=ws)
    gone = contact_create(
        workspace=ws, actor=alice, data=ContactInput(first_name=RTL, last_name=LONG_WORD[:80])
    )
    contacts_delete(workspace=ws, ids=[gone.id], actor=alice)
    bulk_job = bulk_job_start(
        workspace=ws, actor=alice, action="tag", params={"tag": LONG_WORD[:40]},
        query=ContactListQuery(q="Person"),
    )  # fmt: skip
    # Instagram connected (token expiring and a last event shown on the health panel; the page
    # before connecting is checked in test_instagram_connect_journey), with posts and triggers,
    # published posts, insights and speed-to-lead conversations.
    instagram, trigger = _seed_instagram(ws, alice)
    _seed_instagram_posts(ws, alice, bob, contact, instagram)
    deletion = InstagramDeletionRequest.objects.create(confirmation_code="0123456789abcdef0123")
    conversation, stranger = _seed_inbox(ws, contact, alice)
    return {
        "conversation": conversation, "stranger": stranger,
        "instagram": instagram, "deletion": deletion.confirmation_code, "trigger": trigger,
        "task": task.id, "stage": contact.stage_id, "bulk_job": bulk_job.id,
        "contact": contact.id, "twin": twin.id, "property": prop.id,
        "appointment": appointment.id, "import_job": job.id, "member": member.id,
    }  # fmt: skip


def _seed_instagram(ws: Any, alice: User) -> tuple[int, int]:
    """An Instagram account with a post, hostile comments, our reply, a private reply that
    failed and one that went out; and a keyword trigger on that post. Returns the account's and
    the trigger's ids."""
    from contacts.models import Conversation, Message
    from integrations.instagram.models import (
        InstagramComment,
        InstagramMedia,
        KeywordTrigger,
    )

    now = timezone.now()
    account = InstagramAccount.objects.create(
        workspace=ws, ig_user_id="17841400000000009", app_user_id="27640875392278831",
        username="sunset_realty", access_token="IGAA-a11y", keyword_triggers_enabled=True,
        connected_at=now, last_event_at=now, token_expires_at=now + timedelta(days=60),
    )  # fmt: skip
    media = InstagramMedia.objects.create(
        workspace=ws, account=account, media_id="1790009", caption=f"{RTL} {LONG_WORD[:300]}",
        permalink="https://www.instagram.com/p/1790009/", posted_at=timezone.now(),
    )  # fmt: skip
    now = timezone.now()
    rows = [("1", RTL, now), ("2", LONG_WORD, now), ("3", "Old one", now - timedelta(days=9))]
    for n, text, at in rows:
        InstagramComment.objects.create(
            workspace=ws, account=account, media=media, comment_id=f"18000{n}", from_id=f"55{n}",
            from_username="x" * 30, text=text, commented_at=at,
        )  # fmt: skip
    InstagramComment.objects.create(
        workspace=ws, account=account, media=media, comment_id="180004", parent_comment_id="180001",
        from_id=account.ig_user_id, from_username="sunset_realty", text="Check your DMs!",
        is_ours=True,
    )  # fmt: skip
    conversation = Conversation.objects.create(
        workspace=ws, channel="instagram", channel_account=account.ig_user_id, party_id="551"
    )
    for n, status in (("1", "sent"), ("2", "failed")):
        message = Message.objects.create(
            workspace=ws, conversation=conversation, channel="instagram", direction="out",
            author="automation", text=f"{RTL} — automated reply from @sunset_realty",
            status=status, error="Instagram refused the request." if status == "failed" else "",
        )  # fmt: skip
        InstagramComment.objects.for_workspace(ws).filter(comment_id=f"18000{n}").update(
            private_reply_message=message, private_reply_sent_at=now if status == "sent" else None
        )
    trigger = KeywordTrigger.objects.create(
        workspace=ws, account=account, keywords=f"price, {RTL}, {LONG_WORD[:200]}", media=media,
        reply_text="Hi!", public_reply_text="Check your DMs!", enabled=True, created_by=alice,
    )  # fmt: skip
    return int(account.id), int(trigger.id)


def _seed_instagram_posts(ws: Any, alice: User, bob: User, contact: Any, account_id: int) -> None:
    """On the account: posts in every state, 30 days of insights with a gap, and conversations
    for speed to lead (answered, automated, waiting), hostile where shown."""
    from contacts.models import Conversation, Message
    from integrations.instagram.models import (
        InstagramAccount,
        InstagramDailyInsight,
        InstagramMedia,
        InstagramPost,
    )  # fmt: skip

    now = timezone.now()
    account = InstagramAccount.objects.for_workspace(ws).get(id=account_id)
    for state, caption, error in [
        ("published", f"{RTL} {LONG_WORD[:1500]}", ""),
        (
            "failed",
            "Open house",
            "Instagram could not fetch the image, or it is not a JPEG. " + LONG_WORD[:200],
        ),
        ("publishing", "", ""),
        ("draft", "Coming soon " + LONG_WORD[:60], ""),
    ]:
        InstagramPost.objects.create(
            workspace=ws, account=account, author=alice, caption=caption, state=state,
            error=error, image_url="https://cdn.example.com/house.jpg",
        )  # fmt: skip
    today = now.date()
    for n in range(1, 31):
        if n != 7:  # a day Meta had no data for
            InstagramDailyInsight.objects.create(
                workspace=ws, account=account, date=today - timedelta(days=n),
                metrics={"reach": 100 + n * 7, "views": 180 + n * 11},
            )  # fmt: skip
    for i, caption in enumerate([LONG_WORD[:300], RTL, ""]):
        InstagramMedia.objects.create(
            workspace=ws, account=account, media_id=f"1790000000000000{i}", caption=caption,
            posted_at=now - timedelta(days=i + 1),
            insights={"total_interactions": 40 - i, "reach": 900 + i},
        )  # fmt: skip
    for i, (author, sender, waiting) in enumerate(
        [("person", bob, False), ("automation", None, False), ("", None, True)]
    ):
        conversation = Conversation.objects.create(
            workspace=ws, channel="instagram", channel_account=account.ig_user_id,
            party_id=f"6543210{i}", party_name=f"{RTL} {LONG_WORD[:120]}",
            contact=contact if i == 0 else None, last_inbound_at=now - timedelta(hours=i + 1),
            awaiting_reply_since=now - timedelta(hours=i + 1) if waiting else None,
        )  # fmt: skip
        Message.objects.for_workspace(ws).create(
            workspace=ws, conversation=conversation, channel="instagram", direction="in",
            author="party", status="received", sent_at=now - timedelta(hours=i + 1),
        )  # fmt: skip
        if author:
            Message.objects.for_workspace(ws).create(
                workspace=ws, conversation=conversation, channel="instagram", direction="out",
                author=author, sent_by=sender, status="sent",
                sent_at=now - timedelta(hours=i + 1) + timedelta(minutes=7),
            )  # fmt: skip


def _seed_inbox(ws: Any, contact: Any, alice: User) -> tuple[int, int]:
    """Two Instagram threads: one linked to the contact (a DM, a long word, attachments, a failed
    reply with its Retry, a queued one), one from a stranger with an RTL name and no contact."""
    now = timezone.now()
    linked = Conversation.objects.create(
        workspace=ws, channel="instagram", channel_account="17841405822304914",
        party_id="6543210987654321", party_handle="maria." + "w" * 50, contact=contact,
        last_message_at=now, last_inbound_at=now - timedelta(hours=3),
        awaiting_reply_since=now - timedelta(hours=3), unread_count=2,
    )  # fmt: skip
    stranger = Conversation.objects.create(
        workspace=ws, channel="instagram", channel_account="17841405822304914",
        party_id="6543210987654322", party_handle="w" * 64, party_name=RTL,
        last_message_at=now - timedelta(days=2), last_inbound_at=now - timedelta(days=2),
        unread_count=1,
    )  # fmt: skip
    rows = [
        (linked, "in", "party", "received", LONG_WORD[:2000], [], {}),
        (
            linked,
            "in",
            "party",
            "received",
            "",
            [
                {"type": "image", "url": "https://evil.example/tracker.gif"},
                {
                    "type": "ig_reel",
                    "url": "https://www.instagram.com/reel/abc/",
                    "title": LONG_WORD[:120],
                },
                {"type": "brand_new_type"},
            ],
            {"story": {"id": "1", "url": "https://www.instagram.com/stories/x/1/"}},
        ),
        (linked, "out", "person", "failed", "Can we tour " + LONG_WORD[:300], [], {}),
        (linked, "out", "automation", "pending", f"{RTL} (automated)", [], {}),
        (stranger, "in", "party", "received", f"{RTL} <script>alert(1)</script>", [], {}),
    ]
    for i, (thread, direction, author, status, text, attachments, meta) in enumerate(rows):
        Message.objects.create(
            workspace=ws, conversation=thread, channel="instagram", direction=direction,
            author=author, status=status, text=text, attachments=attachments, meta=meta,
            external_id=f"mid.{i}" if direction == "in" else "",
            error="Instagram only allows replies within 24 hours of their last message."
            if status == "failed" else "",
            sent_by=alice if author == "person" else None,
            sent_at=now - timedelta(hours=3) + timedelta(minutes=i),
        )  # fmt: skip
    # The contact texts too: their thread page is one timeline of both channels, with the reply
    # switch; the SMS rows carry an RTL text with emoji and a 10,000-character one.
    texting = Conversation.objects.create(
        workspace=ws, channel="sms", channel_account="+14155550100", party_id="+14155550123",
        contact=contact, last_message_at=now, last_inbound_at=now - timedelta(hours=1),
        unread_count=2,
    )  # fmt: skip
    for i, text in enumerate((f"{RTL} 🏠🔑", "Ok " * 3_333 + "!")):
        Message.objects.create(
            workspace=ws, conversation=texting, channel="sms", direction="in", author="party",
            status="received", text=text, external_id=f"SM{i:032x}",
            sent_at=now - timedelta(hours=1) + timedelta(minutes=i),
        )  # fmt: skip
    return linked.id, stranger.id


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_has_no_axe_violations_and_fits_a_phone(
    width: int, live_server: Any, alice: Any, bob: Any, axe_page: Page
) -> None:
    ids = _seed(alice, bob)
    page = axe_page
    page.set_viewport_size({"width": width, "height": 844})
    directory = ARTIFACTS / "a11y"
    failures: list[str] = []
    signed_in = False
    for stop in sorted(PAGES, key=lambda s: not s.signed_in):
        if stop.signed_in and not signed_in:
            sign_in(page, alice, live_server.url)
            signed_in = True
        if not stop.signed_in and signed_in:
            page.context.clear_cookies()
            signed_in = False
        response = page.goto(live_server.url + stop.path.format(**ids))
        assert response is not None
        assert response.status == stop.status, f"{stop.name}: HTTP {response.status}"
        if stop.step:
            STEPS[stop.step](page)
        _save_screenshot(page, directory / f"{stop.name}-{width}.png")
        for violation in axe_violations(page):
            failures.append(
                f"{stop.name} ({stop.path}) at {width} px: {violation['id']} [{violation['impact']}]"
                f" {violation['help']}\n    on {', '.join(violation['targets'][:6])}"
                f"\n    {violation['summary']}"
            )
        layout = page.evaluate(WIDTH)
        if layout["width"] > width:
            failures.append(
                f"{stop.name} ({stop.path}) at {width} px: {layout['width']} px wide, past the"
                f" window: {', '.join(layout['culprits'])}"
            )
    assert not failures, f"{len(failures)} accessibility failures:\n" + "\n".join(failures)


# --- what axe cannot see: keyboard focus, announcements, sizes ------------------------------------
# Tab through the page; every focused element must be in sight, not under the fixed tab bar.
HIDDEN_FOCUS = """() => {
  const el = document.activeElement;
  const bar = document.querySelector(".mainnav");
  if (!el || el === document.body || bar.contains(el)) return null;
  const box = el.getBoundingClientRect();
  const top = getComputedStyle(bar).position === "fixed" ? bar.getBoundingClientRect().top : innerHeight;
  return box.bottom > top + 0.5 ? `${el.outerHTML.slice(0, 120)} ends at ${box.bottom}, bar at ${top}` : null;
}"""


def _hidden_focus_while_tabbing(page: Page, presses: int) -> list[str]:
    hidden = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        problem = page.evaluate(HIDDEN_FOCUS)
        if problem:
            hidden.append(problem)
    return hidden


def test_keyboard_focus_never_lands_behind_the_phone_tab_bar(
    live_server: Any, alice: Any, page: Page
) -> None:
    ws = alice.memberships.get().workspace
    pipeline_create_defaults(workspace=ws)
    now = timezone.now()
    for i in range(14):
        contact = contact_create(
            workspace=ws,
            actor=alice,
            data=ContactInput(first_name=f"Lead{i:02d}", last_name="Person"),
        )
        task_add(workspace=ws, contact=contact, actor=alice, title=f"Call lead {i}", due_at=now)
    sign_in(page, alice, live_server.url)

    for path in ("/contacts/", "/tasks/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.scrollingElement.scrollHeight") > 2 * 844
        assert _hidden_focus_while_tabbing(page, 60) == [], path


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_the_content(
    live_server: Any, alice: Any, page: Page
) -> None:
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/settings/")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the page, past the header's links
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


@pytest.mark.parametrize("width", WIDTHS)
def test_after_a_failed_submit_focus_goes_to_the_error_summary(
    width: int, live_server: Any, alice: Any, maria: Any, page: Page
) -> None:
    sign_in(page, alice, live_server.url)
    page.set_viewport_size({"width": width, "height": 844})

    # A whole page sent back with errors.
    page.goto(f"{live_server.url}/contacts/new/")
    page.get_by_role("button", name="Add contact").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Please correct the following")
    # A field's problem links to the field.
    page.get_by_label("First name").fill("Dana")
    page.get_by_label("Emails").fill("not-an-email")
    page.get_by_role("button", name="Add contact").click()
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Emails")
    assert link.get_attribute("href") == "#id_emails"
    link.click()
    expect(page.get_by_label("Emails")).to_be_focused()

    # A form that htmx swaps back in with errors.
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    page.get_by_role("link", name="Add task").click()
    page.get_by_role("button", name="Add task").click()
    task_summary = page.locator("#task-form [data-error-summary], [data-error-summary]").first
    expect(task_summary).to_be_focused()
    expect(task_summary).to_contain_text("Say what needs doing")


def test_a_contact_search_announces_only_how_many_were_found(
    live_server: Any, alice: Any, page: Page
) -> None:
    ws = alice.memberships.get().workspace
    pipeline_create_defaults(workspace=ws)
    for first in ("Jane", "Jake", "Maria"):
        contact_create(
            workspace=ws, actor=alice, data=ContactInput(first_name=first, last_name="Doe")
        )
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/contacts/")

    status = page.get_by_role("status").filter(has_text="found")
    expect(status).to_have_text("3 contacts found")
    page.fill("#id_q", "maria")
    expect(page.locator(".contact-row")).to_have_count(1)
    expect(status).to_have_text("1 contact found")
    page.fill("#id_q", "nobody-by-that-name")
    expect(status).to_have_text("0 contacts found")
    # The results themselves are no live region: the list is not read out again.
    assert page.locator("#contact-results[aria-live], #contact-results [aria-live]").count() == 0
    assert page.locator("#contact-results-status").count() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_week_view_links_are_at_least_24_px_tall(
    width: int, live_server: Any, alice: Any, maria: Any, page: Page
) -> None:
    ws = alice.memberships.get().workspace
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    appointment_create(
        workspace=ws, actor=alice, contact=maria, kind=Appointment.Kind.TOUR, title="Tour",
        starts_at=start, ends_at=start + timedelta(hours=1), location="12 Oak St",
    )  # fmt: skip
    sign_in(page, alice, live_server.url)
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{live_server.url}/appointments/week/")

    heights = page.locator(".week-grid a").evaluate_all(
        "links => links.map(a => [a.textContent.trim(), a.getBoundingClientRect().height])"
    )
    assert {name for name, _height in heights} >= {"Tour", "Maria Lopez"}
    assert [(name, h) for name, h in heights if h < 24] == []


def test_the_import_preview_scrolls_with_the_keyboard(
    live_server: Any, alice: Any, page: Page
) -> None:
    ws = alice.memberships.get().workspace
    headers = ",".join(f"Column {i}" for i in range(12))
    csv = f"First name,Email,{headers}\nAna,ana@example.com," + ",".join(["value"] * 12) + "\n"
    job = importer.import_upload_create(
        workspace=ws, actor=alice, filename="wide.csv", content=csv.encode()
    )
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/contacts/import/{job.id}/")

    region = page.get_by_role("region", name="Preview of the first rows of wide.csv")
    region.focus()
    expect(region).to_be_focused()
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    # Chromium animates keyboard scrolling: wait for the region to move rather than read it at once.
    region.evaluate(
        """el => new Promise((done, fail) => {
            const start = Date.now();
            (function check() {
                if (el.scrollLeft > 0) return done();
                if (Date.now() - start > 5000) return fail(new Error("the region never scrolled"));
                requestAnimationFrame(check);
            })();
        })"""
    )
    assert region.evaluate("el => el.scrollLeft") > 0


def test_book_appointment_fits_its_button_on_a_desktop_and_the_sub_tabs_show_they_scroll(
    live_server: Any, alice: Any, maria: Any, page: Page
) -> None:
    sign_in(page, alice, live_server.url)
    page.goto(f"{live_server.url}/contacts/{maria.id}/")
    tabs = page.locator("nav.tabs")
    assert tabs.evaluate("el => el.scrollWidth > el.clientWidth")  # 390 px: the tabs scroll
    assert "local" in tabs.evaluate("el => getComputedStyle(el).backgroundAttachment")
    assert "gradient" in tabs.evaluate("el => getComputedStyle(el).backgroundImage")

    page.set_viewport_size({"width": 1280, "height": 844})
    book = page.get_by_role("link", name="Book appointment")
    lines = book.evaluate(
        "el => { const text = [...el.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());"
        " const r = document.createRange(); r.selectNodeContents(text);"
        " return r.getClientRects().length; }"
    )
    assert lines == 1
    assert book.evaluate("el => el.scrollWidth <= el.clientWidth")
