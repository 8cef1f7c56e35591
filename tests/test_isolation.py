"""ACC-2 / SEC-3: a user of another workspace reaches nothing of Alice's, by any URL.

The walk is built from the URLconf, not from a hand-written list: every pattern, present and
future, is requested with GET and POST as Charlie (another workspace). A URL parameter is filled
with the id of one of Alice's objects, so a view that forgets to scope its query shows or changes
Alice's data, and the walk reports it. A new URL parameter name with no entry in `alice_ids`
fails the test until someone says which of Alice's objects it names.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path
from django.utils import timezone

from alt.accounts.models import Invite, Membership
from alt.accounts.services import invite_create

pytestmark = pytest.mark.django_db

MARKERS = (
    "Alice Realty",
    "alice@example.com",
    "bob@example.com",
    "dora.invited@example.com",
    "Zelda Secretlead",
    "zelda.secret@example.com",
    "4155550199",
    "ALICE-NOTE-TEXT",
    "ALICE-TASK-TITLE",
    "ALICE-LIST",
    "742 Evergreen Terrace",
    "alice-import.csv",
    "ALICE-APPOINTMENT",
    "ALICE-TAG",
    "ALICE-JOB-ERROR",
    "alice_secret_ig",
    "ALICE-IG-CAPTION",
    "ALICE-DM-TEXT",
    "alice.dm.handle",
    "ALICE-SMS-REMINDER-REASON",
    "4155550177",
    "ALICE-TWILIO-TOKEN",
)


@dataclass
class AliceData:
    ids: dict[str, str]
    snapshot: Callable[[], Any]


@pytest.fixture
def alice_data(alice: Any, bob: Any, django_capture_on_commit_callbacks: Any) -> AliceData:
    workspace = alice.memberships.get().workspace
    with django_capture_on_commit_callbacks(execute=False):
        invite = invite_create(
            workspace=workspace, invited_by=alice, email="dora.invited@example.com", role="agent"
        )
    bob_membership = Membership.objects.get(user=bob)
    crm = alice_crm(workspace, alice)
    # kwarg name -> the value that names one of Alice's objects. Public token URLs get a
    # well-formed but unknown token: the token is the secret there.
    ids = {
        "invite_id": str(invite.id),
        "membership_id": str(bob_membership.id),
        "token": "not-a-real-invite-token",
        "key": "MQ:1tZ4xw:not-a-real-key",
        "uidb36": "1",
        "object_id": str(alice.id),
        "id": str(alice.id),
        "content_type_id": "1",
        "app_label": "accounts",
        "url": "accounts/user/",
        **crm,
    }

    def snapshot() -> Any:
        return (
            sorted(
                Membership.objects.filter(workspace=workspace).values_list("id", "user_id", "role")
            ),
            sorted(
                Invite.objects.filter(workspace=workspace).values_list(
                    "id", "email", "accepted_at", "revoked_at"
                )
            ),
            workspace.__class__.objects.get(id=workspace.id).name,
            crm_snapshot(workspace),
        )

    return AliceData(ids=ids, snapshot=snapshot)


def alice_crm(workspace: Any, alice: Any) -> dict[str, str]:
    """Alice's CRM records, one of each kind a URL can name. Returns kwarg name -> id."""
    from contacts.models import (
        BulkJob,
        Contact,
        CustomField,
        DuplicateFlag,
        ImportJob,
        Merge,
        PipelineStage,
        Property,
        SavedList,
    )
    from contacts.services import ContactInput, contact_create, note_add, task_add

    zelda = contact_create(
        workspace=workspace, actor=alice,
        data=ContactInput(first_name="Zelda", last_name="Secretlead", emails=["zelda.secret@example.com"], phones=["+14155550199"]),
    )  # fmt: skip
    twin = contact_create(
        workspace=workspace,
        actor=alice,
        data=ContactInput(
            first_name="Zelda", last_name="Secretlead", emails=["zelda.secret@example.com"]
        ),
    )
    note_add(contact=zelda, author=alice, body="ALICE-NOTE-TEXT")
    task = task_add(
        workspace=workspace,
        contact=zelda,
        actor=alice,
        title="ALICE-TASK-TITLE",
        due_at=zelda.created_at,
    )
    saved = SavedList.objects.create(
        workspace=workspace, owner=alice, name="ALICE-LIST", query={"q": "zelda"}
    )
    flag = DuplicateFlag.objects.for_workspace(workspace).get()
    merge = Merge.objects.create(workspace=workspace, survivor=zelda, merged=twin, actor=alice)
    job = ImportJob.objects.create(
        workspace=workspace, created_by=alice, filename="alice-import.csv", content=b"a,b\n1,2\n"
    )
    prop = Property.objects.create(
        workspace=workspace,
        street="742 Evergreen Terrace",
        city="Springfield",
        state="CA",
        zip_code="90210",
    )
    field = CustomField.objects.create(
        workspace=workspace, key="alice_secret_field", label="ALICE-FIELD"
    )
    stage = PipelineStage.objects.for_workspace(workspace).first()
    # A finished, undoable bulk action and a failed, retryable one: neither page, undo nor retry
    # may answer another workspace.
    bulk_job = BulkJob.objects.create(
        workspace=workspace, created_by=alice, action="tag", params={"tag": "ALICE-TAG"},
        state="done", total=1, done=1, changed=1, undo={str(zelda.id): None},
        finished_at=zelda.created_at,
    )  # fmt: skip
    BulkJob.objects.create(
        workspace=workspace, created_by=alice, action="delete", state="failed", total=2, done=1,
        contact_ids=[zelda.id, twin.id], error="ALICE-JOB-ERROR",
    )  # fmt: skip
    assert Contact.objects.for_workspace(workspace).count() == 2
    from appointments.services import appointment_create

    appointment = appointment_create(
        workspace=workspace, actor=alice, contact=zelda, kind="tour", title="ALICE-APPOINTMENT",
        starts_at=zelda.created_at, ends_at=zelda.created_at + timedelta(hours=1),
        location="742 Evergreen Terrace",
    )  # fmt: skip
    from integrations.google_calendar.models import CalendarConnection

    # Alice's calendar grant: no request of Charlie's may disconnect or change it.
    CalendarConnection.objects.create(
        workspace=workspace, user=alice, access_token="ya29.alice", refresh_token="1//alice"
    )
    from integrations.instagram.models import (
        InstagramAccount,
        InstagramDeletionRequest,
        InstagramPost,
    )

    # Alice's Instagram (account, post, comment, trigger, a failed post with its Retry form): no
    # request of Charlie's may see, disconnect, delete, publish or answer any of it.
    ig = alice_instagram(workspace, alice)
    alice_sms(workspace, alice)
    ig_account = InstagramAccount.objects.for_workspace(workspace).get(id=ig["account_id"])
    ig_post = InstagramPost.objects.create(
        workspace=workspace, account=ig_account, author=alice, caption="ALICE-IG-CAPTION",
        image_url="https://cdn.example.com/alice.jpg", state="failed", error="ALICE-IG-CAPTION",
    )  # fmt: skip
    # A deletion status page is public by its code; an unknown code shows nothing.
    InstagramDeletionRequest.objects.create(confirmation_code="alice-deletion-code")
    # An Instagram thread with a DM and a failed reply: no page, poll, reply, retry, link or lead
    # may answer another workspace.
    thread = m_conversation(workspace, zelda)
    alice_sms_reminders(workspace, alice, appointment)
    # A picture Zelda texted (MMS), stored by ALT: only Alice's workspace may see it.
    sms_media = alice_sms_media(workspace, zelda)
    return {
        **ig,
        "sms_media_id": str(sms_media.id),
        "post_id": str(ig_post.id),
        "conversation_id": str(thread.conversation_id),
        "message_id": str(thread.id),
        "contact_id": str(zelda.id),
        "other_id": str(twin.id),
        "task_id": str(task.id),
        "saved_list_id": str(saved.id),
        "flag_id": str(flag.id),
        "merge_id": str(merge.id),
        "import_id": str(job.id),
        "property_id": str(prop.id),
        "field_id": str(field.id),
        "stage_id": str(stage.id if stage else 0),
        "section": "details",
        "appointment_id": str(appointment.id),
        "bulk_job_id": str(bulk_job.id),
        "confirmation_code": "not-a-real-code",
    }


