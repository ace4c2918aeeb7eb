"""State the Rasa server's processes share through Redis when ``SHOP_REDIS_URL`` is
set, in this process otherwise. Built on first use.

- rate limits and replay memories (:func:`get_limiter`, :func:`get_seen`);
- strings with a time to live (:func:`get_strings`): the "reply with a number" options
  and Telegram's short button keys (:mod:`bot.degrade`), the conversations known to be
  with people (:mod:`bot.handoff_gate`);
- queues, one per conversation (:func:`get_queues`): the handoff gate's spool of
  messages waiting while the action server is down, so a message spooled by one
  process is posted by any other (also after the first is killed), in order.

A conversation appears in a key only as :func:`bot.degrade.conversation_key` (SHA-256
of the channel and the sender id: a WhatsApp sender id is a phone number). Redis keys
start with ``shop:`` (``shop:str:…``, ``shop:q:…``, ``shop:queues``, ``shop:claim:…``).

When Redis fails, each store answers from its in-process fallback (the outage is logged
once and Redis is tried again after a pause, :mod:`protocol.redis_outage`); queue items
spooled meanwhile are moved to Redis when it answers again.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from functools import lru_cache
from typing import Any, Protocol

import redis
from redis.exceptions import RedisError

from bot.bot_settings import get_bot_settings
from bot.degrade import conversation_key
from protocol.ratelimit import MemoryCounters, RateLimiter, RedisCounters
from protocol.redis_outage import RedisOutage
from protocol.replay import MemorySeen, RedisSeen, SeenOnce

logger = logging.getLogger(__name__)

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
__all__ = ["MemoryQueues", "MemoryStrings", "Queues", "RedisQueues", "RedisStrings", "conversation_key",
           "get_limiter", "get_queues", "get_seen", "get_strings", "session_secret"]

#: items one conversation's queue holds at most (the oldest is dropped, logged as an error)
QUEUE_MAX_ITEMS = 1000
#: a queue nobody pushed to for this long is dropped (a week: the action server was down for longer)
QUEUE_TTL_S = 7 * 24 * 3600

# remove one stored item; drop the key from the index when its queue is empty (KEYS: list, index set)
_REMOVE = """
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return removed
"""
# take or extend a claim held by ARGV[1] (KEYS: the claim)
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


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
def get_strings() -> MemoryStrings | RedisStrings:
    """Strings with a time to live (see the module doc): Redis when configured."""
    client = _redis()
    if client is None:
        return MemoryStrings()
    return RedisStrings(client, prefix="shop:str:", errors=REDIS_ERRORS)


@lru_cache(maxsize=1)
def get_queues() -> MemoryQueues | RedisQueues:
    """Per-conversation queues (see the module doc): Redis when configured."""
    client = _redis()
    if client is None:
        return MemoryQueues()
    return RedisQueues(client, prefix="shop:", errors=REDIS_ERRORS)


@lru_cache(maxsize=1)
def session_secret() -> str:
    """``SHOP_SESSION_SECRET``, or a random secret for this process (logged once)."""
    secret = get_bot_settings().session_secret
    if not secret:
        logger.warning("SHOP_SESSION_SECRET is not set: widget sessions end when this server restarts")
        secret = secrets.token_hex(32)
    return secret


# --- strings with a time to live ---------------------------------------------------


class MemoryStrings:
    """Strings with a time to live in this process; at most ``max_keys`` (the least
    recently written are forgotten first). Thread-safe."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._values: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> (value, expiry, monotonic)
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            found = self._values.get(key)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._values[key]
                return None
            return found[0]

    def set(self, key: str, value: str, *, ttl_s: float) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = (value, time.monotonic() + ttl_s)
            while len(self._values) > self.max_keys:
                self._values.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


