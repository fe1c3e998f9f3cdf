"""The Redis cache, made survivable: a cache is an optimisation, so losing Redis must not
take the site down.

Django's `RedisCache` raises `redis.ConnectionError` from every call while Redis is away,
which turned each page that touches the cache (login's rate limits, TOTP replay
protection, cached fragments) into a 500. `ResilientRedisCache` answers a miss instead —
`get` returns the default and writes are dropped —
logs the outage once a minute, and tells the health endpoint. Nothing the site must not
forget lives in the cache: sessions, orders and the outbox are in PostgreSQL.

What is lost while Redis is away, stated in SECURITY.md: login and write rate limits are
not counted, and a TOTP code could be replayed within its 30-second window."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
LOG_EVERY_SECONDS = 60.0
R = TypeVar("R")


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new `redis.Redis` for every call, and each one fills its
    table of ~170 response callbacks (about 0.1 ms, as much as the round trip itself, on
    every cached page hit). One per connection pool is enough: the pool does the work, and
    Django keeps a cache object per thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class ResilientRedisCache(RedisCache):
    """`RedisCache` that answers a miss while Redis cannot be reached (see the module doc)."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
        self._location_key = server if isinstance(server, str) else ",".join(server)

    # Monotonic time of the last failure per Redis location (instances are per thread; the
    # health endpoint asks about the default cache's location), and of the last log line.
    failures: ClassVar[dict[str, float]] = {}
    _last_logged: float = -LOG_EVERY_SECONDS

    def _guard(self, call: Callable[[], R], fallback: R) -> R:
        try:
            result = call()
        except UNREACHABLE as exc:
            now = time.monotonic()
            ResilientRedisCache.failures[self._location_key] = now
            if now - type(self)._last_logged >= LOG_EVERY_SECONDS:
                type(self)._last_logged = now
                logger.warning("Redis cache unreachable; answering misses until it is back: %s", exc)
            return fallback
        ResilientRedisCache.failures.pop(self._location_key, None)
        return result

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._guard(lambda: super(ResilientRedisCache, self).get(key, default, version), default)

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._guard(lambda: super(ResilientRedisCache, self).get_many(keys, version), {})

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ResilientRedisCache, self).has_key(key, version), False)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        # True, as if stored: allauth takes a refused `add` as "lock held" (every login would
        # answer 429) and as "TOTP code already used" (nobody with 2FA could log in).
        return self._guard(lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), True)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._guard(lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), None)

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._guard(lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), list(data))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._guard(lambda: super(ResilientRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._guard(lambda: super(ResilientRedisCache, self).delete(key, version), False)

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._guard(lambda: super(ResilientRedisCache, self).delete_many(keys, version), None)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        result = self._guard(lambda: super(ResilientRedisCache, self).incr(key, delta, version), None)
        if result is None:  # unreachable: the key is as good as missing, as Django reports it
            raise ValueError(f"Key '{key}' not found")
        return result

    def clear(self) -> None:
        self._guard(lambda: super(ResilientRedisCache, self).clear(), None)


def cache_problem() -> str:
    """'unreachable' when the default cache is a Redis cache that failed within the last
    minute, else ''."""
    default = caches["default"]
    if not isinstance(default, ResilientRedisCache):
        return ""
    failed = ResilientRedisCache.failures.get(default._location_key)
    if failed is not None and time.monotonic() - failed < LOG_EVERY_SECONDS:
        return "unreachable"
    return ""