def alice_sms_reminders(workspace: Any, alice: Any, appointment: Any) -> None:
    """Alice's SMS number with appointment reminders on, and a reminder not sent (its reason on
    the appointment's page): no request of Charlie's may see or change either."""
    from integrations.twilio_sms.models import SmsReminder

    SmsReminder.objects.create(
        workspace=workspace, appointment=appointment, starts_at=appointment.starts_at,
        outcome=SmsReminder.Outcome.SKIPPED, reason="ALICE-SMS-REMINDER-REASON",
    )  # fmt: skip


def alice_instagram(workspace: Any, alice: Any) -> dict[str, str]:
    """Alice's Instagram account, a post, a comment on it and a keyword trigger."""
    from integrations.instagram.models import (
        InstagramAccount,
        InstagramComment,
        InstagramMedia,
        KeywordTrigger,
    )

    account = InstagramAccount.objects.create(
        workspace=workspace, ig_user_id="17841400000000001", app_user_id="27640875392278831",
        username="alice_secret_ig", access_token="IGAAalice", connected_by=alice,
    )  # fmt: skip
    media = InstagramMedia.objects.create(
        workspace=workspace, account=account, media_id="1790001", caption="742 Evergreen Terrace"
    )
    comment = InstagramComment.objects.create(
        workspace=workspace, account=account, media=media, comment_id="1790002",
        from_id="6543210", from_username="zelda", text="ALICE-NOTE-TEXT",
    )  # fmt: skip
    trigger = KeywordTrigger.objects.create(
        workspace=workspace, account=account, keywords="ALICE-TAG", reply_text="ALICE-TASK-TITLE",
        media=media, created_by=alice,
    )  # fmt: skip
    return {
        "ig_comment_id": str(comment.id),
        "trigger_id": str(trigger.id),
        "account_id": str(account.id),
    }


