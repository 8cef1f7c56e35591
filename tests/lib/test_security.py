"""Production security: deploy checks pass, HTTPS with HSTS, a Content-Security-Policy without inline
script on every page, CSRF on forms, security.txt, and env helpers that refuse malformed values."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALT_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="alt.settings",
        DJANGO_DEBUG="0",
        SECRET_KEY="a-long-production-like-secret-key-for-this-check-0123456789",
        FIELD_ENCRYPTION_KEYS="k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ALLOWED_HOSTS="alt.example.com",
    )
    env.update(extra)
    return env


@pytest.mark.promise("SEC-1")
def test_production_settings_pass_the_deploy_checks() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.promise("SEC-1")
def test_production_is_the_default_and_debug_needs_to_be_asked_for() -> None:
    code = "from django.conf import settings; print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)"
    env = _production_env()
    del env["DJANGO_DEBUG"]

    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.stdout.split() == ["False", "True", "True", "True", "31536000"]


@pytest.mark.promise("SEC-1")
def test_plain_http_is_redirected_to_https_and_https_gets_hsts(
    settings: Any, client: Client
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000

    assert client.get("/accounts/login/").status_code == 301
    response = client.get("/accounts/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_health_check_answers_plain_http_while_everything_else_is_redirected(
    settings: Any, client: Client
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/healthz/extra").status_code == 301


def _csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


@pytest.mark.promise("SEC-4")
def test_no_page_allows_a_script_source_but_self(
    client: Client, alice_client: Client, settings: Any
) -> None:
    settings.GOOGLE_OAUTH_AUTH_URL = "https://accounts.google.com/o/oauth2/auth"
    responses = [
        client.get("/accounts/login/"),
        alice_client.get("/dashboard/"),
        alice_client.get("/settings/calendar/"),  # the page that widens form-action
    ]

    for response in responses:
        directives = _csp_directives(response["Content-Security-Policy"])
        assert directives["script-src"] == ["'self'"]
        assert directives["default-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["base-uri"] == ["'self'"]


@pytest.mark.promise("SEC-4")
def test_every_page_carries_a_content_security_policy_without_inline_script(client: Client) -> None:
    response = client.get("/accounts/login/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.promise("SEC-4")
def test_no_template_has_inline_script_styles_or_event_handlers() -> None:
    offenders = []
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    style_attr = re.compile(r"\sstyle\s*=", re.I)
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for pattern in (inline_script, handler, style_attr):
            if pattern.search(text):
                offenders.append(f"{template.relative_to(ROOT)}: {pattern.pattern}")

    assert offenders == []


@pytest.mark.promise("SEC-4")
def test_forms_are_protected_against_cross_site_requests(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post("/settings/account/", {"full_name": "Mallory", "timezone": "UTC"})

    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.full_name == "Alice Agent"


@pytest.mark.promise("SEC-5")
def test_security_txt_names_the_reporting_address(client: Client) -> None:
    response = client.get("/.well-known/security.txt")

    assert response.status_code == 200
    assert "Contact: mailto:support@agentleadtracker.com" in response.content.decode()


@pytest.mark.promise("SEC-5")
def test_the_policy_link_of_security_txt_opens_a_page_that_says_how_to_report(
    client: Client, settings: Any
) -> None:
    fields = dict(
        line.split(": ", 1)
        for line in client.get("/.well-known/security.txt").content.decode().splitlines()
    )
    assert fields["Policy"].startswith(f"{settings.SITE_URL}/")

    response = client.get(fields["Policy"].removeprefix(settings.SITE_URL))

    assert response.status_code == 200
    assert "mailto:support@agentleadtracker.com" in response.content.decode()


def test_env_helpers_refuse_malformed_values(monkeypatch: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from alt.lib.env import database_from_url, env_bool, env_int

    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_BOOL", False)
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1)
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://root@localhost/alt")
    assert database_from_url("postgresql://postgres:@/alt?host=/var/pg")["HOST"] == "/var/pg"


def test_only_the_calendar_page_lets_its_form_redirect_to_google(
    alice_client: Client, settings: Any
) -> None:
    # Connect POSTs to ALT, which redirects to Google: browsers check form-action on that redirect.
    settings.GOOGLE_OAUTH_AUTH_URL = "https://accounts.google.com/o/oauth2/auth"
    calendar = alice_client.get("/settings/calendar/")["Content-Security-Policy"]
    elsewhere = alice_client.get("/settings/")["Content-Security-Policy"]

    assert "form-action 'self' https://accounts.google.com;" in calendar
    assert "form-action 'self';" in elsewhere
    assert calendar.replace(" https://accounts.google.com", "") == elsewhere
