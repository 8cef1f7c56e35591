"""Request-wide middleware: a request id for logs, the Content-Security-Policy header, no
caching of signed-in responses, and a short way through for machine endpoints."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control

from alt.lib.logging import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Tags every log line of a request with an id (a proxy's X-Request-ID if it is sane)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def csp_allow_form_redirect(response: HttpResponse, url: str) -> HttpResponse:
    """Let this page's forms end up at `url`'s origin.

    Browsers apply form-action to every redirect that follows a form POST, so a "Connect" button
    that POSTs to our view, which redirects to a provider's consent page, is blocked by
    form-action 'self'. Only the page carrying such a button widens its own policy, and only by
    that one origin (read per request: tests point providers at loopback emulators).
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response


class ContentSecurityPolicyMiddleware:
    """Django 5.2 has no CSP support; one fixed policy with no inline script is all ALT needs.
    A view may widen its own page's policy first (csp_allow_form_redirect)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class PrivateCacheMiddleware:
    """A response to a signed-in request (a page, a CSV export) is never stored by a browser or a
    shared cache: `Cache-Control: private, no-store`, merged into what the view set. A response
    the view explicitly marked public (a static asset) keeps its own caching. Static files served
    by WhiteNoise answer before this middleware runs and are not touched either."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            directives = response.get("Cache-Control", "").lower().split(",")
            if "public" not in {directive.split("=")[0].strip() for directive in directives}:
                patch_cache_control(response, private=True, no_store=True)
        return response


# Where machine endpoints live (providers' webhooks): only these paths are looked at.
MACHINE_PATH_PREFIXES = ("/webhooks/",)
_View = TypeVar("_View", bound=Callable[..., HttpResponse])


def machine_endpoint(view: _View) -> _View:
    """Mark a view that serves machines, not people (a provider's webhook): it reads no session,
    user, CSRF token, message or workspace, and answers plain text. Under MACHINE_PATH_PREFIXES,
    MachineEndpointMiddleware calls it without the rest of the middleware."""
    view.machine_endpoint = True  # type: ignore[attr-defined]
    return view


class MachineEndpointMiddleware:
    """Calls a `machine_endpoint` view directly, skipping the page middleware below this one
    (sessions, CSRF, authentication, messages, htmx, allauth, the workspace): at hundreds of
    webhook deliveries a second their work is a large share of each request, for nothing.
    Everything above it still runs (request id, HTTPS redirect and HSTS, CSP). Any other path,
    and any unmarked view under a machine prefix (a public status page), takes the usual way."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(MACHINE_PATH_PREFIXES):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
            if getattr(match.func, "machine_endpoint", False):
                request.resolver_match = match
                return match.func(request, *match.args, **match.kwargs)  # type: ignore[no-any-return]
        return self.get_response(request)
