"""alt.lib.versioned_cache: a value is served until its scope's version is bumped, a bump is
repeated when the transaction commits, and a value computed while a write committed is never
served as current."""

from __future__ import annotations

from typing import Any

import pytest

from alt.lib.versioned_cache import cached, entry, version_bump

pytestmark = pytest.mark.django_db


def _counter() -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return calls, compute


def test_a_value_is_computed_once_until_its_scope_changes() -> None:
    calls, compute = _counter()

    assert cached("scope-a", "n", compute) == 1
    assert cached("scope-a", "n", compute) == 1
    version_bump("scope-a")
    assert cached("scope-a", "n", compute) == 2
    assert len(calls) == 2


def test_scopes_and_names_are_apart() -> None:
    _, compute = _counter()
    cached("scope-b", "n", compute)
    version_bump("scope-c")

    assert entry("scope-b", "n").hit
    assert not entry("scope-b", "other").hit


def test_the_bump_is_repeated_when_the_transaction_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version_bump("scope-d")
    # A reader between the write and its commit stores what it saw (the old rows)...
    stale = entry("scope-d", "n")
    stale.store("counted before the commit")
    assert entry("scope-d", "n").hit
    # ...and the commit's bump makes it out of date.
    for callback in callbacks:
        callback()

    assert not entry("scope-d", "n").hit


def test_a_value_computed_across_a_bump_is_not_served() -> None:
    # The version is read before computing: a write landing meanwhile leaves the value labelled
    # with the old version.
    def compute() -> str:
        version_bump("scope-e")
        return "counted while a write landed"

    cached("scope-e", "n", compute)

    assert not entry("scope-e", "n").hit
