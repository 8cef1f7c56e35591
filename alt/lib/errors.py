"""The one error type adapters raise. Core code never sees a vendor SDK exception.

It lives in alt/lib, not in integrations/ as DESIGN.md first drew it, because the lower layers
need it too: email is sent by alt/accounts and contacts tasks through Django's mail API, whose
Resend backend raises IntegrationError, and those tasks catch it to retry (alt/lib/retry.py).
"""

from __future__ import annotations


class IntegrationError(Exception):
    """A provider call failed.

    `permanent=True` means retrying cannot help (revoked grant, invalid number, bad request): the
    caller changes local state instead (needs reconnect, failed). Transient errors (timeouts, 429,
    5xx) are retried with backoff by the task that made the call.
    """

    def __init__(
        self, message: str, *, permanent: bool, status: int | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.code = code

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"{self.message} ({kind}{f', HTTP {self.status}' if self.status else ''})"
