"""The Instagram emulator's ingest side: the User Profile API as harsh as Meta's, and deliveries
built, escaped and signed byte for byte as Meta sends them (EXTERNAL_APIS.md §3.5, §9 items 11-12).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.instagram import deliveries as d

ACCOUNT = "17841405822304914"


@pytest.fixture
def emulator() -> Iterator[InstagramEmulator]:
    with InstagramEmulator() as emulator:
        yield emulator


def get(emulator: InstagramEmulator, path: str, token: str = "", **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(emulator.base_url + path, params=params, headers=headers)


# --- the User Profile API ------------------------------------------------------------------------
def test_a_person_who_wrote_to_the_account_has_a_profile(emulator: InstagramEmulator) -> None:
    account = emulator.add_account(ig_user_id=ACCOUNT)
    token = emulator.issue_token(account).value
    person = emulator.add_profile("jane.buys.homes", "Jane Doe")
    emulator.customer_messaged(ACCOUNT, person.igsid)

    response = get(emulator, f"/v23.0/{person.igsid}", token, fields="name,username")

    assert response.status_code == 200
    assert response.json() == {
        "name": "Jane Doe",
        "username": "jane.buys.homes",
        "id": person.igsid,
    }


def test_a_person_without_a_name_comes_back_with_null(emulator: InstagramEmulator) -> None:
    account = emulator.add_account(ig_user_id=ACCOUNT)
    token = emulator.issue_token(account).value
    person = emulator.add_profile("no.name")
    emulator.customer_messaged(ACCOUNT, person.igsid)

    body = get(emulator, f"/v24.0/{person.igsid}", token, fields="name,username").json()

    assert body["name"] is None


def test_a_person_who_only_commented_needs_consent(emulator: InstagramEmulator) -> None:
    account = emulator.add_account(ig_user_id=ACCOUNT)
    token = emulator.issue_token(account).value
    person = emulator.add_profile("commenter", "Only Comments")

    response = get(emulator, f"/v23.0/{person.igsid}", token, fields="name,username")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 230
    assert "User consent is required" in response.json()["error"]["message"]


def test_an_unknown_id_and_a_dead_token_are_graph_errors(emulator: InstagramEmulator) -> None:
    account = emulator.add_account(ig_user_id=ACCOUNT)
    token = emulator.issue_token(account).value
    person = emulator.add_profile("jane")
    emulator.customer_messaged(ACCOUNT, person.igsid)
    unknown = get(emulator, "/v23.0/123456", token)
    emulator.revoke_tokens(ACCOUNT)
    revoked = get(emulator, f"/v23.0/{person.igsid}", token)
    missing = get(emulator, f"/v23.0/{person.igsid}")

    assert unknown.json()["error"]["code"] == 100
    assert (revoked.json()["error"]["code"], revoked.json()["error"]["error_subcode"]) == (190, 458)
    assert missing.status_code == 400


# --- deliveries ----------------------------------------------------------------------------------
def test_bodies_are_escaped_as_meta_does_and_the_signature_covers_those_bytes() -> None:
    payload = d.delivery(
        d.entry(ACCOUNT, messaging=[d.message(ACCOUNT, "42", "Café 🏡 https://x.y/z")])
    )
    captured: list[tuple[bytes, dict[str, str]]] = []

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            captured.append((body, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = d.deliver_signed(
            f"http://127.0.0.1:{server.server_address[1]}/", payload, "s3cret"
        )
    finally:
        server.shutdown()
        server.server_close()

    assert response.status_code == 200
    [(body, headers)] = captured
    assert b"Caf\\u00e9 \\ud83c\\udfe1 https:\\/\\/x.y\\/z" in body
    assert body.isascii()
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert json.loads(body) == payload


def test_observed_key_orders() -> None:
    comment = d.delivery(
        d.entry(
            ACCOUNT, changes=[d.comment_change(comment_id="1", from_id="2", from_username="u")]
        ),
        object_last=True,
    )
    messaging = d.entry(ACCOUNT, time_first=True, messaging=[d.message(ACCOUNT, "42")])

    assert list(comment) == ["entry", "object"]
    assert list(comment["entry"][0]["changes"][0]) == ["value", "field"]
    assert list(messaging)[:2] == ["time", "id"]


def test_messaging_items_carry_the_documented_shapes() -> None:
    echo = d.echo(ACCOUNT, "42", "Hi")
    read = d.read(ACCOUNT, "42", "mid.1", with_parties=False)
    unreact = d.reaction(ACCOUNT, "42", "mid.1", action="unreact")
    edit = d.edit(ACCOUNT, "42", "mid.1", num_edit=0)
    unsent = d.unsend(ACCOUNT, "42", "mid.1", as_string=True)
    mention = d.story_mention(ACCOUNT, "42")

    assert (echo["sender"]["id"], echo["recipient"]["id"], echo["message"]["is_echo"]) == (
        ACCOUNT,
        "42",
        True,
    )
    assert set(read) == {"timestamp", "read"}
    assert unreact["reaction"] == {"mid": "mid.1", "action": "unreact"}
    assert edit["message_edit"] == {"mid": "mid.1", "num_edit": 0}
    assert unsent["message"]["is_deleted"] == "true"
    assert "text" not in mention["message"]
    assert mention["message"]["attachments"][0]["type"] == "story_mention"
    assert d.attachment("unsupported_type") == {"type": "unsupported_type"}
    assert d.attachment("template")["payload"] == {"generic": {"elements": []}}
    assert set(d.attachment("ig_story")["payload"]) == {"story_media_id", "story_media_url"}
    assert isinstance(d.message(ACCOUNT, "42", timestamp_as_string=True)["timestamp"], str)


def test_a_delivered_message_opens_the_send_window_and_a_comment_allows_a_private_reply(
    emulator: InstagramEmulator,
) -> None:
    account = emulator.add_account(ig_user_id=ACCOUNT)
    token = emulator.issue_token(account).value
    headers = {"Authorization": f"Bearer {token}"}
    send = emulator.base_url + f"/v23.0/{ACCOUNT}/messages"
    before = httpx.post(
        send, json={"recipient": {"id": "42"}, "message": {"text": "Hi"}}, headers=headers
    )

    d.emulator_observe(
        emulator,
        d.delivery(
            d.entry(ACCOUNT, messaging=[d.message(ACCOUNT, "42")]),
            d.entry(
                ACCOUNT,
                changes=[d.comment_change(comment_id="c1", from_id="43", from_username="u")],
            ),
        ),
    )
    after = httpx.post(
        send, json={"recipient": {"id": "42"}, "message": {"text": "Hi"}}, headers=headers
    )
    private = httpx.post(
        send, json={"recipient": {"comment_id": "c1"}, "message": {"text": "DM"}}, headers=headers
    )

    assert before.json()["error"]["error_subcode"] == 2534022
    assert after.status_code == 200
    assert private.status_code == 200
