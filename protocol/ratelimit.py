"""Rate limits in fixed windows, counted in Redis (shared by every process) or in this
process.

A :class:`Limit` says how many hits a key may make per window (``Limit("rest-ip", 60,
60)``: 60 a minute). :meth:`RateLimiter.hit` counts one and returns the seconds until
the key may try again when it is over the limit (``None`` when it may go on);
:meth:`RateLimiter.over` only looks (for counting failures, not attempts).

The Redis client is passed in (this package imports nothing outside the standard
library). When Redis fails, :class:`RedisCounters` counts in its in-process fallback
and logs once, so limits still hold per process; Redis is tried again after a pause
(:mod:`protocol.redis_outage`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from protocol.redis_outage import RedisOutage


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` per ``per_s`` seconds for each key, under ``name``."""

    name: str
    max_hits: int
    per_s: float


class Counters(Protocol):
    def incr(self, key: str, *, ttl_s: float) -> int: ...

    def get(self, key: str) -> int: ...


class MemoryCounters:
    """Window counters in this process (expired windows are dropped as new ones come)."""

    def __init__(self, *, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expiry on the monotonic clock)
        self._lock = threading.Lock()

    def _drop_expired(self, now: float) -> None:
        if len(self._counts) >= self.max_keys:
            for key in [k for k, (_, expires) in self._counts.items() if expires <= now]:
                del self._counts[key]
            while len(self._counts) >= self.max_keys:
                del self._counts[next(iter(self._counts))]

    def incr(self, key: str, *, ttl_s: float) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._counts.get(key, (0, now + ttl_s))
            if expires <= now:
                count, expires = 0, now + ttl_s
            self._drop_expired(now)
            self._counts[key] = (count + 1, expires)
            return count + 1

    def get(self, key: str) -> int:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            return count if expires > time.monotonic() else 0


class RedisCounters:
    """Window counters in Redis (``INCR`` + ``EXPIRE``) under ``prefix``; ``errors``
    are the client's exception types on which ``fallback`` counts instead."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...],
                 fallback: MemoryCounters | None = None) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.fallback = fallback or MemoryCounters()
        self.outage = RedisOutage("rate limits")

    def incr(self, key: str, *, ttl_s: float) -> int:
        if self.outage.skip_redis():
            return self.fallback.incr(key, ttl_s=ttl_s)
        try:
            pipe = self.client.pipeline()
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, max(1, math.ceil(ttl_s)), nx=True)
            count, _ = pipe.execute()
            return int(count)
        except self.errors as exc:
            self.outage.failed(exc)
            return self.fallback.incr(key, ttl_s=ttl_s)

    def get(self, key: str) -> int:
        if self.outage.skip_redis():
            return self.fallback.get(key)
        try:
            value = self.client.get(self.prefix + key)
        except self.errors as exc:
            self.outage.failed(exc)
            return self.fallback.get(key)
        return int(value or 0)


class RateLimiter:
    """Fixed-window limits over ``counters`` (see the module doc)."""

    def __init__(self, counters: Counters) -> None:
        self.counters = counters

    @staticmethod
    def _window(limit: Limit, key: str, now: float) -> tuple[str, float]:
        index = math.floor(now / limit.per_s)
        return f"{limit.name}:{key}:{index}", (index + 1) * limit.per_s - now

    def hit(self, limit: Limit, key: str, *, now: float | None = None) -> float | None:
        """Count one hit of ``key``; seconds to wait when it is now over ``limit``."""
        now = time.time() if now is None else now
        window, left = self._window(limit, key, now)
        count = self.counters.incr(window, ttl_s=left + 1)
        return max(left, 0.001) if count > limit.max_hits else None

    def over(self, limit: Limit, key: str, *, now: float | None = None) -> float | None:
        """Seconds to wait when ``key`` has already used up ``limit`` (nothing counted)."""
        now = time.time() if now is None else now
        window, left = self._window(limit, key, now)
        return max(left, 0.001) if self.counters.get(window) >= limit.max_hits else None
