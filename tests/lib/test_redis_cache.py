from __future__ import annotations

import threading

from django.core.cache import cache


def test_the_cache_keeps_one_redis_client_and_still_reads_and_writes() -> None:
    cache.delete("redis-cache-test")

    assert cache.add("redis-cache-test", 1, timeout=30)
    assert not cache.add("redis-cache-test", 2, timeout=30)
    assert cache.get("redis-cache-test") == 1
    assert cache._cache.get_client(write=True) is cache._cache.get_client(write=False)  # type: ignore[attr-defined]
    cache.delete("redis-cache-test")


def test_threads_share_the_client_without_mixing_answers() -> None:
    wrong: list[tuple[int, object]] = []

    def work(n: int) -> None:
        for i in range(50):
            cache.set(f"redis-cache-test-{n}", (n, i), timeout=30)
            if cache.get(f"redis-cache-test-{n}") != (n, i):
                wrong.append((n, i))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
    cache.delete_many([f"redis-cache-test-{n}" for n in range(8)])
