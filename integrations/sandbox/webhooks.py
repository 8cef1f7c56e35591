"""Signed webhook delivery, as each provider signs it, from tests, benchmarks and the sandbox UI.

A `Signer` turns a raw body (and the target URL, which Twilio signs) into the headers the
provider sends. `deliver()` POSTs the exact bytes: the signature covers them, so they are never
re-serialised after signing. Each signer follows EXTERNAL_APIS.md §8, whose helpers were checked
against the official verifiers (twilio RequestValidator, stripe.Webhook.construct_event, svix).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

# (raw body, target URL) -> headers to send with it
Signer = Callable[[bytes, str], dict[str, str]]


def meta_body(payload: Any) -> bytes:
    """Meta's serialisation: non-ASCII as lowercase \\uXXXX and "/" as "\\/" (EXTERNAL_APIS.md §3.5:
    the signature covers those exact bytes, so the app must verify request.body, never a
    re-serialised dict)."""
    return (
        json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()
    )


def meta_signer(app_secret: str) -> Signer:
    """X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)> (EXTERNAL_APIS.md §3.5)."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}

    return sign


def twilio_form_body(params: Mapping[str, str]) -> bytes:
    return urlencode(list(params.items())).encode()


def twilio_signer(auth_token: str) -> Signer:
    """X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + sorted key+value of the form)),
    over the exact public URL Twilio called (EXTERNAL_APIS.md §4.5, §8)."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        from urllib.parse import parse_qsl

        params = parse_qsl(body.decode(), keep_blank_values=True)
        data = url + "".join(k + v for k, v in sorted(params))
        digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": base64.b64encode(digest).decode(),
        }

    return sign


def stripe_signer(secret: str, *, timestamp: int | None = None) -> Signer:
    """Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(whole "whsec_..." secret, "t.body")>
    (EXTERNAL_APIS.md §5.5: the key is the secret string itself, not base64-decoded)."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        ts = timestamp or int(time.time())
        v1 = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return {"Content-Type": "application/json", "Stripe-Signature": f"t={ts},v1={v1}"}

    return sign


def svix_signer(secret: str) -> Signer:
    """Resend's Svix headers: base64(HMAC-SHA256(base64-decoded secret after "whsec_",
    "id.timestamp.body")) (EXTERNAL_APIS.md §6.3)."""

    def sign(body: bytes, url: str) -> dict[str, str]:
        msg_id, ts = "msg_" + secrets.token_hex(12), str(int(time.time()))
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "svix-id": msg_id,
            "svix-timestamp": ts,
            "svix-signature": "v1," + base64.b64encode(digest).decode(),
        }

    return sign


def deliver(
    url: str, body: bytes, signer: Signer | None, *, timeout: float = 10.0
) -> httpx.Response:
    """POST `body` to `url` as the provider would, signed by `signer` (None: unsigned, as a
    forger would send it). Returns the app's answer.

    Plain httpx, not integrations/http.py's factory: this plays the provider calling ALT, at any
    URL the caller names, from tests and benchmarks that may run without Django settings; the
    factory is for ALT calling a provider at a base URL from settings."""
    headers = signer(body, url) if signer is not None else {"Content-Type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=timeout)
