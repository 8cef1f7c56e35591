"""Structured logging with a request id, and a filter that keeps secrets out of every line."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REDACTED = "[REDACTED]"

_CREDENTIAL_NAMES = (
    r"(?:access_token|refresh_token|id_token|client_secret|api_key|apikey|password|"
    r"secret|auth_token|authorization|code_verifier|token|"
    # An OAuth authorization code (`?code=...` on a callback URL, a "code" key) is as good as a
    # token until it is exchanged; only a word of its own, so `status_code=500` stays readable.
    r"(?<![\w-])code)"
)
# An unquoted "code" of up to five digits is an HTTP or provider error code (`"code": 401`),
# not a credential; one-time codes are six digits or more.
_ERROR_CODE = r"(?<![\w-])code[\"']?\s*[:=]\s*\d{1,5}(?![\w/.-])"
# Values that look like credentials wherever they appear in a message.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"),
    re.compile(r"()\bya29\.[A-Za-z0-9._-]+"),  # Google access tokens
    re.compile(r"()\b1//[A-Za-z0-9._-]{8,}"),  # Google refresh tokens
    re.compile(r"()\bIGAA[A-Za-z0-9._-]{8,}"),  # Instagram user tokens
    re.compile(r"()\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}"),  # Stripe keys
    re.compile(r"()\bwhsec_[A-Za-z0-9+/=]{8,}"),  # webhook secrets
    re.compile(r"()\bre_[A-Za-z0-9_]{8,}"),  # Resend keys
    re.compile(r"()\bsk-(?:ant-|or-v1-|proj-)?[A-Za-z0-9_-]{12,}"),  # model provider keys
    # key=value and "key": "value" pairs whose key names a secret. A quoted value is redacted up to
    # its closing quote, so a passphrase with spaces does not leak after its first word.
    re.compile(rf"""(?i)({_CREDENTIAL_NAMES}["']?\s*[:=]\s*")(?:[^"\\]|\\.)*"""),
    re.compile(rf"""(?i)({_CREDENTIAL_NAMES}["']?\s*[:=]\s*')(?:[^'\\]|\\.)*"""),
    re.compile(rf"""(?i)(?!{_ERROR_CODE})({_CREDENTIAL_NAMES}["']?\s*[:=]\s*)[^"'&\s,}}]+"""),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites the rendered message (and exception text) of every record before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        if record.exc_text:
            payload["exc"] = record.exc_text
        elif record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)
