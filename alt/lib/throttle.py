"""Fixed-window rate limits the app sets itself (invites), counted in the Django cache.

allauth throttles sign-in, sign-up and password reset; this is for our own actions. The window
opens at the first counted use and closes `window_seconds` later; counting is atomic (one cache
`incr`), so two requests at once cannot both take the last use.
"""

from __future__ import annotations

from django.core.cache import cache


def throttle_hit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one use of `key` and say whether it is within `limit` uses for the current window.

    Returns False once the limit is used up (the refused attempt is counted too, so hammering
    does not help). Side effect: one cache write. Raises nothing for a missing key.
    """
    cache_key = f"throttle:{key}"
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window closed between add() and incr()
        cache.add(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit
