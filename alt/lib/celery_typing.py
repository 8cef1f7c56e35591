"""Celery's task decorator with a type, for modules type-checked strictly (alt/lib, integrations).

Celery ships no type information, so to mypy `celery.shared_task` is Any and a strict module
refuses it ("untyped decorator makes function untyped"). This wrapper only names its type: the
task object it returns stays Any (its .delay, .retry and .request are Celery's), and the task's
name is still its function's module path, so beat schedules and routes do not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

from celery import shared_task as _shared_task


@overload
def shared_task(func: Callable[..., None], /) -> Any: ...
@overload
def shared_task(**options: Any) -> Callable[[Callable[..., None]], Any]: ...
def shared_task(*args: Any, **options: Any) -> Any:
    """`@shared_task` or `@shared_task(bind=True, ...)`, exactly as Celery's."""
    return _shared_task(*args, **options)
