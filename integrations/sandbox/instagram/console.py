"""The sandbox console: make happen, by hand, what only Meta's side can (`make run`, no Meta app).

A person trying ALT connects Instagram through the emulator's consent page; then, on
GET /console, they pick that account and send ALT a customer's DM or a comment on a post. The
console builds the delivery as Meta would (deliveries.py: Meta's shapes and key order, non-ASCII
escaped), signs the exact bytes with the app secret (X-Hub-Signature-256, EXTERNAL_APIS.md §3.5)
and POSTs it to ALT's webhook, as tests and the bench do. It also records what Meta's side would
know afterwards: the customer's message opens the 24-hour reply window, a comment can get one
private reply, and the customer's profile answers ALT's lookup.

ALT's webhook URL is SITE_URL (the environment `make run` gives every process) +
/webhooks/instagram/, or `webhook_url` set by a test. Plain HTML: no script, no inline style.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any
from urllib.parse import quote, unquote_plus

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.instagram import deliveries
from integrations.sandbox.instagram.core import InstagramCore, new_id

MAX_TEXT = 1000  # a DM's limit (§3.6); a comment's is 2,200 but the console keeps one limit


class InstagramConsoleRoutes(InstagramCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        site = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        self.webhook_url = f"{site}/webhooks/instagram/"
        super().__init__(*args, **kwargs)

    @route("GET", r"/console/?")
    def console(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        outcome = unquote_plus((request.query.get("outcome") or [""])[-1])
        with self.lock:
            accounts = list(self.accounts.values())
        options = "".join(
            f'<option value="{html.escape(a.ig_user_id)}">@{html.escape(a.username)}</option>'
            for a in accounts
        )
        form = (
            '<form method="post" action="/console/deliver">'
            '<p><label for="account">Your account</label> '
            f'<select id="account" name="account">{options}</select></p>'
            '<p><label for="customer">Customer username</label> '
            '<input id="customer" name="customer" value="maria.buys.homes" maxlength="30"></p>'
            '<p><label for="text">Text</label> '
            f'<textarea id="text" name="text" maxlength="{MAX_TEXT}">'
            "Hi! Is the house on Oak St still available?</textarea></p>"
            '<button type="submit" name="kind" value="dm">Send a DM to ALT</button> '
            '<button type="submit" name="kind" value="comment">Comment on a post</button>'
            "</form>"
            if accounts
            else "<p>No account yet: connect Instagram in ALT (Settings, Social) first.</p>"
        )
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<link rel="icon" href="data:,"><title>Sandbox Instagram console</title></head>'
            "<body><main><h1>Sandbox Instagram console</h1>"
            "<p>Plays Meta's side: what you send here reaches ALT as a signed webhook, at "
            f"<code>{html.escape(self.webhook_url)}</code>.</p>"
            + (f'<p id="outcome" role="status">{html.escape(outcome)}</p>' if outcome else "")
            + form
            + "</main></body></html>\n"
        )
        return Response(200, body=page.encode(), content_type="text/html; charset=utf-8")

    @route("POST", r"/console/deliver")
    def console_deliver(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        account_id = form.get("account", "")
        username = form.get("customer", "").strip().lstrip("@")[:30] or "sandbox.customer"
        text = form.get("text", "")[:MAX_TEXT]
        with self.lock:
            known = account_id in self.accounts
        if not known:
            return self._back("Pick one of your connected accounts.")
        igsid = self._customer(username)
        if form.get("kind") == "comment":
            payload = deliveries.delivery(
                deliveries.entry(
                    account_id,
                    changes=[
                        deliveries.comment_change(
                            comment_id=new_id(17), from_id=igsid, from_username=username,
                            text=text, media_id="17918195224117851",
                        )
                    ],
                ),
                object_last=True,
            )  # fmt: skip
        else:
            payload = deliveries.delivery(
                deliveries.entry(
                    account_id, messaging=[deliveries.message(account_id, igsid, text)]
                )
            )
        try:
            answer = deliveries.deliver_signed(
                self.webhook_url, payload, self.app_secret, emulator=self
            )
        except Exception as exc:  # ALT not running, or not at SITE_URL
            return self._back(f"ALT did not answer at {self.webhook_url}: {type(exc).__name__}.")
        return self._back(f"Delivered: ALT answered HTTP {answer.status_code}.")

    def _customer(self, username: str) -> str:
        """The customer's IGSID, the same for the same username, with a profile ALT can read."""
        profiles: dict[str, Any] = getattr(self, "profiles", {})
        with self.lock:
            for igsid, profile in profiles.items():
                if profile.username == username:
                    return str(igsid)
        add_profile = getattr(self, "add_profile", None)
        if add_profile is None:
            return new_id(16)
        return str(add_profile(username, username.replace(".", " ").title()).igsid)

    def _back(self, outcome: str) -> Response:
        return Response(303, headers={"Location": f"/console?outcome={quote(outcome)}"})
