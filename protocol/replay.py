""""Seen before?" memories for replay protection: in-process, or in Redis so that
every process (and a restarted one) shares them.

:class:`MemorySeen` and :class:`RedisSeen` both answer
``seen_before(key, window_s=…)``: ``True`` when ``key`` was recorded within the last
``window_s`` seconds, otherwise it is recorded and the answer is ``False``. The Redis
client is passed in (this package imports nothing outside the standard library); when
Redis fails, :class:`RedisSeen` answers from its in-process fallback, logs once and
tries Redis again after a pause (:mod:`protocol.redis_outage`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

from protocol.redis_outage import RedisOutage


class SeenOnce(Protocol):
    def seen_before(self, key: str, *, window_s: float, now: float | None = None) -> bool: ...


class MemorySeen:
    """Keys seen in this process; at most ``max_keys`` (the oldest are forgotten first)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expiry (monotonic)
        self._lock = threading.Lock()

    def seen_before(self, key: str, *, window_s: float, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < self.max_keys:
                    break
                del self._seen[oldest]
            known = self._seen.get(key)
            if known is not None and known > now:
                return True
            self._seen[key] = now + window_s
            self._seen.move_to_end(key)
            return False

    def __len__(self) -> int:
        return len(self._seen)


class RedisSeen:
    """Keys in Redis (``SET key 1 NX EX window``) under ``prefix``; ``errors`` are the
    client's exception types (``redis.exceptions.RedisError``, ``OSError``) on which
    ``fallback`` answers instead."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...],
                 fallback: MemorySeen | None = None) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.fallback = fallback or MemorySeen()
        self.outage = RedisOutage("replay memory")

    def seen_before(self, key: str, *, window_s: float, now: float | None = None) -> bool:
        if self.outage.skip_redis():
            return self.fallback.seen_before(key, window_s=window_s, now=now)
        try:
            stored = self.client.set(self.prefix + key, b"1", nx=True, ex=max(1, math.ceil(window_s)))
        except self.errors as exc:
            self.outage.failed(exc)
            return self.fallback.seen_before(key, window_s=window_s, now=now)
        return not stored
