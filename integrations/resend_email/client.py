"""Adapter around the `resend` SDK: the only module that imports it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import resend
import resend.exceptions
from django.conf import settings

from alt.lib.errors import IntegrationError


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content: bytes
    content_type: str = ""


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str | None = None
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[OutgoingAttachment] = field(default_factory=list)


def send_email(email: OutgoingEmail, *, idempotency_key: str | None = None) -> str:
    """Send one email through Resend and return Resend's email id.

    Side effects: one POST {RESEND_API_URL}/emails, with an Idempotency-Key header when
    `idempotency_key` is given (Resend then answers a repeat with the first email's id instead of
    sending again). Raises IntegrationError, `code` set to Resend's error name: permanent for
    validation and key errors (4xx), transient for rate limits, concurrent idempotent requests,
    5xx and network failures.
    """
    # The SDK reads its base URL and key from module globals; settings are the source of truth.
    resend.api_key = settings.RESEND_API_KEY
    resend.api_url = settings.RESEND_API_URL
    params: dict[str, object] = {"from": email.sender, "to": email.to, "subject": email.subject}
    # Only non-empty bodies: an empty `text` tells Resend not to derive the plain-text part from
    # the HTML, which would send an HTML-only email without one.
    if email.text:
        params["text"] = email.text
    if email.html:
        params["html"] = email.html
    if email.attachments:
        params["attachments"] = [
            {
                "filename": a.filename,
                "content": base64.b64encode(a.content).decode(),
                **({"content_type": a.content_type} if a.content_type else {}),
            }
            for a in email.attachments
        ]
    for key, value in (
        ("cc", email.cc),
        ("bcc", email.bcc),
        ("reply_to", email.reply_to),
        ("headers", email.headers),
    ):
        if value:
            params[key] = value
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        response = resend.Emails.send(params, options) if options else resend.Emails.send(params)  # type: ignore[arg-type]
    except resend.exceptions.ResendError as exc:
        raise _integration_error(exc) from exc
    return str(response["id"])


def _integration_error(exc: resend.exceptions.ResendError) -> IntegrationError:
    name = str(exc.error_type)
    # The SDK turns every failure of its HTTP client (connection refused, timeout, TLS) into a
    # ResendError with code 500 and this type; no response came back, so there is no status.
    if name == "HttpClientError":
        return IntegrationError(f"Resend unreachable: {exc}", permanent=False, code=name)
    try:
        status: int | None = int(exc.code)
    except (TypeError, ValueError):
        status = None
    transient = (
        status is None
        or status >= 500
        # A per-second rate limit passes within our retry window; a daily or monthly quota does
        # not, so those fail now and show as failed instead of retrying for an hour.
        or (status == 429 and name not in ("daily_quota_exceeded", "monthly_quota_exceeded"))
        or name == "concurrent_idempotent_requests"  # 409 while the first attempt is in flight
    )
    verb = "could not take" if transient else "refused"
    return IntegrationError(
        f"Resend {verb} the email: {exc}", permanent=not transient, status=status, code=name
    )
