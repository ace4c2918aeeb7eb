"""The LLM runner's cache of identical requests: in this process
(:class:`MemoryAnswerCache`) or in Redis, shared by every action-server process
(:class:`RedisAnswerCache`, built by :func:`shop.shared_counters.get_llm_cache` when
``SHOP_REDIS_URL`` is set).

A request's key (:func:`request_key`) is the SHA-256 of the model's name and
everything it is asked (each message's role and text, the token limit). The model
sees nothing but that, so its answer depends on nothing else: a cached answer is only
ever given to a request carrying the very same facts. An answer drawn from one
shopper's order (their order number, address or items are in the prompt) is therefore
never served to another shopper; a prompt that named no customer's facts gets an
answer that holds none. Redis keeps answers ``ttl_s`` seconds (default an hour); each
value also carries its key, and one that does not match (copied under another key) is
ignored.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from typing import Any, Protocol

from protocol.redis_outage import RedisOutage

DEFAULT_TTL_S = 3600


def request_key(model: str, messages: list[tuple[str, str]], max_tokens: int | None) -> str:
    """The stable hash of a request: the model's name, each message's ``(role, text)``,
    and the token limit."""
    body = json.dumps([model, [list(m) for m in messages], max_tokens], ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AnswerCache(Protocol):
    def get(self, key: str) -> tuple[str, int] | None: ...

    def put(self, key: str, text: str, tokens: int) -> None: ...


class MemoryAnswerCache:
    """At most ``size`` answers in this process, least recently used dropped first
    (``size`` 0: nothing is kept). Thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._answers: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, int] | None:
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None:
                self._answers.move_to_end(key)
            return hit

    def put(self, key: str, text: str, tokens: int) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._answers[key] = (text, tokens)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


class RedisAnswerCache:
    """Answers in Redis under ``prefix`` + key for ``ttl_s`` seconds. On ``errors`` (the
    client's exception types) ``fallback`` in this process answers and Redis is tried
    again after a pause (:mod:`protocol.redis_outage`)."""

    def __init__(self, client: Any, *, prefix: str, errors: tuple[type[BaseException], ...],
                 ttl_s: float = DEFAULT_TTL_S, fallback: MemoryAnswerCache | None = None) -> None:
        self.client, self.prefix, self.errors = client, prefix, errors
        self.ttl_s = ttl_s
        self.fallback = fallback or MemoryAnswerCache()
        self.outage = RedisOutage("LLM answer cache")

    def get(self, key: str) -> tuple[str, int] | None:
        if self.outage.skip_redis():
            return self.fallback.get(key)
        try:
            raw = self.client.get(self.prefix + key)
        except self.errors as exc:
            self.outage.failed(exc)
            return self.fallback.get(key)
        return _read(raw, key)

    def put(self, key: str, text: str, tokens: int) -> None:
        if self.outage.skip_redis():
            self.fallback.put(key, text, tokens)
            return
        value = json.dumps({"key": key, "text": text, "tokens": int(tokens)}, ensure_ascii=False)
        try:
            self.client.set(self.prefix + key, value.encode("utf-8"), ex=max(1, math.ceil(self.ttl_s)))
        except self.errors as exc:
            self.outage.failed(exc)
            self.fallback.put(key, text, tokens)


def _read(raw: bytes | str | None, key: str) -> tuple[str, int] | None:
    """A stored answer, or ``None`` when missing, unreadable or stored for another key."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or value.get("key") != key or not isinstance(value.get("text"), str):
        return None
    tokens = value.get("tokens")
    return value["text"], tokens if isinstance(tokens, int) else 0
