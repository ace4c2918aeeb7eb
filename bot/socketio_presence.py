"""Which widget conversations have a page connected, seen from every Rasa process.

With several Rasa processes the widget's socket.io server shares its messages through
Redis (python-socketio's ``AsyncRedisManager``, set up in :mod:`bot.channels`): a staff
message the relay emits on process B reaches the shopper's page connected to process
A. But each process only knows its own sockets, and the relay must tell the console
whether a page was there to receive the message (else the console keeps it for later).
:class:`RoomPresence` records, in Redis, which process holds which socket in which
room (conversation), and which processes are alive:

- ``<prefix>room:<room>``: a hash whose fields are ``<process id>:<socket id>``; it
  expires ``room_ttl_s`` after the last page joined (the session token's lifetime);
- ``<prefix>proc:<process id>``: set every ``heartbeat_s`` seconds by each process that
  holds sockets, expiring after three missed beats, so the sockets of a process that
  was killed stop counting within ``3 * heartbeat_s`` (and are removed when next read).

When Redis does not answer, :meth:`RoomPresence.anyone_in` answers ``None`` (unknown)
and the caller falls back to the sockets of its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


class RoomPresence:
    """Rooms with a connected page, shared through Redis (see the module doc)."""

    def __init__(self, client: Redis, *, room_ttl_s: int, prefix: str = "shop:sio:", heartbeat_s: float = 10.0,
                 process_id: str | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.room_ttl_s = max(1, int(room_ttl_s))
        self.heartbeat_s = heartbeat_s
        self.process_id = process_id or uuid.uuid4().hex
        self._beat: asyncio.Task[None] | None = None
        self._failing = False

    def _room_key(self, room: str) -> str:
        return f"{self.prefix}room:{room}"

    def _proc_key(self, process_id: str) -> str:
        return f"{self.prefix}proc:{process_id}"

    def _failed(self, doing: str, exc: BaseException) -> None:
        if not self._failing:  # one line per outage, not one per message
            logger.warning("socket.io presence in Redis unavailable while %s (%s): the relay sees only this "
                           "process's pages until Redis answers", doing, exc)
        self._failing = True

    def _ok(self) -> None:
        if self._failing:
            logger.info("socket.io presence in Redis answers again")
        self._failing = False

    async def _alive(self) -> None:
        await self.client.set(self._proc_key(self.process_id), "1", ex=max(1, round(3 * self.heartbeat_s)))

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self._alive()
                self._ok()
            except REDIS_ERRORS as exc:
                self._failed("marking this process alive", exc)
            await asyncio.sleep(self.heartbeat_s)

    async def joined(self, room: str, sid: str) -> None:
        """Socket ``sid`` of this process is now in ``room``."""
        if self._beat is None or self._beat.done():
            self._beat = asyncio.get_running_loop().create_task(self._heartbeat())
        key = self._room_key(room)
        try:
            await self._alive()
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, f"{self.process_id}:{sid}", "1")
                pipe.expire(key, self.room_ttl_s)
                await pipe.execute()
            self._ok()
        except REDIS_ERRORS as exc:
            self._failed("recording a page", exc)

    async def left(self, room: str, sid: str) -> None:
        """Socket ``sid`` of this process left ``room`` (or disconnected)."""
        try:
            await self.client.hdel(self._room_key(room), f"{self.process_id}:{sid}")
            self._ok()
        except REDIS_ERRORS as exc:
            self._failed("forgetting a page", exc)

    async def anyone_in(self, room: str) -> bool | None:
        """Whether a live process holds a socket in ``room``; ``None`` when Redis does
        not answer. Sockets of processes that stopped beating are removed."""
        key = self._room_key(room)
        try:
            members = [str(m) for m in await self.client.hkeys(key)]
            if not members:
                self._ok()
                return False
            processes = sorted({m.split(":", 1)[0] for m in members})
            alive_flags = await self.client.mget([self._proc_key(p) for p in processes])
            alive = {p for p, flag in zip(processes, alive_flags, strict=True) if flag is not None}
            stale = [m for m in members if m.split(":", 1)[0] not in alive]
            if stale:
                await self.client.hdel(key, *stale)
            self._ok()
            return len(stale) < len(members)
        except REDIS_ERRORS as exc:
            self._failed("asking which pages are connected", exc)
            return None

    async def close(self) -> None:
        """Stop beating and forget this process (its sockets stop counting at once)."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        with contextlib.suppress(*REDIS_ERRORS):
            await self.client.delete(self._proc_key(self.process_id))
