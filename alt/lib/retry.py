"""Retry policy shared by every task that calls a provider: backoff with jitter, bounded.

In alt/lib beside IntegrationError (alt/lib/errors.py), not in integrations/, because tasks of
the lower layers (alt/accounts and contacts, which send email through the Resend backend) retry
with the same policy, and a lower layer must not import a higher one.
"""

from __future__ import annotations

import logging
import random
from typing import Any, NoReturn

from alt.lib.errors import IntegrationError

log = logging.getLogger(__name__)

MAX_RETRIES = 8
BASE_DELAY_SECONDS = 2.0
MAX_DELAY_SECONDS = 600.0


def backoff_seconds(
    retries: int, *, base: float = BASE_DELAY_SECONDS, cap: float = MAX_DELAY_SECONDS
) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**retries))."""
    return random.uniform(0, min(cap, base * (2**retries)))  # noqa: S311 (jitter, not crypto)


def retry_transient(task: Any, exc: IntegrationError) -> NoReturn:
    """Re-queue `task` for a transient provider error; give up (re-raise) after MAX_RETRIES.

    Permanent errors must be handled by the caller (they change local state) and never reach here.
    """
    if exc.permanent:
        raise ValueError("permanent errors are not retried; the caller must handle them") from exc
    retries = task.request.retries
    if retries >= MAX_RETRIES:
        log.warning("giving up on %s after %d retries: %s", task.name, retries, exc)
        raise exc
    raise task.retry(exc=exc, countdown=backoff_seconds(retries), max_retries=MAX_RETRIES)
