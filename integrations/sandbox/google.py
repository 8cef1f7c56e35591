"""Google Calendar v3 events on a loopback server, behind Google's OAuth 2.0 server (oauth.py).

EXTERNAL_APIS.md §1 (OAuth, in oauth.py with Google's dialect below) and §2 (Calendar), checked
against the §9 divergence list:

- the OAuth 2.0 server of oauth.py, as Google speaks it: consent page at /o/oauth2/auth, POST
  /token and POST /revoke, Google's token and code shapes, scope names and reauth error.
- /calendar/v3/: events insert, patch and delete on the token user's primary calendar. Event get,
  events list and users/me/calendarList answer like Google too, but only so that tests can prove
  ALT never calls them (GC-5): `calendar_reads()` lists every such request.

Failure injection uses the base class: `fail_next(*RATE_LIMIT_403, when=calendar_request)`;
`quota_outage(seconds)` fails every Calendar call for a stretch of time, with Retry-After.
Every timestamp comes from `time.time()`, so time-machine moves the emulator's clock too.

Harsh by default, where Google is harsh (each place names its source):
- an event deleted in Google's UI (`delete_from_google_ui`) or by the API stays in the trash:
  a patch answers 200 with `status: cancelled` unless it sets `status: confirmed`; an insert
  under its id answers 409 (`deleted_event_patch_answer` can make the patch 403, 404 or 410);
- time zones Google does not know yet are refused (`rejected_time_zones`, Europe/Kyiv);
- a description over 8,192 characters is refused;
- `require_reauth()` makes refresh answer invalid_grant with error_subtype invalid_rapt.
"""

from __future__ import annotations

import copy
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.sandbox.base import RecordedRequest, Response, route
from integrations.sandbox.oauth import AccessToken, OAuth2Server, b64url

DEFAULT_CLIENT_ID = "sandbox-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_USER_EMAIL = "sandbox.user@example.com"

CALENDAR_EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
_AUTH = "https://www.googleapis.com/auth/"
# Google answers with full URLs for the short OpenID scope names (divergence item 3).
_SCOPE_ALIASES = {"email": _AUTH + "userinfo.email", "profile": _AUTH + "userinfo.profile"}
_IDENTITY_SCOPES = {"openid", _AUTH + "userinfo.email", _AUTH + "userinfo.profile"}
_SCOPE_DESCRIPTIONS = {
    _AUTH + "calendar.events": "View and edit events on all your calendars",
    _AUTH + "calendar": "See, edit, share, and permanently delete all the calendars you can access",
    _AUTH + "calendar.readonly": "See and download any calendar you can access",
    _AUTH + "userinfo.email": "See your primary Google Account email address",
    _AUTH + "userinfo.profile": "See your personal info",
    "openid": "Associate you with your personal info on Google",
}
# Which granted scopes let a token do what on the Calendar API.
_EVENT_WRITE_SCOPES = {
    _AUTH + "calendar",
    _AUTH + "calendar.events",
    _AUTH + "calendar.events.owned",
}
_EVENT_READ_SCOPES = _EVENT_WRITE_SCOPES | {
    _AUTH + "calendar.readonly",
    _AUTH + "calendar.events.readonly",
    _AUTH + "calendar.events.owned.readonly",
}
_CALENDAR_LIST_SCOPES = {
    _AUTH + "calendar",
    _AUTH + "calendar.readonly",
    _AUTH + "calendar.calendarlist",
    _AUTH + "calendar.calendarlist.readonly",
}

_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?P<offset>Z|[+-]\d{2}:\d{2})?$"
)

