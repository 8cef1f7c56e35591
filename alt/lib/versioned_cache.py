"""Values derived from many rows (counts), cached until those rows change.

A scope (say, "the contacts of workspace 7") has a version in the cache. Every write to the scope
calls `version_bump(scope)`; a value cached under the scope is served only while it was computed
under the current version, else computed again. One cache round trip per read (the version and
the value in one GET of two keys), one SET per write: the count itself is paid once per change,
not on every page.

The version is read *before* the value is computed and stored with it, and a write bumps again
after its transaction commits: a reader that counted before the commit labels its result with a
version the commit then replaces, so it is never served as current. The immediate bump lets a
transaction see its own writes (and tests, whose transactions never commit, see theirs).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

# Counts that depend on the clock as well as on the rows ("no activity for 14 days") drift by at
# most this much; it is also the safety net should a write ever be missed.
DEFAULT_TIMEOUT_S = 300


def _version_key(scope: str) -> str:
    return f"v:{scope}"


def version_bump(scope: str) -> None:
    """Mark every value cached under `scope` as out of date, now and after the current
    transaction commits. Side effect: one cache SET each time."""

    def bump() -> None:
        cache.set(_version_key(scope), uuid.uuid4().hex, timeout=None)

    bump()
    # robust: the rows are committed by then; a cache outage must not turn that into an error
    # (the old value then lives out its timeout).
    transaction.on_commit(bump, robust=True)


@dataclass
class Entry:
    """One cached value of a scope as read: `hit` with its `value`, or a miss to `store()`."""

    key: str
    version: str | None
    hit: bool
    value: Any
    timeout: int

    def store(self, value: Any) -> None:
        """Keep `value`, labelled with the version read before it was computed."""
        cache.set(self.key, (self.version, value), timeout=self.timeout)


def entries(*wanted: tuple[str, str], timeout: int = DEFAULT_TIMEOUT_S) -> list[Entry]:
    """The values `(scope, name)` of `wanted`, each as `entry` reads it, in ONE cache round trip
    (a GET of every version and value at once): what a page needs of several scopes costs what
    one of them did."""
    keys = {(scope, name): f"c:{scope}:{name}" for scope, name in wanted}
    found = cache.get_many([*(_version_key(scope) for scope, _ in wanted), *keys.values()])
    read = []
    for scope, name in wanted:
        key, version = keys[(scope, name)], found.get(_version_key(scope))
        stored = found.get(key)
        if isinstance(stored, tuple) and stored[0] == version:
            read.append(Entry(key=key, version=version, hit=True, value=stored[1], timeout=timeout))
        else:
            read.append(Entry(key=key, version=version, hit=False, value=None, timeout=timeout))
    return read


def entry(scope: str, name: str, *, timeout: int = DEFAULT_TIMEOUT_S) -> Entry:
    """The value `name` of `scope`, as cached under the scope's current version (one GET)."""
    return entries((scope, name), timeout=timeout)[0]


def value_of(found: Entry, compute: Callable[[], T]) -> T:
    """`found`'s value on a hit; else `compute()`, stored under the version read before it."""
    if found.hit:
        return found.value  # type: ignore[no-any-return]
    value = compute()
    found.store(value)
    return value


def cached(
    scope: str, name: str, compute: Callable[[], T], *, timeout: int = DEFAULT_TIMEOUT_S
) -> T:
    """The value of `compute()` for `scope`, from the cache while no write bumped the scope's
    version since it was stored (and for at most `timeout` seconds)."""
    return value_of(entry(scope, name, timeout=timeout), compute)
