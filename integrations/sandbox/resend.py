"""Resend's email API (EXTERNAL_APIS.md §6): POST /emails and GET /emails/{id}.

Errors use Resend's shape `{"statusCode", "name", "message"}`: 401 missing_api_key when there is no
Authorization header, 403 invalid_api_key for a key that does not start with `re_`, 422
validation_error for a bad `from`/`to`, 422 missing_required_field for a missing `to` or subject,
404 not_found for an unknown endpoint or email. An `Idempotency-Key` header replays the first
answer for the same payload and refuses a different payload with 409 invalid_idempotent_request.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from integrations.sandbox.base import Emulator, RecordedRequest, Response, route

_ADDRESS = re.compile(r"^(?:[^<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$")


def resend_error(status: int, name: str, message: str) -> Response:
    return Response(status, json={"statusCode": status, "name": name, "message": message})


def _invalid_email(payload: Any) -> Response | None:
    if not isinstance(payload, dict):
        return resend_error(422, "validation_error", "The request body must be an object.")
    sender = payload.get("from") or ""
    if not isinstance(sender, str) or not _ADDRESS.match(sender):
        return resend_error(
            422,
            "validation_error",
            "Invalid `from` field. The email address needs to follow the `email@example.com` "
            "or `Name <email@example.com>` format.",
        )
    recipients = _as_list(payload.get("to"))
    if not recipients:
        return resend_error(422, "missing_required_field", "Missing `to` field.")
    if len(recipients) > 50 or not all(
        isinstance(r, str) and _ADDRESS.match(r) for r in recipients
    ):
        return resend_error(422, "validation_error", "Invalid `to` field.")
    if not payload.get("subject"):
        return resend_error(422, "missing_required_field", "Missing `subject` field.")
    if not (payload.get("html") or payload.get("text")):
        return resend_error(422, "validation_error", "Missing `html` or `text` field.")
    return None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None or value == "" else [value]


class ResendEmulator(Emulator):
    name = "resend"
    default_port = 8025

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emails: dict[str, dict[str, Any]] = {}
        # Idempotency-Key -> (canonical payload, email id) of the first successful send.
        self.idempotency_keys: dict[str, tuple[str, str]] = {}

    @classmethod
    def sandbox_settings(cls, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
        """Email stays on the console backend when RESEND_API_KEY is unset (the verification links
        are printed where the developer is looking); RESEND_API_KEY=re_sandbox routes it through
        this emulator instead."""
        if env.get("RESEND_API_KEY", "").startswith("re_sandbox"):
            return {"RESEND_API_URL": base_url}
        return {}

    def reset_state(self) -> None:
        self.emails.clear()
        self.idempotency_keys.clear()

    def not_found(self, request: RecordedRequest) -> Response:
        return resend_error(404, "not_found", "The requested endpoint does not exist.")

    def _auth_error(self, request: RecordedRequest) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth.removeprefix("Bearer ").strip():
            return resend_error(
                401, "missing_api_key", "Missing API key in the authorization header."
            )
        if not auth.removeprefix("Bearer ").startswith("re_"):
            return resend_error(403, "invalid_api_key", "API key is invalid")
        return None

    @route("POST", r"/emails")
    def send(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if (error := self._auth_error(request)) is not None:
            return error
        try:
            payload = request.json()
        except ValueError:
            return resend_error(400, "validation_error", "Invalid JSON body.")
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 256:
            return resend_error(
                400, "invalid_idempotency_key", "The key must be between 1-256 chars."
            )
        if (error := _invalid_email(payload)) is not None:
            return error
        canonical = json.dumps(payload, sort_keys=True)
        # Held across check and store so two concurrent retries cannot both send.
        with self.lock:
            if key is not None and (first := self.idempotency_keys.get(key)) is not None:
                if first[0] != canonical:
                    return resend_error(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload. Change your "
                        "idempotency key or payload.",
                    )
                return Response(200, json={"id": first[1]})
            email_id = str(uuid.uuid4())
            self.emails[email_id] = {
                **payload,
                # The API takes `to`, `cc`, `bcc` and `reply_to` as a string or a list; GET
                # /emails/{id} returns lists, and so does the store.
                **{
                    k: _as_list(payload[k]) for k in ("to", "cc", "bcc", "reply_to") if k in payload
                },
                "id": email_id,
                "created_at": datetime.now(UTC).isoformat(),
            }
            if key is not None:
                self.idempotency_keys[key] = (canonical, email_id)
        return Response(200, json={"id": email_id})

    @route("GET", r"/emails/(?P<email_id>[^/]+)")
    def get(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        if (error := self._auth_error(request)) is not None:
            return error
        email = self.emails.get(match["email_id"])
        if email is None:
            return resend_error(404, "not_found", "Email not found")
        return Response(json={"object": "email", "last_event": "delivered", **email})

    # -- helpers for tests ----------------------------------------------------------------------
    def sent(self) -> list[dict[str, Any]]:
        """Every accepted email, oldest first."""
        with self.lock:
            return list(self.emails.values())

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        """Accepted emails with `address` among `to`, with or without a display name there."""
        address = address.lower()
        return [e for e in self.sent() if address in (parseaddr(r)[1].lower() for r in e["to"])]