def alice_sms(workspace: Any, alice: Any) -> None:
    """Alice's Twilio account: Settings -> SMS of another workspace must never show or change it."""
    from integrations.twilio_sms.models import TwilioAccount

    TwilioAccount.objects.create(
        workspace=workspace, account_sid="AC" + "a1" * 16, auth_token="ALICE-TWILIO-TOKEN",
        from_number="+14155550177", status="working", connected_by=alice,
        reminder_lead_minutes=1440,
    )  # fmt: skip


def m_conversation(workspace: Any, contact: Any) -> Any:
    """Alice's Instagram thread with Zelda: a DM in, and a failed reply; and an SMS thread with
    her. Returns the Instagram reply."""
    from contacts.models import Conversation, Message

    thread = Conversation.objects.create(
        workspace=workspace, channel="instagram", channel_account="17841405822304914",
        party_id="6543210987654321", party_handle="alice.dm.handle", contact=contact,
        unread_count=1,
    )  # fmt: skip
    Message.objects.create(
        workspace=workspace, conversation=thread, channel="instagram", direction="in",
        author="party", external_id="mid.alice.1", text="ALICE-DM-TEXT", status="received",
    )  # fmt: skip
    # Her SMS thread with Zelda too: the Instagram thread's page shows both in one timeline.
    texting = Conversation.objects.create(
        workspace=workspace, channel="sms", channel_account="+14155550100",
        party_id="+14155550199", contact=contact, unread_count=1,
    )  # fmt: skip
    Message.objects.create(
        workspace=workspace, conversation=texting, channel="sms", direction="in",
        author="party", external_id="SM" + "a" * 32, text="ALICE-DM-TEXT by SMS",
        status="received",
    )  # fmt: skip
    return Message.objects.create(
        workspace=workspace, conversation=thread, channel="instagram", direction="out",
        author="person", text="ALICE-DM-TEXT reply", status="failed", error="ALICE-DM-TEXT",
    )  # fmt: skip


