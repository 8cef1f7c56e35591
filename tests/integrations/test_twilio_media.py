"""Inbound MMS media: fetched only from Twilio's hosts with the account's credentials, capped,
checked to be a picture, stored and shown only to the workspace (no SSRF, no foreign bytes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from contacts.inbox.threads import attachments_of
from contacts.models import Message
from integrations.twilio_sms import media
from integrations.twilio_sms.models import SmsMedia, TwilioAccount
from tests.integrations.twilio_wire_helpers import (
    JPEG,
    PNG,
    SID,
    TOKEN,
    MediaHost,
    inbound,
    inbound_params,
    process_events,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[MediaHost, MediaHost]]:
    """Twilio's media host on 127.0.0.1 and its CDN on 127.0.0.2 (another loopback address)."""
    with MediaHost() as api, MediaHost(host="127.0.0.2") as cdn:
        yield api, cdn


@pytest.fixture
def api(hosts: tuple[MediaHost, MediaHost], sms_account: TwilioAccount, settings: Any) -> MediaHost:
    for host in hosts:
        host.reset()
    settings.TWILIO_MEDIA_HOSTS = ["127.0.0.1"]
    settings.TWILIO_MEDIA_REDIRECT_HOSTS = ["127.0.0.2"]
    settings.TWILIO_MEDIA_MAX_BYTES = 1000
    return hosts[0]


@pytest.fixture
def cdn(hosts: tuple[MediaHost, MediaHost], api: MediaHost) -> MediaHost:
    return hosts[1]


def receive_mms(url: str, content_type: str = "image/png", body: str = "") -> Message:
    params = inbound_params(
        body,
        NumMedia="1",
        MediaUrl0=url,
        MediaContentType0=content_type,
        MessageSid="MM" + "1" * 32,
    )
    assert inbound(params).status_code == 200
    process_events()
    account = TwilioAccount.objects.for_inbound(params["AccountSid"], params["To"])
    assert account is not None
    message = Message.objects.for_workspace(account.workspace).get(external_id=params["MessageSid"])
    media.message_media_fetch(workspace=message.workspace, message_id=message.id)
    message.refresh_from_db()
    return message


def test_a_picture_is_fetched_with_the_accounts_credentials_stored_and_shown(
    api: MediaHost, alice_client: Client
) -> None:
    message = receive_mms(api.serve("ME1", PNG, "image/png"))

    stored = SmsMedia.objects.for_workspace(message.workspace).get()
    assert (stored.content_type, stored.size, bytes(stored.data)) == ("image/png", len(PNG), PNG)
    [shown] = attachments_of(message)
    assert shown.image_url == f"/sms/media/{stored.id}/"
    assert "source_url" not in message.attachments[0]
    response = alice_client.get(shown.image_url)
    assert response.status_code == 200
    assert response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    page = alice_client.get(f"/inbox/{message.conversation_id}/").content.decode()
    assert f'<img src="/sms/media/{stored.id}/"' in page


def test_fetching_twice_stores_once(api: MediaHost) -> None:
    message = receive_mms(api.serve("ME1", PNG, "image/png"))

    media.message_media_fetch(workspace=message.workspace, message_id=message.id)

    assert SmsMedia.objects.for_workspace(message.workspace).count() == 1
    assert len(api.requests_to("GET", r"/Media/ME1$")) == 1


