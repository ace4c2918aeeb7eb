"""The production profile (``SHOP_DEPLOYMENT=production``, ``bot/endpoints.production.yml``)
on this machine's real services: two Rasa processes and one action server sharing a
PostgreSQL tracker store, the Redis lock store (:mod:`bot.lock_store`), RabbitMQ (Rasa's
pika event broker) and the widget's socket.io messages through Redis.

- a conversation whose turns alternate between the two processes continues as one
  (an order lookup: question on A, number on B, e-mail on A), and its tracker in
  PostgreSQL has every event, in order;
- messages of one conversation sent at the same moment to both processes are
  serialised by the lock: the tracker holds each turn whole, never two interleaved;
- the broker's queue receives exactly the events the tracker store holds, per
  conversation;
- a staff message relayed through process B reaches the shopper's page connected to
  process A; once the page is gone the relay says it was not delivered;
- hostile: a lock store whose Redis does not answer stops a Rasa process at start with
  a message naming it; the lock store's Redis stopped while turns run: the shopper gets
  the apology, never a hang, and once it is back the conversation goes on; RabbitMQ
  restarted while turns run: every turn is answered, both processes live on, and the
  events of the turns after the restart reach the queue (the events published while it
  was down are counted and printed: docs/production.md).

Each service missing skips the tests with the reason (PostgreSQL 127.0.0.1:5432 as in
``SHOP_TEST_PG_URL``, Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672 guest/guest). The
lock store runs on a ``redis-server`` of this module's own (on a free port, so it can be
stopped), or on the shared Redis when that binary is missing (the stop test then
skips). Every run has its own tracker database, lock keys, exchange and queue, removed
at the end.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shop.handoff import relay
from tests.conftest import PG_ADMIN_URL, pg_missing
from tests.demo_shops import DemoShops
from tests.e2e.conftest import ShopFacts
from tests.production_stack import (
    AMQP_HOST,
    AMQP_PASSWORD,
    AMQP_PORT,
    AMQP_USER,
    APOLOGY,
    RASA_PY,
    REDIS_DB,
    REDIS_HOST,
    REDIS_PORT,
    RELAY_SECRET,
    LockRedis,
    ProductionStack,
    Queue,
    Tracker,
    closed_port,
    free_port,
    rabbitmq_missing,
    redis_missing,
)
from tests.stack import ROOT, StackError, missing_prerequisites, texts

pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.slow]

@pytest.fixture(scope="module")
def services() -> None:
    reason = missing_prerequisites() or pg_missing() or redis_missing() or rabbitmq_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def tracker_db(services: None) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database for the tracker store: (Rasa's URL, this side's URL)."""
    name = f"shop_tracker_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    ours = make_url(PG_ADMIN_URL).set(database=name)
    rasa = ours.set(drivername="postgresql")  # psycopg2, the driver in the Rasa environment
    try:
        yield rasa.render_as_string(hide_password=False), ours.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def queue(services: None) -> Iterator[Queue]:
    run = uuid.uuid4().hex[:10]
    q = Queue(name=f"shop_events_{run}", exchange=f"shop-events-{run}")
    yield q
    q.drain(delete=True)


@pytest.fixture(scope="module")
def lock_prefix(services: None) -> Iterator[str]:
    import redis

    prefix = f"shoptest{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="module")
