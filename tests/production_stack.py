"""The production stack for tests: one action server and two Rasa processes on
``bot/endpoints.production.yml`` (:class:`ProductionStack`), and what the tests read
and stop beside it: the RabbitMQ queue (:class:`Queue`), the PostgreSQL tracker store
(:class:`Tracker`), the lock store's own ``redis-server`` (:class:`LockRedis`), and why
a service is missing. Used by ``tests/e2e/test_production_engines.py``."""

from __future__ import annotations

import collections
import json
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.engines import DRAIN
from bench.engines import rabbitmq_missing as engines_rabbitmq_missing
from tests.stack import ACTIONS_PY, MODEL, RASA_BIN, ROOT, RunningStack, StackError

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 14
AMQP_HOST, AMQP_PORT, AMQP_USER, AMQP_PASSWORD = "127.0.0.1", 5672, "guest", "guest"
RELAY_SECRET = "production-relay-secret"
ENDPOINTS = "bot/endpoints.production.yml"
APOLOGY = "Sorry, something went wrong on my side. Please try again."  # bot/apology.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


# --- the services ---------------------------------------------------------------------

# DRAIN (bench/engines.py) reads a RabbitMQ queue in the Rasa environment and prints
# every waiting message as one JSON line; with --delete it then removes queue and exchange.


def redis_missing() -> str | None:
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        return f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}"
    return None


def rabbitmq_missing() -> str | None:
    return engines_rabbitmq_missing(AMQP_HOST, AMQP_PORT)


@dataclass
class Queue:
    """This run's RabbitMQ queue (and exchange), read through :data:`DRAIN`; every
    message read is kept in :attr:`events`."""

    name: str
    exchange: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/"

    def drain(self, *, delete: bool = False) -> list[dict[str, Any]]:
        """Read what is waiting; returns the new events (also added to :attr:`events`)."""
        args = [str(RASA_PY), "-c", DRAIN, self.url, self.name, self.exchange] + (["--delete"] if delete else [])
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        new = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        self.events.extend(new)
        return new

    def count_by_sender(self) -> collections.Counter[str]:
        return collections.Counter(str(e["sender_id"]) for e in self.events)


@dataclass
class LockRedis:
    """The lock store's Redis: a ``redis-server`` of this module's own that a test may
    stop and start again on the same port, or the shared one (``binary`` None)."""

    binary: str | None
    port: int
    workdir: Path
    _proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LockRedis:
        import redis

        if self.binary is None:
            return self
        with open(self.workdir / "lock-redis.log", "ab") as log:
            self._proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                          stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(host=REDIS_HOST, port=self.port, socket_connect_timeout=1).ping()
                return self
            except (redis.RedisError, OSError):
                if time.monotonic() > deadline or self._proc.poll() is not None:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)
            self._proc = None


@dataclass
class Tracker:
    """Reads the PostgreSQL tracker store (Rasa's ``events`` table)."""

    url: str  # SQLAlchemy URL for this environment (psycopg)

    def events(self, conversation: str) -> list[dict[str, Any]]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                                    {"s": conversation}).scalars().all()
        finally:
            engine.dispose()
        return [json.loads(row) for row in rows]

    def count_by_sender(self) -> collections.Counter[str]:
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")).all()
        finally:
            engine.dispose()
        return collections.Counter({str(sender): int(n) for sender, n in rows})


@dataclass
class ProductionStack(RunningStack):
    """One action server and two Rasa processes (A, B) on the production endpoints."""

    rasa_ports: tuple[int, int] = (0, 0)

    def start(self, timeout_s: float = 900) -> ProductionStack:
        self._spawn("actions", [str(ACTIONS_PY), "-m", "actions", "--port", str(self.action_port)])
        for name, port in zip(("rasa-a", "rasa-b"), self.rasa_ports, strict=True):
            self._spawn(name, self.rasa_args(port))
        try:
            self._wait(f"http://127.0.0.1:{self.action_port}/health", "action server", timeout_s)
            for name, port in zip(("Rasa A", "Rasa B"), self.rasa_ports, strict=True):
                self._wait(f"http://127.0.0.1:{port}/", name, timeout_s)
        except StackError:
            self.stop()
            raise
        self._client = httpx.Client(timeout=120)
        return self

    def rasa_args(self, port: int) -> list[str]:
        return [str(RASA_BIN), "run", "--model", str(MODEL), "--endpoints", ENDPOINTS, "--credentials",
                "bot/credentials.yml", "--port", str(port), "--enable-api", "--auth-token", self.api_token]

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment every process of this stack gets (``overrides`` on top)."""
        return {**self._env(), **overrides}

    def url(self, which: str) -> str:
        return f"http://127.0.0.1:{self.rasa_ports['AB'.index(which)]}"

    def send_to(self, which: str, sender: str, message: str) -> list[dict[str, Any]]:
        """One REST turn on process ``which`` ("A" or "B"); the bot's messages."""
        resp = httpx.post(f"{self.url(which)}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                          headers=self.rest_headers, timeout=120)
        resp.raise_for_status()
        return resp.json()

    def alive(self) -> list[bool]:
        return [proc.poll() is None for proc in self._procs]
