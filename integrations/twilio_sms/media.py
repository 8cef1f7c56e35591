"""Pictures of inbound MMS: fetched from Twilio in the worker, kept in SmsMedia, served by ALT.

Fetching is the dangerous part: the URL comes from a webhook. Even signed, it is only followed
when it is Twilio's (no SSRF):
- https, to a host in settings.TWILIO_MEDIA_HOSTS exactly (api.twilio.com), with no user info
  and the default port. Plain http only to a loopback address listed there (the sandbox
  emulator: nothing outside the machine can answer on loopback), so production, which lists
  Twilio's names only, never fetches over http.
- HTTP Basic with the account's SID and token, sent only to those hosts (Twilio's media docs:
  media URLs require HTTP Basic authentication).
- Redirects are followed by hand, at most MAX_REDIRECTS, each hop checked again: to a media host,
  or to a host in settings.TWILIO_MEDIA_REDIRECT_HOSTS (Twilio's CDN: mms.twiliocdn.com,
  s3-external-1.amazonaws.com, per Twilio's support article 223183748), https only, and without
  credentials there (the short-lived URL carries its own).
- Streamed with a cap (settings.TWILIO_MEDIA_MAX_BYTES; Twilio's own limit is 5 MB per message):
  a larger file is not stored and the message says so; a declared Content-Length over the cap is
  refused before any byte is read.
- Only JPEG, PNG, GIF, WebP pictures and MP4 video, and only when the first bytes are one of those
  (the type Twilio or the server claims is not believed alone). Anything else: "not shown".
- A 404 is transient and retried (Twilio's support article 44750147594523: media can be
  unavailable for a moment after the webhook), as are timeouts and 5xx; 401/403 are permanent
  (our credentials are refused).

Serving: only to members of the message's workspace (another workspace's id is a 404), with the
checked Content-Type, `X-Content-Type-Options: nosniff`, a restrictive CSP, and
`Content-Disposition: inline` only for pictures (a video downloads).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from alt.accounts.models import Workspace
from alt.lib.errors import IntegrationError
from contacts.models import Message
from integrations.http import http_client
from integrations.twilio_sms.models import SmsMedia, TwilioAccount

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
# (content type, test on the first bytes)
_SIGNATURES: dict[str, Any] = {
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/gif": lambda b: b[:6] in (b"GIF87a", b"GIF89a"),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
    "video/mp4": lambda b: b[4:8] == b"ftyp",
}
ALLOWED_TYPES = frozenset(_SIGNATURES)


class MediaRefused(Exception):
    """The media will not be shown; `reason` says why in plain words. Not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    content_type: str
    data: bytes


def sniff(data: bytes) -> str:
    """The allowed type the bytes are, or ""."""
    for content_type, matches in _SIGNATURES.items():
        if matches(data[:16]):
            return content_type
    return ""


def _host_allowed(url: httpx.URL, *, first_hop: bool) -> bool:
    """Whether `url` may be requested: see the module docstring."""
    host = (url.host or "").lower()
    if url.userinfo or not host:
        return False
    media_hosts = {h.lower() for h in settings.TWILIO_MEDIA_HOSTS}
    redirect_hosts = {h.lower() for h in settings.TWILIO_MEDIA_REDIRECT_HOSTS}
    allowed = media_hosts if first_hop else media_hosts | redirect_hosts
    if host not in allowed:
        return False
    if url.scheme == "https":
        return url.port in (None, 443)
    return url.scheme == "http" and _loopback(host)


