"""The throttle allows a key its limit within a window and counts again when the window closes."""

from __future__ import annotations

import time

from alt.lib.throttle import throttle_hit


def test_a_key_is_allowed_its_limit_within_a_window_and_refused_after() -> None:
    results = [throttle_hit("test:limit", limit=3, window_seconds=60) for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert throttle_hit("test:another-key", limit=3, window_seconds=60)


def test_the_count_starts_again_when_the_window_closes() -> None:
    assert throttle_hit("test:window", limit=1, window_seconds=1)
    assert not throttle_hit("test:window", limit=1, window_seconds=1)

    time.sleep(1.2)

    assert throttle_hit("test:window", limit=1, window_seconds=1)
