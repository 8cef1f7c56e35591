"""The only module that talks to Google Calendar: events insert, patch and delete on "primary".

GC-5: ALT never reads, lists or searches events and never touches calendar lists or another
calendar. This adapter therefore exposes exactly three event calls, always on
calendarId="primary" and always on the event id ALT chose; a test greps the package to keep it so.

Every base URL comes from settings (the sandbox emulator and production differ only there).
Vendor exceptions never leave this module: they become IntegrationError (CalendarError) with a
`code`, and a `message` in ALT's own words (never a library's text meant for developers):

- "duplicate"      409 on insert: the id exists (an earlier attempt got through, or a deleted
                   event still holds it: deleted events keep their id, EXTERNAL_APIS.md §2.1)
- "not_found"      404: the event is not on this calendar (never was, or purged from the trash)
- "gone"           410: the event was deleted
- "forbidden"      403 that is neither a rate limit nor a missing scope; on a patch it is what
                   Google answers for an event the owner deleted in Google Calendar
- "invalid_grant"  Google refused the refresh token: revoked, 7-day Testing expiry, or a
                   reauthentication demand (invalid_rapt / rapt_required)               (GC-8)
- "reauth"         401 even after a refresh, or the grant lacks the calendar scope      (GC-8)
- "invalid_time_zone" 400 "Invalid time zone definition": handled here by sending the UTC
                   instant without the zone name
- transient (permanent=False): 429 and 5xx whatever the reason, 403 with a rate or quota reason
  (rateLimitExceeded, userRateLimitExceeded, dailyLimitExceeded, quotaExceeded), timeouts and
  connection errors. `retry_after_seconds` carries Google's Retry-After, if it sent one.

A patch that Google answers 200 with `"status": "cancelled"` (the event sits in the owner's
trash) is not an error here: `patch_event` returns the status and push.py decides.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httplib2
import requests
from django.conf import settings
from google.auth.exceptions import ReauthFailError, RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from alt.lib.errors import IntegrationError

SCOPE = "https://www.googleapis.com/auth/calendar.events"
CALENDAR_ID = "primary"  # GC-2: the user's primary calendar, never another one
# Every rate and quota reason of Google's error guide is transient: wait, then try again
# (developers.google.com/workspace/calendar/api/guides/errors; EXTERNAL_APIS.md §2.3).
_RATE_LIMIT_REASONS = {
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "dailyLimitExceeded",
    "quotaExceeded",
}
# Google caps an event's description at about 8,192 characters (EXTERNAL_APIS.md has no figure;
# support.nylas.com "Event Description Limits in Google Calendar"). Counted in UTF-16 code units,
# the stricter of the plausible measures, so an emoji counts twice.
DESCRIPTION_MAX_CHARS = 8192


def text_length(text: str) -> int:
    """The length Google's limits are counted in (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class CalendarError(IntegrationError):
    """An IntegrationError from Google Calendar; `retry_after_seconds` is Google's Retry-After."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, code=code)
        self.retry_after_seconds = retry_after_seconds


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

    def body(self, *, with_time_zone: bool = True) -> dict[str, Any]:
        def when(moment: datetime) -> dict[str, str]:
            # A UTC instant: Google needs no zone to place it; the zone only names how to show it.
            text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return (
                {"dateTime": text, "timeZone": self.time_zone}
                if with_time_zone
                else {"dateTime": text}
            )

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
    return Credentials(  # type: ignore[no-untyped-call]  # google-auth leaves __init__ untyped
        token=tokens.access_token or None,
        refresh_token=tokens.refresh_token,
        token_uri=settings.GOOGLE_OAUTH_TOKEN_URL,  # rebuilt from settings every time (§0)
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        scopes=[SCOPE],
        expiry=expiry,
    )


def _error_detail(error: HttpError) -> tuple[str, str]:
    """(errors[0].reason, errors[0].message) of a Google error body, or empty strings."""
    try:
        data = json.loads(error.content.decode("utf-8"))
        first = data["error"]["errors"][0]
        return str(first.get("reason", "")), str(first.get("message", ""))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "", ""


def _retry_after_seconds(error: HttpError) -> float | None:
    """Google's Retry-After header (delta-seconds or an HTTP date), if any."""
    raw = str(error.resp.get("retry-after", "") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _http_error(error: HttpError, action: str) -> CalendarError:
    status = int(error.resp.status)
    reason, detail = _error_detail(error)
    if status == 429 or status >= 500 or (status == 403 and reason in _RATE_LIMIT_REASONS):
        return CalendarError(
            "Google Calendar is busy right now",
            permanent=False,
            status=status,
            code=reason or "busy",
            retry_after_seconds=_retry_after_seconds(error),
        )
    if status == 401 or (status == 403 and reason == "insufficientPermissions"):
        return CalendarError(
            "Google refused ALT's access to the calendar; reconnect Google Calendar",
            permanent=True,
            status=status,
            code="reauth",
        )
    if status == 400 and "time zone" in detail.lower():
        return CalendarError(
            "Google Calendar did not accept the time zone",
            permanent=True,
            status=400,
            code="invalid_time_zone",
        )
    if status == 409:
        return CalendarError(
            "The event already exists", permanent=True, status=409, code="duplicate"
        )
    if status == 404:
        return CalendarError(
            "The event is not on the calendar", permanent=True, status=404, code="not_found"
        )
    if status == 410:
        return CalendarError("The event was deleted", permanent=True, status=410, code="gone")
    if status == 403:
        return CalendarError(
            f"Google Calendar did not allow ALT to {action} the event",
            permanent=True,
            status=403,
            code="forbidden",
        )
    message = getattr(error, "reason", "") or f"HTTP {status}"
    return CalendarError(
        f"Google Calendar refused to {action} the event: {message}",
        permanent=True,
        status=status,
        code=reason or "refused",
    )


_RECONNECT_MESSAGE = (
    "Google no longer accepts ALT's access (removed, expired, or Google wants you to sign in "
    "again); reconnect Google Calendar"
)


def _refresh_error(error: RefreshError) -> CalendarError:
    """Map a failed refresh to our words. google-auth's texts are for developers (one tells them
    to run `gcloud auth application-default login`), so none of them is passed on."""
    details = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    text = str(error.args[0]).lower() if error.args else ""
    reauth = isinstance(error, ReauthFailError) or any(
        word in text for word in ("reauth", "gcloud", "rapt")
    )
    if reauth or details.get("error") == "invalid_grant" or "invalid_grant" in text:
        # invalid_grant with an error_subtype (invalid_rapt, rapt_required) becomes a RefreshError
        # that only says "Reauthentication is needed..." (EXTERNAL_APIS.md §1.5): also a reconnect.
        return CalendarError(_RECONNECT_MESSAGE, permanent=True, code="invalid_grant")
    if getattr(error, "retryable", False):
        return CalendarError("Google's sign-in service is busy", permanent=False, code="refresh")
    return CalendarError(
        "Google refused to renew ALT's access to your calendar",
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
            raise CalendarError("Could not reach Google Calendar", permanent=False) from exc

    def _write(self, action: str, call: Callable[[dict[str, Any]], Any], body: Any) -> Any:
        """Send an insert or patch; if Google rejects the time zone name, send it again without
        one. The times are UTC instants, so the event still lands at the right moment; Google
        keeps its own zone list and lagged tzdata for months (it refused Europe/Kyiv)."""
        try:
            return self._execute(action, lambda: call(body(with_time_zone=True)))
        except IntegrationError as exc:
            if exc.code != "invalid_time_zone":
                raise
        return self._execute(action, lambda: call(body(with_time_zone=False)))

    def insert_event(self, event: EventData) -> str:
        """Create the event under ALT's chosen id; returns the id. 409 raises code="duplicate"."""
        events = self._service.events()

        def body(*, with_time_zone: bool) -> dict[str, Any]:
            return {"id": event.event_id, **event.body(with_time_zone=with_time_zone)}

        created = self._write(
            "create",
            lambda sent: events.insert(calendarId=CALENDAR_ID, body=sent, sendUpdates="none"),
            body,
        )
        return str(created["id"])

    def patch_event(self, event: EventData, *, restore: bool = False) -> str:
        """Overwrite the ALT-owned fields of the event; fields ALT does not own stay as they are.

        Returns the event's status in Google's answer: "cancelled" means it sits in the owner's
        trash (Google answers 200 and keeps it deleted). With `restore` the patch also sets
        `status: confirmed`, which takes a trashed event back out (EXTERNAL_APIS.md §2.1).
        404 raises code="not_found", 410 code="gone", a 403 code="forbidden".
        """
        events = self._service.events()

        def body(*, with_time_zone: bool) -> dict[str, Any]:
            sent = event.body(with_time_zone=with_time_zone)
            return {**sent, "status": "confirmed"} if restore else sent

        patched = self._write(
            "update",
            lambda sent: events.patch(
                calendarId=CALENDAR_ID, eventId=event.event_id, body=sent, sendUpdates="none"
            ),
            body,
        )
        return str((patched or {}).get("status", "confirmed"))

    def delete_event(self, event_id: str) -> bool:
        """Delete the event. Returns False when Google says it is already gone (404/410)."""
        events = self._service.events()
        try:
            self._execute(
                "delete",
                lambda: events.delete(calendarId=CALENDAR_ID, eventId=event_id, sendUpdates="none"),
            )
        except IntegrationError as exc:
            if exc.code in ("not_found", "gone"):
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
