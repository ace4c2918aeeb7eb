"""Health check of deploy/compose.yml's ``analytics`` service (``python -m apps.cli
analytics consume``): healthy when the queue it reads (``SHOP_ANALYTICS_QUEUE`` at
``SHOP_ANALYTICS_AMQP_URL``) exists and has a consumer. With one analytics container,
that consumer is this one; a consumer that lost RabbitMQ, or never reached it, leaves
the queue without one (or without the queue), and the check fails.

    python deploy/docker/analytics_health.py      # exit 0 healthy, 1 not (the reason on stderr)
"""

from __future__ import annotations

import sys

import pika
import pika.exceptions

from shop.cli_args import display_url
from shop.settings import get_settings

TIMEOUT_S = 3.0


def check(*, amqp_url: str, queue: str) -> str | None:
    """Why ``queue`` at ``amqp_url`` has no consumer (``None``: it has one)."""
    params = pika.URLParameters(amqp_url)
    params.socket_timeout = params.blocked_connection_timeout = TIMEOUT_S
    params.connection_attempts = 1
    try:
        connection = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        return f"RabbitMQ at {display_url(amqp_url)} refused us or did not answer: {type(exc).__name__}"
    try:
        declared = connection.channel().queue_declare(queue=queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        return f"no queue {queue!r}: {exc.reply_text}"
    except pika.exceptions.AMQPError as exc:
        return f"RabbitMQ at {display_url(amqp_url)} failed: {type(exc).__name__}"
    finally:
        if connection.is_open:
            connection.close()
    if declared.method.consumer_count < 1:
        return f"queue {queue!r} has no consumer ({declared.method.message_count} events waiting)"
    return None


def main() -> int:
    settings = get_settings()
    problem = check(amqp_url=settings.analytics_amqp_url.get_secret_value(), queue=settings.analytics_queue)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
