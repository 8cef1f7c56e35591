"""The Google emulator, driven through the official clients exactly as production code will be.

OAuth through google-auth-oauthlib's Flow (a new Flow in the "callback", as a Django view builds
it), refresh through google-auth's Credentials, Calendar through googleapiclient's discovery
client with `api_endpoint` pointed at the emulator (EXTERNAL_APIS.md §0).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import googleapiclient
import pytest
import requests
import time_machine
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from integrations.sandbox.google import (
    BACKEND_ERROR_500,
    CALENDAR_EVENTS_SCOPE,
    DAILY_LIMIT_403,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_USER_EMAIL,
    RATE_LIMIT_403,
    RATE_LIMIT_429,
    REAUTH_REQUIRED,
    GoogleEmulator,
)
from integrations.sandbox.oauth import AuthorizationError
from integrations.sandbox.registry import EMULATORS

REDIRECT_URI = "http://127.0.0.1:8000/settings/calendar/callback"
SCOPES = [CALENDAR_EVENTS_SCOPE]
READONLY_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
DISCOVERY = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
)


@pytest.fixture(scope="module")
def google_server() -> Iterator[GoogleEmulator]:
    emulator = GoogleEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def google(google_server: GoogleEmulator, monkeypatch: pytest.MonkeyPatch) -> GoogleEmulator:
    google_server.reset()
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks plain http
    monkeypatch.delenv("OAUTHLIB_RELAX_TOKEN_SCOPE", raising=False)
    return google_server


# -- the production-shaped OAuth dance -----------------------------------------------------------
def client_config(google: GoogleEmulator) -> dict[str, Any]:
    return {
        "web": {
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "auth_uri": f"{google.base_url}/o/oauth2/auth",
            "token_uri": f"{google.base_url}/token",
            "redirect_uris": [REDIRECT_URI],
        }
    }


def start_flow(
    google: GoogleEmulator, scopes: list[str] = SCOPES, **params: str
) -> tuple[str, str, str]:
    """What the "connect" view does: the URL to send the browser to, plus state and verifier."""
    flow = Flow.from_client_config(client_config(google), scopes=scopes, redirect_uri=REDIRECT_URI)
    params.setdefault("prompt", "consent")
    url, state = flow.authorization_url(access_type="offline", **params)
    assert flow.code_verifier is not None
    return url, state, flow.code_verifier


def callback_flow(
    google: GoogleEmulator, state: str, verifier: str | None, scopes: list[str] = SCOPES
) -> Flow:
    """What the callback view builds: a NEW Flow, given the verifier saved in the session."""
    return Flow.from_client_config(
        client_config(google),
        scopes=scopes,
        redirect_uri=REDIRECT_URI,
        state=state,
        code_verifier=verifier,
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def connect(
    google: GoogleEmulator, *, email: str | None = None, scopes: list[str] = SCOPES
) -> Credentials:
    url, state, verifier = start_flow(google, scopes)
    callback = query_of(google.auto_approve(url, email=email))
    flow = callback_flow(google, state, verifier, scopes)
    flow.fetch_token(code=callback["code"])
    credentials: Credentials = flow.credentials
    return credentials


def calendar(google: GoogleEmulator, credentials: Credentials) -> Any:
    return build(
        "calendar",
        "v3",
        credentials=credentials,
        client_options={"api_endpoint": google.base_url + "/calendar/v3/"},
        static_discovery=True,
        cache_discovery=False,
    )


def event_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "summary": "Call with ACME",
        "description": "Created by CRM",
        "location": "Berlin",
        "start": {"dateTime": "2026-05-02T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-05-02T10:30:00", "timeZone": "Europe/Berlin"},
        "extendedProperties": {"private": {"crm_activity_id": "42"}},
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 10}]},
    }
    return body | overrides


def insert(service: Any, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = (
        service.events().insert(calendarId="primary", body=body, sendUpdates="none").execute()
    )
    return event


def error_json(error: HttpError) -> Any:
    return json.loads(error.content)


def without_backoff(request: HttpRequest) -> list[float]:
    # googleapiclient sleeps rand() * 2**n between retries; its own hook, so tests need not wait.
    slept: list[float] = []
    request._sleep = slept.append
    return slept


# -- discovery-document validation ---------------------------------------------------------------
def check_against_schema(value: Any, schema: dict[str, Any], path: str, schemas: Any) -> None:
    """Every field of `value` exists in the discovery schema, with the JSON type it declares."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), f"{path} should be an object"
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                check_against_schema(item, properties[key], f"{path}.{key}", schemas)
            elif "additionalProperties" in schema:
                check_against_schema(item, schema["additionalProperties"], f"{path}.{key}", schemas)
            else:
                pytest.fail(f"{path}.{key} is not in the discovery schema")
    elif kind == "array":
        assert isinstance(value, list), f"{path} should be an array"
        for index, item in enumerate(value):
            check_against_schema(item, schema["items"], f"{path}[{index}]", schemas)
    elif kind == "string":
        assert isinstance(value, str), f"{path} should be a string"
        if schema.get("format") == "date-time":
            assert datetime.fromisoformat(value).tzinfo is not None, f"{path} lacks an offset"
        elif schema.get("format") == "date":
            date.fromisoformat(value)
        elif schema.get("format") in ("int64", "uint64"):
            assert value.lstrip("-").isdigit(), f"{path} should be an integer string"
    elif kind == "integer":
        assert type(value) is int, f"{path} should be an int"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path} should be a boolean"
    elif kind == "number":
        assert type(value) in (int, float), f"{path} should be a number"
    else:
        assert kind == "any", f"{path}: unknown schema type {kind}"


