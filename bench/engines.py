"""The production engines one cluster run uses on this machine's own services, each run
with its own share, removed at the end: a PostgreSQL database for the tracker store,
a RabbitMQ exchange and queue for the event broker, a key prefix in a Redis database
for the lock store (and ``SHOP_REDIS_URL``'s rate limits, nonces and socket.io rooms).

:meth:`RunEngines.env` gives the variables ``bot/endpoints.production.yml`` and the
action server read (``SHOP_DEPLOYMENT=production``); the Redis and RabbitMQ ports can
be those of the fault proxy (``bench/haproxy.py``) instead of the services'.
:meth:`RunEngines.tracker_all_events` and :meth:`RunEngines.drain` read back what was
stored and what was published, for the fault suite's checks.

Services (the tests' defaults): PostgreSQL :data:`PG_ADMIN_URL` (or the URL given:
``--pg-url``, the tests' ``SHOP_TEST_PG_URL``), Redis 127.0.0.1:6379, RabbitMQ
127.0.0.1:5672 guest/guest.
"""

from __future__ import annotations

import collections
import contextlib
import json
import socket
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
#: the PostgreSQL server's maintenance database (the tests pass their ``SHOP_TEST_PG_URL``)
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 13
AMQP_HOST, AMQP_PORT, AMQP_USER, AMQP_PASSWORD = "127.0.0.1", 5672, "guest", "guest"

# Reads a RabbitMQ queue in the Rasa environment (aio-pika): prints every waiting message
# as one JSON line and acknowledges it; with --delete, then deletes the queue and exchange;
# with --no-read, deletes them without reading.
DRAIN = r"""
import asyncio, sys
import aio_pika

async def main(url, queue_name, exchange, delete, read):
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        while read:
            message = await queue.get(no_ack=False, fail=False, timeout=10)
            if message is None:
                break
            print(message.body.decode(), flush=True)
            await message.ack()
        if delete:
            await queue.delete(if_unused=False, if_empty=False)
            await channel.exchange_delete(exchange)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], "--delete" in sys.argv, "--no-read" not in sys.argv))
"""


def pg_missing(pg_admin_url: str = PG_ADMIN_URL) -> str | None:
    """Why the PostgreSQL server at ``pg_admin_url`` cannot be used (``None`` when it can)."""
    try:
        engine = create_engine(pg_admin_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except (OperationalError, ImportError) as exc:
        return f"PostgreSQL not reachable at {pg_admin_url}: {str(exc).splitlines()[0]}"
    return None


def _answers(name: str, host: str, port: int, hello: bytes) -> str | None:
    """Why the server at ``host:port`` does not answer ``hello`` (``None`` when it does)."""
    try:
        with socket.create_connection((host, port), timeout=3) as conn:
            conn.sendall(hello)
            if not conn.recv(8):
                return f"{name} at {host}:{port} closed the connection"
    except OSError as exc:
        return f"{name} not reachable at {host}:{port}: {exc}"
    return None


def rabbitmq_missing(host: str = AMQP_HOST, port: int = AMQP_PORT) -> str | None:
    """Why RabbitMQ cannot be used: it answers the AMQP protocol header with connection.start."""
    return _answers("RabbitMQ", host, port, b"AMQP\x00\x00\x09\x01")


def services_missing(pg_admin_url: str = PG_ADMIN_URL) -> str | None:
    """Why the production engines cannot be used here (``None`` when they can)."""
    return pg_missing(pg_admin_url) or _answers("Redis", REDIS_HOST, REDIS_PORT, b"PING\r\n") or rabbitmq_missing()


@dataclass
class RunEngines:
    """This run's tracker database (on the server of ``pg_admin_url``), broker exchange
    and queue, and lock key prefix."""

    pg_admin_url: str = PG_ADMIN_URL
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    created: bool = False
    published: list[dict[str, Any]] = field(default_factory=list)

    @property
    def database(self) -> str:
        return f"shop_tracker_{self.run}"

    @property
    def queue(self) -> str:
        return f"shop_events_{self.run}"

    @property
    def exchange(self) -> str:
        return f"shop-events-{self.run}"

    @property
    def lock_prefix(self) -> str:
        return f"shopload{self.run}"

    def tracker_url(self, *, for_rasa: bool) -> str:
        """Rasa's URL (psycopg2, its environment's driver) or ours (psycopg)."""
        url = make_url(self.pg_admin_url).set(database=self.database)
        if for_rasa:
            url = url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def create(self) -> RunEngines:
        admin = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        self.created = True
        return self

    def env(self, *, redis_port: int = REDIS_PORT, amqp_port: int = AMQP_PORT) -> dict[str, str]:
        """The production profile's variables for this run's share of the services."""
        return {
            "SHOP_DEPLOYMENT": "production",
            "RASA_TRACKER_URL": self.tracker_url(for_rasa=True),
            "RASA_LOCK_STORE_HOST": REDIS_HOST, "RASA_LOCK_STORE_PORT": str(redis_port),
            "RASA_LOCK_STORE_DB": str(REDIS_DB), "RASA_LOCK_STORE_PASSWORD": "",
            "RASA_LOCK_STORE_KEY_PREFIX": self.lock_prefix,
            "RASA_BROKER_HOST": AMQP_HOST, "RASA_BROKER_PORT": str(amqp_port),
            "RASA_BROKER_USERNAME": AMQP_USER, "RASA_BROKER_PASSWORD": AMQP_PASSWORD,
            "RASA_BROKER_EXCHANGE": self.exchange, "RASA_BROKER_QUEUE": self.queue,
            "SHOP_REDIS_URL": f"redis://{REDIS_HOST}:{redis_port}/{REDIS_DB}",
        }

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        engine = create_engine(self.tracker_url(for_rasa=False))
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(sql), params).all())
        finally:
            engine.dispose()

    def tracker_user_texts(self) -> dict[str, list[str]]:
        """Every conversation's user messages, in order."""
        out: dict[str, list[str]] = collections.defaultdict(list)
        for sender, data in self._rows("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"):
            out[str(sender)].append(json.loads(data).get("text") or "")
        return dict(out)

    def tracker_all_events(self) -> dict[str, list[dict[str, Any]]]:
        """Every conversation's events in the tracker store, in order."""
        out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for sender, data in self._rows("SELECT sender_id, data FROM events ORDER BY id"):
            out[str(sender)].append(json.loads(data))
        return dict(out)

    @property
    def amqp_url(self) -> str:
        return f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/"

    def drain(self, *, delete: bool = False, read: bool = True) -> list[dict[str, Any]]:
        """Read what waits in the queue (kept in :attr:`published`); the new events.
        ``delete``: then delete the queue and the exchange; ``read=False``: without
        reading them first."""
        args = [str(RASA_PY), "-c", DRAIN, self.amqp_url, self.queue, self.exchange]
        args += (["--delete"] if delete else []) + ([] if read else ["--no-read"])
        out = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"draining {self.queue} failed: {out.stderr[-2000:]}")
        new = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        self.published.extend(new)
        return new

    def drop(self) -> None:
        """Remove this run's database, queue, exchange and lock keys."""
        if self.created:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.drain(delete=True, read=False)
            admin = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            admin.dispose()
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
        keys = list(client.scan_iter(f"{self.lock_prefix}*"))
        if keys:
            client.delete(*keys)
