"""Failed order lookups counted across conversations, so a new conversation (a new
sender id) does not buy more guesses.

A wrong order-number/email pair counts once against the e-mail address and once
against the order number, each at most ``max_failures`` per hour
(``Settings.order_lookup_failures_per_email``). While either is used up, the assistant
does not look the pair up at all: the answer is the same whether it was right or wrong,
and the shopper is offered a person. Counters live in the limiter passed in
(``shop.shared_counters.get_limiter``: Redis when configured, this process otherwise); the
keys are SHA-256 digests, so no e-mail address is stored in Redis.
"""

from __future__ import annotations

import hashlib

from protocol.ratelimit import Limit, RateLimiter

WINDOW_S = 3600
EMAIL_LIMIT_NAME = "order-lookup-email"
NUMBER_LIMIT_NAME = "order-lookup-number"


def lookup_key(value: str) -> str:
    """The counter key of an e-mail address or order number (case-insensitive, trimmed)."""
    return hashlib.sha256(value.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _limits(max_failures: int) -> tuple[Limit, Limit]:
    if max_failures < 1:
        raise ValueError(f"max_failures must be at least 1, not {max_failures}")
    return Limit(EMAIL_LIMIT_NAME, max_failures, WINDOW_S), Limit(NUMBER_LIMIT_NAME, max_failures, WINDOW_S)


def lookups_blocked(limiter: RateLimiter, *, order_number: str, email: str, max_failures: int,
                    now: float | None = None) -> bool:
    """Whether ``email`` or ``order_number`` has used up its failed lookups this hour
    (nothing is counted)."""
    by_email, by_number = _limits(max_failures)
    return (limiter.over(by_email, lookup_key(email), now=now) is not None
            or limiter.over(by_number, lookup_key(order_number), now=now) is not None)


def record_failed_lookup(limiter: RateLimiter, *, order_number: str, email: str, max_failures: int,
                         now: float | None = None) -> None:
    """Count one wrong pair against both its e-mail address and its order number."""
    by_email, by_number = _limits(max_failures)
    limiter.hit(by_email, lookup_key(email), now=now)
    limiter.hit(by_number, lookup_key(order_number), now=now)