# Fields of the Event resource (discovery doc) a client may set; the server owns the rest.
_WRITABLE_EVENT_FIELDS = {
    "anyoneCanAddSelf",
    "attachments",
    "attendees",
    "attendeesOmitted",
    "birthdayProperties",
    "colorId",
    "conferenceData",
    "description",
    "end",
    "endTimeUnspecified",
    "eventLabelId",
    "eventType",
    "extendedProperties",
    "focusTimeProperties",
    "gadget",
    "guestsCanInviteOthers",
    "guestsCanModify",
    "guestsCanSeeOtherGuests",
    "location",
    "originalStartTime",
    "outOfOfficeProperties",
    "privateCopy",
    "recurrence",
    "recurringEventId",
    "reminders",
    "source",
    "start",
    "status",
    "summary",
    "transparency",
    "visibility",
    "workingLocationProperties",
}


# -- error bodies ---------------------------------------------------------------------------------
def google_error(
    code: int, reason: str, message: str, *, domain: str = "global", **extra: str
) -> dict[str, Any]:
    """The Google "v1 error" body of EXTERNAL_APIS.md §2.3."""
    return {
        "error": {
            "errors": [{"domain": domain, "reason": reason, "message": message, **extra}],
            "code": code,
            "message": message,
        }
    }


# (status, body) pairs for `fail_next(*RATE_LIMIT_403, when=GoogleEmulator.calendar_request)` and
# `fault_rate(0.2, [RATE_LIMIT_403, BACKEND_ERROR_500], when=...)`. The 403 keeps `errors[0].reason`
# or googleapiclient would not retry it (divergence item 6).
RATE_LIMIT_403 = (
    403,
    google_error(403, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"),
)
USER_RATE_LIMIT_403 = (
    403,
    google_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", domain="usageLimits"),
)
RATE_LIMIT_429 = (
    429,
    google_error(429, "rateLimitExceeded", "Rate Limit Exceeded", domain="usageLimits"),
)
BACKEND_ERROR_500 = (500, google_error(500, "backendError", "Backend Error"))
# Quota answers from Google's Calendar error guide
# (developers.google.com/workspace/calendar/api/guides/errors) and EXTERNAL_APIS.md §2.3.
DAILY_LIMIT_403 = (
    403,
    google_error(403, "dailyLimitExceeded", "Daily Limit Exceeded", domain="usageLimits"),
)
QUOTA_EXCEEDED_403 = (
    403,
    google_error(403, "quotaExceeded", "Calendar usage limits exceeded.", domain="usageLimits"),
)
# What a patch of a deleted event can get instead of 200 "cancelled" (deleted_event_patch_answer).
FORBIDDEN_403 = (403, google_error(403, "forbidden", "Forbidden"))
NOT_FOUND_404 = (404, google_error(404, "notFound", "Not Found"))
DELETED_410 = (410, google_error(410, "deleted", "Resource has been deleted"))
_DELETED_EVENT_ANSWERS = {403: FORBIDDEN_403, 404: NOT_FOUND_404, 410: DELETED_410}
# Google keeps its own zone list and lagged tzdata 2022b's Europe/Kyiv for months: "Invalid time
# zone definition for start time." (github.com/phw198/OutlookGoogleCalendarSync/issues/1525).
REJECTED_TIME_ZONES = ("Europe/Kyiv",)
# "approximately 8,192 characters" (support.nylas.com, "Event Description Limits in Google
# Calendar"); Google's own docs give no figure, so the emulator refuses anything longer, counted
# in UTF-16 code units (an emoji counts twice), the stricter reading. The 400 body is [U].
DESCRIPTION_MAX_CHARS = 8192
# What google-auth turns into "Reauthentication is needed. Please run `gcloud ...`" (§1.5).
REAUTH_REQUIRED = {
    "error": "invalid_grant",
    "error_description": "reauth related error (invalid_rapt)",
    "error_subtype": "invalid_rapt",
}

UNAUTHENTICATED_401 = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "errors": [
            {
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }
        ],
        "status": "UNAUTHENTICATED",
    }
}
INSUFFICIENT_SCOPES_403 = {
    "error": {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "errors": [
            {
                "message": "Insufficient Permission",
                "domain": "global",
                "reason": "insufficientPermissions",
            }
        ],
        "status": "PERMISSION_DENIED",
    }
}


