"""Hostile tests of the relay and gate signatures (issue 15, finding 2): a signed
request is accepted once. Replays, stale or future timestamps, a forged nonce or body
are refused (403) by the action server's ``/handoff/inbound`` and ``/handoff/pending``
(the real app), by the Rasa server's relay ``/webhooks/agent/send`` (its own
environment, a real server) and across processes when the nonces are in Redis (real
Redis at 127.0.0.1:6379 db 15, keys of this test only)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from protocol.handoff import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_refusal, signed_headers
from protocol.replay import MemorySeen, RedisSeen
from shop.db.engine import session_scope
from shop.db.schema import Handoff, HandoffMessage
from shop.shared_counters import REDIS_ERRORS
from tests.demo_shops import DemoShops
from tests.paths import ROOT
from tests.security.action_app import RELAY_SECRET, configure, served, signed

REDIS_URL = "redis://127.0.0.1:6379/15"
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
CHARGEBACK = {"channel": "rest", "text": "I want to file a chargeback", "history": []}


def shopper_messages(url: str, sender: str) -> int:
    """Shopper messages recorded in the conversation's handoffs."""
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(HandoffMessage)
                        .join(Handoff, Handoff.id == HandoffMessage.handoff_id)
                        .where(HandoffMessage.author == "shopper", Handoff.sender_id == sender))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except REDIS_ERRORS as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    created: list[str] = []
    client.created = created  # type: ignore[attr-defined]
    yield client
    for key in created:
        client.delete(key)
    client.close()


