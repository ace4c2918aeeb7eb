"""The Rasa server's conversation state shared by several processes through the real
Redis (127.0.0.1:6379, db 15, under a prefix of each test's own; skipped, saying why,
when Redis does not answer): each case runs separate OS processes in the Rasa
environment (Python 3.10), each with its own memory, as several Rasa servers behind a
load balancer are.

- "reply with a number" options and Telegram's short button keys written by one
  process are read by another (:mod:`bot.degrade` over :mod:`bot.shared_state`);
- the handoff gate: a conversation handed to people by process A is known on process
  B; A spools a message while the action server is down and is killed with SIGKILL;
  B, which never saw that conversation, posts A's message and its own, in order, when
  the action server is back, and the bot never sees them;
- hostile: another channel claiming the same sender id, an entry copied under another
  conversation's key, a queue item naming another conversation: nothing comes back,
  nothing is posted; no sender id (a WhatsApp phone number) appears in a Redis key;
- Redis down (a port nobody listens on): every store answers from the process's own
  memory, nothing raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.exceptions import RedisError

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
REDIS_URL = "redis://127.0.0.1:6379/15"

pytestmark = [pytest.mark.rasa,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]

COMMON = r'''
import asyncio, json, os, sys
import redis
from redis.exceptions import RedisError
from bot.shared_state import RedisQueues, RedisStrings

URL, PREFIX = sys.argv[1], sys.argv[2]
ERRORS = (RedisError, OSError)
client = redis.Redis.from_url(URL, socket_timeout=0.5, socket_connect_timeout=0.5)
strings = RedisStrings(client, prefix=PREFIX + "str:", errors=ERRORS)
queues = RedisQueues(client, prefix=PREFIX, errors=ERRORS)
'''

NUMBERS = COMMON + r'''
from bot.degrade import CallbackKeys, ReplyNumbers
numbers = ReplyNumbers(shared=lambda: strings)
keys = CallbackKeys(shared=lambda: strings)
LONG = '/add_to_cart{"product_id": 12345, "size": "XL", "colour": "Forest green heather"}'
WHO = ("twilio", "whatsapp:+15551230000")
if sys.argv[3] == "write":
    numbers.remember(WHO, {1: '/product_details{"product_id": 7}', 6: "/more_results"})
    numbers.remember(("telegram", "other"), {1: "/other"})
    print(json.dumps({"key": keys.data_for(LONG)}))
else:
    data = sys.argv[4]
    print(json.dumps({
        "number": numbers.resolve(WHO, "6."), "card": numbers.resolve(WHO, "1"),
        "not_shown": numbers.resolve(WHO, "3"),
        "other_channel": numbers.resolve(("telegram", WHO[1]), "6"),
        "other_sender": numbers.resolve(("twilio", "whatsapp:+15559990000"), "6"),
        "payload": keys.payload_for(data), "unknown_key": keys.payload_for("k:0123456789abcdef"),
    }))
'''

GATE = COMMON + r'''
import signal
from bot import handoff_gate as gate
from tests.relay_standin import GatedChat, RelayStandIn

PORT, ROLE = int(sys.argv[3]), sys.argv[4]
os.environ["ACTION_SERVER_URL"] = f"http://127.0.0.1:{PORT}/webhook"
gate.IN_HANDOFF = gate.HandoffMemory(shared=lambda: strings)
gate.SPOOL = gate.Spool(queues=lambda: queues)
gate.RETRY_FIRST_S = 0.2

def route(data):  # s4 is not with people
    with_people = data["sender_id"] != "s4"
    return {"route": "agent" if with_people else "bot", "replies": [], "handoff_id": 1 if with_people else None}

relay = RelayStandIn(route=route)

chat = GatedChat(gate.gated)
runs = chat.runs

async def say(sender, text):
    return [m.get("text") for m in await chat.say(sender, text)]

async def process_a():
    runner = await relay.start(PORT)
    await say("s1", "I want a person")           # the action server: with people
    await say("s3", "I want a person too")
    await runner.cleanup()                       # the action server goes down
    replies = await say("s1", "are you still there?")
    await say("s3", "hello?")
    print(json.dumps({"replies": replies, "runs": runs, "received": relay.received, "spooled": len(gate.SPOOL)}),
          flush=True)
    os.kill(os.getpid(), signal.SIGKILL)         # killed before its retry could post anything

async def process_b():
    out = {"known": ("socketio", "s1") in gate.IN_HANDOFF,
           "unknown": ("socketio", "s9") in gate.IN_HANDOFF,
           "other_channel": ("rest", "s1") in gate.IN_HANDOFF,
           "waiting_before": len(gate.SPOOL)}
    # hostile: an item naming another conversation pushed into s1's queue
    queues.push(gate.conversation_key("socketio", "s1"),
                {"channel": "socketio", "sender": "victim", "payload": {"sender_id": "victim", "text": "injected"}})
    out["reply_while_down"] = await say("s1", "still waiting")   # queues behind A's message
    out["s4_while_down"] = await say("s4", "hi")                 # not with people: the bot answers
    runner = await relay.start(PORT)                             # the action server is back
    for _ in range(150):
        if not len(gate.SPOOL):
            break
        await asyncio.sleep(0.1)
    out.update(waiting_after=len(gate.SPOOL), received=relay.received, runs=runs)
    await runner.cleanup()
    print(json.dumps(out))

asyncio.run(process_a() if ROLE == "a" else process_b())
'''

FALLBACK = r'''
import asyncio, json, sys
import redis
from redis.exceptions import RedisError
from bot.shared_state import RedisQueues, RedisStrings
from bot.degrade import CallbackKeys, ReplyNumbers

dead = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=0.5, socket_connect_timeout=0.5)
ERRORS = (RedisError, OSError)
strings = RedisStrings(dead, prefix="x:", errors=ERRORS)
queues = RedisQueues(dead, prefix="x:", errors=ERRORS)
numbers = ReplyNumbers(shared=lambda: strings)
keys = CallbackKeys(shared=lambda: strings)
numbers.remember(("telegram", "a"), {2: "/more_results"})
data = keys.data_for("/pick" + "x" * 80)
raw = queues.push("q1", {"n": 1})
queues.push("q1", {"n": 2})
print(json.dumps({"number": numbers.resolve(("telegram", "a"), "2"), "payload": keys.payload_for(data),
                  "items": [i for _, i in queues.items("q1")], "total": queues.total(),
                  "claim": queues.claim("q1", owner="me", ttl_s=5),
                  "claim_other": queues.claim("q1", owner="you", ttl_s=5),
                  "popped": queues.remove("q1", raw), "left": queues.size("q1")}))
'''


@pytest.fixture
def prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    name = f"test:{uuid.uuid4().hex}:"
    yield name
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)
    client.close()


def run(script: str, *args: str, expect_kill: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_RELAY_SECRET="shared-state-secret", SHOP_HANDOFF_GATE_TIMEOUT_S="1")
    done = subprocess.run([str(RASA_PY), "-c", script, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    if expect_kill:
        assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]
    else:
        assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reply_numbers_and_button_keys_written_by_one_process_are_read_by_another(prefix: str) -> None:
    written = run(NUMBERS, REDIS_URL, prefix, "write")
    read = run(NUMBERS, REDIS_URL, prefix, "read", written["key"])
    assert read["number"] == "/more_results" and read["card"] == '/product_details{"product_id": 7}'
    assert read["payload"] == '/add_to_cart{"product_id": 12345, "size": "XL", "colour": "Forest green heather"}'
    assert read["not_shown"] is None and read["unknown_key"] is None
    # hostile: the same sender id on another channel, another sender: nothing
    assert read["other_channel"] is None and read["other_sender"] is None
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in client.scan_iter(match=f"{prefix}*")]
    assert keys and not any("555" in k or "whatsapp" in k for k in keys)  # the phone number is never in a key
    ttl = client.ttl(next(k for k in keys if ":rn:" in k))
    assert 0 < ttl <= 24 * 3600


def test_an_entry_copied_under_another_conversations_key_returns_nothing(prefix: str) -> None:
    run(NUMBERS, REDIS_URL, prefix, "write")
    client = redis.Redis.from_url(REDIS_URL)
    # copy every "reply numbers" entry under the key of the conversation the reader asks as
    victim = run_key(prefix, "twilio", "whatsapp:+15551230000")
    stolen = run_key(prefix, "telegram", "other")
    client.set(victim, client.get(stolen))
    read = run(NUMBERS, REDIS_URL, prefix, "read", "k:0000000000000000")
    assert read["number"] is None and read["card"] is None  # the value names its owner: not this conversation
    forged = "k:" + "0" * 16
    client.set(f"{prefix}str:cb:{forged}", "/cancel_order")  # a payload that does not hash to its key
    assert run(NUMBERS, REDIS_URL, prefix, "read", forged)["payload"] is None


def run_key(prefix: str, channel: str, sender: str) -> str:
    return f"{prefix}str:rn:" + hashlib.sha256(f"{channel}\x00{sender}".encode()).hexdigest()[:32]


def test_the_gate_spool_and_handoff_memory_survive_a_killed_process(prefix: str) -> None:
    port = free_port()
    a = run(GATE, REDIS_URL, prefix, str(port), "a", expect_kill=True)
    assert a["runs"] == [] and a["spooled"] == 2
    assert len(a["replies"]) == 1 and "team will see it" in a["replies"][0]
    assert [r["text"] for r in a["received"]] == ["I want a person", "I want a person too"]

    b = run(GATE, REDIS_URL, prefix, str(port), "b")
    # B never saw these conversations: it knows from Redis that s1 is with people
    assert b["known"] is True and b["unknown"] is False and b["other_channel"] is False
    assert b["waiting_before"] == 2
    assert len(b["reply_while_down"]) == 1 and "team will see it" in b["reply_while_down"][0]
    # once the action server is back, B posts A's spooled messages and its own, in order;
    # s3 (which no message of B's touched) is found by B's look for orphaned spools
    assert b["waiting_after"] == 0
    s1 = [r["text"] for r in b["received"] if r["sender_id"] == "s1"]
    s3 = [r["text"] for r in b["received"] if r["sender_id"] == "s3"]
    assert s1 == ["are you still there?", "still waiting"] and s3 == ["hello?"]
    # hostile: the item naming another conversation was dropped, never posted
    assert all(r["sender_id"] != "victim" and r["text"] != "injected" for r in b["received"])
    # the bot saw only s4, which is not with people
    assert b["runs"] == ["hi"]


def test_redis_down_every_store_answers_from_the_process_memory() -> None:
    out = run(FALLBACK, str(free_port()))
    assert out["number"] == "/more_results" and out["payload"] == "/pick" + "x" * 80
    assert out["items"] == [{"n": 1}, {"n": 2}] and out["total"] == 2
    assert out["claim"] is True and out["claim_other"] is False
    assert out["popped"] is True and out["left"] == 1
