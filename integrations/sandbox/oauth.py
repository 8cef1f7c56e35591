"""One OAuth 2.0 authorization server (the web-server flow, RFC 6749, with PKCE, RFC 7636) that
each provider's emulator builds on: Google's (google.py) today, Meta's next.

EXTERNAL_APIS.md §1, checked against the §9 divergence list; the paths are Google's, and an
emulator with other paths overrides the handler with its own `@route`:

- GET /o/oauth2/auth (and /o/oauth2/v2/auth) renders a plain-HTML consent page (no script, no
  inline style: a browser test may run it under a strict CSP); its form POSTs to
  /o/oauth2/approve, which redirects to the app's redirect_uri with `code` or
  `error=access_denied`. `auto_approve()` does the same for tests without a browser.
- POST /token: authorization_code (client credentials as HTTP Basic *or* in the body, item 1;
  S256 PKCE, item 2; single-use codes) and refresh_token grants; errors as the §1.5 table.
- POST /revoke: revokes the whole grant (refresh token and every access token minted from it).

A provider's dialect is class attributes (token and code prefixes, scope names, the consent
page's brand, the reauthentication body); the behaviour is shared. Every timestamp comes from
`time.time()`, so time-machine moves the emulator's clock too.

Harsh by default, where the provider is harsh (each place names its source): state and PKCE are
required, codes are single-use and expire, refresh tokens of a "Testing" app live 7 days,
revoking either token ends the whole grant, and `require_reauth()` makes refresh answer the
provider's reauthentication error.
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
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, unquote_plus, urlencode, urlsplit, urlunsplit

from integrations.sandbox.base import Emulator, RecordedRequest, Response, route

TESTING_REFRESH_TOKEN_MAX_AGE_SECONDS = 7 * 24 * 3600
AUTH_CODE_LIFETIME_SECONDS = 600
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


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


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OAuth2Server(Emulator):
    """An emulator with an OAuth 2.0 authorization server. Subclasses name their dialect below."""

    # The client `make run` and the tests use unless told otherwise: {client_id: client_secret}.
    default_clients: ClassVar[dict[str, str]] = {}
    default_user_email: ClassVar[str] = "sandbox.user@example.com"
    # Shown on the consent and error pages.
    brand: ClassVar[str] = "Sandbox"
    approve_path: ClassVar[str] = "/o/oauth2/approve"
    code_prefix: ClassVar[str] = ""
    access_token_prefix: ClassVar[str] = ""
    refresh_token_prefix: ClassVar[str] = ""
    # A requested scope must start with this or be an identity scope.
    scope_prefix: ClassVar[str] = ""
    scope_aliases: ClassVar[dict[str, str]] = {}
    identity_scopes: ClassVar[frozenset[str]] = frozenset()
    scope_descriptions: ClassVar[dict[str, str]] = {}
    # The scope that puts `email` in the ID token.
    email_scope: ClassVar[str] = ""
    issuer: ClassVar[str] = ""
    redirect_uri_mismatch_message: ClassVar[str] = "The redirect URI is not registered."
    # The refresh answer for a grant that needs the user to sign in again (`require_reauth()`).
    reauth_required_body: ClassVar[dict[str, str]] = {"error": "invalid_grant"}

    def __init__(
        self,
        *args: Any,
        clients: dict[str, str] | None = None,
        redirect_uris: list[str] | None = None,
        default_email: str | None = None,
        expires_in: int = 3599,
        testing_mode: bool = False,
        refresh_token_max_age_seconds: int | None = None,
        granted_scope_override: str | None = None,
        require_state_and_pkce: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # What `reset()` goes back to, so one test's configuration never leaks into the next.
        self._oauth_config: dict[str, Any] = {
            "clients": dict(clients or self.default_clients),
            # None accepts any http(s) redirect URI; a list behaves like the Console's allow-list.
            "redirect_uris": list(redirect_uris) if redirect_uris is not None else None,
            "default_email": self.default_user_email if default_email is None else default_email,
            # Under 225 s google-auth refreshes before every call (divergence item 4).
            "expires_in": expires_in,
            # The consent screen's "Testing" status: refresh tokens live 7 days (GC-8).
            "testing_mode": testing_mode,
            "refresh_token_max_age_seconds": refresh_token_max_age_seconds,
            # A granted scope string other than the requested one (divergence item 3).
            "granted_scope_override": granted_scope_override,
            # Google only recommends state and PKCE; the emulator insists, so ALT cannot drop them.
            "require_state_and_pkce": require_state_and_pkce,
        }
        self._apply_oauth_config()
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        # (client_id, email) -> scopes the user has consented to, for include_granted_scopes and
        # "a refresh token only on first consent or prompt=consent" (§1.2).
        self.grants: dict[tuple[str, str], list[str]] = {}

    def _apply_oauth_config(self) -> None:
        config = copy.deepcopy(self._oauth_config)
        self.clients: dict[str, str] = config["clients"]
        self.redirect_uris: list[str] | None = config["redirect_uris"]
        self.default_email: str = config["default_email"]
        self.expires_in: int = config["expires_in"]
        self.testing_mode: bool = config["testing_mode"]
        self.refresh_token_max_age_seconds: int | None = config["refresh_token_max_age_seconds"]
        self.granted_scope_override: str | None = config["granted_scope_override"]
        self.require_state_and_pkce: bool = config["require_state_and_pkce"]

    def reset_state(self) -> None:
        with self.lock:
            self._apply_oauth_config()
            self.codes.clear()
            self.refresh_tokens.clear()
            self.access_tokens.clear()
            self.grants.clear()

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
                self.redirect_uri_mismatch_message,
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
        scopes = [self.scope_aliases.get(s, s) for s in params.get("scope", "").split()]
        if not scopes:
            raise AuthorizationError(400, "invalid_request", "Missing required parameter: scope")
        invalid = [
            s
            for s in scopes
            if s not in self.identity_scopes and not s.startswith(self.scope_prefix)
        ]
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
            code = self.code_prefix + secrets.token_urlsafe(54)
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

    def _error_page(self, exc: AuthorizationError) -> Response:
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Error - {html.escape(self.brand)}</title></head><body><main>"
            "<h1>Access blocked: Authorization Error</h1>"
            f"<p>{html.escape(exc.description)}</p>"
            f'<p id="error-code">Error {exc.status}: {html.escape(exc.error)}</p>'
            "</main></body></html>\n"
        )
        return Response(exc.status, body=page.encode(), content_type="text/html; charset=utf-8")

    def _consent_page(self, auth: _AuthRequest) -> str:
        email = auth.login_hint or self.default_email
        scopes = "".join(
            f"<li><code>{html.escape(s)}</code> {html.escape(self.scope_descriptions.get(s, ''))}</li>"
            for s in auth.scopes
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in auth.params.items()
            if k not in ("action", "email")
        )
        return (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Sign in - {html.escape(self.brand)} Accounts</title></head><body><main>"
            f"<h1>{html.escape(self.brand)}</h1>"
            f"<p><strong>{html.escape(auth.client_id)}</strong> wants to access your Google Account</p>"
            f'<form method="post" action="{self.approve_path}">'
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
        return self.testing_mode and not set(scope.split()) <= self.identity_scopes

    def _mint_access_token(
        self, client_id: str, email: str, scope: str, refresh_token: str | None
    ) -> dict[str, Any]:
        token = self.access_token_prefix + secrets.token_urlsafe(96)
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
            "iss": self.issuer,
            "azp": client_id,
            "aud": client_id,
            "sub": str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:21],
            "iat": now,
            "exp": now + 3600,
        }
        if self.email_scope in scope.split():
            claims |= {"email": email, "email_verified": True}
        header = {"alg": "RS256", "kid": "sandbox", "typ": "JWT"}
        return ".".join(
            [
                b64url(json.dumps(header).encode()),
                b64url(json.dumps(claims).encode()),
                b64url(secrets.token_bytes(256)),
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
        if not code.startswith(self.code_prefix):
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
            digest = b64url(hashlib.sha256(verifier.encode()).digest())
            if not _VERIFIER.match(verifier) or not secrets.compare_digest(
                digest, grant.code_challenge
            ):
                return _token_error(400, "invalid_grant", "Invalid code verifier.")
        # Consumed only by a successful exchange, so a test can fail on PKCE and then succeed.
        grant.used = True
        refresh: str | None = None
        if grant.issue_refresh_token:
            refresh = self.refresh_token_prefix + secrets.token_urlsafe(72)
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
            return Response(
                400, json=dict(self.reauth_required_body), headers={"Cache-Control": "no-store"}
            )
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

    # == helpers for tests ========================================================================
    @staticmethod
    def token_request(request: RecordedRequest) -> bool:
        """`when=` predicate for fail_next/fault_rate: only the token endpoint."""
        return request.path == "/token"

    def require_reauth(self) -> None:
        """Make every refresh token answer invalid_grant / invalid_rapt (reauthentication)."""
        with self.lock:
            for stored in self.refresh_tokens.values():
                stored.reauth_required = True

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
