"""Google's OAuth web-server flow through google-auth-oauthlib (GC-1).

- Exactly one scope, calendar.events; no include_granted_scopes (it could pull in other grants).
- access_type=offline + prompt=consent, so Google issues a refresh token on every connect.
- PKCE (S256): the code_verifier lives in the session between "connect" and "callback" (the
  callback builds a new Flow, §1.2), next to the `state`, which the callback checks.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from integrations.google_calendar.client import SCOPE, Tokens

SESSION_KEY = "google_calendar_oauth"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# What the callback's `error` parameter means, in words a person can act on.
ERROR_MESSAGES = {
    "access_denied": "You cancelled on Google's screen, so Google Calendar is not connected. "
    "Click Connect again and choose Allow to sync your appointments.",
    "consent_required": "Google needs you to approve access again. Click Connect.",
    "admin_policy_enforced": "Your Google Workspace administrator does not allow this app. "
    "Ask them to allow Agent Lead Tracker, then click Connect again.",
}


class OAuthError(Exception):
    """The connection could not be made; `message` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _client_config() -> dict[str, Any]:
    return {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_OAUTH_AUTH_URL,
            "token_uri": settings.GOOGLE_OAUTH_TOKEN_URL,
            "redirect_uris": [settings.GOOGLE_OAUTH_REDIRECT_URL],
        }
    }


def _allow_plain_http_to_loopback() -> None:
    # requests-oauthlib refuses http:// token URLs. The sandbox emulator speaks plain http on
    # loopback; production URLs are https and never get this exemption.
    host = urlsplit(settings.GOOGLE_OAUTH_TOKEN_URL).hostname or ""
    if settings.GOOGLE_OAUTH_TOKEN_URL.startswith("http://") and host in _LOOPBACK:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def _flow(**kwargs: Any) -> Flow:
    _allow_plain_http_to_loopback()
    return Flow.from_client_config(
        _client_config(),
        scopes=[SCOPE],
        redirect_uri=settings.GOOGLE_OAUTH_REDIRECT_URL,
        **kwargs,
    )


def authorization_url(session: Any) -> str:
    """The URL of Google's consent screen. Keeps state and the PKCE verifier in `session`."""
    flow = _flow(autogenerate_code_verifier=True)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    session[SESSION_KEY] = {"state": state, "code_verifier": flow.code_verifier}
    return str(url)


def exchange(session: Any, params: dict[str, str]) -> Tokens:
    """Turn the callback's query into tokens. The session entry is used once and dropped.

    Raises OAuthError when the state does not match the one this browser was given (a forged or
    replayed callback), when the person declined, or when Google refuses the code.
    External call: Google's token endpoint.
    """
    saved = session.pop(SESSION_KEY, None) or {}
    expected = str(saved.get("state") or "")
    state = params.get("state", "")
    if not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        raise OAuthError(
            "That Google sign-in did not start from this browser, or it expired. "
            "Click Connect to try again."
        )
    if params.get("error"):
        raise OAuthError(
            ERROR_MESSAGES.get(
                params["error"],
                f"Google did not connect your calendar ({params['error']}). Click Connect to try again.",
            )
        )
    code = params.get("code", "")
    if not code:
        raise OAuthError("Google did not send a sign-in code. Click Connect to try again.")
    flow = _flow(state=expected, code_verifier=saved.get("code_verifier"))
    try:
        token = flow.fetch_token(code=code)
    except Warning as exc:
        # oauthlib raises Warning when the granted scope differs from the one requested, e.g.
        # when the person unticked the calendar box on Google's granular consent screen.
        raise OAuthError(
            "Google did not grant access to your calendar events. Click Connect and leave "
            "the calendar permission ticked."
        ) from exc
    except (OAuth2Error, requests.RequestException, ValueError) as exc:
        raise OAuthError(
            "Google did not accept the sign-in (it may have expired). Click Connect to try again."
        ) from exc
    granted = (
        str(token.get("scope", "")).split()
        if isinstance(token.get("scope"), str)
        else list(token.get("scope") or [])
    )
    if SCOPE not in granted:
        raise OAuthError(
            "Google did not grant access to your calendar events. Click Connect and leave "
            "the calendar permission ticked."
        )
    credentials = flow.credentials
    if not credentials.refresh_token:
        raise OAuthError("Google did not give lasting access. Click Connect to try again.")
    expiry = credentials.expiry  # naive UTC (google-auth)
    return Tokens(
        access_token=str(credentials.token),
        refresh_token=str(credentials.refresh_token),
        expires_at=expiry.replace(tzinfo=UTC) if expiry else None,
        scopes=" ".join(granted),
    )
