"""The only module that talks to Meta's Instagram API with Instagram Login (EXTERNAL_APIS.md §3).

Plain httpx through integrations/http.py (no official Python SDK for this API); every base URL
comes from settings. Functions take the token they need and return our own dataclasses. Errors
never leave as httpx exceptions or raw JSON: they become `InstagramError` (an IntegrationError)
keyed on Meta's `error.code` / `error_subcode`, never on the HTTP status, which Meta does not keep
consistent (§3.10, §9 item 13):

- code 190, 102          permanent, `needs_reconnect`: the token is dead (expired, revoked,
                         password changed); the account must be connected again
- code 10 / 2534022      permanent, `window_closed`: outside the 24-hour messaging window (§3.6)
- codes 4, 17, 32, 613, 80002, 1, 2, 368, `is_transient: true`, HTTP 5xx, timeouts and
                         connection errors: transient (the task retries with backoff)
- anything else          permanent, with Meta's message kept for staff and a plain one for people

The api.instagram.com code exchange answers errors in another shape
(`{"error_type", "code", "error_message"}`, §3.2, §9 item 14); `_raise_for` reads both.

Each feature adds its calls below the shared part, in its own section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from alt.lib.errors import IntegrationError
from integrations.http import http_client

_TRANSIENT_CODES = {1, 2, 4, 17, 32, 368, 613, 80002}
_RECONNECT_CODES = {190, 102}
WINDOW_CLOSED_SUBCODE = 2534022


class InstagramError(IntegrationError):
    """A failed Instagram call. `meta_code` / `meta_subcode` are Meta's; `code` is ours:
    "needs_reconnect", "window_closed", "rate_limited", "transient" or "rejected"."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        meta_code: int | None = None,
        meta_subcode: int | None = None,
        meta_message: str = "",
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, code=code)
        self.meta_code = meta_code
        self.meta_subcode = meta_subcode
        self.meta_message = meta_message

    @property
    def needs_reconnect(self) -> bool:
        return self.code == "needs_reconnect"

    @property
    def window_closed(self) -> bool:
        return self.code == "window_closed"


def graph_client() -> httpx.Client:
    """An httpx client on graph.instagram.com (INSTAGRAM_GRAPH_API_URL). Use as a context manager."""
    return http_client(
        base_url_setting="INSTAGRAM_GRAPH_API_URL",
        timeout_setting="INSTAGRAM_HTTP_TIMEOUT_SECONDS",
    )


def versioned(path: str) -> str:
    """'/me' -> 'v23.0/me' (relative to the Graph base URL, whose path it keeps)."""
    return f"{settings.INSTAGRAM_GRAPH_API_VERSION}/{path.lstrip('/')}"


def error_from_body(status: int, body: Any) -> InstagramError:
    """Meta's error body (either shape) as an InstagramError."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # the Graph shape (§3.10)
        meta_code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        meta_message = str(error.get("message", ""))[:300]
        transient_flag = error.get("is_transient") is True
    elif isinstance(body, dict) and "error_type" in body:  # api.instagram.com (§3.2)
        meta_code = _int(body.get("code"))
        subcode = None
        meta_message = str(body.get("error_message", ""))[:300]
        transient_flag = False
    else:
        meta_code, subcode, meta_message, transient_flag = None, None, "", False
    if meta_code in _RECONNECT_CODES:
        return InstagramError(
            "Instagram no longer accepts ALT's access: connect the account again.",
            permanent=True,
            status=status,
            code="needs_reconnect",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    if meta_code == 10 and subcode == WINDOW_CLOSED_SUBCODE:
        return InstagramError(
            "Instagram only allows replies within 24 hours of the person's last message. "
            "Wait for them to write again.",
            permanent=True,
            status=status,
            code="window_closed",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    if (
        meta_code in _TRANSIENT_CODES
        or transient_flag
        or status >= 500
        or (meta_code is None and status == 429)
    ):
        return InstagramError(
            "Instagram is busy or limiting requests; ALT will try again shortly.",
            permanent=False,
            status=status,
            code="rate_limited" if meta_code in {4, 17, 32, 613, 80002} else "transient",
            meta_code=meta_code,
            meta_subcode=subcode,
            meta_message=meta_message,
        )
    return InstagramError(
        f"Instagram refused the request: {meta_message or f'HTTP {status}'}",
        permanent=True,
        status=status,
        code="rejected",
        meta_code=meta_code,
        meta_subcode=subcode,
        meta_message=meta_message,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    token: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """One call; the parsed JSON object on 2xx, else InstagramError. The token goes in the
    Authorization header (never in a URL that could be logged). Raises InstagramError."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:  # timeouts, refused connections, broken responses
        raise InstagramError(
            "Instagram could not be reached; ALT will try again shortly.",
            permanent=False,
            code="transient",
            meta_message=type(exc).__name__,
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    if response.is_success:
        raise InstagramError(
            "Instagram answered with something ALT does not understand.",
            permanent=False,
            status=response.status_code,
            code="transient",
        )
    raise error_from_body(response.status_code, body)


# --- Ingest ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InstagramProfile:
    """What the User Profile API tells about a person who wrote to the account."""

    igsid: str
    username: str  # "" when Meta leaves it out
    name: str  # "" when the person set none (Meta answers null)


def user_profile(*, token: str, igsid: str) -> InstagramProfile:
    """GET /vNN/<IGSID>?fields=name,username: the name and username of a person who messaged the
    account (Meta's User Profile API; allowed only once they wrote to it, else code 230 "User
    consent is required", a permanent refusal). No side effects.
    Raises InstagramError (needs_reconnect for a dead token, transient ones retried by the caller).
    """
    with graph_client() as client:
        body = request_json(
            client,
            "GET",
            versioned(f"/{igsid}"),
            token=token,
            params={"fields": "name,username"},
        )
    return InstagramProfile(
        igsid=str(body.get("id") or igsid),
        username=str(body.get("username") or "")[:64],
        name=str(body.get("name") or "")[:150],
    )
