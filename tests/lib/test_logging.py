"""Logging: credentials are redacted from messages and tracebacks, every line carries the request
id, JSON lines, and a proxy's request id is kept only when it is sane."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from alt.lib.logging import JsonFormatter, RedactSecretsFilter, RequestIdFilter

logger = logging.getLogger("alt.tests.logging")

REFRESH_TOKEN = "1//0gLmnopQRSTuvwxyz-123456"
BEARER_TOKEN = "eyJhbGciOiJSUzI1NiJ9.payload-part.signature_part"


def view_that_logs(request: HttpRequest) -> HttpResponse:
    logger.info("inside the view")
    return HttpResponse("ok")


# Test-only URLconf (@pytest.mark.urls below): production has no view that exists to log.
urlpatterns = [path("log-inside-view", view_that_logs)]


def _console_handler() -> logging.StreamHandler[Any]:
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    return cast("logging.StreamHandler[Any]", handler)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The production console handler (settings.LOGGING, filters included), writing JSON here."""
    handler = _console_handler()
    stream = io.StringIO()
    previous_stream, previous_formatter = handler.setStream(stream), handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setFormatter(previous_formatter)
        if previous_stream is not None:
            handler.setStream(previous_stream)


def test_the_console_handler_redacts_and_tags_every_line_with_the_request_id() -> None:
    filters = {type(f) for f in _console_handler().filters}

    assert {RedactSecretsFilter, RequestIdFilter} <= filters


@pytest.mark.promise("SEC-2")
@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("sending header Bearer %s", (BEARER_TOKEN,), BEARER_TOKEN),
        ("google access ya29.a0AfH6SMBx-abc_DEF123 expires soon", (), "ya29.a0AfH6SMBx-abc_DEF123"),
        ("stored google refresh %s", (REFRESH_TOKEN,), REFRESH_TOKEN),
        ("instagram token IGAAQx1y2z3abcdEFGH456 saved", (), "IGAAQx1y2z3abcdEFGH456"),
        ("charging with sk_live_51HabcdEFGHijklMNOP", (), "sk_live_51HabcdEFGHijklMNOP"),
        ("verifying with whsec_MfKQ9r8GKYqrTwjUPD8ILPZI", (), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZI"),
        ("resend key re_123abc_DEFghiJKLmn", (), "re_123abc_DEFghiJKLmn"),
        ("anthropic key sk-ant-api03-AbCdEfGhIjKlMnOp", (), "sk-ant-api03-AbCdEfGhIjKlMnOp"),
        ("callback with access_token=opaqueAccess123&state=x", (), "opaqueAccess123"),
        ('token response {"refresh_token": "opaqueRefresh456", "expires_in": 3600}', (), "opaqueRefresh456"),
        ("posting client_secret=shhh-client-789 to the token endpoint", (), "shhh-client-789"),
        ("form data %s", ({"client_secret": "opaque vault 789"},), "opaque vault 789"),
        ('login payload {"password": "correct horse battery staple"}', (), "correct horse battery staple"),
        ("login payload password=hunter2hunter2", (), "hunter2hunter2"),
        ("verifying token=opaqueBareToken321 for the webhook", (), "opaqueBareToken321"),
        ("GET /settings/calendar/callback/?state=s1&code=4/0AeanS0Zx-authcode_123&scope=x", (), "4/0AeanS0Zx-authcode_123"),
        ("callback params %s", ({"state": "s1", "code": "4/0AeanS0Zx-authcode_456"},), "4/0AeanS0Zx-authcode_456"),
        ('token request {"code": "4/0AeanS0Zx-authcode_789", "grant_type": "authorization_code"}', (), "4/0AeanS0Zx-authcode_789"),
        ("deletion confirmation code=483920 sent", (), "483920"),
    ],
    ids=[
        "bearer", "google-access", "google-refresh", "instagram", "stripe-live", "webhook-secret",
        "resend", "anthropic", "access_token=", "refresh_token-json", "client_secret=",
        "client_secret-repr", "password-json-with-spaces", "password=", "token=", "code=-in-url",
        "code-in-dict", "code-json", "one-time-code=",
    ],
)  # fmt: skip
def test_a_credential_in_a_log_message_is_redacted(
    log_lines: Callable[[], list[dict[str, Any]]], message: str, args: tuple[Any, ...], secret: str
) -> None:
    logger.warning(message, *args)

    [line] = log_lines()
    assert "[REDACTED]" in line["message"]
    for word in secret.split():
        assert word not in json.dumps(line)


@pytest.mark.promise("SEC-2")
def test_a_credential_in_an_exception_traceback_is_redacted(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    try:
        raise RuntimeError(
            f"invalid_grant for refresh_token={REFRESH_TOKEN} (Bearer {BEARER_TOKEN})"
        )
    except RuntimeError:
        logger.exception("token refresh failed")

    [line] = log_lines()
    assert line["message"] == "token refresh failed"
    assert "Traceback" in line["exc"]
    assert "RuntimeError: invalid_grant for refresh_token=[REDACTED]" in line["exc"]
    assert REFRESH_TOKEN not in json.dumps(line)
    assert BEARER_TOKEN not in json.dumps(line)


def test_an_error_code_or_a_status_code_is_not_taken_for_a_credential(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    message = 'google said {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, status_code=500'

    logger.warning(message)

    [line] = log_lines()
    assert line["message"] == message


def test_an_ordinary_log_message_passes_unchanged(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    logger.info("contact %s moved to stage %r, %d tokens left", 42, "offer", 3)

    [line] = log_lines()
    assert line["message"] == "contact 42 moved to stage 'offer', 3 tokens left"


def test_the_json_formatter_writes_one_object_per_line_with_time_level_logger_and_request_id() -> (
    None
):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    local = logging.getLogger("alt.tests.json")
    local.addHandler(handler)
    local.propagate = False
    try:
        local.warning("first line\nsecond part of the same record")
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            local.exception("it broke")
    finally:
        local.removeHandler(handler)
        local.propagate = True

    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "first line\nsecond part of the same record"
    assert first["level"] == "WARNING"
    assert first["logger"] == "alt.tests.json"
    assert first["request_id"] == "-"
    ts = datetime.fromisoformat(first["ts"])
    assert ts.tzinfo is not None
    assert abs((datetime.now(UTC) - ts).total_seconds()) < 60
    assert second["level"] == "ERROR"
    assert second["message"] == "it broke"
    assert "exc" not in first
    assert "ZeroDivisionError: division by zero" in second["exc"]


def test_every_response_carries_an_x_request_id(client: Client) -> None:
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.urls("tests.lib.test_logging")
def test_a_log_line_written_inside_a_view_carries_the_requests_id(
    client: Client, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = client.get("/log-inside-view")
    logger.info("after the request")

    [inside] = [line for line in log_lines() if line["message"] == "inside the view"]
    [after] = [line for line in log_lines() if line["message"] == "after the request"]
    assert inside["request_id"] == response["X-Request-ID"]
    assert after["request_id"] == "-"


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("lb-7f3a9c2e-0001", True),
        ("short", False),
        ("has spaces in it", False),
        ("x" * 65, False),
    ],
)
def test_a_proxys_request_id_is_kept_only_when_it_is_sane(
    client: Client, incoming: str, kept: bool
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert (response["X-Request-ID"] == incoming) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", response["X-Request-ID"])
