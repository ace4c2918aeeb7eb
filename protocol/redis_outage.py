"""What a Redis-backed store does while Redis fails: its in-process fallback answers,
Redis is not tried again for a short pause (so a dead or unreachable server does not
cost a socket timeout on every message), and the outage is logged once."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5.0


class RedisOutage:
    """The outage state of one Redis-backed store called ``what`` (for the log)."""

    def __init__(self, what: str, *, retry_after_s: float = RETRY_AFTER_S) -> None:
        self.what, self.retry_after_s = what, retry_after_s
        self._down_until = 0.0
        self._warned = False

    def skip_redis(self) -> bool:
        """Whether Redis failed less than ``retry_after_s`` seconds ago."""
        return time.monotonic() < self._down_until

    def failed(self, exc: BaseException) -> None:
        """Record a failure: pause Redis, and warn the first time."""
        self._down_until = time.monotonic() + self.retry_after_s
        if not self._warned:
            logger.warning("%s: Redis unusable (%s); this process goes on alone", self.what, exc.__class__.__name__)
            self._warned = True
