"""Google's OAuth 2.0 web-server flow and Calendar v3 events on one loopback server.

EXTERNAL_APIS.md §1 (OAuth) and §2 (Calendar), checked against the §9 divergence list:

- GET /o/oauth2/auth (and /o/oauth2/v2/auth) renders a plain-HTML consent page (no script, no
  inline style: a browser test may run it under a strict CSP); its form POSTs to
  /o/oauth2/approve, which redirects to the app's redirect_uri with `code` or
  `error=access_denied`. `auto_approve()` does the same for tests without a browser.
- POST /token: authorization_code (client credentials as HTTP Basic *or* in the body, item 1;
  S256 PKCE, item 2; single-use codes) and refresh_token grants; errors as the §1.5 table.
- POST /revoke: revokes the whole grant (refresh token and every access token minted from it).
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

import base64
import copy
import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import parse_qs, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.sandbox.base import Emulator, RecordedRequest, Response, route

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

TESTING_REFRESH_TOKEN_MAX_AGE_SECONDS = 7 * 24 * 3600
AUTH_CODE_LIFETIME_SECONDS = 600
# Real codes look like 4/0AcvDMrB... (§1.2); anything else is "Malformed auth code." (§1.5).
_CODE_PREFIX = "4/0A"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
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


def _token_error(status: int, error: str, description: str) -> Response:
    return Response(
        status,
        json={"error": error, "error_description": description},
        headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
    )


class AuthorizationError(ValueError):
    """The authorization request is invalid; Google shows an error page instead of consent."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"Error {status}: {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


# -- stored state ---------------------------------------------------------------------------------
@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str  # granted, space separated
    email: str
    code_challenge: str | None
    offline: bool
    issue_refresh_token: bool
    issued_at: float
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    email: str
    scope: str
    issued_at: float
    revoked: bool = False
    reauth_required: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    email: str
    scope: str
    expires_at: float
    refresh_token: str | None
    revoked: bool = False


@dataclass
class _AuthRequest:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    offline: bool
    prompt: set[str]
    include_granted_scopes: bool
    login_hint: str | None
    params: dict[str, str]  # as received, for the consent form's hidden fields


def _rfc3339_millis(at: float) -> str:
    moment = datetime.fromtimestamp(at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


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


class GoogleEmulator(Emulator):
    name = "google"
    default_port = 8026

    def __init__(
        self,
        *args: Any,
        clients: dict[str, str] | None = None,
        redirect_uris: list[str] | None = None,
        default_email: str = DEFAULT_USER_EMAIL,
        expires_in: int = 3599,
        testing_mode: bool = False,
        refresh_token_max_age_seconds: int | None = None,
        granted_scope_override: str | None = None,
        require_state_and_pkce: bool = True,
        calendar_time_zone: str = "UTC",
        deleted_event_patch_answer: str | int = "cancelled",
        rejected_time_zones: tuple[str, ...] = REJECTED_TIME_ZONES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # What `reset()` goes back to, so one test's configuration never leaks into the next.
        self._config: dict[str, Any] = {
            "clients": dict(clients or {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}),
            # None accepts any http(s) redirect URI; a list behaves like the Console's allow-list.
            "redirect_uris": list(redirect_uris) if redirect_uris is not None else None,
            "default_email": default_email,
            # Under 225 s google-auth refreshes before every call (divergence item 4).
            "expires_in": expires_in,
            # The consent screen's "Testing" status: refresh tokens live 7 days (GC-8).
            "testing_mode": testing_mode,
            "refresh_token_max_age_seconds": refresh_token_max_age_seconds,
            # A granted scope string other than the requested one (divergence item 3).
            "granted_scope_override": granted_scope_override,
            # Google only recommends state and PKCE; the emulator insists, so ALT cannot drop them.
            "require_state_and_pkce": require_state_and_pkce,
            "calendar_time_zone": calendar_time_zone,
            # How a patch of an event in the trash is answered: "cancelled" (200, stays deleted
            # unless the patch sets status confirmed; EXTERNAL_APIS.md §2.1, §2.2), or 403, 404
            # (purged) or 410, which real clients also report.
            "deleted_event_patch_answer": deleted_event_patch_answer,
            "rejected_time_zones": tuple(rejected_time_zones),
        }
        self._apply_config()
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        # (client_id, email) -> scopes the user has consented to, for include_granted_scopes and
        # "a refresh token only on first consent or prompt=consent" (§1.2).
        self.grants: dict[tuple[str, str], list[str]] = {}
        self.calendars: dict[str, dict[str, dict[str, Any]]] = {}
        self._etag_counter = 0

    def _apply_config(self) -> None:
        config = copy.deepcopy(self._config)
        self.clients: dict[str, str] = config["clients"]
        self.redirect_uris: list[str] | None = config["redirect_uris"]
        self.default_email: str = config["default_email"]
        self.expires_in: int = config["expires_in"]
        self.testing_mode: bool = config["testing_mode"]
        self.refresh_token_max_age_seconds: int | None = config["refresh_token_max_age_seconds"]
        self.granted_scope_override: str | None = config["granted_scope_override"]
        self.require_state_and_pkce: bool = config["require_state_and_pkce"]
        self.calendar_time_zone: str = config["calendar_time_zone"]
        self.deleted_event_patch_answer: str | int = config["deleted_event_patch_answer"]
        self.rejected_time_zones: tuple[str, ...] = config["rejected_time_zones"]
        self.outages: list[tuple[float, Response]] = []  # (until, answer) for quota_outage

    def reset_state(self) -> None:
        with self.lock:
            self._apply_config()
            self.codes.clear()
            self.refresh_tokens.clear()
            self.access_tokens.clear()
            self.grants.clear()
            self.calendars.clear()
            self.outages.clear()

    # == OAuth: authorization =====================================================================
    def _parse_authorization(self, params: dict[str, str]) -> _AuthRequest:
        client_id = params.get("client_id", "")
        if not client_id:
            raise AuthorizationError(
                400, "invalid_request", "Missing required parameter: client_id"
            )
        if client_id not in self.clients:
            raise AuthorizationError(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            raise AuthorizationError(
                400, "invalid_request", "Missing required parameter: redirect_uri"
            )
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise AuthorizationError(
                400, "invalid_request", "Invalid parameter value for redirect_uri"
            )
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            raise AuthorizationError(
                400,
                "redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 "
                "policy. If you're the app developer, register the redirect URI in the Google "
                "Cloud Console.",
            )
        response_type = params.get("response_type", "")
        if not response_type:
            raise AuthorizationError(
                400, "invalid_request", "Missing required parameter: response_type"
            )
        if response_type != "code":
            raise AuthorizationError(
                400, "unsupported_response_type", f"Invalid response_type: {response_type}"
            )
        scopes = [_SCOPE_ALIASES.get(s, s) for s in params.get("scope", "").split()]
        if not scopes:
            raise AuthorizationError(400, "invalid_request", "Missing required parameter: scope")
        invalid = [s for s in scopes if s not in _IDENTITY_SCOPES and not s.startswith(_AUTH)]
        if invalid:
            raise AuthorizationError(
                400, "invalid_scope", f"Some requested scopes were invalid. {{invalid={invalid}}}"
            )
        state = params.get("state") or None
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method") or None
        if self.require_state_and_pkce:
            if state is None:
                raise AuthorizationError(
                    400, "invalid_request", "Missing required parameter: state"
                )
            if challenge is None:
                raise AuthorizationError(
                    400, "invalid_request", "Missing required parameter: code_challenge"
                )
        if challenge is not None:
            if method != "S256":
                raise AuthorizationError(
                    400, "invalid_request", "Invalid code_challenge_method value."
                )
            if not _CHALLENGE.match(challenge):
                raise AuthorizationError(400, "invalid_request", "Invalid code_challenge value.")
        access_type = params.get("access_type", "online")
        if access_type not in ("online", "offline"):
            raise AuthorizationError(400, "invalid_request", f"Invalid access_type: {access_type}")
        prompt = set(params.get("prompt", "").split())
        if not prompt <= {"none", "consent", "select_account"} or (
            "none" in prompt and len(prompt) > 1
        ):
            raise AuthorizationError(400, "invalid_request", "Invalid prompt value.")
        return _AuthRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
            offline=access_type == "offline",
            prompt=prompt,
            include_granted_scopes=params.get("include_granted_scopes") == "true",
            login_hint=params.get("login_hint") or None,
            params=params,
        )

    @staticmethod
    def _redirect_to(redirect_uri: str, params: dict[str, str]) -> str:
        parts = urlsplit(redirect_uri)
        # Google leaves '/' and ':' unescaped in code and scope, and encodes spaces as %20.
        extra = urlencode(params, quote_via=quote, safe="/:")
        query = f"{parts.query}&{extra}" if parts.query else extra
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    def _approve(self, auth: _AuthRequest, email: str, *, consent_shown: bool = True) -> str:
        now = time.time()
        with self.lock:
            key = (auth.client_id, email.lower())
            previous = self.grants.get(key)
            granted = list(auth.scopes)
            if auth.include_granted_scopes and previous:
                granted += [s for s in previous if s not in granted]
            scope = self.granted_scope_override or " ".join(granted)
            issue_refresh = auth.offline and (previous is None or "consent" in auth.prompt)
            self.grants[key] = list(
                dict.fromkeys([*(previous or []), *scope.split()])
            )  # consent accumulates
            code = _CODE_PREFIX + secrets.token_urlsafe(54)
            self.codes[code] = AuthCode(
                code=code,
                client_id=auth.client_id,
                redirect_uri=auth.redirect_uri,
                scope=scope,
                email=email,
                code_challenge=auth.code_challenge,
                offline=auth.offline,
                issue_refresh_token=issue_refresh,
                issued_at=now,
            )
        params = {"state": auth.state} if auth.state is not None else {}
        params |= {
            "code": code,
            "scope": scope,
            "authuser": "0",
            "prompt": "consent" if consent_shown else "none",
        }
        return self._redirect_to(auth.redirect_uri, params)

    def _deny(self, auth: _AuthRequest, error: str = "access_denied") -> str:
        params = {"error": error}
        if auth.state is not None:
            params["state"] = auth.state
        return self._redirect_to(auth.redirect_uri, params)

    def _silent_redirect(self, auth: _AuthRequest) -> str | None:
        """prompt=none: Google never shows a page; it answers from an existing grant or fails."""
        if "none" not in auth.prompt:
            return None
        email = auth.login_hint or self.default_email
        previous = self.grants.get((auth.client_id, email.lower()), [])
        if not set(auth.scopes) <= set(previous):
            return self._deny(auth, "consent_required")
        return self._approve(auth, email, consent_shown=False)

    @staticmethod
    def _query_of(auth_url: str) -> dict[str, str]:
        query = urlsplit(auth_url).query if "?" in auth_url else auth_url
        return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def auto_approve(self, auth_url: str, *, email: str | None = None) -> str:
        """The redirect URL a user clicking "Allow" would be sent to, without a browser.

        `auth_url` is the full authorization URL (or just its query). Raises AuthorizationError
        where Google would show an error page instead of the consent screen.
        """
        auth = self._parse_authorization(self._query_of(auth_url))
        silent = self._silent_redirect(auth)
        if silent is not None:
            return silent
        return self._approve(auth, email or auth.login_hint or self.default_email)

    def auto_deny(self, auth_url: str) -> str:
        """The redirect URL a user clicking "Cancel" would be sent to."""
        return self._deny(self._parse_authorization(self._query_of(auth_url)))

    @route("GET", r"/o/oauth2(?:/v2)?/auth")
    def authorize(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        params = {k: v[-1] for k, v in request.query.items()}
        try:
            auth = self._parse_authorization(params)
        except AuthorizationError as exc:
            return self._error_page(exc)
        silent = self._silent_redirect(auth)
        if silent is not None:
            return Response(302, headers={"Location": silent})
        return Response(
            200,
            body=self._consent_page(auth).encode(),
            content_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )

    @route("POST", r"/o/oauth2/approve")
    def approve(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = request.form()
        action = form.pop("action", "")
        email = form.pop("email", "").strip()
        try:
            auth = self._parse_authorization(form)
        except AuthorizationError as exc:
            return self._error_page(exc)
        if action == "allow":
            location = self._approve(auth, email or auth.login_hint or self.default_email)
        else:
            location = self._deny(auth)
        return Response(302, headers={"Location": location})

    @staticmethod
    def _error_page(exc: AuthorizationError) -> Response:
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>Error - Sandbox Google</title></head><body><main>"
            "<h1>Access blocked: Authorization Error</h1>"
            f"<p>{html.escape(exc.description)}</p>"
            f'<p id="error-code">Error {exc.status}: {html.escape(exc.error)}</p>'
            "</main></body></html>\n"
        )
        return Response(exc.status, body=page.encode(), content_type="text/html; charset=utf-8")

    def _consent_page(self, auth: _AuthRequest) -> str:
        email = auth.login_hint or self.default_email
        scopes = "".join(
            f"<li><code>{html.escape(s)}</code> {html.escape(_SCOPE_DESCRIPTIONS.get(s, ''))}</li>"
            for s in auth.scopes
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in auth.params.items()
            if k not in ("action", "email")
        )
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>Sign in - Sandbox Google Accounts</title></head><body><main>"
            "<h1>Sandbox Google</h1>"
            f"<p><strong>{html.escape(auth.client_id)}</strong> wants to access your Google Account</p>"
            '<form method="post" action="/o/oauth2/approve">'
            '<p><label for="email">Account</label> '
            f'<input id="email" name="email" type="email" value="{html.escape(email)}"></p>'
            f'<p>This will allow the app to:</p><ul id="scopes">{scopes}</ul>'
            f"{hidden}"
            '<button id="cancel" type="submit" name="action" value="cancel">Cancel</button> '
            '<button id="allow" type="submit" name="action" value="allow">Allow</button>'
            "</form></main></body></html>\n"
        )

    # == OAuth: token endpoint ====================================================================
    @staticmethod
    def _token_form(request: RecordedRequest) -> dict[str, str]:
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                data = request.json()
            except ValueError:
                data = None
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return request.form()

    def _client_credentials(
        self, request: RecordedRequest, form: dict[str, str]
    ) -> tuple[str, Response | None]:
        """Basic auth (code exchange by requests-oauthlib) or body fields (refresh by google-auth)."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
            except ValueError:
                return "", _token_error(400, "invalid_request", "Bad Request")
            user, _, password = decoded.partition(":")
            client_id, secret = unquote_plus(user), unquote_plus(password)
        if not client_id:
            return "", _token_error(
                400, "invalid_request", "Could not determine client ID from request."
            )
        if client_id not in self.clients:
            return client_id, _token_error(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(secret, self.clients[client_id]):
            return client_id, _token_error(401, "invalid_client", "Unauthorized")
        return client_id, None

    def _refresh_max_age(self) -> int | None:
        if self.refresh_token_max_age_seconds is not None:
            return self.refresh_token_max_age_seconds
        return TESTING_REFRESH_TOKEN_MAX_AGE_SECONDS if self.testing_mode else None

    def _time_limited(self, scope: str) -> bool:
        # Testing-status apps get 7-day refresh tokens unless only identity scopes were granted.
        return self.testing_mode and not set(scope.split()) <= _IDENTITY_SCOPES

    def _mint_access_token(
        self, client_id: str, email: str, scope: str, refresh_token: str | None
    ) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(96)
        self.access_tokens[token] = AccessToken(
            token=token,
            client_id=client_id,
            email=email,
            scope=scope,
            expires_at=time.time() + self.expires_in,
            refresh_token=refresh_token,
        )
        reply: dict[str, Any] = {
            "access_token": token,
            "expires_in": self.expires_in,
            "scope": scope,
            "token_type": "Bearer",
        }
        if "openid" in scope.split():
            reply["id_token"] = self._id_token(client_id, email, scope)
        return reply

    def _id_token(self, client_id: str, email: str, scope: str) -> str:
        """A syntactically valid JWT (§1.8). Its signature is random: decode it unverified."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com",
            "azp": client_id,
            "aud": client_id,
            "sub": str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:21],
            "iat": now,
            "exp": now + 3600,
        }
        if _AUTH + "userinfo.email" in scope.split():
            claims |= {"email": email, "email_verified": True}
        header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
        return ".".join(
            [
                _b64url(json.dumps(header).encode()),
                _b64url(json.dumps(claims).encode()),
                _b64url(secrets.token_bytes(256)),
            ]
        )

    @route("POST", r"/token")
    def token(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        form = self._token_form(request)
        grant_type = form.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            return _token_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        client_id, error = self._client_credentials(request, form)
        if error is not None:
            return error
        with self.lock:
            if grant_type == "authorization_code":
                reply = self._exchange_code(client_id, form)
            else:
                reply = self._refresh(client_id, form)
        if isinstance(reply, Response):
            return reply
        return Response(
            200,
            json=reply,
            headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
        )

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> dict[str, Any] | Response:
        code = form.get("code", "")
        if not code:
            return _token_error(400, "invalid_request", "Missing required parameter: code")
        if not code.startswith(_CODE_PREFIX):
            return _token_error(400, "invalid_grant", "Malformed auth code.")
        grant = self.codes.get(code)
        if (
            grant is None
            or grant.used
            or grant.client_id != client_id
            or time.time() > grant.issued_at + AUTH_CODE_LIFETIME_SECONDS
        ):
            return _token_error(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri", "") != grant.redirect_uri:
            return _token_error(400, "redirect_uri_mismatch", "Bad Request")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier:
                return _token_error(400, "invalid_grant", "Missing code verifier.")
            digest = _b64url(hashlib.sha256(verifier.encode()).digest())
            if not _VERIFIER.match(verifier) or not secrets.compare_digest(
                digest, grant.code_challenge
            ):
                return _token_error(400, "invalid_grant", "Invalid code verifier.")
        # Consumed only by a successful exchange, so a test can fail on PKCE and then succeed.
        grant.used = True
        refresh: str | None = None
        if grant.issue_refresh_token:
            refresh = "1//0" + secrets.token_urlsafe(72)
            self.refresh_tokens[refresh] = RefreshToken(
                token=refresh,
                client_id=client_id,
                email=grant.email,
                scope=grant.scope,
                issued_at=time.time(),
            )
        reply = self._mint_access_token(client_id, grant.email, grant.scope, refresh)
        if refresh is not None:
            reply["refresh_token"] = refresh
            if self._time_limited(grant.scope) and (max_age := self._refresh_max_age()):
                reply["refresh_token_expires_in"] = max_age - 1
        return reply

    def _refresh(self, client_id: str, form: dict[str, str]) -> dict[str, Any] | Response:
        token = form.get("refresh_token", "")
        if not token:
            return _token_error(400, "invalid_request", "Missing required parameter: refresh_token")
        stored = self.refresh_tokens.get(token)
        if stored is None:
            return _token_error(400, "invalid_grant", "Bad Request")
        if stored.client_id != client_id:
            return _token_error(401, "unauthorized_client", "Unauthorized")
        max_age = self._refresh_max_age() if self._time_limited(stored.scope) else None
        age = time.time() - stored.issued_at
        if stored.revoked or (max_age is not None and age >= max_age):
            return _token_error(400, "invalid_grant", "Token has been expired or revoked.")
        if stored.reauth_required:  # e.g. a Workspace admin's reauthentication policy
            return Response(400, json=dict(REAUTH_REQUIRED), headers={"Cache-Control": "no-store"})
        requested = form.get("scope", "").split()
        if requested and not set(requested) <= set(stored.scope.split()):
            return _token_error(400, "invalid_scope", "Bad Request")
        reply = self._mint_access_token(client_id, stored.email, stored.scope, token)
        if max_age is not None:
            reply["refresh_token_expires_in"] = max(int(max_age - age) - 1, 0)
        return reply

    # == OAuth: revoke ============================================================================
    @route("POST", r"/revoke")
    def revoke(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        token = (request.query.get("token") or [""])[-1] or request.form().get("token", "")
        if not token:
            return _token_error(400, "invalid_request", "Missing required parameter: token")
        with self.lock:
            access = self.access_tokens.get(token)
            stored = self.refresh_tokens.get(token)
            if access is not None and not access.revoked:
                refresh, client_id, email = access.refresh_token, access.client_id, access.email
                access.revoked = True
            elif stored is not None and not stored.revoked:
                refresh, client_id, email = token, stored.client_id, stored.email
            else:
                return _token_error(400, "invalid_token", "Token expired or revoked")
            # Google revokes the whole grant: revoking either token kills the refresh token and
            # every access token minted from it, and the next authorization is a first consent.
            if refresh is not None:
                self.refresh_tokens[refresh].revoked = True
                for other in self.access_tokens.values():
                    if other.refresh_token == refresh:
                        other.revoked = True
            self.grants.pop((client_id, email.lower()), None)
        return Response(200, json={})

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
        eid = _b64url(f"{event_id} {email}".encode())
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
        found = self._calendar(request, match, _EVENT_WRITE_SCOPES)
        if isinstance(found, Response):
            return found
        _email, events = found
        with self.lock:
            stored = events.get(unquote(match["event_id"]))
            if stored is None:
                return _not_found()
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
        found = self._calendar(request, match, _EVENT_WRITE_SCOPES)
        if isinstance(found, Response):
            return found
        _email, events = found
        with self.lock:
            stored = events.get(unquote(match["event_id"]))
            if stored is None:
                return _not_found()
            if stored["status"] == "cancelled":
                return _api_error(410, "deleted", "Resource has been deleted")
            stored["status"] = "cancelled"
            stored["updated"] = _rfc3339_millis(time.time())
            stored["etag"] = self._next_etag()
        return Response(204)

    # -- reads ALT must never make (GC-5); they answer like Google so a violation is not masked --
    @route("GET", r"/calendar/v3/calendars/(?P<calendar_id>[^/]+)/events/(?P<event_id>[^/]+)")
    def events_get(self, request: RecordedRequest, match: re.Match[str]) -> Response:
        found = self._calendar(request, match, _EVENT_READ_SCOPES)
        if isinstance(found, Response):
            return found
        _email, events = found
        with self.lock:
            stored = events.get(unquote(match["event_id"]))
            if stored is None:
                return _not_found()
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
                "nextSyncToken": _b64url(secrets.token_bytes(24)),
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
                "nextSyncToken": _b64url(secrets.token_bytes(24)),
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

    @staticmethod
    def token_request(request: RecordedRequest) -> bool:
        """`when=` predicate for fail_next/fault_rate: only the token endpoint."""
        return request.path == "/token"

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

    def require_reauth(self) -> None:
        """Make every refresh token answer invalid_grant / invalid_rapt (reauthentication)."""
        with self.lock:
            for stored in self.refresh_tokens.values():
                stored.reauth_required = True

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

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired, as if an hour had passed on Google's side."""
        with self.lock:
            for access in self.access_tokens.values():
                access.expires_at = min(access.expires_at, time.time() - 1)

    def expire_refresh_tokens(self) -> None:
        """Make every issued refresh token answer invalid_grant (revoked, or the 7-day limit)."""
        with self.lock:
            for stored in self.refresh_tokens.values():
                stored.revoked = True

    def user_of(self, access_token: str) -> str | None:
        """The email an access token was issued for, if the emulator issued it."""
        with self.lock:
            access = self.access_tokens.get(access_token)
            return access.email if access else None