def test_the_fetch_runs_in_the_worker_not_in_the_webhook(
    api: MediaHost, outbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = api.serve("ME1", PNG, "image/png")
    params = inbound_params("", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png")

    with django_capture_on_commit_callbacks(execute=True):
        assert inbound(params).status_code == 200
    assert api.requests == []
    outbox.drain()

    assert SmsMedia.all_workspaces.count() == 1


def test_a_file_over_the_size_limit_is_not_stored_and_the_message_says_so(api: MediaHost) -> None:
    message = receive_mms(api.serve("ME1", PNG + b"\x00" * 2000, "image/png"))

    assert not SmsMedia.all_workspaces.exists()
    [shown] = attachments_of(message)
    assert shown.image_url == ""
    assert shown.title.startswith("Too large to show")


class _Chunked(BaseHTTPRequestHandler):
    """Answers with a chunked PNG-looking stream and no Content-Length: only counting the bytes
    while reading can stop it."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if self.path.endswith("/declared-huge"):
            # Declares 50 MB and sends a little: the declared size alone must refuse it.
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(PNG)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for part in [PNG, *([b"\x00" * 512] * 10)]:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up at the limit, as it should
            return

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def raw_server(api: MediaHost) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/2010-04-01/Accounts/{SID}"
    server.shutdown()
    server.server_close()


def test_a_stream_without_a_length_is_cut_at_the_limit(raw_server: str) -> None:
    with pytest.raises(media.MediaRefused, match="Too large"):
        media.fetch(url=raw_server + "/chunked", account_sid=SID, auth_token=TOKEN)


def test_a_declared_length_over_the_limit_is_refused_before_reading(raw_server: str) -> None:
    with pytest.raises(media.MediaRefused, match=r"Too large to show \(50\.0 MB"):
        media.fetch(url=raw_server + "/declared-huge", account_sid=SID, auth_token=TOKEN)


def test_a_type_that_is_not_a_picture_is_not_fetched_into_the_thread(api: MediaHost) -> None:
    message = receive_mms(api.serve("ME1", b"%PDF-1.7 ...", "application/pdf"), "application/pdf")

    assert not SmsMedia.all_workspaces.exists()
    assert "is not shown here" in attachments_of(message)[0].title


def test_bytes_that_are_not_the_claimed_picture_are_refused(api: MediaHost) -> None:
    message = receive_mms(api.serve("ME1", b"<svg onload=alert(1)>" + b" " * 20, "image/png"))

    assert not SmsMedia.all_workspaces.exists()
    assert "not the picture it claims" in attachments_of(message)[0].title


def test_a_jpeg_claimed_as_png_is_refused(api: MediaHost) -> None:
    receive_mms(api.serve("ME1", JPEG, "image/png"))

    assert not SmsMedia.all_workspaces.exists()


def test_a_url_on_another_host_is_never_requested(api: MediaHost) -> None:
    message = receive_mms("http://169.254.169.254/latest/meta-data/iam")

    assert not SmsMedia.all_workspaces.exists()
    assert attachments_of(message)[0].title == "Not shown: the address is not Twilio's."


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com.evil.example/2010-04-01/x",
        "https://api.twilio.com@evil.example/2010-04-01/x",
        "ftp://127.0.0.1/x",
        "file:///etc/passwd",
        "https://api.twilio.com:8443/x",
        "http://api.twilio.com/2010-04-01/x",
        "not a url",
    ],
)
def test_lookalike_and_odd_urls_are_refused_before_any_request(url: str, settings: Any) -> None:
    settings.TWILIO_MEDIA_HOSTS = ["api.twilio.com", "127.0.0.1"]

    with pytest.raises(media.MediaRefused):
        media.fetch(url=url, account_sid=SID, auth_token=TOKEN)


def test_a_redirect_to_twilios_cdn_is_followed_without_our_credentials(
    api: MediaHost, cdn: MediaHost
) -> None:
    cdn.serve("abc", PNG, "image/png")
    url = api.redirect("ME1", f"{cdn.base_url}/cdn/abc")

    message = receive_mms(url)

    assert bytes(SmsMedia.all_workspaces.get().data) == PNG
    [hop] = cdn.requests_to("GET", r"/cdn/abc$")
    assert "authorization" not in hop.headers
    assert attachments_of(message)[0].image_url


def test_a_redirect_to_a_foreign_host_is_refused(api: MediaHost) -> None:
    message = receive_mms(api.redirect("ME1", "http://10.0.0.7/admin"))

    assert not SmsMedia.all_workspaces.exists()
    assert attachments_of(message)[0].title == "Not shown: Twilio sent it elsewhere."


def test_a_404_is_retried_later(api: MediaHost) -> None:
    from alt.lib.errors import IntegrationError

    with pytest.raises(IntegrationError) as caught:
        media.fetch(url=api.url("ME404"), account_sid=SID, auth_token=TOKEN)

    assert caught.value.permanent is False


def test_refused_credentials_are_not_retried(api: MediaHost) -> None:
    with pytest.raises(media.MediaRefused, match="credentials"):
        media.fetch(url=api.serve("ME1", PNG, "image/png"), account_sid=SID, auth_token="wrong")


def test_another_workspace_cannot_see_the_picture(api: MediaHost, charlie_client: Client) -> None:
    receive_mms(api.serve("ME1", PNG, "image/png"))
    stored = SmsMedia.all_workspaces.get()

    assert charlie_client.get(f"/sms/media/{stored.id}/").status_code == 404
    assert Client().get(f"/sms/media/{stored.id}/").status_code == 302


def test_a_video_is_served_as_a_download(
    api: MediaHost, alice_client: Client, settings: Any
) -> None:
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40
    receive_mms(api.serve("ME1", mp4, "video/mp4"), "video/mp4")
    stored = SmsMedia.all_workspaces.get()

    response = alice_client.get(f"/sms/media/{stored.id}/")

    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Disposition"].startswith("attachment")
