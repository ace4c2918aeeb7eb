"""The handoff gate and the agent relay, the parts that run without the servers: the
gate's routing of one message and reading of the endpoint's answer
(protocol/handoff.py), the endpoint's access rules, body reading, sentiment memory
and decision with REST delivery (actions/handoff_api.py), the relay's checks and its
client (shop/handoff/relay.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from actions.handoff_api import RecentScores, access_refused, gate_step, read_inbound
from protocol import handoff as hp
from protocol.replay import MemorySeen
from shop.db.engine import session_scope
from shop.db.schema import Handoff, HandoffMessage, StaffUser
from shop.handoff import relay
from shop.handoff import states as hs
from shop.handoff.handoff_config import parse_config

NOW = datetime(2026, 11, 25, 12, 0, 0)
CONFIG = parse_config({"triggers": {"topics": [{"team": "payments", "phrases": ["chargeback"]}]},
                       "business_hours": {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                          "open": "00:00", "close": "23:59"}})
SECRET = "relay-secret-for-tests"


# --- the gate's routing (bot side) ---


class Recorder:
    def __init__(self, decision: hp.Decision) -> None:
        self.decision = decision
        self.sent: list[dict[str, Any]] = []
        self.dialogue_runs = 0

    async def ask(self) -> hp.Decision:
        return self.decision

    async def send(self, replies: list[dict[str, Any]]) -> None:
        self.sent.extend(replies)

    async def dialogue(self) -> None:
        self.dialogue_runs += 1

    async def run(self) -> hp.Decision:
        return await hp.route_message(ask=self.ask, send=self.send, dialogue=self.dialogue)


async def test_route_agent_sends_replies_and_skips_the_dialogue() -> None:
    rec = Recorder(hp.Decision("agent", [{"text": "You're next."}], 7))
    assert (await rec.run()).handoff_id == 7
    assert rec.sent == [{"text": "You're next."}] and rec.dialogue_runs == 0


async def test_route_bot_runs_the_dialogue_after_pending_replies() -> None:
    rec = Recorder(hp.Decision("bot", [{"text": "Bye from Ana", "agent_name": "Ana"}]))
    await rec.run()
    assert rec.sent == [{"text": "Bye from Ana", "agent_name": "Ana"}] and rec.dialogue_runs == 1
    silent = Recorder(hp.TO_BOT)
    await silent.run()
    assert silent.sent == [] and silent.dialogue_runs == 1


@pytest.mark.parametrize(("data", "expected"), [
    ({"route": "bot", "replies": [], "handoff_id": None}, hp.Decision("bot", [], None)),
    ({"route": "agent", "replies": [{"text": "hi", "extra": 1}, {"text": ""}], "handoff_id": 3},
     hp.Decision("agent", [{"text": "hi"}], 3)),
    ({"route": "agent", "replies": [{"custom": {"type": "x"}, "agent_name": "Ana"}]},
     hp.Decision("agent", [{"custom": {"type": "x"}, "agent_name": "Ana"}], None)),
    ({"route": "agent", "handoff_id": True}, hp.Decision("agent", [], None)),
])
def test_parse_decision_reads_good_answers(data: dict[str, Any], expected: hp.Decision) -> None:
    assert hp.parse_decision(data) == expected


@pytest.mark.parametrize("data", [
    None, [], "agent", {"route": "human"}, {"route": "agent", "replies": "hi"},
    {"route": "agent", "replies": ["hi"]}, {"route": "agent", "replies": [{"text": 5}]},
    {"route": "agent", "replies": [{"text": "x", "custom": "y"}]},
])
def test_parse_decision_refuses_malformed_answers(data: Any) -> None:
    assert hp.parse_decision(data) is None


# --- the relay's checks (bot side) ---


def test_relay_refusals() -> None:
    body = json.dumps({"sender_id": "s", "channel": "rest", "message": {"text": "hi"}}).encode()
    good = hp.signed_headers(body, SECRET)
    seen = MemorySeen()
    assert hp.relay_refusal(body, good, secret="", seen=seen)[0] == 503
    assert hp.relay_refusal(body, {}, secret=SECRET, seen=seen)[0] == 401
    assert hp.relay_refusal(body, {**good, hp.SIGNATURE_HEADER: "0" * 64}, secret=SECRET, seen=seen)[0] == 403
    assert hp.relay_refusal(body + b" ", good, secret=SECRET, seen=seen)[0] == 403  # forged body
    assert hp.relay_refusal(b"x" * (64 * 1024 + 1), good, secret=SECRET, seen=seen)[0] == 413
    upper = {**good, hp.SIGNATURE_HEADER: good[hp.SIGNATURE_HEADER].upper()}
    assert hp.relay_refusal(body, upper, secret=SECRET, seen=seen) is None
    assert hp.relay_refusal(body, good, secret=SECRET, seen=seen)[0] == 403  # the same nonce again: a replay


def test_read_relay_request() -> None:
    ok = hp.read_relay_request(json.dumps({"sender_id": "123", "channel": "telegram", "message": {
        "text": "x" * 5000, "agent_name": "  Ana  ", "custom": {"type": "offer"}, "html": "<b>"}}).encode())
    assert ok == ("123", "telegram", {"text": "x" * 4000, "custom": {"type": "offer"}, "agent_name": "Ana"})
    for bad in (b"nope", b"[]", b'{"channel": "rest", "message": {"text": "a"}}',
                b'{"sender_id": "s", "message": {"text": "a"}}', b'{"sender_id": "s", "channel": "rest"}',
                b'{"sender_id": "s", "channel": "rest", "message": {"text": "  "}}'):
        assert isinstance(hp.read_relay_request(bad), str), bad


def test_messaging_apps_get_the_name_in_the_text() -> None:
    assert hp.labelled_for_messaging({"text": "Hello", "agent_name": "Ana"})["text"] == "Ana (team): Hello"
    assert hp.labelled_for_messaging({"text": "Hello"}) == {"text": "Hello"}


# --- the endpoint (action server) ---


def test_endpoint_access_rules() -> None:
    body = b'{"sender_id": "s"}'
    good = hp.signed_headers(body, SECRET)
    seen = MemorySeen()
    # without a secret nobody may use it, loopback or not (a proxy makes everyone loopback)
    assert access_refused(body=body, headers=good, secret="", seen=seen)[0] == 503
    assert access_refused(body=body, headers={}, secret=SECRET, seen=seen)[0] == 401
    assert access_refused(body=body, headers={**good, hp.SIGNATURE_HEADER: "ab"}, secret=SECRET, seen=seen)[0] == 403
    assert access_refused(body=body, headers=good, secret=SECRET, seen=seen) is None
    assert access_refused(body=b"x" * 300_000, headers=good, secret=SECRET, seen=seen)[0] == 413


def test_read_inbound() -> None:
    fields = read_inbound(json.dumps({"sender_id": "s1", "channel": "rest", "text": "hi", "customer_id": "42",
                                      "history": [{"author": "bot", "text": "a"}, "junk"] + [{}] * 30}).encode())
    assert isinstance(fields, dict)
    assert (fields["customer_id"], len(fields["history"])) == (42, 20)
    assert read_inbound(json.dumps({"sender_id": "s1", "channel": "rest", "text": "hi",
                                    "customer_id": "1 OR 1=1"}).encode())["customer_id"] is None
    for bad in (b"{", b'{"channel": "rest", "text": "x"}', b'{"sender_id": "s", "text": "x"}',
                b'{"sender_id": "s", "channel": "rest", "text": 5}'):
        assert isinstance(read_inbound(bad), str), bad


def test_recent_scores_are_bounded() -> None:
    scores = RecentScores(max_conversations=2, keep=3)
    for v in (-0.1, -0.2, -0.3, -0.4):
        latest = scores.add("a", v)
    assert latest == [-0.2, -0.3, -0.4]
    scores.add("b", 0.1)
    scores.add("c", 0.2)  # "a" is the least recently used: dropped
    assert len(scores) == 2 and scores.add("a", 0.0) == [0.0]
    scores.reset("a")
    assert scores.add("a", 0.5) == [0.5]


def test_gate_step_hands_off_on_anger_and_delivers_staff_messages_over_rest(db_url: str) -> None:
    scores = RecentScores()
    step = dict(channel="rest", customer_id=None, config=CONFIG, now=NOW, scores=scores)
    earlier = NOW.replace(tzinfo=timezone.utc).timestamp() - 60
    history = [{"author": "shopper", "text": "where is my order?", "at": earlier}]
    with session_scope(db_url) as s:
        first = gate_step(s, sender_id="g1", text="This is terrible, my order is late again!", history=history, **step)
        assert first == {"route": "bot", "replies": [], "handoff_id": None}
        second = gate_step(s, sender_id="g1", text="Your service is useless and awful.", history=history, **step)
        assert second["route"] == "agent" and "Nobody from our team" in second["replies"][0]["text"]
        handoff = s.get(Handoff, second["handoff_id"])
        assert handoff.reason == "sentiment"
        assert s.scalar(select(HandoffMessage.text).where(HandoffMessage.handoff_id == handoff.id)
                        .order_by(HandoffMessage.id)) == "where is my order?"
        assert len(scores) == 0  # counting starts afresh after a handoff

        ana = StaffUser(email="ana@shop.test", name="Ana", password_hash="x", role="agent", teams=["support"],
                        created_at=NOW)
        s.add(ana)
        s.flush()
        hs.accept(s, handoff_id=handoff.id, staff_user_id=ana.id, now=NOW)
        hs.record_message(s, handoff_id=handoff.id, author="agent", text="Hi, Ana here.", now=NOW,
                          staff_user_id=ana.id)
        third = gate_step(s, sender_id="g1", text="hello?", history=[], **step)
        assert third["replies"] == [{"text": "Hi, Ana here.", "agent_name": "Ana"}]
        assert gate_step(s, sender_id="g1", text="still there?", history=[], **step)["replies"] == []

        # another channel claiming the same sender id never gets this REST handoff's messages
        hs.record_message(s, handoff_id=handoff.id, author="agent", text="Pending", now=NOW, staff_user_id=ana.id)
        other = gate_step(s, sender_id="g1", text="ok", history=[], **{**step, "channel": "socketio"})
        assert other == {"route": "agent", "replies": [], "handoff_id": handoff.id}
        assert gate_step(s, sender_id="g1", text="ok", history=[], **step)["replies"] == [
            {"text": "Pending", "agent_name": "Ana"}]

        topic = gate_step(s, sender_id="g2", text="I want to file a chargeback", history=[], **step)
        assert topic["route"] == "agent" and s.get(Handoff, topic["handoff_id"]).team == "payments"


# --- the relay client (console side) ---


@pytest.fixture()
def fake_relay() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for the Rasa server's relay that checks signatures like the real one."""
    seen: list[dict[str, Any]] = []
    nonces = MemorySeen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            refused = hp.relay_refusal(body, self.headers, secret=SECRET, seen=nonces)
            if refused:
                status, answer = refused[0], {"error": refused[1]}
            else:
                sender, channel, message = hp.read_relay_request(body)  # type: ignore[misc]
                seen.append({"sender": sender, "channel": channel, "message": message})
                status = 200
                answer = {"delivered": False, "reason": hp.REST_NO_PUSH} if channel == "rest" else {"delivered": True}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


async def test_relay_client_signs_and_reads_the_answer(fake_relay: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = fake_relay
    message = {"text": "Hi, I'm Ana", "agent_name": "Ana"}
    assert await relay.deliver(rasa_url=url, secret=SECRET, sender_id="123", channel="telegram", message=message)
    assert not relay.deliver_sync(rasa_url=url + "/", secret=SECRET, sender_id="s", channel="rest", message=message)
    assert [s["channel"] for s in seen] == ["telegram", "rest"] and seen[0]["message"] == message
    with pytest.raises(relay.RelayError) as refused:
        await relay.deliver(rasa_url=url, secret="wrong", sender_id="s", channel="rest", message=message)
    assert refused.value.status == 403
    with pytest.raises(relay.RelayError, match="not set"):
        relay.deliver_sync(rasa_url=url, secret="", sender_id="s", channel="rest", message=message)
    with pytest.raises(relay.RelayError, match="unreachable"):
        await relay.deliver(rasa_url="http://127.0.0.1:9", secret=SECRET, sender_id="s", channel="rest",
                            message=message, timeout_s=1)
