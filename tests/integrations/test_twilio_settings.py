"""Settings -> SMS: the account form's checks in plain words, the auth token never shown again,
owner only, the test message recording "Sending works" or "Blocked" with Twilio's reason, the
sandbox account in one click, removing (token erased), the webhook URLs to paste, and the app's
segment count agreeing with the emulator's on tricky texts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alt.accounts.models import User
from integrations.sandbox.twilio import TwilioEmulator
from integrations.sandbox.twilio import segments as emulator_segments
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.segments import segment_count, segments
from tests.conftest import workspace_of

SID = "AC" + "1f" * 16
TOKEN = "0123456789abcdef0123456789abcdef"
URL = "/settings/sms/"


def account_of(user: User) -> TwilioAccount | None:
    return (
        TwilioAccount.objects.for_workspace(workspace_of(user))
        .exclude(status=TwilioAccount.Status.REMOVED)
        .first()
    )


def save(client: Client, **changes: str) -> Any:
    data = {
        "account_sid": SID,
        "auth_token": TOKEN,
        "from_number": "(415) 555-0100",
        "messaging_service_sid": "",
    } | changes
    return client.post(URL, data)


def test_saving_normalises_the_number_and_stores_the_token_encrypted_never_shown(
    alice_client: Client, alice: User, twilio: TwilioEmulator
) -> None:
    response = save(alice_client)

    assert response.status_code == 302
    account = account_of(alice)
    assert account is not None
    assert (account.account_sid, account.from_number) == (SID, "+14155550100")
    assert account.auth_token == TOKEN
    assert account.status == TwilioAccount.Status.UNCHECKED
    page = alice_client.get(URL).content.decode()
    assert TOKEN not in page
    assert "Not tested yet" in page
    assert "http://testserver/webhooks/twilio/sms/" in page
    assert "http://testserver/webhooks/twilio/status/" in page


def test_a_blank_token_on_edit_keeps_the_stored_one(
    alice_client: Client, alice: User, twilio: TwilioEmulator
) -> None:
    save(alice_client)

    response = save(alice_client, auth_token="", messaging_service_sid="MG" + "ab" * 16)

    assert response.status_code == 302
    account = account_of(alice)
    assert account is not None
    assert account.auth_token == TOKEN
    assert account.messaging_service_sid == "MG" + "ab" * 16


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"account_sid": "AC123"}, "That is not an Account SID"),
        ({"account_sid": "x" * 10_000}, "Ensure this value has at most 100 characters"),
        ({"auth_token": ""}, "Paste the auth token from your Twilio console."),
        ({"auth_token": "not a token!"}, "does not look like a Twilio auth token"),
        ({"from_number": "call me maybe"}, "is not a phone number"),
        ({"from_number": "555"}, "is not a valid phone number"),
        ({"from_number": "\u202e0010-555 )514("}, "is not a valid phone number"),
        ({"messaging_service_sid": "MGnope"}, "That is not a Messaging Service SID"),
    ],
    ids=["sid", "absurd-sid", "no-token", "bad-token", "words", "short", "rtl", "service"],
)
def test_bad_input_gets_a_plain_error_and_saves_nothing(
    alice_client: Client, alice: User, twilio: TwilioEmulator, changes: dict[str, str], error: str
) -> None:
    response = save(alice_client, **changes)

    assert response.status_code == 400
    assert error in response.content.decode()
    assert account_of(alice) is None


def test_a_number_another_workspace_texts_from_is_refused(
    alice_client: Client, charlie_client: Client, alice: User, twilio: TwilioEmulator
) -> None:
    save(charlie_client)

    response = save(alice_client)

    assert response.status_code == 400
    assert "already texts for another ALT workspace" in response.content.decode()
    assert account_of(alice) is None


def test_an_agent_sees_the_state_but_cannot_change_anything(
    bob_client: Client, alice: User, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    page = bob_client.get(URL)
    assert page.status_code == 200
    assert "Only the workspace owner can set up texting." in page.content.decode()
    assert "<form" not in page.content.decode().split('class="settings-main')[1]

    for path, data in [
        (URL, {"account_sid": SID, "auth_token": TOKEN, "from_number": "4155550100"}),
        (URL + "test/", {"to": "4155550123"}),
        (URL + "sandbox/", {}),
        (URL + "remove/", {}),
    ]:
        assert bob_client.post(path, data).status_code == 403
    account = account_of(alice)
    assert account is not None
    assert account.from_number == TwilioEmulator.default_number
    assert twilio.requests_to("POST", r"/Messages\.json$") == []


def test_a_test_message_that_goes_through_shows_sending_works(
    alice_client: Client, alice: User, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    TwilioAccount.objects.for_workspace(workspace_of(alice)).update(status="unchecked")

    response = alice_client.post(URL + "test/", {"to": "(415) 555-0123"}, follow=True)

    assert "Sending works" in response.content.decode()
    (request,) = twilio.requests_to("POST", r"/Messages\.json$")
    assert request.form()["To"] == "+14155550123"
    account = account_of(alice)
    assert account is not None
    assert account.status == TwilioAccount.Status.WORKING
    assert account.checked_at is not None


@pytest.mark.parametrize(
    ("setup", "to", "words"),
    [
        ("wrong-token", "4155550123", "Twilio refused the Account SID and auth token"),
        ("foreign-number", "4155550123", "cannot send from this number"),
    ],
    ids=["20003", "21606"],
)
def test_a_refused_test_message_shows_blocked_with_twilios_reason_in_words(
    alice_client: Client,
    alice: User,
    sms_account: TwilioAccount,
    twilio: TwilioEmulator,
    setup: str,
    to: str,
    words: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    accounts = TwilioAccount.objects.for_workspace(workspace_of(alice))
    if setup == "wrong-token":
        accounts.update(auth_token="a-token-twilio-does-not-know")
    elif setup == "foreign-number":
        accounts.update(from_number="+14155550100")  # not a number of the emulator's account

    response = alice_client.post(URL + "test/", {"to": to}, follow=True)

    page = response.content.decode()
    assert "Blocked" in page
    assert words in page
    account = account_of(alice)
    assert account is not None
    assert account.status == TwilioAccount.Status.BLOCKED
    assert words in account.status_detail
    assert account.checked_at is not None
    # Every page says texts are not going out, until the account works again.
    dashboard = alice_client.get("/dashboard/").content.decode()
    assert "Texts are not going out" in dashboard
    accounts.update(
        auth_token=TwilioEmulator.default_auth_token, from_number=TwilioEmulator.default_number
    )
    with django_capture_on_commit_callbacks(execute=True):  # the cached answer is forgotten
        alice_client.post(URL + "test/", {"to": to})
    assert account_of(alice).status == TwilioAccount.Status.WORKING  # type: ignore[union-attr]
    assert "Texts are not going out" not in alice_client.get("/dashboard/").content.decode()


def test_a_test_text_twilio_refuses_for_its_recipient_leaves_the_account_as_it_was(
    alice_client: Client, alice: User, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    """A country not enabled (21408) is about the number typed, not the account: the agent is
    told, and the account's state (and every page's banner) stays."""
    response = alice_client.post(URL + "test/", {"to": "+44 20 7183 8750"}, follow=True)

    page = response.content.decode()
    assert "Twilio refused the test text" in page
    assert "not allowed to text that country" in page
    assert account_of(alice).status == TwilioAccount.Status.WORKING  # type: ignore[union-attr]
    assert "Texts are not going out" not in page


def test_a_test_message_to_a_bad_number_is_a_form_error_and_calls_nobody(
    alice_client: Client, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    response = alice_client.post(URL + "test/", {"to": "not a number"})

    assert response.status_code == 400
    assert "is not a phone number" in response.content.decode()
    assert twilio.requests_to("POST", r"/Messages\.json$") == []


def test_the_sandbox_account_in_one_click(
    alice_client: Client, alice: User, twilio: TwilioEmulator, settings: Any
) -> None:
    settings.TWILIO_SANDBOX_ACCOUNT_SID = TwilioEmulator.default_account_sid
    settings.TWILIO_SANDBOX_AUTH_TOKEN = TwilioEmulator.default_auth_token
    settings.TWILIO_SANDBOX_NUMBER = TwilioEmulator.default_number
    page = alice_client.get(URL).content.decode()
    assert "Use the sandbox Twilio account" in page
    assert settings.TWILIO_API_URL + "/console" in page

    alice_client.post(URL + "sandbox/")

    account = account_of(alice)
    assert account is not None
    assert account.from_number == TwilioEmulator.default_number


def test_without_a_sandbox_there_is_no_sandbox_button(
    alice_client: Client, twilio: TwilioEmulator, settings: Any
) -> None:
    settings.TWILIO_SANDBOX_ACCOUNT_SID = ""

    assert "Use the sandbox" not in alice_client.get(URL).content.decode()
    assert alice_client.post(URL + "sandbox/").status_code == 403


def test_removing_erases_the_token_and_stops_texting(
    alice_client: Client, alice: User, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    alice_client.post(URL + "remove/")

    removed = TwilioAccount.objects.for_workspace(workspace_of(alice)).get(id=sms_account.id)
    assert (removed.status, removed.auth_token) == ("removed", "")
    assert account_of(alice) is None
    assert "Not set up" in alice_client.get(URL).content.decode()


def test_the_settings_page_card_shows_the_state(
    alice_client: Client, sms_account: TwilioAccount, twilio: TwilioEmulator
) -> None:
    page = alice_client.get("/settings/").content.decode()

    assert "Sending works" in page
    assert 'href="/settings/sms/"' in page


# --- segments -----------------------------------------------------------------------------------
TRICKY = [
    "",
    "x" * 160,
    "x" * 161,
    "x" * 306,
    "x" * 307,
    "{" * 80,  # extension characters count two septets: 160
    "{" * 81,
    "€" + "x" * 159,
    "é" * 160,  # in GSM-7's basic set
    "ê" * 70,  # not in GSM-7: UCS-2
    "ê" * 71,
    "🏡" * 35,  # an emoji is two UTF-16 units: 70
    "🏡" * 36,
    "שלום, הבית פתוח מחר" * 10,  # RTL
    "Line one\nLine two\r\n",
    "x" * 10_000,
]


@pytest.mark.parametrize("body", TRICKY, ids=range(len(TRICKY)))
def test_the_apps_segment_count_agrees_with_the_emulators(body: str) -> None:
    assert segments(body) == emulator_segments(body)


def test_the_segment_words_name_the_special_characters() -> None:
    assert segment_count("Hi").words == "1 text message"
    assert segment_count("x" * 161).words == "2 text messages"
    assert segment_count("Hi 🏡").words == "1 text message (special characters: 70 per message)"