def raw_token(google: GoogleEmulator, **form: str) -> requests.Response:
    return requests.post(f"{google.base_url}/token", data=form, timeout=5)


def raw_calendar(google: GoogleEmulator, method: str, path: str, token: str) -> requests.Response:
    return requests.request(
        method,
        f"{google.base_url}/calendar/v3/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )


class ConsentForm(HTMLParser):
    """Collects the consent page's form: its action, inputs and buttons; flags any script."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self.forbidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag in ("script", "style") or "style" in attributes:
            self.forbidden.append(tag)
        self.forbidden += [k for k in attributes if k.startswith("on")]
        if tag == "form":
            self.action = attributes["action"]
        elif tag == "input":
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button":
            self.buttons[attributes["id"]] = attributes["value"]


# == OAuth ========================================================================================
def test_the_flow_gets_tokens_with_a_new_flow_in_the_callback(google: GoogleEmulator) -> None:
    url, state, verifier = start_flow(google)
    sent = query_of(url)
    assert url.startswith(f"{google.base_url}/o/oauth2/auth?")
    assert sent["access_type"] == "offline"
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == CALENDAR_EVENTS_SCOPE

    redirect = google.auto_approve(url)

    assert redirect.startswith(REDIRECT_URI + "?")
    callback = query_of(redirect)
    assert callback["state"] == state
    assert callback["code"].startswith("4/0A")
    assert callback["scope"] == CALENDAR_EVENTS_SCOPE
    assert (callback["authuser"], callback["prompt"]) == ("0", "consent")

    flow = callback_flow(google, state, verifier)
    token = flow.fetch_token(code=callback["code"])

    assert token["access_token"].startswith("ya29.")
    assert token["refresh_token"].startswith("1//")
    assert (token["expires_in"], token["token_type"]) == (3599, "Bearer")
    assert "refresh_token_expires_in" not in token  # a production (not Testing) consent screen
    credentials = flow.credentials
    assert credentials.valid
    assert credentials.granted_scopes == [CALENDAR_EVENTS_SCOPE]
    assert google.user_of(credentials.token) == DEFAULT_USER_EMAIL
    exchange = google.requests_to("POST", r"^/token$")[-1]
    assert exchange.headers["authorization"].startswith("Basic ")  # divergence item 1
    assert "client_id" not in exchange.form()
    assert exchange.form()["code_verifier"] == verifier


def test_credentials_refresh_sends_the_client_in_the_body_and_keeps_the_refresh_token(
    google: GoogleEmulator,
) -> None:
    credentials = connect(google)
    first_token, refresh_token = credentials.token, credentials.refresh_token

    credentials.refresh(GoogleAuthRequest())

    assert credentials.token != first_token
    assert credentials.refresh_token == refresh_token
    refresh = google.requests_to("POST", r"^/token$")[-1]
    assert "authorization" not in refresh.headers  # divergence item 1: body, not Basic auth
    assert refresh.form() | {"refresh_token": "x"} == {
        "grant_type": "refresh_token",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": "x",
        "scope": CALENDAR_EVENTS_SCOPE,
    }
    reply = raw_token(
        google,
        grant_type="refresh_token",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
        refresh_token=refresh_token,
    ).json()
    assert set(reply) == {"access_token", "expires_in", "scope", "token_type"}


def test_the_consent_page_is_a_plain_html_form_that_allows(google: GoogleEmulator) -> None:
    url, state, verifier = start_flow(google)

    page = requests.get(url, timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    form = ConsentForm()
    form.feed(page.text)
    assert form.forbidden == []  # no script, inline style or event handler: strict-CSP safe
    assert form.action == "/o/oauth2/approve"
    assert form.buttons == {"allow": "allow", "cancel": "cancel"}
    assert CALENDAR_EVENTS_SCOPE in page.text
    assert form.fields["email"] == DEFAULT_USER_EMAIL

    approved = requests.post(
        google.base_url + form.action,
        data=form.fields | {"email": "agent@example.com", "action": "allow"},
        allow_redirects=False,
        timeout=5,
    )

    assert approved.status_code == 302
    callback = query_of(approved.headers["Location"])
    assert callback["state"] == state
    flow = callback_flow(google, state, verifier)
    flow.fetch_token(code=callback["code"])
    assert google.user_of(flow.credentials.token) == "agent@example.com"


def test_cancel_on_the_consent_page_redirects_with_access_denied(google: GoogleEmulator) -> None:
    url, state, _verifier = start_flow(google)
    form = ConsentForm()
    form.feed(requests.get(url, timeout=5).text)

    cancelled = requests.post(
        google.base_url + form.action,
        data=form.fields | {"action": "cancel"},
        allow_redirects=False,
        timeout=5,
    )

    assert cancelled.status_code == 302
    assert cancelled.headers["Location"] == f"{REDIRECT_URI}?error=access_denied&state={state}"
    assert google.auto_deny(url) == cancelled.headers["Location"]
    assert google.codes == {}


def test_the_v2_authorization_path_works_too(google: GoogleEmulator) -> None:
    url, _state, _verifier = start_flow(google)
    page = requests.get(url.replace("/o/oauth2/auth?", "/o/oauth2/v2/auth?"), timeout=5)
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_id": "unknown.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
        ({"scope": ""}, 400, "invalid_request"),
        ({"scope": "calendar"}, 400, "invalid_scope"),
        ({"redirect_uri": ""}, 400, "invalid_request"),
        ({"state": ""}, 400, "invalid_request"),
        ({"code_challenge": ""}, 400, "invalid_request"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
    ],
)
def test_a_bad_authorization_request_gets_an_error_page_not_a_redirect(
    google: GoogleEmulator, change: dict[str, str], status: int, error: str
) -> None:
    url, _state, _verifier = start_flow(google)
    params = query_of(url) | change

    page = requests.get(
        f"{google.base_url}/o/oauth2/auth?{urlencode(params)}", allow_redirects=False, timeout=5
    )

    assert page.status_code == status
    assert f"Error {status}: {error}" in page.text
    with pytest.raises(AuthorizationError) as raised:
        google.auto_approve(urlencode(params))
    assert (raised.value.status, raised.value.error) == (status, error)


def test_an_unregistered_redirect_uri_is_refused(google: GoogleEmulator) -> None:
    google.redirect_uris = ["https://alt.example.com/settings/calendar/callback"]
    url, _state, _verifier = start_flow(google)
    with pytest.raises(AuthorizationError, match="redirect_uri_mismatch"):
        google.auto_approve(url)


def test_a_missing_code_verifier_is_invalid_grant(google: GoogleEmulator) -> None:
    url, state, verifier = start_flow(google)
    code = query_of(google.auto_approve(url))["code"]

    with pytest.raises(InvalidGrantError) as missing:
        callback_flow(google, state, None).fetch_token(code=code)  # the verifier was not saved
    with pytest.raises(InvalidGrantError) as wrong:
        callback_flow(google, state, "x" * 64).fetch_token(code=code)

    assert missing.value.description == "Missing code verifier."  # divergence item 2
    assert wrong.value.description == "Invalid code verifier."
    callback_flow(google, state, verifier).fetch_token(code=code)  # failures did not spend it


def test_a_code_works_once(google: GoogleEmulator) -> None:
    url, state, verifier = start_flow(google)
    code = query_of(google.auto_approve(url))["code"]
    callback_flow(google, state, verifier).fetch_token(code=code)

    with pytest.raises(InvalidGrantError) as reused:
        callback_flow(google, state, verifier).fetch_token(code=code)

    assert reused.value.description == "Bad Request"


def test_a_changed_granted_scope_makes_oauthlib_raise_warning(
    google: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    google.granted_scope_override = f"{CALENDAR_EVENTS_SCOPE} {READONLY_SCOPE}"
    url, state, verifier = start_flow(google)
    callback = query_of(google.auto_approve(url))
    assert callback["scope"] == google.granted_scope_override

    with pytest.raises(Warning, match="Scope has changed from"):  # divergence item 3
        callback_flow(google, state, verifier).fetch_token(code=callback["code"])

    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    url, state, verifier = start_flow(google)
    flow = callback_flow(google, state, verifier)
    flow.fetch_token(code=query_of(google.auto_approve(url))["code"])
    assert flow.credentials.granted_scopes == [CALENDAR_EVENTS_SCOPE, READONLY_SCOPE]


def test_email_comes_back_as_the_userinfo_url_and_changes_the_scope(
    google: GoogleEmulator,
) -> None:
    url, state, verifier = start_flow(google, [CALENDAR_EVENTS_SCOPE, "email"])
    callback = query_of(google.auto_approve(url))
    assert callback["scope"].split() == [
        CALENDAR_EVENTS_SCOPE,
        "https://www.googleapis.com/auth/userinfo.email",
    ]
    with pytest.raises(Warning, match="Scope has changed"):
        callback_flow(google, state, verifier, [CALENDAR_EVENTS_SCOPE, "email"]).fetch_token(
            code=callback["code"]
        )


def test_a_grant_without_the_events_scope_gets_403_from_calendar(
    google: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    google.granted_scope_override = READONLY_SCOPE  # the user unticked the events scope

    service = calendar(google, connect(google))

    with pytest.raises(HttpError) as raised:
        insert(service, event_body())
    assert raised.value.status_code == 403
    assert raised.value.error_details[0]["reason"] == "insufficientPermissions"


def test_a_refresh_token_comes_only_on_first_consent_or_with_prompt_consent(
    google: GoogleEmulator,
) -> None:
    connect(google)

    url, state, verifier = start_flow(google, prompt="select_account")
    again = callback_flow(google, state, verifier)
    token = again.fetch_token(code=query_of(google.auto_approve(url))["code"])

    assert "refresh_token" not in token
    assert connect(google).refresh_token is not None  # prompt=consent brings a new one


def test_prompt_none_answers_from_an_existing_grant_without_a_page(google: GoogleEmulator) -> None:
    url, state, _verifier = start_flow(google, prompt="none")
    assert google.auto_approve(url) == f"{REDIRECT_URI}?error=consent_required&state={state}"

    connect(google)
    url, state, verifier = start_flow(google, prompt="none")
    silent = requests.get(url, allow_redirects=False, timeout=5)

    assert silent.status_code == 302
    callback = query_of(silent.headers["Location"])
    assert callback["prompt"] == "none"
    token = callback_flow(google, state, verifier).fetch_token(code=callback["code"])
    assert "refresh_token" not in token  # not a first consent and no prompt=consent


@pytest.mark.parametrize(
    ("form", "basic", "status", "body"),
    [
        (
            {"grant_type": "refresh_token", "refresh_token": "1//0x"},
            (DEFAULT_CLIENT_ID, "wrong"),
            401,
            {"error": "invalid_client", "error_description": "Unauthorized"},
        ),
        (
            {
                "grant_type": "refresh_token",
                "refresh_token": "1//0x",
                "client_id": "nobody.apps.googleusercontent.com",
                "client_secret": "s",
            },
            None,
            401,
            {"error": "invalid_client", "error_description": "The OAuth client was not found."},
        ),
        (
            {"grant_type": "password"},
            (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            400,
            {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: password",
            },
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "1//0unknown"},
            (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            400,
            {"error": "invalid_grant", "error_description": "Bad Request"},
        ),
        (
            {"grant_type": "authorization_code", "code": "nonsense", "redirect_uri": REDIRECT_URI},
            (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            400,
            {"error": "invalid_grant", "error_description": "Malformed auth code."},
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "1//0x"},
            None,
            400,
            {
                "error": "invalid_request",
                "error_description": "Could not determine client ID from request.",
            },
        ),
    ],
)
def test_token_endpoint_errors_match_the_table(
    google: GoogleEmulator,
    form: dict[str, str],
    basic: tuple[str, str] | None,
    status: int,
    body: dict[str, str],
) -> None:
    reply = requests.post(f"{google.base_url}/token", data=form, auth=basic, timeout=5)
    assert (reply.status_code, reply.json()) == (status, body)
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_different_redirect_uri_at_exchange_is_a_mismatch(google: GoogleEmulator) -> None:
    url, _state, verifier = start_flow(google)
    code = query_of(google.auto_approve(url))["code"]

    reply = requests.post(
        f"{google.base_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": "http://127.0.0.1:8000/elsewhere",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
        timeout=5,
    )

    assert (reply.status_code, reply.json()["error"]) == (400, "redirect_uri_mismatch")


def test_testing_mode_refresh_tokens_expire_after_seven_days(google: GoogleEmulator) -> None:
    google.testing_mode = True
    url, state, verifier = start_flow(google)
    flow = callback_flow(google, state, verifier)
    token = flow.fetch_token(code=query_of(google.auto_approve(url))["code"])
    assert token["refresh_token_expires_in"] == 604799
    credentials = flow.credentials

    with time_machine.travel(datetime.now(UTC) + timedelta(days=6, hours=23)):
        credentials.refresh(GoogleAuthRequest())
    with (
        time_machine.travel(datetime.now(UTC) + timedelta(days=7, seconds=1)),
        pytest.raises(RefreshError) as raised,
    ):
        credentials.refresh(GoogleAuthRequest())

    assert raised.value.args[1] == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    assert not raised.value.retryable


def test_expired_refresh_tokens_raise_refresh_error_from_execute(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    google.expire_access_tokens()  # the client still believes its token is good for an hour
    google.expire_refresh_tokens()

    with pytest.raises(RefreshError) as raised:
        insert(service, event_body())  # divergence item 7: RefreshError, not HttpError

    assert raised.value.args[0] == "invalid_grant: Token has been expired or revoked."
    calls = [(r.method, r.path) for r in google.requests]
    assert calls[-2:] == [("POST", "/calendar/v3/calendars/primary/events"), ("POST", "/token")]
    assert google.events_for(DEFAULT_USER_EMAIL) == []


def test_an_expired_access_token_is_refreshed_after_the_401(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    google.expire_access_tokens()

    insert(service, event_body())

    statuses = [(r.method, r.path) for r in google.requests[-3:]]
    assert statuses == [
        ("POST", "/calendar/v3/calendars/primary/events"),
        ("POST", "/token"),
        ("POST", "/calendar/v3/calendars/primary/events"),
    ]
    assert len(google.events_for(DEFAULT_USER_EMAIL)) == 1


def test_a_short_expires_in_makes_google_auth_refresh_before_every_call(
    google: GoogleEmulator,
) -> None:
    google.expires_in = 60  # under the 225 s threshold: divergence item 4
    service = calendar(google, connect(google))
    before = len(google.requests_to("POST", r"^/token$"))

    insert(service, event_body())
    insert(service, event_body())

    assert len(google.requests_to("POST", r"^/token$")) == before + 2


def test_revoking_the_refresh_token_kills_its_access_tokens(google: GoogleEmulator) -> None:
    credentials = connect(google)

    revoked = requests.post(
        f"{google.base_url}/revoke",
        params={"token": credentials.refresh_token},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )

    assert (revoked.status_code, revoked.json()) == (200, {})
    denied = raw_calendar(google, "POST", "calendars/primary/events", str(credentials.token))
    assert denied.status_code == 401
    assert denied.json()["error"]["errors"][0]["reason"] == "authError"
    assert denied.json()["error"]["status"] == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in denied.headers["WWW-Authenticate"]
    with pytest.raises(RefreshError, match="Token has been expired or revoked"):
        credentials.refresh(GoogleAuthRequest())


def test_revoking_by_form_body_and_unknown_tokens(google: GoogleEmulator) -> None:
    credentials = connect(google)
    revoke = f"{google.base_url}/revoke"

    by_body = requests.post(revoke, data={"token": credentials.token}, timeout=5)
    again = requests.post(revoke, data={"token": credentials.token}, timeout=5)
    unknown = requests.post(revoke, params={"token": "ya29.nope"}, timeout=5)

    assert by_body.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_token")
    assert unknown.json() == {
        "error": "invalid_token",
        "error_description": "Token expired or revoked",
    }
    with pytest.raises(RefreshError):  # revoking the access token revoked the whole grant
        credentials.refresh(GoogleAuthRequest())


# == Calendar =====================================================================================
def test_insert_returns_the_full_event_with_times_normalised(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    body = event_body()

    event = insert(service, body)

    assert event["kind"] == "calendar#event"
    assert event["id"] == body["id"]
    assert event["etag"][0] == event["etag"][-1] == '"'  # literal quotes inside the string
    assert event["status"] == "confirmed"
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert event["iCalUID"] == f"{body['id']}@google.com"
    assert event["sequence"] == 0
    assert event["creator"] == event["organizer"] == {"email": DEFAULT_USER_EMAIL, "self": True}
    assert event["start"] == {"dateTime": "2026-05-02T10:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert event["end"]["dateTime"] == "2026-05-02T10:30:00+02:00"
    assert event["extendedProperties"] == {"private": {"crm_activity_id": "42"}}
    assert event["reminders"] == body["reminders"]
    assert datetime.fromisoformat(event["created"]) <= datetime.fromisoformat(event["updated"])
    assert google.events_for(DEFAULT_USER_EMAIL) == [event]
    sent = google.requests_to("POST", r"/events$")[-1]
    assert sent.query == {"sendUpdates": ["none"], "alt": ["json"]}
    assert sent.headers["authorization"] == f"Bearer {next(iter(google.access_tokens))}"


def test_an_offset_time_without_a_zone_is_shown_in_the_calendar_zone(
    google: GoogleEmulator,
) -> None:
    service = calendar(google, connect(google))
    event = insert(
        service,
        event_body(
            start={"dateTime": "2026-05-02T10:00:00+02:00"},
            end={"dateTime": "2026-05-02T10:30:00+02:00"},
        ),
    )
    assert event["start"] == {"dateTime": "2026-05-02T08:00:00Z"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": {"dateTime": "2026-05-02T10:00:00"}}, "Missing time zone definition for start time."),
        ({"end": {"dateTime": "2026-05-02T10:30:00"}}, "Missing time zone definition for end time."),
        ({"start": {"dateTime": "2026-05-02T10:00:00", "timeZone": "Mars/Base"}}, "Invalid time zone definition for start time."),
        ({"end": None}, "Missing end time."),
        ({"end": {"dateTime": "2026-05-02T09:00:00", "timeZone": "Europe/Berlin"}}, "The specified time range is empty."),
    ],
)  # fmt: skip
def test_insert_refuses_bad_times(
    google: GoogleEmulator, change: dict[str, Any], message: str
) -> None:
    service = calendar(google, connect(google))

    with pytest.raises(HttpError) as raised:
        insert(service, {k: v for k, v in (event_body() | change).items() if v is not None})

    assert (raised.value.status_code, raised.value.reason) == (400, message)


@pytest.mark.parametrize(
    "event_id",
    [str(uuid.uuid4()), uuid.uuid4().hex.upper(), "abcdwxyz", "abcd", "crm_42"],
)
def test_insert_refuses_ids_that_are_not_base32hex(google: GoogleEmulator, event_id: str) -> None:
    service = calendar(google, connect(google))

    with pytest.raises(HttpError) as raised:
        insert(service, event_body(id=event_id))

    assert raised.value.status_code == 400
    assert raised.value.error_details == [
        {"domain": "global", "reason": "invalid", "message": "Invalid resource id value."}
    ]


def test_insert_without_an_id_gets_a_base32hex_one(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    body = event_body()
    del body["id"]
    event = insert(service, body)
    assert set(event["id"]) <= set("0123456789abcdefghijklmnopqrstuv")


def test_patch_merges_objects_and_replaces_arrays(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    body = event_body(extendedProperties={"private": {"crm_activity_id": "42", "crm_v": "1"}})
    created = insert(service, body)

    patched = (
        service.events()
        .patch(
            calendarId="primary",
            eventId=body["id"],
            body={
                "summary": "Call with ACME (moved)",
                "start": {"dateTime": "2026-05-02T11:00:00"},
                "end": {"dateTime": "2026-05-02T11:30:00"},
                "extendedProperties": {"private": {"crm_v": "2"}},
                "reminders": {"overrides": [{"method": "email", "minutes": 60}]},
            },
            sendUpdates="none",
        )
        .execute()
    )

    assert patched["summary"] == "Call with ACME (moved)"
    assert patched["description"] == "Created by CRM"
    assert patched["start"] == {
        "dateTime": "2026-05-02T11:00:00+02:00",
        "timeZone": "Europe/Berlin",
    }
    assert patched["extendedProperties"] == {"private": {"crm_activity_id": "42", "crm_v": "2"}}
    assert patched["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "email", "minutes": 60}],
    }
    assert patched["sequence"] == 1
    assert patched["etag"] != created["etag"]
    assert patched["created"] == created["created"]
    assert google.events_for(DEFAULT_USER_EMAIL) == [patched]


def test_delete_then_delete_again_then_reinsert_then_revive(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    body = event_body()
    insert(service, body)

    assert service.events().delete(calendarId="primary", eventId=body["id"]).execute() == ""
    delete = google.requests_to("DELETE", r"/events/")[-1]
    assert google.events_for(DEFAULT_USER_EMAIL)[0]["status"] == "cancelled"

    with pytest.raises(HttpError) as gone:
        service.events().delete(calendarId="primary", eventId=body["id"]).execute()
    assert gone.value.status_code == 410
    assert gone.value.error_details[0]["reason"] == "deleted"

    with pytest.raises(HttpError) as duplicate:
        insert(service, body)
    assert error_json(duplicate.value) == {
        "error": {
            "errors": [
                {
                    "domain": "global",
                    "reason": "duplicate",
                    "message": "The requested identifier already exists.",
                }
            ],
            "code": 409,
            "message": "The requested identifier already exists.",
        }
    }

    revived = (
        service.events()
        .patch(calendarId="primary", eventId=body["id"], body={"status": "confirmed"})
        .execute()
    )
    assert revived["status"] == "confirmed"
    assert delete.query == {}


def test_delete_answers_204_with_an_empty_body(google: GoogleEmulator) -> None:
    credentials = connect(google)
    insert(calendar(google, credentials), body := event_body())

    reply = raw_calendar(
        google, "DELETE", f"calendars/primary/events/{body['id']}", str(credentials.token)
    )

    assert (reply.status_code, reply.content) == (204, b"")


def test_unknown_events_are_404(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    for call in (
        service.events().patch(calendarId="primary", eventId="abcdef123", body={"summary": "x"}),
        service.events().delete(calendarId="primary", eventId="abcdef123"),
    ):
        with pytest.raises(HttpError) as raised:
            call.execute()
        assert raised.value.status_code == 404
        assert raised.value.error_details[0]["reason"] == "notFound"


def test_only_the_users_own_primary_calendar_is_reachable(google: GoogleEmulator) -> None:
    alice = calendar(google, connect(google, email="alice@example.com"))
    bob = calendar(google, connect(google, email="bob@example.com"))

    by_email = alice.events().insert(calendarId="alice@example.com", body=event_body()).execute()
    with pytest.raises(HttpError) as other_calendar:
        alice.events().insert(calendarId="bob@example.com", body=event_body()).execute()
    with pytest.raises(HttpError) as other_users_event:
        bob.events().delete(calendarId="primary", eventId=by_email["id"]).execute()

    assert other_calendar.value.status_code == other_users_event.value.status_code == 404
    assert google.events_for("alice@example.com") == [by_email]
    assert google.events_for("bob@example.com") == []
    assert len(google.calendar_calls_beyond_sync()) == 2  # the two calls naming an email


def test_a_rate_limited_403_is_retried_by_execute(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    google.fail_next(*RATE_LIMIT_403, when=google.calendar_request)  # divergence item 6
    request = service.events().insert(calendarId="primary", body=event_body(), sendUpdates="none")
    slept = without_backoff(request)

    event = request.execute(num_retries=2)

    assert event["status"] == "confirmed"
    assert len(slept) == 1
    assert len(google.requests_to("POST", r"/events$")) == 2


@pytest.mark.parametrize("fault", [RATE_LIMIT_403, RATE_LIMIT_429, BACKEND_ERROR_500])
def test_faults_surface_as_http_errors_without_retries(
    google: GoogleEmulator, fault: tuple[int, Any]
) -> None:
    service = calendar(google, connect(google))
    google.fail_calendar_next(fault)

    with pytest.raises(HttpError) as raised:
        insert(service, event_body())

    assert raised.value.status_code == fault[0]
    assert error_json(raised.value) == fault[1]
    assert google.events_for(DEFAULT_USER_EMAIL) == []


def test_calendar_reads_records_every_get_list_and_calendar_list_call(
    google: GoogleEmulator,
) -> None:
    credentials = connect(google)
    service = calendar(google, credentials)
    body = event_body()
    insert(service, body)
    service.events().patch(
        calendarId="primary", eventId=body["id"], body={"summary": "x"}
    ).execute()
    service.events().delete(calendarId="primary", eventId=body["id"]).execute()
    assert google.calendar_reads() == []
    assert google.calendar_calls_beyond_sync() == []

    cancelled = service.events().get(calendarId="primary", eventId=body["id"]).execute()
    visible = service.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as no_scope:
        service.calendarList().list().execute()

    assert cancelled["status"] == "cancelled"  # get always returns deleted events
    assert visible["items"] == []  # list hides them without showDeleted
    assert no_scope.value.status_code == 403  # calendar.events does not cover calendarList
    reads = [(r.method, r.path) for r in google.calendar_reads()]
    assert reads == [
        ("GET", f"/calendar/v3/calendars/primary/events/{body['id']}"),
        ("GET", "/calendar/v3/calendars/primary/events"),
        ("GET", "/calendar/v3/users/me/calendarList"),
    ]
    assert google.calendar_calls_beyond_sync() == google.calendar_reads()


def test_calendar_calls_need_a_valid_bearer_token(google: GoogleEmulator) -> None:
    for token in ("", "ya29.unknown"):
        reply = raw_calendar(google, "POST", "calendars/primary/events", token)
        assert reply.status_code == 401
        assert reply.json()["error"]["message"].startswith(
            "Request had invalid authentication credentials."
        )


def test_event_responses_validate_against_the_bundled_discovery_document(
    google: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas = json.loads(DISCOVERY.read_text())["schemas"]
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    google.granted_scope_override = "https://www.googleapis.com/auth/calendar"  # lists too
    service = calendar(google, connect(google))
    body = event_body(
        attendees=[{"email": "client@example.com", "responseStatus": "needsAction"}],
        colorId="5",
        transparency="opaque",
        visibility="private",
        source={"title": "ALT", "url": "https://alt.example.com/a/1"},
    )
    events = [
        insert(service, body),
        insert(service, {"start": {"date": "2026-05-03"}, "end": {"date": "2026-05-04"}}),
        service.events()
        .patch(calendarId="primary", eventId=body["id"], body={"summary": "Moved"})
        .execute(),
        service.events().get(calendarId="primary", eventId=body["id"]).execute(),
    ]
    service.events().delete(calendarId="primary", eventId=body["id"]).execute()
    listing = service.events().list(calendarId="primary", showDeleted=True).execute()
    calendars = service.calendarList().list().execute()

    for event in [*events, *listing["items"]]:
        check_against_schema(event, {"$ref": "Event"}, "Event", schemas)
    check_against_schema(listing, {"$ref": "Events"}, "Events", schemas)
    check_against_schema(calendars, {"$ref": "CalendarList"}, "CalendarList", schemas)
    assert len(listing["items"]) == 2


def test_the_validator_rejects_fields_the_schema_lacks() -> None:
    schemas = json.loads(DISCOVERY.read_text())["schemas"]
    with pytest.raises(pytest.fail.Exception):
        check_against_schema(
            {"kind": "calendar#event", "bogus": 1}, {"$ref": "Event"}, "E", schemas
        )
    with pytest.raises(AssertionError):
        check_against_schema({"sequence": "0"}, {"$ref": "Event"}, "E", schemas)
    with pytest.raises(AssertionError):
        check_against_schema(
            {"start": {"dateTime": "2026-05-02T10:00:00"}}, {"$ref": "Event"}, "E", schemas
        )


# == Google's harsher answers ======================================================================
def patch(service: Any, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = (
        service.events().patch(calendarId="primary", eventId=event_id, body=body).execute()
    )
    return event


def test_an_event_deleted_in_googles_ui_stays_in_the_trash_until_confirmed(
    google: GoogleEmulator,
) -> None:
    service = calendar(google, connect(google))
    body = event_body()
    insert(service, body)

    google.delete_from_google_ui(DEFAULT_USER_EMAIL, body["id"])

    assert google.deleted_event_patch_answer == "cancelled"  # the default
    edited = patch(service, body["id"], {"summary": "Edited in the CRM"})
    assert edited["status"] == "cancelled"  # 200, and still deleted
    with pytest.raises(HttpError) as duplicate:
        insert(service, body)
    assert duplicate.value.status_code == 409
    restored = patch(service, body["id"], {"status": "confirmed"})
    assert restored["status"] == "confirmed"
    assert google.events_for(DEFAULT_USER_EMAIL)[0]["status"] == "confirmed"


@pytest.mark.parametrize(
    ("answer", "reason"), [(403, "forbidden"), (404, "notFound"), (410, "deleted")]
)
def test_a_patch_of_a_deleted_event_can_answer_403_404_or_410_instead(
    google: GoogleEmulator, answer: int, reason: str
) -> None:
    google.deleted_event_patch_answer = answer
    service = calendar(google, connect(google))
    body = event_body()
    insert(service, body)
    google.delete_from_google_ui(DEFAULT_USER_EMAIL, body["id"])

    for change in ({"summary": "Edited"}, {"status": "confirmed"}):
        with pytest.raises(HttpError) as refused:
            patch(service, body["id"], change)
        assert refused.value.status_code == answer
        assert refused.value.error_details[0]["reason"] == reason
    with pytest.raises(HttpError) as duplicate:
        insert(service, body)
    assert duplicate.value.status_code == 409  # the id stays taken
    google.reset()
    assert google.deleted_event_patch_answer == "cancelled"


def test_a_quota_outage_lasts_its_time_with_retry_after(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    start = datetime.now(UTC)

    with time_machine.travel(start, tick=False) as clock:
        google.quota_outage(3600, DAILY_LIMIT_403, retry_after_seconds=900)
        for _ in range(3):  # not the next N calls: every call, for the whole hour
            with pytest.raises(HttpError) as refused:
                insert(service, event_body())
            assert refused.value.status_code == 403
            assert refused.value.error_details[0]["reason"] == "dailyLimitExceeded"
            assert refused.value.resp["retry-after"] == "900"
        clock.move_to(start + timedelta(minutes=59))
        with pytest.raises(HttpError):
            insert(service, event_body())
        clock.move_to(start + timedelta(hours=1, seconds=1))
        assert insert(service, event_body())["status"] == "confirmed"


def test_a_reauthentication_demand_answers_invalid_rapt(google: GoogleEmulator) -> None:
    credentials = connect(google)
    google.require_reauth()

    reply = raw_token(
        google,
        grant_type="refresh_token",
        refresh_token=str(credentials.refresh_token),
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )
    assert (reply.status_code, reply.json()) == (400, REAUTH_REQUIRED)
    assert REAUTH_REQUIRED["error_subtype"] == "invalid_rapt"
    with pytest.raises(RefreshError) as raised:  # google-auth's words are for developers
        credentials.refresh(GoogleAuthRequest())
    assert "gcloud" in str(raised.value)


@pytest.mark.parametrize("zone", ["Europe/Kyiv"])
def test_time_zones_google_does_not_know_are_refused(google: GoogleEmulator, zone: str) -> None:
    service = calendar(google, connect(google))
    when = {"dateTime": "2026-05-02T10:00:00Z", "timeZone": zone}

    with pytest.raises(HttpError) as refused:
        insert(service, event_body(start=when, end=when))

    assert (refused.value.status_code, refused.value.reason) == (
        400,
        "Invalid time zone definition for start time.",
    )
    assert refused.value.error_details[0]["reason"] == "invalid"
    bare = {"dateTime": "2026-05-02T10:00:00Z"}
    assert insert(service, event_body(start=bare, end=bare))["status"] == "confirmed"


def test_a_description_over_the_cap_is_refused(google: GoogleEmulator) -> None:
    service = calendar(google, connect(google))
    insert(service, event_body(description="n" * 8192))

    for too_long in ("n" * 8193, "😀" * 4097):  # an emoji counts twice
        with pytest.raises(HttpError) as refused:
            insert(service, event_body(description=too_long))
        assert refused.value.status_code == 400


# == the emulator itself ==========================================================================
def test_reset_forgets_state_and_restores_configuration(google: GoogleEmulator) -> None:
    connect(google)
    google.granted_scope_override = READONLY_SCOPE
    google.testing_mode = True

    google.reset()

    assert google.access_tokens == google.refresh_tokens == google.codes == {}
    assert google.granted_scope_override is None
    assert google.testing_mode is False


def test_it_is_registered_for_make_run_on_its_own_port() -> None:
    assert GoogleEmulator in EMULATORS
    ports = [emulator.default_port for emulator in EMULATORS]
    assert GoogleEmulator.default_port == 8026
    assert len(ports) == len(set(ports))