def alice_sms_media(workspace: Any, contact: Any) -> Any:
    """Alice's SMS thread with Zelda, with one picture of an MMS stored."""
    from contacts.models import Conversation, Message
    from integrations.twilio_sms.models import SmsMedia

    thread = Conversation.objects.create(
        workspace=workspace, channel="sms", channel_account="+15005550006",
        party_id="+14155550199", contact=contact,
    )  # fmt: skip
    message = Message.objects.create(
        workspace=workspace, conversation=thread, channel="sms", direction="in", author="party",
        external_id="MM" + "a1" * 16, text="ALICE-DM-TEXT", status="received",
    )  # fmt: skip
    data = b"\x89PNG\r\n\x1a\nALICE-DM-TEXT"
    return SmsMedia.objects.for_workspace(workspace).create(
        workspace=workspace, message=message, index=0, content_type="image/png",
        size=len(data), sha256="0" * 64, data=data,
    )  # fmt: skip


def crm_snapshot(workspace: Any) -> Any:
    """Everything of Alice's CRM a POST could change."""
    from appointments.models import Appointment
    from contacts import models as m
    from integrations.google_calendar.models import CalendarConnection

    return [
        sorted(map(repr, model.objects.for_workspace(workspace).values()))
        for model in (
            m.Contact, m.ContactEmail, m.ContactPhone, m.Note, m.Task, m.Activity, m.SavedList, m.DuplicateFlag,
            m.Merge, m.ImportJob, m.Property, m.PropertyLink, m.CustomField, m.PipelineStage, m.Tag,
            m.BulkJob,
            m.LeadSource, m.Conversation, m.Message,
            Appointment, CalendarConnection,
            *instagram_models(), *sms_models(),
        )
    ]  # fmt: skip


def instagram_models() -> list[Any]:
    from integrations.instagram import models as ig

    return [ig.InstagramAccount, ig.InstagramMedia, ig.InstagramComment, ig.KeywordTrigger,
            ig.KeywordTriggerFiring, ig.InstagramPost, ig.InstagramDailyInsight]  # fmt: skip


def sms_models() -> list[Any]:
    from integrations.twilio_sms import models as sms

    return [sms.TwilioAccount, sms.SmsMedia, sms.SmsReminder]


