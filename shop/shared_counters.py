"""State the action server, the console and the CLIs share through Redis when
``SHOP_REDIS_URL`` is set, in this process otherwise: rate limits, replay memories and
the LLM answer cache here; each conversation's recent sentiment scores in
:func:`shop.handoff.sentiment.get_recent_scores` (over :func:`redis_client`). Each
store falls back to this process while Redis fails (logged once, retried after a
pause: :mod:`protocol.redis_outage`)."""

from __future__ import annotations

from functools import lru_cache

import redis
from redis.exceptions import RedisError

from models.llm.answer_cache import DEFAULT_TTL_S, AnswerCache, RedisAnswerCache
from protocol.ratelimit import MemoryCounters, RateLimiter, RedisCounters
from protocol.replay import MemorySeen, RedisSeen, SeenOnce

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """The process's client of the Redis at ``url`` (connects on first use)."""
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@lru_cache(maxsize=4)
def get_limiter(redis_url: str) -> RateLimiter:
    """Rate limits for ``redis_url`` (``""``: this process only)."""
    if not redis_url:
        return RateLimiter(MemoryCounters())
    return RateLimiter(RedisCounters(redis_client(redis_url), prefix="shop:rl:", errors=REDIS_ERRORS))


@lru_cache(maxsize=4)
def get_seen(redis_url: str) -> SeenOnce:
    """Replay memory for ``redis_url`` (``""``: this process only)."""
    if not redis_url:
        return MemorySeen()
    return RedisSeen(redis_client(redis_url), prefix="shop:seen:", errors=REDIS_ERRORS)


@lru_cache(maxsize=4)
def get_llm_cache(redis_url: str, ttl_s: float = DEFAULT_TTL_S) -> AnswerCache | None:
    """The LLM answer cache shared through ``redis_url``: keys ``shop:llm:<hash of model
    and prompt>``, see :mod:`models.llm.answer_cache`. ``None`` for ``""``: each runner
    then keeps its own answers in this process."""
    if not redis_url:
        return None
    return RedisAnswerCache(redis_client(redis_url), prefix="shop:llm:", errors=REDIS_ERRORS, ttl_s=ttl_s)
