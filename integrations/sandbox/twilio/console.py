"""The sandbox console: text ALT by hand, as a customer's phone would (`make run`, no Twilio).

GET /console shows a form to text one of the emulated numbers from a made-up phone number (with an
optional picture: an MMS), the messages ALT sent through the emulator with their statuses, and a
"Reply STOP" (and START) button per recipient. A text becomes a signed inbound delivery
(deliveries.py: every §4.3 parameter, X-Twilio-Signature over the exact URL, §4.5) POSTed to ALT at
`inbound_url`: TWILIO_PUBLIC_BASE_URL (else SITE_URL, as alt/settings.py defaults it) +
/webhooks/twilio/sms/, or set by a test.

As the Instagram console: plain HTML, no script, no inline style, everything escaped (ALT's
texts are shown as data, in their own direction); inputs capped (a text at Twilio's 1,600
characters, §4.2 21617; a picture at 5 MB, Twilio's MMS limit); a POST carrying another site's
Origin is refused, so a page in the developer's browser cannot make the console text ALT.
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import re
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import httpx

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.twilio.callbacks import TwilioStatusCallbacks
from integrations.sandbox.twilio.deliveries import TwilioInboundDeliveries

MAX_TEXT = 1600  # §4.2 21617
MAX_PICTURE_BYTES = 5 * 1024 * 1024  # Twilio's MMS limit
PICTURE_TYPES = ("image/jpeg", "image/png", "image/gif")  # the types every carrier shows
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SHOWN = 50  # the newest messages ALT sent


class TwilioConsoleRoutes(TwilioInboundDeliveries, TwilioStatusCallbacks):
    @route("GET", r"/console/?")
    def console(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        outcome = unquote_plus((request.query.get("outcome") or [""])[-1])[:500]
        with self.state_lock:
            numbers = sorted(n for a in self.accounts.values() for n in a.numbers)
            sent = [
                dict(m.resource)
                for m in self.messages.values()
                if m.resource.get("direction") == "outbound-api"
            ][-SHOWN:][::-1]
        options = "".join(
            f'<option value="{html.escape(n)}">{html.escape(n)}</option>' for n in numbers
        )
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<link rel="icon" href="data:,"><title>Sandbox Twilio console</title></head>'
            "<body><main><h1>Sandbox Twilio console</h1>"
            "<p>Plays a customer's phone and Twilio: what you send here reaches ALT as a signed "
            f"inbound text, at <code>{html.escape(self.inbound_url)}</code>.</p>"
            + (f'<p id="outcome" role="status">{html.escape(outcome)}</p>' if outcome else "")
            + "<h2>Text ALT</h2>"
            '<form method="post" action="/console/text" enctype="multipart/form-data">'
            '<p><label for="from">From (the customer\'s phone, E.164)</label> '
            '<input id="from" name="from" value="+14155550123" maxlength="16" '
            'autocomplete="off" required></p>'
            f'<p><label for="to">To (your Twilio number)</label> <select id="to" name="to">'
            f"{options}</select></p>"
            f'<p><label for="body">Message</label> <textarea id="body" name="body" dir="auto" '
            f'maxlength="{MAX_TEXT}">Hi, is the house on Oak St still available?</textarea></p>'
            '<p><label for="picture">Picture (optional: JPEG, PNG or GIF, up to 5 MB)</label> '
            '<input id="picture" name="picture" type="file" accept="image/jpeg,image/png,image/gif">'
            "</p>"
            '<button type="submit">Send the text to ALT</button></form>'
            + self._sent_table(sent)
            + "</main></body></html>\n"
        )
        return Response(200, body=page.encode(), content_type="text/html; charset=utf-8")

    def _sent_table(self, sent: list[dict[str, Any]]) -> str:
        if not sent:
            return "<h2>Texts ALT sent</h2><p>ALT has not sent a text through the sandbox yet.</p>"
        rows = []
        for m in sent:
            who = html.escape(str(m.get("to") or ""))
            status = str(m.get("status") or "")
            if m.get("error_code"):
                status += f" (error {m['error_code']}: {m.get('error_message') or ''})"
            reply = (
                '<form method="post" action="/console/text">'
                f'<input type="hidden" name="from" value="{who}">'
                f'<input type="hidden" name="to" value="{html.escape(str(m.get("from") or ""))}">'
                # The accessible name starts with the visible words (WCAG 2.5.3, label in name).
                f'<button type="submit" name="body" value="STOP" aria-label="Reply STOP as {who}">'
                "Reply STOP</button> "
                f'<button type="submit" name="body" value="START" aria-label="Reply START as '
                f'{who}">Reply START</button></form>'
                if m.get("from")
                else ""
            )
            rows.append(
                f"<tr><td>{html.escape(str(m.get('date_created') or ''))}</td>"
                f"<td>{html.escape(str(m.get('from') or m.get('messaging_service_sid') or ''))}</td>"
                f"<td>{html.escape(str(m.get('to') or ''))}</td>"
                f'<td dir="auto">{html.escape(str(m.get("body") or ""))}</td>'
                f"<td>{html.escape(status)}</td><td>{reply}</td></tr>"
            )
        return (
            "<h2>Texts ALT sent</h2>"
            '<form method="post" action="/console/statuses"><button type="submit">'
            "Deliver the pending status updates now</button></form>"
            "<table><caption>The newest first, with the status Twilio reports</caption>"
            '<thead><tr><th scope="col">Sent</th><th scope="col">From</th><th scope="col">To</th>'
            '<th scope="col">Text</th><th scope="col">Status</th>'
            '<th scope="col">Customer\'s answer</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    @route("POST", r"/console/text")
    def console_text(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._cross_site(request)
        if refused is not None:
            return refused
        fields, picture = _form_fields(request)
        from_ = fields.get("from", "").strip()
        to = fields.get("to", "").strip()
        body = fields.get("body", "")
        if not _E164.match(from_):
            return self._back("The customer's phone must be an E.164 number, like +14155550123.")
        if self.owner_of_number(to) is None:
            return self._back("Pick one of the sandbox's numbers.")
        if len(body) > MAX_TEXT:
            return self._back(f"A text is at most {MAX_TEXT} characters.")
        media: list[tuple[str, bytes]] = []
        if picture is not None and picture[1]:
            content_type, data = picture
            if content_type not in PICTURE_TYPES:
                return self._back("The picture must be a JPEG, PNG or GIF.")
            if len(data) > MAX_PICTURE_BYTES:
                return self._back("The picture is larger than 5 MB.")
            media.append((content_type, data))
        if not body and not media:
            return self._back("Write a message or pick a picture.")
        try:
            [answer] = self.deliver_inbound(
                self.inbound_url, from_=from_, to=to, body=body, media=media
            )
        except httpx.HTTPError as exc:  # ALT not running, or not at that URL
            return self._back(f"ALT did not answer at {self.inbound_url}: {type(exc).__name__}.")
        return self._back(f"Delivered: ALT answered HTTP {answer.status_code}.")

    @route("POST", r"/console/statuses")
    def console_statuses(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        refused = self._cross_site(request)
        if refused is not None:
            return refused
        try:
            answers = self.deliver_status_callbacks()
        except httpx.HTTPError as exc:
            return self._back(f"ALT did not answer a status callback: {type(exc).__name__}.")
        return self._back(f"Delivered {len(answers)} status update(s).")

    def _cross_site(self, request: RecordedRequest) -> Response | None:
        origin = request.headers.get("origin", "")
        if origin and origin != "null":
            parts = urlsplit(origin)
            if parts.hostname not in ("127.0.0.1", "localhost") or parts.port != self.port:
                return Response(403, body=b"Cross-site request refused.", content_type="text/plain")
        if request.headers.get("sec-fetch-site", "") == "cross-site":
            return Response(403, body=b"Cross-site request refused.", content_type="text/plain")
        return None

    def _back(self, outcome: str) -> Response:
        return Response(303, headers={"Location": f"/console?outcome={quote(outcome)}"})


def _form_fields(request: RecordedRequest) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The form's text fields, and the uploaded picture (content type, bytes) if any: the console
    posts multipart/form-data for the picture, the reply buttons urlencoded."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return request.form(), None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
    )
    fields: dict[str, str] = {}
    picture: tuple[str, bytes] | None = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            if name == "picture":
                picture = (part.get_content_type(), data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, picture