class RedisStrings:
    """Strings in Redis (``SET key value EX ttl``) under ``prefix``; on ``errors`` the
    ``fallback`` in this process answers (see the module doc)."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...],
                 fallback: MemoryStrings | None = None) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.fallback = fallback or MemoryStrings()
        self.outage = RedisOutage("conversation state")

    def get(self, key: str) -> str | None:
        if not self.outage.skip_redis():
            try:
                value = self.client.get(self.prefix + key)
            except self.errors as exc:
                self.outage.failed(exc)
            else:
                return value.decode("utf-8") if isinstance(value, bytes) else value
        return self.fallback.get(key)

    def set(self, key: str, value: str, *, ttl_s: float) -> None:
        if not self.outage.skip_redis():
            try:
                self.client.set(self.prefix + key, value.encode("utf-8"), ex=max(1, math.ceil(ttl_s)))
                return
            except self.errors as exc:
                self.outage.failed(exc)
        self.fallback.set(key, value, ttl_s=ttl_s)

    def delete(self, key: str) -> None:
        self.fallback.delete(key)
        if not self.outage.skip_redis():
            try:
                self.client.delete(self.prefix + key)
            except self.errors as exc:
                self.outage.failed(exc)


# --- per-conversation queues --------------------------------------------------------


class Queues(Protocol):
    """FIFO queues of JSON objects, one per key, with a claim so that one worker at a
    time drains a queue."""

    def push(self, key: str, item: dict[str, Any]) -> str: ...

    def items(self, key: str) -> list[tuple[str, dict[str, Any]]]: ...

    def remove(self, key: str, raw: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def nonempty(self) -> list[str]: ...

    def total(self) -> int: ...

    def claim(self, key: str, *, owner: str, ttl_s: float) -> bool: ...

    def release(self, key: str, *, owner: str) -> None: ...


def _encode(item: dict[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _decode(raw: str | bytes) -> dict[str, Any] | None:
    try:
        item = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return item if isinstance(item, dict) else None


class MemoryQueues:
    """The queues in this process: at most ``max_items`` per key (oldest dropped)."""

    def __init__(self, *, max_items: int = QUEUE_MAX_ITEMS) -> None:
        self.max_items = max_items
        self._queues: dict[str, deque[str]] = {}
        self._claims: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def push(self, key: str, item: dict[str, Any]) -> str:
        """Append ``item``; returns its stored form (what :meth:`remove` takes)."""
        raw = _encode(item)
        with self._lock:
            queue = self._queues.setdefault(key, deque())
            if len(queue) >= self.max_items:
                queue.popleft()
                logger.error("queue %s full (%d): its oldest item is lost", key[:12], self.max_items)
            queue.append(raw)
        return raw

    def items(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """``(stored form, item)`` of each item of ``key``, oldest first (unreadable ones skipped)."""
        with self._lock:
            raws = list(self._queues.get(key, ()))
        return [(raw, item) for raw in raws if (item := _decode(raw)) is not None]

    def remove(self, key: str, raw: str) -> bool:
        """Remove the item stored as ``raw`` from ``key``'s queue; whether it was there."""
        with self._lock:
            queue = self._queues.get(key)
            if not queue or raw not in queue:
                return False
            queue.remove(raw)
            if not queue:
                del self._queues[key]
            return True

    def size(self, key: str) -> int:
        with self._lock:
            return len(self._queues.get(key, ()))

    def nonempty(self) -> list[str]:
        with self._lock:
            return [k for k, q in self._queues.items() if q]

    def total(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def drain(self) -> list[tuple[str, list[str]]]:
        """Take every queue out (``(key, stored forms)``, oldest first)."""
        with self._lock:
            out = [(k, list(q)) for k, q in self._queues.items() if q]
            self._queues.clear()
        return out

    def claim(self, key: str, *, owner: str, ttl_s: float) -> bool:
        """Take (or extend) the right to drain ``key`` for ``ttl_s`` seconds; whether granted."""
        now = time.monotonic()
        with self._lock:
            holder = self._claims.get(key)
            if holder is not None and holder[0] != owner and holder[1] > now:
                return False
            self._claims[key] = (owner, now + ttl_s)
            return True

    def release(self, key: str, *, owner: str) -> None:
        with self._lock:
            if self._claims.get(key, ("", 0.0))[0] == owner:
                del self._claims[key]


class RedisQueues:
    """The queues in Redis: a list ``<prefix>q:<key>`` per key (expiring
    :data:`QUEUE_TTL_S` after the last push), the set ``<prefix>queues`` of keys with
    items, claims ``<prefix>claim:<key>``. On ``errors`` the ``fallback`` in this
    process takes over; what it holds moves to Redis when Redis answers again."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...],
                 fallback: MemoryQueues | None = None, max_items: int = QUEUE_MAX_ITEMS,
                 ttl_s: int = QUEUE_TTL_S) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.fallback = fallback or MemoryQueues(max_items=max_items)
        self.max_items, self.ttl_s = max_items, ttl_s
        self.outage = RedisOutage("handoff spool")
        self._index = prefix + "queues"

    def _list(self, key: str) -> str:
        return f"{self.prefix}q:{key}"

    def _usable(self) -> bool:
        """Whether to use Redis now (after moving what the fallback spooled meanwhile)."""
        if self.outage.skip_redis():
            return False
        if self.fallback.total():
            try:
                for key, raws in self.fallback.drain():
                    self._push_raw(key, raws)
            except self.errors as exc:
                self.outage.failed(exc)
                return False
        return True

    def _push_raw(self, key: str, raws: list[str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(self._list(key), *raws)
        pipe.sadd(self._index, key)
        pipe.expire(self._list(key), self.ttl_s)
        pipe.expire(self._index, self.ttl_s)
        length = int(pipe.execute()[0])
        if length > self.max_items:
            self.client.ltrim(self._list(key), length - self.max_items, -1)
            logger.error("queue %s full (%d): its oldest %d item(s) are lost", key[:12], self.max_items,
                         length - self.max_items)

    def push(self, key: str, item: dict[str, Any]) -> str:
        raw = _encode(item)
        if self._usable():
            try:
                self._push_raw(key, [raw])
                return raw
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.push(key, item)

    def items(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        if self._usable():
            try:
                raws = [r.decode("utf-8") for r in self.client.lrange(self._list(key), 0, -1)]
                return [(raw, item) for raw in raws if (item := _decode(raw)) is not None]
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.items(key)

    def remove(self, key: str, raw: str) -> bool:
        if self.fallback.remove(key, raw):
            return True
        if self.outage.skip_redis():
            return False
        try:
            return bool(self.client.eval(_REMOVE, 2, self._list(key), self._index, raw, key))
        except self.errors as exc:
            self.outage.failed(exc)
            return False

    def size(self, key: str) -> int:
        if self._usable():
            try:
                return int(self.client.llen(self._list(key)))
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.size(key)

    def nonempty(self) -> list[str]:
        """Keys with items (keys whose list expired are dropped from the index here)."""
        if self._usable():
            try:
                keys = sorted(k.decode("utf-8") for k in self.client.smembers(self._index))
                pipe = self.client.pipeline(transaction=False)
                for key in keys:
                    pipe.exists(self._list(key))
                alive = pipe.execute()
                gone = [k for k, there in zip(keys, alive, strict=True) if not there]
                if gone:
                    self.client.srem(self._index, *gone)
                return [k for k, there in zip(keys, alive, strict=True) if there]
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.nonempty()

    def total(self) -> int:
        if self._usable():
            try:
                keys = [k.decode("utf-8") for k in self.client.smembers(self._index)]
                pipe = self.client.pipeline(transaction=False)
                for key in keys:
                    pipe.llen(self._list(key))
                return sum(int(n) for n in pipe.execute())
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.total()

    def claim(self, key: str, *, owner: str, ttl_s: float) -> bool:
        if not self.outage.skip_redis():
            try:
                return bool(self.client.eval(_CLAIM, 1, f"{self.prefix}claim:{key}", owner,
                                             max(1, int(ttl_s * 1000))))
            except self.errors as exc:
                self.outage.failed(exc)
        return self.fallback.claim(key, owner=owner, ttl_s=ttl_s)

    def release(self, key: str, *, owner: str) -> None:
        self.fallback.release(key, owner=owner)
        if self.outage.skip_redis():
            return
        try:
            self.client.eval(_RELEASE, 1, f"{self.prefix}claim:{key}", owner)
        except self.errors as exc:
            self.outage.failed(exc)
