"""Django's Redis cache, with one redis client per connection pool instead of one per call.

Django's RedisCacheClient.get_client builds a new `redis.Redis` around the shared pool for every
cache operation, and a redis client's constructor registers its ~170 response callbacks each
time: on the webhook endpoints (one SET NX per delivery, measured against a bare view) that was a
quarter of a millisecond of CPU per request, more than the Redis round trip. A redis client is
thread-safe (each command takes a connection from the pool), so one per pool is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(id(pool))
        if client is None:  # two threads may both build one: either serves
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
