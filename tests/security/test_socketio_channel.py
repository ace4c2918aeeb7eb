"""Hostile tests of the web widget's socket.io channel (``bot.channels.ShopSocketIOInput``)
on Rasa's own app in the Rasa environment (tests/security/channel_server.py), driven by
a widget stand-in on python-socketio's client: server-issued session tokens, rooms,
signed customer ids, rate limits (real Redis and the in-process fallback), allowed page
origins, the apology, and staff messages delivered on a valid reconnect."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.widget_origins import allowed_origins
from protocol.identity import issue_session, session_of, sign_customer_id
from tests.security.channel_server import (
    IDENTITY_SECRET,
    PUBLIC_URL,
    RASA_PY,
    SESSION_SECRET,
    ChannelServer,
    channel_servers,
    server_env,
    socket_client,
)

REDIS_URL = "redis://127.0.0.1:6379/15"
LOST = "Sorry, I lost track of this chat. Please reload the page."
APOLOGY = "Sorry, something went wrong on my side. Please try again."
TOKEN_RE = re.compile(r"^[0-9a-f]{32}\.[0-9]+\.[0-9a-f]{64}$")

pytestmark = [pytest.mark.rasa,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ChannelServer]]:
    """One server on real Redis (3 messages a minute per conversation) when it answers,
    and one whose Redis is unreachable (3 messages a minute per client address)."""
    try:
        redis_up = bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        redis_up = False
    prefix = f"test-h1-sio-{uuid.uuid4().hex[:12]}:"
    shared = server_env(SHOP_REDIS_URL=REDIS_URL if redis_up else "", TEST_REDIS_PREFIX=prefix,
                        SHOP_RATE_PER_SENDER_PER_MIN="3", SHOP_RATE_PER_CLIENT_PER_MIN="10000")
    fallback = server_env(SHOP_REDIS_URL="redis://127.0.0.1:1/0", SHOP_RATE_PER_SENDER_PER_MIN="10000",
                          SHOP_RATE_PER_CLIENT_PER_MIN="3")
    try:
        with channel_servers([shared, fallback], tmp_path_factory.mktemp("sio-servers")) as started:
            yield started
    finally:
        if redis_up:
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)


@pytest.fixture
def server(servers: list[ChannelServer]) -> ChannelServer:
    return servers[0]


def _named(events: list[list[object]], name: str) -> list[object]:
    return [data for kind, data in events if kind == name]


def _new_session(server: ChannelServer) -> tuple[str, str]:
    """(session id, token) of a session the server issued."""
    token = _named(socket_client(server, [["request", None]])["events"], "session_confirm")[0]
    assert isinstance(token, str)
    return token.split(".")[0], token


# --- sessions are issued by the server ---------------------------------------------------

def test_a_new_session_is_a_signed_32_hex_token(server: ChannelServer) -> None:
    session_id, token = _new_session(server)
    assert TOKEN_RE.match(token) and session_of(token, SESSION_SECRET, now=time.time()) == session_id


@pytest.mark.parametrize("chosen", ["abcdefgh", "victim-session-1", "0" * 32])
def test_a_client_chosen_id_gets_a_new_session_and_cannot_talk_as_it(server: ChannelServer, chosen: str) -> None:
    out = socket_client(server, [["request", chosen], ["say", chosen, "as the victim"]])["events"]
    token = _named(out, "session_confirm")[0]
    assert isinstance(token, str) and not token.startswith(chosen + ".")
    assert _named(out, "bot_uttered") == [{"text": LOST}]
    assert server.user_events(chosen) == []


@pytest.mark.parametrize("kind", ["forged", "expired", "other-secret", "raw-id"])
def test_a_bad_token_does_not_rejoin_the_session(server: ChannelServer, kind: str) -> None:
    victim, victim_token = _new_session(server)
    socket_client(server, [["request", victim_token], ["say", victim_token, "private"], ["wait", 0.5]])
    before = server.user_events(victim)
    bad = {
        "forged": f"{victim}.{int(time.time()) + 3600}.{'0' * 64}",
        "expired": issue_session(SESSION_SECRET, now=time.time() - 7200, ttl_s=60, session_id=victim)[1],
        "other-secret": issue_session("not-the-server", now=time.time(), session_id=victim)[1],
        "raw-id": victim,
    }[kind]
    out = socket_client(server, [["request", bad], ["say", bad, "let me in"], ["wait", 0.5]])["events"]
    issued = _named(out, "session_confirm")[0]
    assert isinstance(issued, str) and issued.split(".")[0] != victim  # a new session, not the victim's
    assert _named(out, "bot_uttered") == [{"text": LOST}]
    assert server.user_events(victim) == before and len(before) == 1


def test_a_valid_token_resumes_with_a_fresh_token_and_gets_waiting_staff_messages(server: ChannelServer) -> None:
    session_id, token = _new_session(server)
    assert not any(c["sender_id"] == session_id for c in server.pending_calls())  # a new session has none
    time.sleep(1.1)
    out = socket_client(server, [["request", token], ["say", token, "I'm back"], ["wait", 1]])["events"]
    fresh = _named(out, "session_confirm")[0]
    assert isinstance(fresh, str) and fresh.split(".")[0] == session_id and fresh != token
    assert int(fresh.split(".")[1]) > int(token.split(".")[1])  # sliding expiry
    replies = _named(out, "bot_uttered")
    assert replies[0] == {"text": f"A staff message waiting for {session_id}", "agent_name": "Sam"}
    assert {"text": "echo: I'm back"} in replies
    assert {"sender_id": session_id, "channel": "socketio"} in server.pending_calls()
    assert [e["text"] for e in server.user_events(session_id)] == ["I'm back"]


def test_user_uttered_for_a_room_not_joined_is_refused(server: ChannelServer) -> None:
    victim, victim_token = _new_session(server)
    out = socket_client(server, [["request", None], ["say", victim_token, "hijack"], ["wait", 0.5]])["events"]
    assert _named(out, "bot_uttered") == [{"text": LOST}] and len(_named(out, "bot_done")) == 1
    assert server.user_events(victim) == []
    # without any session_request at all
    out = socket_client(server, [["say", victim_token, "hijack"], ["wait", 0.5]])["events"]
    assert _named(out, "bot_uttered") == [{"text": LOST}] and server.user_events(victim) == []


@pytest.mark.parametrize("payload", [None, "text", ["list"], {"message": "no session"}, {"session_id": 5}])
def test_malformed_events_do_not_reach_the_dialogue(server: ChannelServer, payload: object) -> None:
    out = socket_client(server, [["raw", "session_request", payload], ["raw", "user_uttered", payload],
                                 ["wait", 0.5]])
    assert out["connected"] and _named(out["events"], "bot_uttered") == [{"text": LOST}]


# --- customer ids, rate limits, apology -----------------------------------------------------

@pytest.mark.parametrize("kind", ["expired", "forged", "valid"])
def test_customer_id_over_socketio_needs_an_unexpired_signature(server: ChannelServer, kind: str) -> None:
    now = int(time.time())
    sig = {"expired": sign_customer_id("9", IDENTITY_SECRET, expires_at=now - 10),
           "forged": sign_customer_id("9", "made-up", expires_at=now + 600),
           "valid": sign_customer_id("9", IDENTITY_SECRET, expires_at=now + 600)}[kind]
    session_id, token = _new_session(server)
    socket_client(server, [["request", token], ["say", token, "my orders", {"customer_id": "9", "customer_sig": sig}],
                           ["wait", 0.5]])
    metadata = server.user_events(session_id)[0]["metadata"]
    assert metadata.get("customer_id") == ("9" if kind == "valid" else None)


def test_conversation_rate_limit_stops_a_flood(server: ChannelServer) -> None:
    session_id, token = _new_session(server)
    steps: list[list[object]] = [["request", token]] + [["say", token, f"m{i}"] for i in range(6)] + [["wait", 1]]
    out = socket_client(server, steps)["events"]
    assert len(server.user_events(session_id)) == 3
    limited = [m for m in _named(out, "bot_uttered") if isinstance(m, dict) and "faster" in str(m.get("text"))]
    assert len(limited) == 3 and len(_named(out, "bot_done")) == 6


def test_client_rate_limit_counts_in_process_when_redis_is_unreachable(servers: list[ChannelServer]) -> None:
    fallback = servers[1]
    sessions = [_new_session(fallback) for _ in range(5)]
    for _, token in sessions:
        socket_client(fallback, [["request", token], ["say", token, "hi"], ["wait", 0.3]])
    stored = [len(fallback.user_events(session_id)) for session_id, _ in sessions]
    assert stored == [1, 1, 1, 0, 0]
    assert "Redis unusable" in fallback.log.read_text()


def test_a_silent_bot_apologises_over_socketio(server: ChannelServer) -> None:
    _, token = _new_session(server)
    out = socket_client(server, [["request", token], ["say", token, "silent"], ["wait", 1]])["events"]
    said = [m for m in _named(out, "bot_uttered") if isinstance(m, dict) and "agent_name" not in m]  # not staff's
    assert said == [{"text": APOLOGY}] and len(_named(out, "bot_done")) == 1


# --- page origins ---------------------------------------------------------------------------

def test_only_the_shops_own_origin_may_connect_by_default(server: ChannelServer) -> None:
    assert not socket_client(server, [], headers={"Origin": "http://evil.example"})["connected"]
    assert not socket_client(server, [], headers={"Origin": "http://shop.test:8000.evil.example"})["connected"]
    assert socket_client(server, [], headers={"Origin": PUBLIC_URL})["connected"]


def test_allowed_origins_setting(caplog: pytest.LogCaptureFixture) -> None:
    assert allowed_origins("", public_url="https://shop.example/path?q=1") == ["https://shop.example"]
    assert allowed_origins("https://a.example, https://b.example/", public_url="x") == ["https://a.example",
                                                                                        "https://b.example"]
    with caplog.at_level(logging.WARNING, logger="bot.widget_origins"):
        assert allowed_origins("*", public_url="https://shop.example") == "*"
    assert "any web page" in caplog.text
    with pytest.raises(ValueError, match="SHOP_WIDGET_ORIGINS"):
        allowed_origins("https://a.example,*", public_url="https://shop.example")
    assert allowed_origins("http://127.0.0.1:8000/shop/", public_url="x") == ["http://127.0.0.1:8000"]
    with pytest.raises(ValueError, match="SHOP_WIDGET_ORIGINS"):
        allowed_origins("shop.example", public_url="https://shop.example")
    with pytest.raises(ValueError, match="SHOP_PUBLIC_URL"):
        allowed_origins("", public_url="shop.example")