@pytest.fixture
def shop_url(demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> str:
    url = demo_shop(seed=3, scale=0.02)
    configure(monkeypatch, db_url=url)
    return url


async def test_a_replayed_gate_request_is_refused_and_recorded_once(
        shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = signed({"sender_id": "replay-1", **CHARGEBACK})
    async with served(monkeypatch) as client:
        assert (await client.post("/handoff/inbound", content=body, headers=headers)).status_code == 200
        for _ in range(3):
            assert (await client.post("/handoff/inbound", content=body, headers=headers)).status_code == 403
    assert shopper_messages(shop_url, "replay-1") == 1


@pytest.mark.parametrize("skew_s", [-301, 305, -3600, 86400])  # (the stamp is cut to whole seconds)
async def test_a_stale_or_future_timestamp_is_refused(
        shop_url: str, monkeypatch: pytest.MonkeyPatch, skew_s: int) -> None:
    body, headers = signed({"sender_id": "stale-1", **CHARGEBACK}, now=time.time() + skew_s)
    async with served(monkeypatch) as client:
        assert (await client.post("/handoff/inbound", content=body, headers=headers)).status_code == 403
    assert shopper_messages(shop_url, "stale-1") == 0


async def test_a_forged_nonce_timestamp_or_body_is_refused(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = signed({"sender_id": "forged-1", **CHARGEBACK})
    forged_body = body.replace(b"forged-1", b"victim-1")
    attempts = [
        (body, {**headers, NONCE_HEADER: uuid.uuid4().hex}),  # a fresh nonce under the old signature
        (body, {**headers, TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) + 1)}),
        (forged_body, headers),
        (body, {**headers, SIGNATURE_HEADER: signed_headers(body, "guessed-secret")[SIGNATURE_HEADER]}),
        (body, {**headers, NONCE_HEADER: "n" * 129}),
    ]
    async with served(monkeypatch) as client:
        for attempt_body, attempt_headers in attempts:
            answer = await client.post("/handoff/inbound", content=attempt_body, headers=attempt_headers)
            assert answer.status_code == 403, attempt_headers
        missing = {k: v for k, v in headers.items() if k != NONCE_HEADER}
        assert (await client.post("/handoff/inbound", content=body, headers=missing)).status_code == 401
        # the real request still passes: the refusals did not burn its nonce
        assert (await client.post("/handoff/inbound", content=body, headers=headers)).status_code == 200
    assert shopper_messages(shop_url, "forged-1") == 1
    assert shopper_messages(shop_url, "victim-1") == 0


async def test_a_replayed_pending_request_hands_nothing_over(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body, headers = signed({"sender_id": "pending-1", "channel": "socketio"})
    async with served(monkeypatch) as client:
        assert (await client.post("/handoff/pending", content=body, headers=headers)).json() == {"replies": []}
        assert (await client.post("/handoff/pending", content=body, headers=headers)).status_code == 403


def test_two_redis_memories_share_what_they_saw(redis_client: redis.Redis) -> None:
    prefix = f"test-h2-{uuid.uuid4().hex}:"
    body = b'{"sender_id": "s"}'
    headers = signed_headers(body, RELAY_SECRET)
    redis_client.created.append(f"{prefix}relay-nonce:{headers[NONCE_HEADER]}")  # type: ignore[attr-defined]
    first = RedisSeen(redis_client, prefix=prefix, errors=REDIS_ERRORS, fallback=MemorySeen())
    second = RedisSeen(redis.Redis.from_url(REDIS_URL), prefix=prefix, errors=REDIS_ERRORS, fallback=MemorySeen())
    assert signature_refusal(body, headers, secret=RELAY_SECRET, seen=first) is None
    assert signature_refusal(body, headers, secret=RELAY_SECRET, seen=second)[0] == 403  # another process
    assert signature_refusal(body, headers, secret=RELAY_SECRET, seen=first)[0] == 403
    assert redis_client.ttl(f"{prefix}relay-nonce:{headers[NONCE_HEADER]}") > 0  # forgotten after the window


async def test_a_request_replayed_to_another_action_server_process_is_refused(
        shop_url: str, monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis) -> None:
    configure(monkeypatch, db_url=shop_url, redis_url=REDIS_URL)
    body, headers = signed({"sender_id": "redis-1", **CHARGEBACK})
    redis_client.created.append(f"shop:seen:relay-nonce:{headers[NONCE_HEADER]}")  # type: ignore[attr-defined]
    async with served(monkeypatch) as first:  # each app gets its own Redis client and memory
        assert (await first.post("/handoff/inbound", content=body, headers=headers)).status_code == 200
    async with served(monkeypatch) as second:
        assert (await second.post("/handoff/inbound", content=body, headers=headers)).status_code == 403
    assert shopper_messages(shop_url, "redis-1") == 1


RELAY_SCRIPT = r'''
import asyncio, json, os, socket, sys
import aiohttp
from sanic import Sanic
from bot.agent_relay import AgentRelayInput

async def main():
    attempts = json.loads(sys.argv[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Sanic(f"relay_{port}")
    async def on_new_message(message):
        pass
    app.blueprint(AgentRelayInput.from_credentials(None).blueprint(on_new_message), url_prefix="/webhooks/agent")
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
    await server.startup()
    await server.start_serving()
    statuses = []
    async with aiohttp.ClientSession() as session:
        for attempt in attempts:
            async with session.post(f"http://127.0.0.1:{port}/webhooks/agent/send", data=attempt["body"].encode(),
                                    headers=attempt["headers"]) as resp:
                statuses.append(resp.status)
    server.close()
    await server.wait_closed()
    print(json.dumps(statuses))

asyncio.run(main())
'''


def run_relay(attempts: list[tuple[bytes, dict[str, str]]], *, redis_url: str = "") -> list[int]:
    """Post ``attempts`` to the real relay in a Rasa-server process of its own: the statuses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_RELAY_SECRET=RELAY_SECRET, SHOP_REDIS_URL=redis_url)
    arg = json.dumps([{"body": body.decode(), "headers": headers} for body, headers in attempts])
    done = subprocess.run([str(RASA_PY), "-c", RELAY_SCRIPT, arg], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def relay_body(sender: str) -> bytes:
    return json.dumps({"sender_id": sender, "channel": "rest", "message": {"text": "Hi, Ana here."}}).encode()


@pytest.mark.rasa
@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_the_relay_refuses_replays_stale_and_forged_requests() -> None:
    body = relay_body("shopper-1")
    headers = signed_headers(body, RELAY_SECRET)
    stale = signed_headers(body, RELAY_SECRET, now=time.time() - 400)
    assert run_relay([
        (body, headers),  # delivered (REST: no push, but accepted)
        (body, headers),  # the same again: a replay
        (body, stale),
        (relay_body("someone-else"), headers),  # another shopper under the old signature
        (body, {**headers, NONCE_HEADER: uuid.uuid4().hex}),
    ]) == [200, 403, 403, 403, 403]


@pytest.mark.rasa
@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_a_relay_request_replayed_to_another_rasa_process_is_refused(redis_client: redis.Redis) -> None:
    body = relay_body("shopper-2")
    headers = signed_headers(body, RELAY_SECRET)
    redis_client.created.append(f"shop:seen:relay-nonce:{headers[NONCE_HEADER]}")  # type: ignore[attr-defined]
    assert run_relay([(body, headers)], redis_url=REDIS_URL) == [200]
    assert run_relay([(body, headers)], redis_url=REDIS_URL) == [403]  # a new process: Redis remembers