def lock_redis(tmp_path_factory: pytest.TempPathFactory, services: None) -> Iterator[LockRedis]:
    binary = shutil.which("redis-server")
    server = LockRedis(binary, free_port() if binary else REDIS_PORT, tmp_path_factory.mktemp("lock-redis"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def shop_url(demo_shop: DemoShops, services: None) -> str:
    as_of = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    return demo_shop(seed=7, scale=0.05, as_of=as_of)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, services: None, tracker_db: tuple[str, str],
               queue: Queue, lock_prefix: str, lock_redis: LockRedis, shop_url: str) -> Iterator[ProductionStack]:
    workdir = tmp_path_factory.mktemp("production")
    models = workdir / "models"
    models.mkdir()
    stack = ProductionStack(
        workdir=workdir, database_url=shop_url, action_port=free_port(), llm_port=closed_port(),
        rasa_ports=(free_port(), free_port()),
        extra_env={
            "SHOP_DEPLOYMENT": "production",
            "RASA_TRACKER_URL": tracker_db[0],
            "RASA_LOCK_STORE_HOST": REDIS_HOST, "RASA_LOCK_STORE_PORT": str(lock_redis.port),
            "RASA_LOCK_STORE_DB": str(REDIS_DB), "RASA_LOCK_STORE_PASSWORD": "",
            "RASA_LOCK_STORE_KEY_PREFIX": lock_prefix,
            "RASA_BROKER_HOST": AMQP_HOST, "RASA_BROKER_PORT": str(AMQP_PORT),
            "RASA_BROKER_USERNAME": AMQP_USER, "RASA_BROKER_PASSWORD": AMQP_PASSWORD,
            "RASA_BROKER_EXCHANGE": queue.exchange, "RASA_BROKER_QUEUE": queue.name,
            "SHOP_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
            "SHOP_RELAY_SECRET": RELAY_SECRET,
            "SHOP_SOCKETIO_PRESENCE_HEARTBEAT_S": "2",
            # light action server: SQL search, no LLM, no preference model
            "SHOP_SEARCH_BACKEND": "sql", "SHOP_LLM_MODEL": "off", "SHOP_RECOMMEND_MODEL_DIR": str(models),
            "SHOP_RECOMMEND_CHECK_S": "0", "SHOP_SEARCH_INDEX_SYNC_S": "0",
        })
    try:
        stack.start()
    except StackError as exc:
        pytest.fail(str(exc))
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def tracker(tracker_db: tuple[str, str]) -> Tracker:
    return Tracker(tracker_db[1])


def _conversation(sender: str) -> str:
    return f"rest:{sender}"


def _turns(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The events of each user turn: from a ``user`` event up to the ``action_listen``
    that ends it (the events before the first user event are left out)."""
    turns: list[list[dict[str, Any]]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    return turns


def _well_formed(turn: list[dict[str, Any]]) -> bool:
    """A whole turn: one user message, the bot's actions, ending in ``action_listen``."""
    users = [e for e in turn if e["event"] == "user"]
    return len(users) == 1 and turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen"


# --- the tests --------------------------------------------------------------------------


def test_turns_alternating_between_processes_continue_one_conversation(production: ProductionStack,
                                                                        tracker: Tracker, shop_url: str) -> None:
    facts = ShopFacts(shop_url)
    number, email = facts.persona_order("shipped"), facts.persona_email()
    sender = f"alt-{uuid.uuid4().hex[:10]}"
    said = [("A", "hi"), ("B", "where is my order?"), ("A", f"#{number}"), ("B", email), ("A", "thanks")]
    replies = [texts(production.send_to(which, sender, message)) for which, message in said]
    assert "order number" in replies[1].lower(), replies  # B asks for it ...
    assert "email address" in replies[2].lower(), replies  # ... A knows B asked
    assert f"#{number}" in replies[3] and "shipped" in replies[3], replies  # B knows what A was told
    events = tracker.events(_conversation(sender))
    turns = _turns(events)
    assert [t[0]["text"] for t in turns] == [m for _, m in said]  # every message, in the order sent
    assert all(_well_formed(t) for t in turns), turns
    bot_said = [e["text"] for e in events if e["event"] == "bot" and e.get("text")]
    for reply in replies:  # each reply as stored, in order
        for line in filter(None, reply.split("\n")):
            assert line in "\n".join(bot_said), (line, bot_said)
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_messages_sent_at_once_to_both_processes_are_serialised(production: ProductionStack,
                                                                tracker: Tracker) -> None:
    sender = f"burst-{uuid.uuid4().hex[:10]}"
    production.send_to("A", sender, "hi")
    messages = ["hello", "what can you do?", "thanks", "hi there", "good morning", "thank you"]
    results: dict[str, list[dict[str, Any]] | BaseException] = {}
    start = threading.Barrier(len(messages))

    def turn(k: int, message: str) -> None:
        start.wait()
        try:
            results[message] = production.send_to("AB"[k % 2], sender, message)
        except (httpx.HTTPError, AssertionError) as exc:
            results[message] = exc

    threads = [threading.Thread(target=turn, args=(k, m)) for k, m in enumerate(messages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert all(isinstance(r, list) and texts(r) for r in results.values()), results
    turns = _turns(tracker.events(_conversation(sender)))
    assert sorted(t[0]["text"] for t in turns) == sorted(["hi", *messages])  # each once, none lost
    assert all(_well_formed(t) for t in turns), [[e["event"] for e in t] for t in turns]


def test_the_broker_queue_gets_exactly_the_tracker_events(production: ProductionStack, tracker: Tracker,
                                                          queue: Queue) -> None:
    senders = [f"broker-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    for k, sender in enumerate(senders):
        for message in ("hi", "what can you do?", "thanks"):
            production.send_to("AB"[k % 2], sender, message)
    stored = tracker.count_by_sender()
    deadline = time.monotonic() + 30  # publishing runs in the background of each turn
    while True:
        queue.drain()
        published = queue.count_by_sender()
        if all(published[c] >= stored[c] for c in stored) or time.monotonic() > deadline:
            break
        time.sleep(1)
    for sender in senders:
        assert stored[_conversation(sender)] >= 10
    assert published == stored  # every conversation of this run, the earlier tests' too
    keys = collections.Counter((str(e["sender_id"]), e["event"], e["timestamp"]) for e in queue.events)
    assert max(keys.values()) == 1  # no event published twice


# python-socketio's client in the Rasa environment standing in for the widget (as in
# test_handoff.py): asks for a session, prints session_confirm and every bot_uttered as
# JSON lines, and stays connected until stdin closes.
SHOPPER = r"""
import asyncio, json, sys
import socketio

async def main(url):
    sio = socketio.AsyncClient()
    out = lambda kind, data: print(json.dumps({"event": kind, "data": data}), flush=True)
    sio.on("bot_uttered", lambda data: out("bot_uttered", data))
    sio.on("session_confirm", lambda data: out("session_confirm", data))
    await sio.connect(url, transports=["polling"], socketio_path="/socket.io")
    await sio.emit("session_request", {})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sio.disconnect()

asyncio.run(main(sys.argv[1]))
"""


def _next_event(proc: subprocess.Popen[str], kind: str, timeout_s: float = 30) -> dict[str, Any]:
    assert proc.stdout is not None
    found: list[dict[str, Any]] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == kind:
                found.append(event)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found:
        raise AssertionError(f"no {kind} from the socket.io client within {timeout_s:.0f} s")
    return found[0]


def test_a_staff_message_relayed_by_one_process_reaches_a_page_on_the_other(production: ProductionStack) -> None:
    shopper = subprocess.Popen([str(RASA_PY), "-c", SHOPPER, production.url("A")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        session_id = str(_next_event(shopper, "session_confirm")["data"]).split(".", 1)[0]
        message = {"text": "Hi, Sam here. I'm looking at your order.", "agent_name": "Sam"}
        assert relay.deliver_sync(rasa_url=production.url("B"), secret=RELAY_SECRET, sender_id=session_id,
                                  channel="socketio", message=message)
        assert _next_event(shopper, "bot_uttered")["data"] == message
    finally:
        if shopper.stdin is not None:
            shopper.stdin.close()
        try:  # a polling client's goodbye waits for its open long poll (up to 25 s)
            shopper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            shopper.kill()
    # the page is gone: B says so (the console keeps the message for later)
    assert not relay.deliver_sync(rasa_url=production.url("B"), secret=RELAY_SECRET, sender_id=session_id,
                                  channel="socketio", message={"text": "Still there?"})


def test_a_lock_store_that_does_not_answer_stops_rasa_at_start(production: ProductionStack) -> None:
    port = closed_port()
    log = production.workdir / "rasa-no-redis.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(production.rasa_args(free_port()), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env=production.env(RASA_LOCK_STORE_PORT=str(port)))
    try:
        rc = proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("Rasa kept running with a lock store that does not answer") from None
    said = log.read_text(errors="replace")
    assert rc != 0
    assert f"the lock store's Redis at {REDIS_HOST}:{port} db {REDIS_DB} does not answer" in said, said[-3000:]


def test_the_lock_store_redis_stopped_during_turns(production: ProductionStack, lock_redis: LockRedis,
                                                  tracker: Tracker) -> None:
    if lock_redis.binary is None:
        pytest.skip("redis-server is not installed: the lock store is on the shared Redis, which is not stopped")
    sender = f"lockdown-{uuid.uuid4().hex[:8]}"
    assert texts(production.send_to("A", sender, "hi"))
    lock_redis.stop()
    try:
        for which in "AB":
            started = time.monotonic()
            reply = texts(production.send_to(which, sender, "what can you do?"))
            took = time.monotonic() - started
            print(f"lock store down: {which} answered {reply!r} in {took:.2f} s")
            assert reply == APOLOGY
            assert took < 10
    finally:
        lock_redis.start()
    assert "order" in texts(production.send_to("B", sender, "what can you do?")).lower()
    assert all(production.alive()), production.logs()
    turns = _turns(tracker.events(_conversation(sender)))
    assert [t[0]["text"] for t in turns] == ["hi", "what can you do?"]  # the refused ones never reached it
    assert all(_well_formed(t) for t in turns)


def _rabbitmqctl_missing() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not installed: cannot restart RabbitMQ"
    if os.geteuid() != 0:
        return "restarting RabbitMQ with rabbitmqctl needs root"
    return None


def test_rabbitmq_restarted_during_turns(production: ProductionStack, tracker: Tracker, queue: Queue) -> None:
    reason = _rabbitmqctl_missing()
    if reason:
        pytest.skip(reason)
    queue.drain()  # what earlier tests left
    before = collections.Counter(queue.count_by_sender())
    turns: list[tuple[str, float, bool, float]] = []  # (conversation, started at, answered, seconds)
    stop = threading.Event()

    def talk() -> None:
        k = 0
        while not stop.is_set():
            sender = f"restart-{uuid.uuid4().hex[:8]}"
            started = time.monotonic()
            try:
                answered = bool(texts(production.send_to("AB"[k % 2], sender, "hi")))
            except httpx.HTTPError:
                answered = False
            turns.append((_conversation(sender), started, answered, time.monotonic() - started))
            k += 1

    talker = threading.Thread(target=talk)
    talker.start()
    try:
        time.sleep(5)
        down_at = time.monotonic()
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=120)
        time.sleep(5)
    finally:
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=300)
    back_at = time.monotonic()
    time.sleep(25)  # aio-pika reconnects (every 5 s), then more turns
    stop.set()
    talker.join(timeout=300)

    assert all(production.alive()), production.logs()
    assert turns and all(t[2] for t in turns), [t for t in turns if not t[2]]
    stored = tracker.count_by_sender()
    deadline = time.monotonic() + 30
    while True:
        queue.drain()
        published = queue.count_by_sender() - before
        late = [t[0] for t in turns if t[1] > back_at + 10]
        if all(published[c] == stored[c] for c in late) or time.monotonic() > deadline:
            break
        time.sleep(1)
    during = [t for t in turns if down_at - 2 <= t[1] <= back_at + 10]
    calm = [t for t in turns if t[1] < down_at - 2 or t[1] > back_at + 10]
    lost = sum(stored[t[0]] - published[t[0]] for t in during)
    print(f"RabbitMQ restart (down {back_at - down_at:.1f} s): {len(turns)} turns, {len(during)} around the outage "
          f"(slowest {max(t[3] for t in during):.2f} s, others' slowest {max(t[3] for t in calm):.2f} s), "
          f"events stored {sum(stored[t[0]] for t in during)}, reached the queue "
          f"{sum(published[t[0]] for t in during)}, missing {lost}; {len(late)} turns after it, events missing "
          f"{sum(stored[c] - published[c] for c in late)}")
    assert late, "no turns after the restart"
    assert all(published[c] == stored[c] for c in late), {c: (stored[c], published[c]) for c in late}
