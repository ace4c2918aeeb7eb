"""Shopper sentiment for the handoff trigger: VADER's compound score per message, the
"sustained negative" rule over the last few messages, and where each conversation's
recent scores are kept: :class:`RecentScores` in this process, or
:class:`RedisRecentScores` in Redis when ``SHOP_REDIS_URL`` is set
(:func:`get_recent_scores`), so that the rule sees every message of a conversation
whichever action-server process scored it."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from protocol.redis_outage import RedisOutage
from shop.shared_counters import REDIS_ERRORS, redis_client


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER compound score of ``text``, -1 (very negative) .. 1 (very positive);
    0.0 for empty text. Text beyond 2,000 characters is not read."""
    if not text or not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text[:2000])["compound"])


def sustained_negative(scores: Sequence[float], *, window: int, min_negative: int, threshold: float) -> bool:
    """Whether at least ``min_negative`` of the last ``window`` ``scores`` (oldest
    first) are at or below ``threshold``, the latest among them."""
    recent = list(scores)[-window:]
    if not recent or recent[-1] > threshold:
        return False
    return sum(1 for s in recent if s <= threshold) >= min_negative


def conversation_key(channel: str, sender_id: str) -> str:
    """The key of a conversation's scores: 32 hex digits of the SHA-256 of its channel
    and sender id (the same sender id on another channel is another conversation)."""
    return hashlib.sha256(f"{channel}\x00{sender_id}".encode()).hexdigest()[:32]


class RecentScores:
    """Each conversation's last ``keep`` sentiment scores (oldest first) in this process,
    for at most ``max_conversations`` conversations (least recently used dropped first).
    Thread-safe: the DB worker threads update it."""

    def __init__(self, *, max_conversations: int = 10_000, keep: int = 10) -> None:
        self.max_conversations, self.keep = max_conversations, keep
        self._scores: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, value: float) -> list[float]:
        """Append ``value`` to conversation ``key``'s scores; returns them, this one last."""
        with self._lock:
            scores = self._scores.pop(key, [])
            scores = [*scores, value][-self.keep:]
            self._scores[key] = scores
            while len(self._scores) > self.max_conversations:
                self._scores.popitem(last=False)
            return list(scores)

    def reset(self, key: str) -> None:
        """Forget the conversation's scores (a handoff started: count afresh after it)."""
        with self._lock:
            self._scores.pop(key, None)

    def __len__(self) -> int:
        return len(self._scores)


class RedisRecentScores:
    """The same in Redis, shared by every action-server process: a list per
    conversation under ``prefix`` (the key given, hashed again, so no sender id is ever
    a Redis key), trimmed to ``keep`` and expiring ``ttl_s`` after the last score
    (default a day). On ``errors`` (the client's exception types) ``fallback`` in this
    process answers; Redis is tried again after a pause (:mod:`protocol.redis_outage`)."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...], keep: int = 10,
                 ttl_s: int = 24 * 3600, fallback: RecentScores | None = None) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.keep, self.ttl_s = keep, ttl_s
        self.fallback = fallback or RecentScores(keep=keep)
        self.outage = RedisOutage("sentiment scores")

    def _key(self, key: str) -> str:
        return self.prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]

    def add(self, key: str, value: float) -> list[float]:
        if self.outage.skip_redis():
            return self.fallback.add(key, value)
        name = self._key(key)
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.rpush(name, repr(float(value)))
            pipe.ltrim(name, -self.keep, -1)
            pipe.expire(name, self.ttl_s)
            pipe.lrange(name, 0, -1)
            stored = pipe.execute()[-1]
        except self.errors as exc:
            self.outage.failed(exc)
            return self.fallback.add(key, value)
        return [_score(raw) for raw in stored]

    def reset(self, key: str) -> None:
        self.fallback.reset(key)
        if self.outage.skip_redis():
            return
        try:
            self.client.delete(self._key(key))
        except self.errors as exc:
            self.outage.failed(exc)


def _score(raw: bytes | str) -> float:
    """A stored score (a value that is not a number in -1..1 counts as neutral)."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) and -1.0 <= value <= 1.0 else 0.0


@lru_cache(maxsize=4)
def get_recent_scores(redis_url: str) -> RecentScores | RedisRecentScores:
    """Each conversation's recent scores for ``redis_url`` (``""``: this process only);
    Redis keys ``shop:sentiment:<hash>``."""
    if not redis_url:
        return RecentScores()
    return RedisRecentScores(redis_client(redis_url), prefix="shop:sentiment:", errors=REDIS_ERRORS)
