"""The event broker of the production profile (``bot/endpoints.production.yml``): Rasa's
pika broker (RabbitMQ) with an exchange that survives a broker restart.

Rasa 3.6's ``PikaEventBroker`` declares its fanout exchange not durable. The queue it
binds is durable, but a RabbitMQ restart deletes the exchange and with it the binding;
on reconnecting, aio-pika declares the exchange again first and binds the queue after,
and an event published in between is routed nowhere and silently dropped (measured: 1
of 400 events across one restart; docs/production.md). Here the exchange is declared
durable, so it and its binding to the durable queue outlive a restart.

Everything else is Rasa's: events published while RabbitMQ is down fail at once and
are kept in this process's memory, then published again when the connection is back;
a process that stops meanwhile loses them. One more change: those kept events are also
published after any later publish succeeds, not only on a reconnection.

An exchange that already exists not durable (made by Rasa's own broker) cannot be
declared durable: RabbitMQ refuses with PRECONDITION_FAILED and the server stops at
start. Name another one (``RASA_BROKER_EXCHANGE``) or delete the old one once
(``rabbitmqadmin delete exchange name=NAME`` with the management plugin, or any AMQP
client's ``exchange.delete``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from rasa.core.brokers.pika import PikaEventBroker


class DurablePikaEventBroker(PikaEventBroker):
    """Rasa's pika broker with a durable exchange (see the module doc)."""

    async def _set_up_exchange(self, channel: aio_pika.RobustChannel) -> aio_pika.RobustExchange:
        exchange = await channel.declare_exchange(self.exchange_name, type=aio_pika.ExchangeType.FANOUT,
                                                  durable=True)
        await asyncio.gather(*[self._bind_queue(name, channel, exchange) for name in self.queues])
        return exchange

    async def _publish(self, event: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        kept = len(self._unpublished_events)
        await super()._publish(event, headers)
        if kept and len(self._unpublished_events) <= kept:  # this one went out: so may the kept ones
            self._publish_unpublished_messages()
