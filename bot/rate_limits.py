"""Rate limits on shoppers' messages (REST and the web widget's socket.io), per client
address and per conversation, over a :class:`protocol.ratelimit.RateLimiter`
(:func:`bot.shared_state.get_limiter`: Redis when ``SHOP_REDIS_URL`` is set, this
process otherwise)."""

from __future__ import annotations

import math

from protocol.ratelimit import Limit, RateLimiter

CLIENT_LIMIT = "chat-client"
CONVERSATION_LIMIT = "chat-conversation"


def rate_limited_reply(retry_after_s: float) -> str:
    """What the shopper is told when a message was not processed for the rate limit."""
    return (f"You're sending messages faster than I can answer. Please wait {math.ceil(retry_after_s)} seconds "
            "and send that again.")


def message_retry_after(limiter: RateLimiter, *, client: str, conversation: str, per_client_per_min: int,
                        per_conversation_per_min: int) -> float | None:
    """Count one message of ``conversation`` from ``client``; the seconds to wait when
    either is over its per-minute limit (the message must then not be processed),
    ``None`` when it may go on."""
    wait = limiter.hit(Limit(CLIENT_LIMIT, per_client_per_min, 60), client)
    if wait is not None:
        return wait
    return limiter.hit(Limit(CONVERSATION_LIMIT, per_conversation_per_min, 60), conversation)
