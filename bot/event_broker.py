"""The event broker of the production profile (``bot/endpoints.production.yml``): Rasa's
pika broker (RabbitMQ) with an exchange that survives a broker restart.

Rasa 3.6's ``PikaEventBroker`` declares its fanout exchange not durable. The queue it
binds is durable, but a RabbitMQ restart deletes the exchange and with it the binding;
on reconnecting, aio-pika declares the exchange again first and binds the queue after,
and an event published in between is routed nowhere and silently dropped (measured: 1
of 400 events across one restart; docs/production.md). Here the exchange is declared
durable, so it and its binding to the durable queue outlive a restart.

Publishing runs on a thread of its own, with its own event loop and connection.
Rasa publishes each event as a task on the server's event loop, and every publish
needs several turns of that loop (the channel's lock, the socket's drain, RabbitMQ's
confirmation); under load the loop is mostly busy with NLU and policies, so events
queue up far faster than they go out (a loop busy 100 ms per turn, 5 events a turn:
1,454 of 1,470 still waiting after 30 s), a process killed meanwhile takes them with it,
and a connection that drops meanwhile leaves the waiting publishes hanging for ever
(aiormq 6.4): the fault suite (``bench/faults.py``, 50 conversations) found over a
thousand stored events that never reached the queue. On its own loop a publish waits
for nothing but RabbitMQ. :meth:`DurablePikaEventBroker.publish` only hands the event
over.

Events whose publish fails (RabbitMQ down, or no confirmation within
:data:`PUBLISH_TIMEOUT_S`) are kept in this process's memory and published again
when the connection is back, after any later publish succeeds, or every
:data:`RETRY_KEPT_S` until they go out (a publish that fails after the reconnection,
with no later event, would otherwise wait for ever). A process that stops meanwhile
loses them. A publish pending when the connection drops fails with pamqp's
``AMQPFrameError``, which is not aiormq's ``AMQPError``: uncaught, it dropped the
events (the fault suite found a conversation's last 5 events stored and never
published); :data:`PUBLISH_FAILURES` names both. One not confirmed in time may have arrived: then it
arrives twice (at least once, never lost while the process lives).

An exchange that already exists not durable (made by Rasa's own broker) cannot be
declared durable: RabbitMQ refuses with PRECONDITION_FAILED and the server stops at
start. Name another one (``RASA_BROKER_EXCHANGE``) or delete the old one once
(``rabbitmqadmin delete exchange name=NAME`` with the management plugin, or any AMQP
client's ``exchange.delete``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import aio_pika
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from pamqp.exceptions import PAMQPException
from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)

#: seconds a publish may wait for RabbitMQ's confirmation before the event is kept for another try
PUBLISH_TIMEOUT_S = 15.0
#: seconds between tries of the events kept after a failed publish
RETRY_KEPT_S = 2.0
#: seconds closing waits for the publishes under way
CLOSE_WAIT_S = 5.0
#: what a publish raises when RabbitMQ is away, refuses it or does not confirm it in time
PUBLISH_FAILURES = (AMQPError, PAMQPException, ChannelInvalidStateError, ConnectionError, OSError,
                    asyncio.TimeoutError)


class DurablePikaEventBroker(PikaEventBroker):
    """Rasa's pika broker with a durable exchange, publishing on its own thread (see
    the module doc)."""

    _thread: threading.Thread | None = None
    _retry: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        """Start the publishing thread and connect from it (Rasa's tries and waits)."""
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="event-broker", daemon=True)
        self._thread.start()
        self._loop = loop  # Rasa's connection and tasks live on it
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(super().connect(), loop))

    def publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Hand ``event`` to the publishing thread (returns at once; any thread)."""
        if self._thread is None:  # not connected (yet): as Rasa, on the caller's loop
            super().publish(event, headers)
            return
        self._loop.call_soon_threadsafe(super().publish, event, headers)

    async def _set_up_exchange(self, channel: aio_pika.RobustChannel) -> aio_pika.RobustExchange:
        exchange = await channel.declare_exchange(self.exchange_name, type=aio_pika.ExchangeType.FANOUT,
                                                  durable=True)
        await asyncio.gather(*[self._bind_queue(name, channel, exchange) for name in self.queues])
        return exchange

    async def _publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        kept = len(self._unpublished_events)
        if self._exchange is None:  # Rasa drops it; keep it for the connection
            self._unpublished_events.append(event)
            return
        try:
            await asyncio.wait_for(self._exchange.publish(self._message(event, headers), ""), PUBLISH_TIMEOUT_S)
        except PUBLISH_FAILURES as exc:
            if not kept:
                logger.error("event broker: publishing failed (%s: %s); events are kept in memory until RabbitMQ "
                             "takes them", exc.__class__.__name__, exc)
            self._unpublished_events.append(event)
            self._retry_later()
            return
        if kept:  # this one went out: so may the kept ones
            self._publish_unpublished_messages()

    def _retry_later(self) -> None:
        """On the publishing loop: try the kept events again in :data:`RETRY_KEPT_S`
        (one timer at a time)."""
        if self._retry is None:
            self._retry = asyncio.get_running_loop().call_later(RETRY_KEPT_S, self._retry_kept)

    def _retry_kept(self) -> None:
        self._retry = None
        if self._exchange is not None:
            self._publish_unpublished_messages()  # a failure keeps the event again and sets a new timer
        elif self._unpublished_events:
            self._retry_later()

    async def close(self) -> None:
        """Close the connection on its thread, then stop the thread."""
        if self._thread is None:
            await super().close()
            return
        loop, thread, self._thread = self._loop, self._thread, None
        if self._retry is not None:
            loop.call_soon_threadsafe(self._retry.cancel)
        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._finish_and_close(), loop))
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)

    async def _finish_and_close(self) -> None:
        """On the thread: let the publishes handed over so far finish (at most
        :data:`CLOSE_WAIT_S`), then close the connection."""
        if self._background_tasks:
            await asyncio.wait(list(self._background_tasks), timeout=CLOSE_WAIT_S)
        await super().close()
