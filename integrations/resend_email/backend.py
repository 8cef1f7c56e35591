"""A Django email backend that sends through Resend, so the rest of ALT uses Django's mail API."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.utils import parseaddr
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

from alt.lib.errors import IntegrationError
from integrations.resend_email.client import OutgoingAttachment, OutgoingEmail, send_email


def _sender(from_email: str) -> str:
    # Resend takes "Name <address>" as UTF-8 JSON. email.utils.formataddr would RFC 2047-encode a
    # non-ASCII name ("=?utf-8?q?Zo=C3=AB?="), which Resend passes on as literal text.
    name, address = parseaddr(from_email)
    if not name:
        return address or from_email
    try:
        return str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError):
        return from_email


def _as_bytes(content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode()
    if hasattr(content, "as_bytes"):  # an attached email (message/rfc822)
        return bytes(content.as_bytes())
    return str(content).encode()


def _attachments(message: EmailMessage) -> list[OutgoingAttachment]:
    out = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            payload = attachment.get_payload(decode=True)
            out.append(
                OutgoingAttachment(
                    filename=attachment.get_filename() or "attachment",
                    content=_as_bytes(payload if payload is not None else b""),
                    content_type=attachment.get_content_type(),
                )
            )
        else:
            filename, content, mimetype = attachment
            out.append(
                OutgoingAttachment(
                    filename=filename or "attachment",
                    content=_as_bytes(content),
                    content_type=mimetype or "",
                )
            )
    return out


def _to_outgoing(message: EmailMessage) -> OutgoingEmail:
    html = None
    if isinstance(message, EmailMultiAlternatives):
        for content, mimetype in message.alternatives:
            if mimetype == "text/html":
                html = str(content)
    text = str(message.body)
    if message.content_subtype == "html":
        html, text = text, ""
    return OutgoingEmail(
        sender=_sender(str(message.from_email)),
        to=list(message.to),
        cc=list(message.cc),
        bcc=list(message.bcc),
        reply_to=list(message.reply_to),
        subject=str(message.subject),
        text=text,
        html=html,
        headers={k: str(v) for k, v in message.extra_headers.items()},
        attachments=_attachments(message),
    )


class ResendEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                send_email(_to_outgoing(message))
            except IntegrationError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
