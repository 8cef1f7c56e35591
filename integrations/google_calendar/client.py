"""The only module that talks to Google Calendar: events insert, patch and delete on "primary".

GC-5: ALT never reads, lists or searches events and never touches calendar lists or another
calendar. This adapter therefore exposes exactly three event calls, always on
calendarId="primary" and always on the event id ALT chose; a test greps the package to keep it so.

Every base URL comes from settings (the sandbox emulator and production differ only there).
Vendor exceptions never leave this module: they become IntegrationError with a `code`:

- "duplicate"      409 on insert: the id exists (an earlier attempt got through) -> patch instead
- "not_found"      404 on patch: the event is not on this calendar
- "invalid_grant"  Google refused the refresh token (revoked, or 7-day Testing expiry)  (GC-8)
- "reauth"         401 even after a refresh, or the grant lacks the calendar scope      (GC-8)
- transient (permanent=False): 429, 403 rateLimitExceeded/userRateLimitExceeded/quotaExceeded,
  5xx, timeouts and connection errors; the task retries them with backoff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httplib2
import requests
from django.conf import settings
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations.errors import IntegrationError

SCOPE = "https://www.googleapis.com/auth/calendar.events"
CALENDAR_ID = "primary"  # GC-2: the user's primary calendar, never another one
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None  # aware UTC
    scopes: str = SCOPE


@dataclass(frozen=True)
class EventData:
    """The ALT-owned part of a Google event: all ALT ever writes (GC-3)."""

    event_id: str
    summary: str
    description: str
    location: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    appointment_id: int

    def body(self) -> dict[str, Any]:
        def when(moment: datetime) -> dict[str, str]:
            text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return {"dateTime": text, "timeZone": self.time_zone}

        return {
            "summary": self.summary,
            "description": self.description,
            "location": self.location,
            "start": when(self.starts_at),
            "end": when(self.ends_at),
            # Marks the event as ALT's own, for people looking at it in Google's tools.
            "extendedProperties": {
                "private": {"alt": "1", "altAppointmentId": str(self.appointment_id)}
            },
        }


def _credentials(tokens: Tokens) -> Credentials:
    # google-auth compares expiry with a naive UTC clock.
    expiry = tokens.expires_at.astimezone(UTC).replace(tzinfo=None) if tokens.expires_at else None
    return Credentials(
        token=tokens.access_token or None,
        refresh_token=tokens.refresh_token,
        token_uri=settings.GOOGLE_OAUTH_TOKEN_URL,  # rebuilt from settings every time (§0)
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=[SCOPE],
        expiry=expiry,
    )


def _error_reason(error: HttpError) -> str:
    try:
        data = json.loads(error.content.decode("utf-8"))
        return str(data["error"]["errors"][0]["reason"])
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def _http_error(error: HttpError, action: str) -> IntegrationError:
    status = int(error.resp.status)
    reason = _error_reason(error)
    if status == 429 or status >= 500 or (status == 403 and reason in _RATE_LIMIT_REASONS):
        return IntegrationError(
            f"Google Calendar is busy ({reason or status}); will try again",
            permanent=False,
            status=status,
            code=reason,
        )
    if status == 401 or (status == 403 and reason == "insufficientPermissions"):
        return IntegrationError(
            "Google refused ALT's access to the calendar; reconnect Google Calendar",
            permanent=True,
            status=status,
            code="reauth",
        )
    if status == 409:
        return IntegrationError(
            "The event already exists", permanent=True, status=409, code="duplicate"
        )
    if status in (404, 410):
        return IntegrationError(
            "The event is not on the calendar", permanent=True, status=status, code="not_found"
        )
    message = getattr(error, "reason", "") or f"HTTP {status}"
    return IntegrationError(
        f"Google Calendar refused to {action} the event: {message}",
        permanent=True,
        status=status,
        code=reason or "refused",
    )


def _refresh_error(error: RefreshError) -> IntegrationError:
    details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    if details.get("error") == "invalid_grant" or "invalid_grant" in str(error.args[0]):
        return IntegrationError(
            "Google no longer accepts ALT's access (revoked or expired); reconnect Google Calendar",
            permanent=True,
            code="invalid_grant",
        )
    if getattr(error, "retryable", False):
        return IntegrationError("Google's sign-in service is busy", permanent=False, code="refresh")
    return IntegrationError(
        f"Google refused to refresh ALT's access: {details.get('error') or error.args[0]}",
        permanent=True,
        code="refresh_refused",
    )


class CalendarClient:
    """Events insert/patch/delete on one user's primary calendar.

    After each call `tokens` holds the current access token (google-auth refreshes it when it is
    expired, or once after a 401); the caller stores it when it changed.
    """

    def __init__(self, tokens: Tokens) -> None:
        self._credentials = _credentials(tokens)
        self._refresh_token = tokens.refresh_token
        http = AuthorizedHttp(
            self._credentials,
            http=httplib2.Http(timeout=settings.GOOGLE_HTTP_TIMEOUT_SECONDS),
            max_refresh_attempts=1,  # 401 -> refresh once, then give up
        )
        self._service = build(
            "calendar",
            "v3",
            http=http,
            client_options={"api_endpoint": settings.GOOGLE_CALENDAR_API_URL},
            static_discovery=True,
            cache_discovery=False,
        )

    @property
    def tokens(self) -> Tokens:
        expiry = self._credentials.expiry
        return Tokens(
            access_token=self._credentials.token or "",
            refresh_token=self._credentials.refresh_token or self._refresh_token,
            expires_at=expiry.replace(tzinfo=UTC) if expiry else None,
        )

    def _execute(self, action: str, call: Callable[[], Any]) -> Any:
        try:
            return call().execute(num_retries=0)  # retries are the task's, with backoff
        except HttpError as exc:
            raise _http_error(exc, action) from exc
        except RefreshError as exc:  # a 401 whose refresh failed surfaces here (§9 item 7)
            raise _refresh_error(exc) from exc
        except (TransportError, httplib2.HttpLib2Error, OSError) as exc:  # timeouts included
            raise IntegrationError(
                f"Could not reach Google Calendar ({type(exc).__name__})", permanent=False
            ) from exc

    def insert_event(self, event: EventData) -> str:
        """Create the event under ALT's chosen id; returns the id. 409 raises code="duplicate"."""
        body = {"id": event.event_id, **event.body()}
        events = self._service.events()
        created = self._execute(
            "create",
            lambda: events.insert(calendarId=CALENDAR_ID, body=body, sendUpdates="none"),
        )
        return str(created["id"])

    def patch_event(self, event: EventData) -> None:
        """Overwrite the ALT-owned fields of the event; fields ALT does not own stay as they are.
        404/410 raises code="not_found"."""
        events = self._service.events()
        self._execute(
            "update",
            lambda: events.patch(
                calendarId=CALENDAR_ID,
                eventId=event.event_id,
                body=event.body(),
                sendUpdates="none",
            ),
        )

    def delete_event(self, event_id: str) -> bool:
        """Delete the event. Returns False when Google says it is already gone (404/410)."""
        events = self._service.events()
        try:
            self._execute(
                "delete",
                lambda: events.delete(calendarId=CALENDAR_ID, eventId=event_id, sendUpdates="none"),
            )
        except IntegrationError as exc:
            if exc.code == "not_found":
                return False
            raise
        return True


def revoke(token: str) -> bool:
    """Revoke a token at Google (revoking the refresh token ends the whole grant). Best effort:
    returns False instead of raising when Google cannot be reached or refuses."""
    try:
        response = requests.post(
            settings.GOOGLE_OAUTH_REVOKE_URL,
            params={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=settings.GOOGLE_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        return False
    return response.status_code == 200
