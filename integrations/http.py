"""The one way an adapter gets an httpx client: base URL and timeout from settings.

For the providers reached over plain HTTP rather than an official SDK (Meta's Graph API, the AI
model providers). Every base URL comes from settings, so the sandbox emulators and production
differ only in configuration (CONVENTIONS.md, "Integrations are adapters"); the setting names are
read when the client is made, so a test's `settings` override reaches it.

Retries are not the client's: a call fails once and its task retries with the policy in
alt/lib/retry.py, so the provider never sees hidden retries on top of ours.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from functools import cache

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _setting(name: str) -> object:
    value = getattr(settings, name, None)
    if value in (None, ""):
        raise ImproperlyConfigured(f"{name} is not set; the HTTP client needs it")
    return value


@cache
def _tls_context() -> ssl.SSLContext:
    # Built once per process: loading the CA bundle costs tens of milliseconds, which every new
    # client paid again (a profile lookup per new Instagram sender, while webhooks wait). An
    # SSLContext is safe to share between clients and threads.
    return httpx.create_ssl_context()


def http_client(
    *, base_url_setting: str, timeout_setting: str, headers: Mapping[str, str] | None = None
) -> httpx.Client:
    """A client for one provider, e.g. `http_client(base_url_setting="META_GRAPH_API_URL",
    timeout_setting="META_HTTP_TIMEOUT_SECONDS")`. Use it as a context manager so its connections
    are closed. Raises ImproperlyConfigured when either setting is missing or empty."""
    base_url = str(_setting(base_url_setting))
    timeout_seconds = float(str(_setting(timeout_setting)))
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_seconds),
        headers=dict(headers or {}),
        follow_redirects=False,  # an API that redirects is misconfigured; never follow silently
        verify=_tls_context(),
    )