def iter_patterns(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def concrete_url(route: str, ids: dict[str, str]) -> tuple[str, list[str]]:
    """Fill every parameter of a route with Alice's ids; return the URL and the kwarg names."""
    names: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        names.append(name)
        if name not in ids:
            raise LookupError(name)
        return ids[name]

    url = _PARAM.sub(fill, route).replace("^", "").replace("$", "")
    return "/" + url, names


def body_of(response: Any) -> str:
    """The whole body, streamed ones (CSV exports) included."""
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@dataclass
class FilledForm:
    page: str
    action: str
    data: dict[str, list[str]]


class _FormParser(HTMLParser):
    """The POST forms of a page with every field filled as its owner's page fills it: hidden
    ids, checked boxes, the selected (else first non-empty) option, text values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[FilledForm] = []
        self._form: FilledForm | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            action = urljoin(self.page, a.get("action") or self.page)
            self._form = FilledForm(self.page, urlsplit(action).path, {})
        if self._form is None or (not a.get("name") and tag != "option"):
            return
        data = self._form.data
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "file", "image"):
            if a.get("type") in ("checkbox", "radio"):
                data.setdefault(a["name"], []).append(a.get("value") or "on")
            else:
                data.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea = a["name"]
            data.setdefault(a["name"], []).append("")
        elif tag == "button" and a.get("value"):
            data.setdefault(a["name"], []).append(a["value"])

    def handle_data(self, text: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.data[self._textarea][-1] += text

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._form is not None and self._select is not None:
            chosen = [v for v, selected in self._options if selected]
            chosen = chosen or [v for v, _ in self._options if v][:1]
            self._form.data.setdefault(self._select, []).extend(chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def owners_forms(owner: Any, data: AliceData, urlpatterns: list[Any]) -> list[FilledForm]:
    """Every POST form on every page as the owner of the data sees it, filled as she would."""
    client = Client()
    client.force_login(owner)
    forms: list[FilledForm] = []
    for route, _pattern in iter_patterns(urlpatterns):
        try:
            url, _names = concrete_url(route, data.ids)
        except LookupError:
            continue
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _FormParser(url)
        parser.feed(body_of(response))
        forms.extend(parser.forms)
    return forms


def walk_as(user: Any, data: AliceData, urlpatterns: list[Any]) -> list[str]:
    """Every problem found requesting every pattern as `user` (empty list: isolated)."""
    problems: list[str] = []
    before = data.snapshot()
    for route, _pattern in iter_patterns(urlpatterns):
        try:
            url, names = concrete_url(route, data.ids)
        except LookupError as missing:
            problems.append(
                f"{route}: no isolation fixture for URL parameter {missing}; add one to alice_ids"
            )
            continue
        for method in ("get", "post"):
            client = Client()
            client.force_login(user)
            response = getattr(client, method)(url)
            body = body_of(response)
            leaked = [m for m in MARKERS if m in body]
            if leaked:
                problems.append(f"{method.upper()} {url} shows {leaked}")
            names_alices_object = any(
                n.endswith("_id") and n not in ("content_type_id", "object_id") for n in names
            )
            if names_alices_object and response.status_code not in (404, 405):
                problems.append(
                    f"{method.upper()} {url} answered {response.status_code}, expected 404"
                )
            if data.snapshot() != before:
                problems.append(f"{method.upper()} {url} changed Alice's data")
                before = data.snapshot()
    return problems


def post_filled_forms_as(user: Any, forms: list[FilledForm], data: AliceData) -> list[str]:
    """Post each of Alice's forms, filled with her ids and values, as `user`."""
    problems: list[str] = []
    before = data.snapshot()
    posted = ""
    for form in forms:
        client = Client()
        client.force_login(user)
        response = client.post(form.action, form.data)
        posted += " ".join(v for values in form.data.values() for v in values)
        # What the user typed (here or in an earlier form: a workspace renamed "Alice Realty")
        # may be shown back to them; anything else of Alice's is a leak.
        body = body_of(response)
        leaked = [m for m in MARKERS if m in body and m not in posted]
        if leaked:
            problems.append(f"POST {form.action} (form of {form.page}) shows {leaked}")
        if data.snapshot() != before:
            problems.append(f"POST {form.action} (form of {form.page}) changed Alice's data")
            before = data.snapshot()
    return problems


@pytest.mark.promise("ACC-2")
@pytest.mark.promise("SEC-3")
def test_no_url_lets_another_workspace_see_or_change_alices_data(
    alice_data: AliceData, charlie: Any
) -> None:
    problems = walk_as(charlie, alice_data, get_resolver().url_patterns)

    assert problems == []


@pytest.mark.promise("ACC-2")
@pytest.mark.promise("SEC-3")
def test_alices_own_forms_filled_with_her_ids_change_nothing_when_another_workspace_posts_them(
    alice: Any, alice_data: AliceData, charlie: Any
) -> None:
    forms = owners_forms(alice, alice_data, get_resolver().url_patterns)
    # The walk only proves something if it found the forms that name Alice's rows.
    actions = {form.action for form in forms}
    assert len(forms) >= 20
    contact_id = alice_data.ids["contact_id"]
    assert {"/contacts/bulk/", f"/contacts/{contact_id}/notes/"} <= actions

    problems = post_filled_forms_as(charlie, forms, alice_data)

    assert problems == []


def _leaky_view(request: HttpRequest, invite_id: int) -> HttpResponse:
    # What a forgotten scope looks like: the id alone selects the row.
    invite = Invite.objects.get(id=invite_id)
    return HttpResponse(f"{invite.email} in {invite.workspace.name}")


@pytest.mark.promise("SEC-3")
def test_the_walk_catches_a_view_that_forgets_the_workspace(
    alice_data: AliceData, charlie: Any, settings: Any
) -> None:
    import alt.urls

    leaky = [path("leaky/<int:invite_id>/", _leaky_view)]
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [*alt.urls.urlpatterns, *leaky]})

    problems = walk_as(charlie, alice_data, leaky)

    assert any("leaky" in p and "shows" in p for p in problems)
    assert any("leaky" in p and "expected 404" in p for p in problems)


