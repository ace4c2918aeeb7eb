"""The lock store of a Rasa server that runs as several processes (the production
profile, ``bot/endpoints.production.yml``): Rasa's Redis ticket lock, made safe across
processes and checked when the server starts.

Rasa serialises the messages of one conversation with a ticket lock: each message
takes the next ticket and waits (polling every second) until it is the first one left.
Rasa 3.6's ``RedisLockStore`` keeps the lock as one JSON value and changes it by
reading it, changing it in Python and writing it back (``GET`` then ``SET``). Inside
one process that is safe (nothing awaits in between); across processes two messages of
the same conversation can read the same lock at the same moment, both take ticket 0
and run at once, and a process finishing a message can write back a lock without the
ticket another process had just added. Here every read-change-write is one Redis
transaction (``WATCH``/``MULTI``/``EXEC``, tried again when another process changed the
lock in between), and a lock whose tickets all ended is deleted instead of being kept
empty (a waiter then gets Rasa's ``LockError`` rather than polling forever).

At start the store pings Redis: a lock store that does not answer stops the server
with :class:`LockStoreUnavailable` naming the address, instead of every message
failing later.

Configured in ``bot/endpoints.production.yml``::

    lock_store:
      type: bot.lock_store.ShopRedisLockStore
      url: ${RASA_LOCK_STORE_HOST}
      port: ${RASA_LOCK_STORE_PORT}
      ...

(the same keys as Rasa's ``type: redis``; docs/production.md lists them).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from redis.client import Pipeline
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: seconds a lock outlives its last ticket in Redis (a process killed while holding a
#: ticket leaves a lock that Redis then forgets on its own)
KEY_GRACE_S = 60

#: keys of ``lock_store`` in endpoints.yml this store reads (Rasa's ``redis`` ones)
_NUMBER_KEYS = ("port", "db")
_TEXT_KEYS = ("password", "key_prefix")


class LockStoreUnavailable(RasaException):
    """The lock store's Redis did not answer when the server started."""


def _settings(config: EndpointConfig) -> dict[str, Any]:
    """The ``RedisLockStore`` arguments from the endpoint configuration. Values from
    ``${VAR}`` arrive as strings; empty ones mean "not set"."""
    kwargs = config.kwargs
    out: dict[str, Any] = {"host": config.url or "localhost"}
    for key in _NUMBER_KEYS:
        value = kwargs.get(key)
        if value not in (None, ""):
            try:
                out[key] = int(value)
            except (TypeError, ValueError) as exc:
                raise LockStoreUnavailable(f"lock_store {key} must be a whole number, not {value!r}") from exc
    for key in _TEXT_KEYS:
        if kwargs.get(key):
            out[key] = str(kwargs[key])
    if kwargs.get("socket_timeout") not in (None, ""):
        out["socket_timeout"] = float(kwargs["socket_timeout"])
    return out


class ShopRedisLockStore(RedisLockStore):
    """Rasa's Redis ticket lock with atomic changes and a startup check (module doc)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        settings = _settings(endpoint_config)
        super().__init__(**settings)
        self.address = f"{settings['host']}:{settings.get('port', 6379)} db {settings.get('db', 1)}"
        try:
            self.red.ping()
        except (RedisError, OSError) as exc:
            message = (f"the lock store's Redis at {self.address} does not answer ({exc}); start Redis or set "
                       "RASA_LOCK_STORE_HOST/PORT/DB/PASSWORD (bot/endpoints.production.yml, docs/production.md)")
            logger.error(message)
            raise LockStoreUnavailable(message) from exc
        logger.info("lock store: Redis at %s, keys %s*", self.address, self.key_prefix)

    def _change(self, conversation_id: str,
                change: Callable[[TicketLock | None], tuple[TicketLock | None, T]]) -> T:
        """Apply ``change`` to the stored lock in one transaction: it gets the current
        lock (or ``None``) and returns the lock to store (``None`` or one with no tickets:
        delete it) and the result."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: Pipeline) -> T:
            raw = pipe.get(key)
            current = TicketLock.from_dict(json.loads(raw)) if raw else None
            new, result = change(current)
            pipe.multi()
            if new is None or not new.tickets:
                pipe.delete(key)
            else:
                ttl_s = max(ticket.expires for ticket in new.tickets) - time.time() + KEY_GRACE_S
                pipe.set(key, new.dumps(), ex=max(1, int(ttl_s)))
            return result

        return self.red.transaction(attempt, key, value_from_callable=True)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take)
        except (RedisError, OSError) as exc:
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: str) -> None:
        def expire(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def finish(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give up ``ticket_number`` (the lock goes when nobody else holds a ticket), in
        one transaction."""
        self.finish_serving(conversation_id, ticket_number)
