"""State the action server, the console and the CLIs share through Redis when
``SHOP_REDIS_URL`` is set (rate limits, replay memories), in this process otherwise."""

from __future__ import annotations

from functools import lru_cache

import redis
from redis.exceptions import RedisError

from protocol.ratelimit import MemoryCounters, RateLimiter, RedisCounters
from protocol.replay import MemorySeen, RedisSeen, SeenOnce

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@lru_cache(maxsize=4)
def get_limiter(redis_url: str) -> RateLimiter:
    """Rate limits for ``redis_url`` (``""``: this process only)."""
    if not redis_url:
        return RateLimiter(MemoryCounters())
    return RateLimiter(RedisCounters(_redis(redis_url), prefix="shop:rl:", errors=REDIS_ERRORS))


@lru_cache(maxsize=4)
def get_seen(redis_url: str) -> SeenOnce:
    """Replay memory for ``redis_url`` (``""``: this process only)."""
    if not redis_url:
        return MemorySeen()
    return RedisSeen(_redis(redis_url), prefix="shop:seen:", errors=REDIS_ERRORS)