def _loopback(host: str) -> bool:
    """A loopback address (the sandbox emulators): reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _too_large(size: int) -> MediaRefused:
    shown = f"{size / 1_048_576:.1f} MB" if size else "over the limit"
    limit = settings.TWILIO_MEDIA_MAX_BYTES / 1_048_576
    return MediaRefused(f"Too large to show ({shown}; the limit is {limit:.0f} MB).")


def fetch(*, url: str, account_sid: str, auth_token: str) -> Fetched:
    """GET one Twilio media URL under the rules above. External call.
    Raises MediaRefused (not shown, for good) or IntegrationError (transient, retry)."""
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise MediaRefused("Not shown: the address is not Twilio's.") from exc
    if not _host_allowed(current, first_hop=True):
        raise MediaRefused("Not shown: the address is not Twilio's.")
    cap = int(settings.TWILIO_MEDIA_MAX_BYTES)
    media_hosts = {h.lower() for h in settings.TWILIO_MEDIA_HOSTS}
    # The factory's client (no redirects followed by httpx); every URL given is absolute.
    with http_client(
        base_url_setting="TWILIO_API_URL", timeout_setting="TWILIO_HTTP_TIMEOUT_SECONDS"
    ) as http:
        for _hop in range(MAX_REDIRECTS + 1):
            auth = (
                (account_sid, auth_token) if (current.host or "").lower() in media_hosts else None
            )
            try:
                with http.stream("GET", current, auth=auth) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        try:
                            current = current.join(location)
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise MediaRefused("Not shown: Twilio sent it elsewhere.") from exc
                        if not location or not _host_allowed(current, first_hop=False):
                            raise MediaRefused("Not shown: Twilio sent it elsewhere.")
                        continue
                    return _read(response, cap)
            except httpx.TransportError as exc:
                raise IntegrationError(
                    f"Could not reach Twilio for a picture: {exc}", permanent=False
                ) from exc
    raise MediaRefused("Not shown: too many redirects.")


def _read(response: httpx.Response, cap: int) -> Fetched:
    status = response.status_code
    if status in (401, 403):
        raise MediaRefused("Not shown: Twilio refused the account's credentials for it.")
    if status == 404 or status == 429 or status >= 500:
        raise IntegrationError(f"Twilio media answered {status}", permanent=False)
    if status != 200:
        raise MediaRefused(f"Not shown: Twilio answered {status}.")
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in ALLOWED_TYPES:
        raise MediaRefused(f"Not shown: a {declared or 'unknown'} file is not shown here.")
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise _too_large(int(length))
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise _too_large(0)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise MediaRefused("Not shown: the file is empty.")
    actual = sniff(data)
    if actual != declared:
        raise MediaRefused("Not shown: the file is not the picture it claims to be.")
    return Fetched(content_type=actual, data=data)


def message_media_fetch(*, workspace: Workspace, message_id: int) -> None:
    """Fetch every waiting media of an inbound SMS, store each one (SmsMedia) and point the
    message's attachment at ALT's copy, or note why it is not shown. Safe to run twice: an
    attachment already resolved is skipped, SmsMedia is unique per (message, index).

    Side effects: GETs to Twilio. Raises IntegrationError (transient) to be retried; what was
    fetched before the failure is kept."""
    message = (
        Message.objects.for_workspace(workspace)
        .filter(id=message_id, channel="sms")
        .select_related("conversation")
        .first()
    )
    if message is None:
        return
    account = TwilioAccount.objects.for_workspace(workspace).exclude(status="removed").first()
    for position, item in enumerate(list(message.attachments)):
        if not isinstance(item, dict) or not item.get("source_url"):
            continue
        if account is None:
            _resolve(workspace, message_id, position, {"title": "Not shown: SMS was removed."})
            continue
        index = int(str(item.get("index") or position))
        try:
            fetched = fetch(
                url=str(item["source_url"]),
                account_sid=account.account_sid,
                auth_token=account.auth_token,
            )
        except MediaRefused as refused:
            log.info("sms media %s/%s not stored: %s", message_id, index, refused.reason)
            _resolve(workspace, message_id, position, {"type": "media", "title": refused.reason})
            continue
        _store(workspace, message, position, index, fetched)


def _store(
    workspace: Workspace, message: Message, position: int, index: int, fetched: Fetched
) -> None:
    with transaction.atomic():
        media, _ = SmsMedia.objects.for_workspace(workspace).get_or_create(
            workspace=workspace,
            message=message,
            index=index,
            defaults={
                "content_type": fetched.content_type,
                "size": len(fetched.data),
                "sha256": hashlib.sha256(fetched.data).hexdigest(),
                "data": fetched.data,
            },
        )
        kind = "image" if media.content_type.startswith("image/") else "video"
        path = reverse("twilio_sms_media:media", kwargs={"sms_media_id": media.id})
        _resolve(
            workspace,
            message.id,
            position,
            {"type": kind, "path": path, "content_type": media.content_type, "title": ""},
        )


def _resolve(workspace: Workspace, message_id: int, position: int, shown: dict[str, Any]) -> None:
    """Replace the waiting attachment at `position` (its source URL dropped) under a row lock."""
    with transaction.atomic():
        message = Message.objects.for_workspace(workspace).select_for_update().get(id=message_id)
        attachments = list(message.attachments)
        if position >= len(attachments) or not isinstance(attachments[position], dict):
            return
        item = {
            k: v
            for k, v in attachments[position].items()
            if k not in ("source_url", "declared_type")
        }
        attachments[position] = {**item, **shown}
        message.attachments = attachments
        message.save(update_fields=["attachments"])


@require_GET
@workspace_required
def media_view(request: WorkspaceRequest, sms_media_id: int) -> HttpResponse:
    media = (
        SmsMedia.objects.for_workspace(request.workspace)
        .filter(id=sms_media_id)
        .only("content_type", "data")
        .first()
    )
    if media is None or media.content_type not in ALLOWED_TYPES:
        raise Http404("No such picture.")
    # X-Content-Type-Options: nosniff comes from SecurityMiddleware on every response.
    response = HttpResponse(bytes(media.data), content_type=media.content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    image = media.content_type.startswith("image/")
    response["Content-Disposition"] = (
        "inline" if image else f'attachment; filename="sms-media-{sms_media_id}.mp4"'
    )
    return response