def _api_error(code: int, reason: str, message: str, **kwargs: str) -> Response:
    return Response(code, json=google_error(code, reason, message, **kwargs))


def _not_found() -> Response:
    return _api_error(404, "notFound", "Not Found")


def _rfc3339_millis(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """PATCH semantics: nested objects merge, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class _EventError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.json)
        self.response = response


class GoogleEmulator(OAuth2Server):
    name = "google"
    default_port = 8026

    # Google's dialect of the OAuth 2.0 server (oauth.py).
    default_clients = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
    default_user_email = DEFAULT_USER_EMAIL
    brand = "Sandbox Google"
    approve_path = "/o/oauth2/approve"
    # Real codes look like 4/0AcvDMrB... (§1.2); anything else is "Malformed auth code." (§1.5).
    code_prefix = "4/0A"
    access_token_prefix = "ya29."
    refresh_token_prefix = "1//0"
    scope_prefix = _AUTH
    scope_aliases = _SCOPE_ALIASES
    identity_scopes = frozenset(_IDENTITY_SCOPES)
    scope_descriptions = _SCOPE_DESCRIPTIONS
    email_scope = _AUTH + "userinfo.email"
    issuer = "https://accounts.google.com"
    redirect_uri_mismatch_message = (
        "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
        "policy. If you're the app developer, register the redirect URI in the Google "
        "Cloud Console."
    )
    reauth_required_body = REAUTH_REQUIRED

    @classmethod
    def sandbox_settings(cls, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
        """Google OAuth + Calendar come here, with the sandbox client, unless a real client is
        configured."""
        if env.get("GOOGLE_CLIENT_ID"):
            return {}
        return {
            "GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "GOOGLE_OAUTH_AUTH_URL": f"{base_url}/o/oauth2/auth",
            "GOOGLE_OAUTH_TOKEN_URL": f"{base_url}/token",
            "GOOGLE_OAUTH_REVOKE_URL": f"{base_url}/revoke",
            "GOOGLE_CALENDAR_API_URL": f"{base_url}/calendar/v3/",
        }

    def __init__(
        self,
        *args: Any,
        calendar_time_zone: str = "UTC",
        deleted_event_patch_answer: str | int = "cancelled",
        rejected_time_zones: tuple[str, ...] = REJECTED_TIME_ZONES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # What `reset()` goes back to, as the OAuth server's own configuration.
        self._calendar_config: dict[str, Any] = {
            "calendar_time_zone": calendar_time_zone,
            # How a patch of an event in the trash is answered: "cancelled" (200, stays deleted
            # unless the patch sets status confirmed; EXTERNAL_APIS.md §2.1, §2.2), or 403, 404
            # (purged) or 410, which real clients also report.
            "deleted_event_patch_answer": deleted_event_patch_answer,
            "rejected_time_zones": tuple(rejected_time_zones),
        }
        self._apply_calendar_config()
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {}
        self._etag_counter = 0

    def _apply_calendar_config(self) -> None:
        config = copy.deepcopy(self._calendar_config)
        self.calendar_time_zone: str = config["calendar_time_zone"]
        self.deleted_event_patch_answer: str | int = config["deleted_event_patch_answer"]
        self.rejected_time_zones: tuple[str, ...] = config["rejected_time_zones"]
        self.outages: list[tuple[float, Response]] = []  # (until, answer) for quota_outage

    def reset_state(self) -> None:
        with self.lock:
            super().reset_state()
            self._apply_calendar_config()
            self.calendars.clear()
            self.outages.clear()

    # == Calendar v3 ==============================================================================
    def _authenticate(
        self, request: RecordedRequest, allowed_scopes: set[str]
    ) -> AccessToken | Response:
        authorization = request.headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
        with self.lock:
            access = self.access_tokens.get(token)
            if access is None or access.revoked or time.time() >= access.expires_at:
                return Response(
                    401,
                    json=UNAUTHENTICATED_401,
                    headers={
                        "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                        'error="invalid_token"'
                    },
                )
        if not set(access.scope.split()) & allowed_scopes:
            return Response(
                403,
                json=INSUFFICIENT_SCOPES_403,
                headers={
                    "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="insufficient_scope", scope="' + " ".join(sorted(allowed_scopes)) + '"'
                },
            )
        return access

    def _calendar(
        self, request: RecordedRequest, match: re.Match[str], allowed_scopes: set[str]
    ) -> tuple[str, dict[str, dict[str, Any]]] | Response:
        """The token user's primary calendar, if `calendarId` names it ("primary" or the email)."""
        access = self._authenticate(request, allowed_scopes)
        if isinstance(access, Response):
            return access
        calendar_id = unquote(match["calendar_id"])
        if calendar_id != "primary" and calendar_id.lower() != access.email.lower():
            return _not_found()
        return access.email, self.calendars.setdefault(access.email.lower(), {})

    @contextmanager
    def _locked_event(
        self, request: RecordedRequest, match: re.Match[str], allowed_scopes: set[str]
    ) -> Iterator[tuple[dict[str, dict[str, Any]], dict[str, Any]] | Response]:
        """The token user's events and the one `eventId` names, held under the lock for the whole
        `with` block; or the error Response (bad token or scope, calendar or event not found)."""
        found = self._calendar(request, match, allowed_scopes)
        if isinstance(found, Response):
            yield found
            return
        _email, events = found
        with self.lock:
            stored = events.get(unquote(match["event_id"]))
            yield _not_found() if stored is None else (events, stored)

    def _next_etag(self) -> str:
        self._etag_counter += 1
        return f'"{int(time.time() * 1000) * 1000 + self._etag_counter % 1000}"'

    def _time_zone(self, name: str, which: str) -> tzinfo:
        try:
            if name in self.rejected_time_zones:
                raise ValueError(name)
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise _EventError(
                _api_error(400, "invalid", f"Invalid time zone definition for {which} time.")
            ) from None

    def _normalise_when(self, value: Any, which: str) -> tuple[dict[str, Any], datetime | date]:
        """Validate an EventDateTime; dateTime comes back with an offset, as Google returns it."""
        if not isinstance(value, dict) or not (value.get("date") or value.get("dateTime")):
            raise _EventError(_api_error(400, "required", f"Missing {which} time."))
        if value.get("date") and value.get("dateTime"):
            raise _EventError(_api_error(400, "invalid", f"Invalid {which} time."))
        out = {k: v for k, v in value.items() if k in ("date", "dateTime", "timeZone")}
        if "date" in out:
            if not isinstance(out["date"], str) or not _DATE.match(out["date"]):
                raise _EventError(_api_error(400, "invalid", f"Invalid {which} time."))
            try:
                return out, date.fromisoformat(out["date"])
            except ValueError:
                raise _EventError(_api_error(400, "invalid", f"Invalid {which} time.")) from None
        raw = out["dateTime"]
        found = _DATE_TIME.match(raw) if isinstance(raw, str) else None
        if found is None:
            raise _EventError(_api_error(400, "invalid", f"Invalid {which} time."))
        zone_name = out.get("timeZone")
        zone = self._time_zone(zone_name, which) if zone_name else None
        if found["offset"] is None and zone is None:
            raise _EventError(
                _api_error(400, "required", f"Missing time zone definition for {which} time.")
            )
        try:
            moment = datetime.fromisoformat(raw).replace(microsecond=0)
        except ValueError:
            raise _EventError(_api_error(400, "invalid", f"Invalid {which} time.")) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        shown = moment.astimezone(zone or self._time_zone(self.calendar_time_zone, which))
        text = shown.isoformat()
        out["dateTime"] = text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        return out, moment

    def _validated(self, event: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise the client-writable part of an event (insert or merged patch)."""
        start, start_at = self._normalise_when(event.get("start"), "start")
        end, end_at = self._normalise_when(event.get("end"), "end")
        if type(start_at) is not type(end_at):
            raise _EventError(
                _api_error(
                    400,
                    "invalid",
                    "Start and end times must either both be date or both be dateTime.",
                )
            )
        # Timed events may last zero minutes; an all-day event's end date is exclusive.
        empty = end_at < start_at if isinstance(start_at, datetime) else end_at <= start_at
        if empty:
            raise _EventError(
                _api_error(
                    400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar"
                )
            )
        event["start"], event["end"] = start, end
        description = event.get("description")
        if isinstance(description, str) and (
            len(description.encode("utf-16-le")) // 2 > DESCRIPTION_MAX_CHARS
        ):
            raise _EventError(_api_error(400, "invalid", "The description is too long."))
        if event.get("status", "confirmed") not in ("confirmed", "tentative", "cancelled"):
            raise _EventError(_api_error(400, "invalid", "Invalid value for: status"))
        reminders = event.get("reminders")
        if isinstance(reminders, dict):
            overrides = reminders.get("overrides") or []
            if reminders.get("useDefault") and overrides:
                raise _EventError(
                    _api_error(
                        400,
                        "cannotUseDefaultRemindersAndSpecifyOverride",
                        "Cannot specify both default reminders and overrides at the same time.",
                    )
                )
            if len(overrides) > 5:
                raise _EventError(
                    _api_error(400, "invalid", "The maximum number of override reminders is 5.")
                )
        return event

    def _event_resource(
        self, email: str, event_id: str, body: dict[str, Any], now: float
    ) -> dict[str, Any]:
        eid = b64url(f"{event_id} {email}".encode())
        resource: dict[str, Any] = {
            "kind": "calendar#event",
            "etag": self._next_etag(),
            "id": event_id,
            "status": body.get("status", "confirmed"),
            "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
            "created": _rfc3339_millis(int(now)),
            "updated": _rfc3339_millis(now),
        }
        rest = {k: v for k, v in body.items() if k not in ("status", "start", "end", "reminders")}
        for key in ("summary", "description", "location"):
            if key in rest:
                resource[key] = rest.pop(key)
        resource["creator"] = {"email": email, "self": True}
        resource["organizer"] = {"email": email, "self": True}
        resource["start"] = body["start"]
        resource["end"] = body["end"]
        resource["iCalUID"] = f"{event_id}@google.com"
        resource["sequence"] = 0
        resource |= rest
        resource["reminders"] = body.get("reminders") or {"useDefault": True}
        resource.setdefault("eventType", "default")
        return resource

    @staticmethod
    def _json_body(request: RecordedRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise _EventError(_api_error(400, "parseError", "Parse Error")) from None
        if not isinstance(body, dict):
            raise _EventError(_api_error(400, "parseError", "Parse Error"))
        return body

    @route("POST", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events")
    def events_insert(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        found = self._calendar(request, match, _EVENT_WRITE_SCOPES)
        if isinstance(found, Response):
            return found
        email, events = found
        try:
            body = self._json_body(request)
            event_id = body.get("id")
            if event_id is None:
                event_id = "".join(self.random.choice(_BASE32HEX) for _ in range(26))
            elif not isinstance(event_id, str) or not _EVENT_ID.match(event_id):
                return _api_error(400, "invalid", "Invalid resource id value.")
            writable = {k: copy.deepcopy(v) for k, v in body.items() if k in _WRITABLE_EVENT_FIELDS}
            writable = self._validated(writable)
        except _EventError as exc:
            return exc.response
        with self.lock:
            # Deleted events stay on the calendar as cancelled, so their ids stay taken (item 5).
            if event_id in events:
                return _api_error(409, "duplicate", "The requested identifier already exists.")
            events[event_id] = self._event_resource(email, event_id, writable, time.time())
            return Response(200, json=copy.deepcopy(events[event_id]))

    @route("PATCH", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events/(?P<event_id>[^/]+)")
    def events_patch(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        with self._locked_event(request, match, _EVENT_WRITE_SCOPES) as found:
            if isinstance(found, Response):
                return found
            events, stored = found
            setting = self.deleted_event_patch_answer
            answer = _DELETED_EVENT_ANSWERS.get(setting) if isinstance(setting, int) else None
            if stored["status"] == "cancelled" and answer is not None:
                return Response(answer[0], json=copy.deepcopy(answer[1]))
            try:
                patch = {
                    k: v for k, v in self._json_body(request).items() if k in _WRITABLE_EVENT_FIELDS
                }
                merged = copy.deepcopy(stored)
                for which in ("start", "end"):
                    # A new date replaces a dateTime (and the reverse) rather than sitting beside it.
                    if isinstance(patch.get(which), dict) and isinstance(merged.get(which), dict):
                        if "date" in patch[which]:
                            merged[which].pop("dateTime", None)
                            merged[which].pop("timeZone", None)
                        if "dateTime" in patch[which]:
                            merged[which].pop("date", None)
                _merge(merged, patch)
                merged = self._validated(merged)
            except _EventError as exc:
                return exc.response
            changed = {k for k in set(merged) | set(stored) if merged.get(k) != stored.get(k)}
            if changed - {"reminders"}:  # changing reminders does not change `updated` (§2.2)
                merged["updated"] = _rfc3339_millis(time.time())
            if changed & {"start", "end"}:
                merged["sequence"] = stored["sequence"] + 1
            merged["etag"] = self._next_etag()
            events[stored["id"]] = merged
            return Response(200, json=copy.deepcopy(merged))

    @route("DELETE", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events/(?P<event_id>[^/]+)")
    def events_delete(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        with self._locked_event(request, match, _EVENT_WRITE_SCOPES) as found:
            if isinstance(found, Response):
                return found
            _events, stored = found
            if stored["status"] == "cancelled":
                return _api_error(410, "deleted", "Resource has been deleted")
            stored["status"] = "cancelled"
            stored["updated"] = _rfc3339_millis(time.time())
            stored["etag"] = self._next_etag()
        return Response(204)

    # -- reads ALT must never make (GC-5); they answer like Google so a violation is not masked --
    @route("GET", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events/(?P<event_id>[^/]+)")
    def events_get(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        with self._locked_event(request, match, _EVENT_READ_SCOPES) as found:
            if isinstance(found, Response):
                return found
            _events, stored = found
            return Response(200, json=copy.deepcopy(stored))  # cancelled ones too, as Google does

    @route("GET", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events")
    def events_list(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        found = self._calendar(request, match, _EVENT_READ_SCOPES)
        if isinstance(found, Response):
            return found
        email, events = found
        show_deleted = request.query.get("showDeleted", ["false"])[-1] == "true"
        wanted = [p.partition("=") for p in request.query.get("privateExtendedProperty", [])]
        with self.lock:
            items = [
                copy.deepcopy(e)
                for e in events.values()
                if (show_deleted or e["status"] != "cancelled")
                and all(
                    e.get("extendedProperties", {}).get("private", {}).get(k) == v
                    for k, _, v in wanted
                )
            ]
        return Response(
            200,
            json={
                "kind": "calendar#events",
                "etag": self._next_etag(),
                "summary": email,
                "description": "",
                "updated": _rfc3339_millis(time.time()),
                "timeZone": self.calendar_time_zone,
                "accessRole": "owner",
                "defaultReminders": [{"method": "popup", "minutes": 30}],
                "nextSyncToken": b64url(secrets.token_bytes(24)),
                "items": items,
            },
        )

    @route("GET", r"/calendar/v3/users/me/calendarList")
    def calendar_list(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        access = self._authenticate(request, _CALENDAR_LIST_SCOPES)
        if isinstance(access, Response):
            return access
        return Response(
            200,
            json={
                "kind": "calendar#calendarList",
                "etag": self._next_etag(),
                "nextSyncToken": b64url(secrets.token_bytes(24)),
                "items": [
                    {
                        "kind": "calendar#calendarListEntry",
                        "etag": self._next_etag(),
                        "id": access.email,
                        "summary": access.email,
                        "timeZone": self.calendar_time_zone,
                        "colorId": "14",
                        "backgroundColor": "#9fe1e7",
                        "foregroundColor": "#000000",
                        "selected": True,
                        "accessRole": "owner",
                        "defaultReminders": [{"method": "popup", "minutes": 30}],
                        "primary": True,
                    }
                ],
            },
        )

    # == helpers for tests ========================================================================
    @staticmethod
    def calendar_request(request: RecordedRequest) -> bool:
        """`when=` predicate for fail_next/fault_rate: only Calendar API calls."""
        return request.path.startswith("/calendar/v3/")

    def quota_outage(
        self,
        seconds: float,
        fault: tuple[int, Any] = QUOTA_EXCEEDED_403,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        """Answer every Calendar call with `fault` for the next `seconds` (by `time.time()`, so
        time-machine ends it), with a Retry-After header when `retry_after_seconds` is given."""
        headers = {"Retry-After": str(retry_after_seconds)} if retry_after_seconds else {}
        response = Response(fault[0], json=fault[1], headers=headers)
        with self.lock:
            self.outages.append((time.time() + seconds, response))

    def _injected_fault(self, request: RecordedRequest) -> Response | None:
        if self.calendar_request(request):
            with self.lock:
                now = time.time()
                self.outages = [(until, r) for until, r in self.outages if until > now]
                if self.outages:
                    return copy.deepcopy(self.outages[0][1])
        return super()._injected_fault(request)

    def delete_from_google_ui(self, email: str, event_id: str) -> None:
        """The owner deletes the event in Google Calendar: it goes to the trash (status cancelled),
        keeps its id, and ALT is not told."""
        with self.lock:
            stored = self.calendars[email.lower()][event_id]
            stored["status"] = "cancelled"
            stored["updated"] = _rfc3339_millis(time.time())
            stored["etag"] = self._next_etag()

    def fail_calendar_next(self, fault: tuple[int, Any], *, times: int = 1) -> None:
        """Answer the next `times` Calendar calls with one of the (status, body) constants."""
        self.fail_next(*fault, times=times, when=self.calendar_request)

    def events_for(self, email: str) -> list[dict[str, Any]]:
        """The events stored on this user's primary calendar, cancelled ones included."""
        with self.lock:
            return copy.deepcopy(list(self.calendars.get(email.lower(), {}).values()))

    def calendar_reads(self) -> list[RecordedRequest]:
        """Every recorded event get, events list or calendarList request (GC-5: must be empty)."""
        reads = re.compile(
            r"^/calendar/v3/(?:users/me/calendarList(?:/.*)?|calendars/[^/]+/events(?:/[^/]+)?)$"
        )
        with self.lock:
            return [r for r in self.requests if r.method == "GET" and reads.match(r.path)]

    def calendar_calls_beyond_sync(self) -> list[RecordedRequest]:
        """Every Calendar request that is not an events insert, patch or delete on "primary".

        Wider than `calendar_reads()`: it also catches PUT/update, other calendars and other
        resources, everything GC-5 rules out.
        """
        allowed = {
            "POST": re.compile(r"^/calendar/v3/calendars/primary/events$"),
            "PATCH": re.compile(r"^/calendar/v3/calendars/primary/events/[^/]+$"),
            "DELETE": re.compile(r"^/calendar/v3/calendars/primary/events/[^/]+$"),
        }
        with self.lock:
            return [
                r
                for r in self.requests
                if self.calendar_request(r)
                and not ((pattern := allowed.get(r.method)) and pattern.match(r.path))
            ]