@pytest.mark.promise("SEC-3")
def test_the_walk_demands_a_fixture_for_a_new_url_parameter(
    alice_data: AliceData, charlie: Any
) -> None:
    problems = walk_as(charlie, alice_data, [path("things/<int:thing_id>/", _leaky_view)])

    assert problems == [
        "things/<int:thing_id>/: no isolation fixture for URL parameter thing_id; add one to alice_ids"
    ]


@pytest.mark.promise("ACC-2")
def test_alices_teammate_can_see_her_workspace(alice: Any, bob_client: Client) -> None:
    response = bob_client.get("/settings/workspace/")

    assert "Alice Realty" in response.content.decode()
    assert "alice@example.com" in response.content.decode()


def _leaky_export(request: HttpRequest, invite_id: int) -> StreamingHttpResponse:
    invite = Invite.objects.get(id=invite_id)
    return StreamingHttpResponse(iter(["email\n", f"{invite.email}\n"]))


@pytest.mark.promise("SEC-3")
def test_the_walk_reads_streamed_downloads_too(
    alice_data: AliceData, charlie: Any, settings: Any
) -> None:
    import alt.urls

    leaky = [path("leaky-export/<int:invite_id>/", _leaky_export)]
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [*alt.urls.urlpatterns, *leaky]})

    problems = walk_as(charlie, alice_data, leaky)

    assert any("leaky-export" in p and "dora.invited@example.com" in p for p in problems)


def _leaky_revoke(request: HttpRequest) -> HttpResponse:
    # A form handler that trusts a posted id: the scope is forgotten in the body, not the URL.
    Invite.objects.filter(id=request.POST["invite_id"]).update(revoked_at=timezone.now())
    return HttpResponse("ok")


@pytest.mark.promise("SEC-3")
def test_the_filled_form_walk_catches_a_handler_that_trusts_a_posted_id(
    alice_data: AliceData, charlie: Any, settings: Any
) -> None:
    import alt.urls

    leaky = [path("leaky-revoke/", _leaky_revoke)]
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [*alt.urls.urlpatterns, *leaky]})
    form = FilledForm(
        "/settings/workspace/", "/leaky-revoke/", {"invite_id": [alice_data.ids["invite_id"]]}
    )

    problems = post_filled_forms_as(charlie, [form], alice_data)

    assert problems == ["POST /leaky-revoke/ (form of /settings/workspace/) changed Alice's data"]


APP_PACKAGES = ("alt", "contacts", "appointments", "integrations", "ai", "privacy")


def test_application_code_never_names_the_unscoped_manager() -> None:
    # alt/lib/tenancy.py defines `all_workspaces` for Django's machinery (admin, relations,
    # deletion); a view, service, form or task that names it has stepped around the scope.
    root = Path(__file__).resolve().parents[1]
    offenders = []
    for package in APP_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            relative = source.relative_to(root).as_posix()
            if "/migrations/" in relative or relative == "alt/lib/tenancy.py":
                continue
            for node in ast.walk(ast.parse(source.read_text(), relative)):
                if isinstance(node, ast.Attribute) and node.attr == "all_workspaces":
                    offenders.append(f"{relative}:{node.lineno}")

    assert offenders == []
