"""The task retry policy: jittered exponential backoff under a cap, retries for transient errors up
to a limit, and no retry for a permanent one."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from alt.lib.errors import IntegrationError
from alt.lib.retry import (
    BASE_DELAY_SECONDS,
    MAX_DELAY_SECONDS,
    MAX_RETRIES,
    backoff_seconds,
    retry_transient,
)


class FakeRetry(Exception):
    pass


class FakeTask:
    """What retry_transient uses of a bound Celery task: its name, request.retries and retry()."""

    name = "alt.fake_send"

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.retry_calls: list[dict[str, Any]] = []

    def retry(self, **kwargs: Any) -> FakeRetry:
        self.retry_calls.append(kwargs)
        return FakeRetry()


def test_backoff_stays_between_zero_and_the_cap_however_many_retries() -> None:
    delays = [backoff_seconds(retries) for retries in range(40) for _ in range(25)]

    assert all(0 <= d <= MAX_DELAY_SECONDS for d in delays)
    assert all(0 <= backoff_seconds(20, base=1, cap=30) <= 30 for _ in range(100))


@pytest.mark.parametrize("retries", [0, 1, 3, 5])
def test_backoff_ceiling_doubles_with_each_retry_and_the_delay_is_jittered_below_it(
    retries: int,
) -> None:
    ceiling = BASE_DELAY_SECONDS * 2**retries
    delays = [backoff_seconds(retries) for _ in range(300)]

    assert all(0 <= d <= ceiling for d in delays)
    assert max(delays) > 0.75 * ceiling  # it reaches towards the ceiling, so it grows with it
    assert min(delays) < 0.25 * ceiling  # full jitter: spread over the whole range
    assert len(set(delays)) == len(delays)


def test_retry_transient_raises_the_tasks_retry_with_a_backoff_countdown() -> None:
    task = FakeTask(retries=3)
    error = IntegrationError("Resend rate limit", permanent=False, status=429)

    with pytest.raises(FakeRetry):
        retry_transient(task, error)

    [call] = task.retry_calls
    assert call["exc"] is error
    assert call["max_retries"] == MAX_RETRIES
    assert 0 <= call["countdown"] <= BASE_DELAY_SECONDS * 2**3


def test_retry_transient_gives_up_and_reraises_the_error_after_max_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = FakeTask(retries=MAX_RETRIES)
    error = IntegrationError("Resend server error", permanent=False, status=500)

    with (
        caplog.at_level(logging.WARNING, logger="alt.lib.retry"),
        pytest.raises(IntegrationError) as raised,
    ):
        retry_transient(task, error)

    assert raised.value is error
    assert task.retry_calls == []
    assert "giving up on alt.fake_send after 8 retries" in caplog.text


def test_retry_transient_refuses_a_permanent_error() -> None:
    task = FakeTask(retries=0)

    with pytest.raises(ValueError, match="permanent errors are not retried"):
        retry_transient(task, IntegrationError("invalid from", permanent=True, status=422))

    assert task.retry_calls == []
