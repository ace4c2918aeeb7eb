"""State the Rasa server's processes share through Redis when ``SHOP_REDIS_URL`` is
set (rate limits, replay memories), in this process otherwise. Built on first use."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache

import redis
from redis.exceptions import RedisError

from bot.bot_settings import get_bot_settings
from protocol.ratelimit import MemoryCounters, RateLimiter, RedisCounters
from protocol.replay import MemorySeen, RedisSeen, SeenOnce

logger = logging.getLogger(__name__)

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


@lru_cache(maxsize=1)
def _redis() -> redis.Redis | None:
    url = get_bot_settings().redis_url
    if not url:
        return None
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


@lru_cache(maxsize=1)
def get_limiter() -> RateLimiter:
    """Rate limits: in Redis when configured (falling back to this process on errors)."""
    client = _redis()
    if client is None:
        return RateLimiter(MemoryCounters())
    return RateLimiter(RedisCounters(client, prefix="shop:rl:", errors=REDIS_ERRORS))


@lru_cache(maxsize=1)
def get_seen() -> SeenOnce:
    """Replay memory (relay nonces, platform event ids): Redis when configured."""
    client = _redis()
    if client is None:
        return MemorySeen()
    return RedisSeen(client, prefix="shop:seen:", errors=REDIS_ERRORS)


@lru_cache(maxsize=1)
def session_secret() -> str:
    """``SHOP_SESSION_SECRET``, or a random secret for this process (logged once)."""
    secret = get_bot_settings().session_secret
    if not secret:
        logger.warning("SHOP_SESSION_SECRET is not set: widget sessions end when this server restarts")
        secret = secrets.token_hex(32)
    return secret
