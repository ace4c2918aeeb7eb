"""Hostile tests of the REST channel (``bot.channels.SafeRestInput``) on Rasa's own app
in the Rasa environment (tests/security/channel_server.py): the bearer token, channel-
scoped conversation ids, signed customer ids, rate limits shared through real Redis (and
the in-process fallback), the body size limit and the apology when the bot says nothing.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from bot.rest_auth import DISABLED_REASON, rest_refusal
from protocol.identity import sign_customer_id
from tests.security.channel_server import (
    IDENTITY_SECRET,
    MAX_BODY_BYTES,
    RASA_PY,
    REST_TOKEN,
    ChannelServer,
    channel_servers,
    server_env,
    socket_client,
)

REDIS_URL = "redis://127.0.0.1:6379/15"
APOLOGY = "Sorry, something went wrong on my side. Please try again."


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


pytestmark = [pytest.mark.rasa,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]


class _Gate(BaseHTTPRequestHandler):
    """Stand-in for the action server's handoff gate endpoint: "to people" goes to
    people (no replies), everything else to the bot."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        route = "agent" if body.get("text") == "to people" else "bot"
        out = json.dumps({"route": route, "replies": [], "handoff_id": 1 if route == "agent" else None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def gate_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    server.shutdown()


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    if not _redis_up():
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    prefix = f"test-h1-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


@pytest.fixture(scope="module")
def servers(gate_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        list[ChannelServer]]:
    """Two processes sharing real Redis (5 messages a minute per conversation), and one
    whose Redis is unreachable (4 messages a minute per client address)."""
    gate = {"ACTION_SERVER_URL": gate_url, "SHOP_RELAY_SECRET": "relay-secret-for-tests"}
    shared = server_env(SHOP_REDIS_URL=REDIS_URL, TEST_REDIS_PREFIX=redis_prefix, SHOP_RATE_PER_SENDER_PER_MIN="5",
                        SHOP_RATE_PER_CLIENT_PER_MIN="10000", **gate)
    fallback = server_env(SHOP_REDIS_URL="redis://127.0.0.1:1/0", SHOP_RATE_PER_SENDER_PER_MIN="10000",
                          SHOP_RATE_PER_CLIENT_PER_MIN="4", **gate)
    with channel_servers([shared, dict(shared), fallback], tmp_path_factory.mktemp("rest-servers")) as started:
        yield started


@pytest.fixture
def server(servers: list[ChannelServer]) -> ChannelServer:
    return servers[0]


def _sender() -> str:
    return f"h1-{uuid.uuid4().hex[:10]}"


# --- the bearer token --------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic " + REST_TOKEN}, {"Authorization": "Bearer"},
                                     {"Authorization": REST_TOKEN}])
def test_rest_without_a_bearer_token_is_401_and_nothing_is_stored(server: ChannelServer,
                                                                   headers: dict[str, str]) -> None:
    sender = _sender()
    out = server.post({"sender": sender, "message": "where is my order"}, token=None, headers=headers)
    assert out.status_code == 401 and out.headers.get("WWW-Authenticate") == "Bearer"
    assert server.user_events(f"rest:{sender}") == []


@pytest.mark.parametrize("token", ["wrong", REST_TOKEN[:-1], REST_TOKEN + "x", REST_TOKEN.upper()])
def test_rest_with_a_wrong_token_is_403_and_nothing_is_stored(server: ChannelServer, token: str) -> None:
    sender = _sender()
    assert server.post({"sender": sender, "message": "hi"}, token=token).status_code == 403
    assert server.post(b"not even json", token=token).status_code == 403  # refused before the body is read
    assert server.user_events(f"rest:{sender}") == []


def test_rest_is_disabled_without_a_configured_token() -> None:
    assert rest_refusal(f"Bearer {REST_TOKEN}", token="") == (403, DISABLED_REASON)
    assert rest_refusal(None, token="") == (403, DISABLED_REASON)
    assert rest_refusal(f"Bearer {REST_TOKEN}", token=REST_TOKEN) is None
    assert rest_refusal(f"bearer  {REST_TOKEN} ", token=REST_TOKEN) is None


# --- conversation ids scoped by channel ---------------------------------------------------

def test_rest_cannot_continue_a_widget_conversation(server: ChannelServer) -> None:
    confirmed = socket_client(server, [["request", None], ["wait", 0.3]])["events"]
    token = confirmed[0][1]
    session_id = token.split(".")[0]
    socket_client(server, [["request", token], ["say", token, "my widget message"], ["wait", 1]])
    widget_before = server.user_events(session_id)
    assert [e["text"] for e in widget_before] == ["my widget message"]
    out = server.post({"sender": session_id, "message": "I am the widget now"})
    assert out.status_code == 200 and out.json()[0]["recipient_id"] == session_id  # answered as sent
    assert server.user_events(session_id) == widget_before  # the widget's tracker is untouched
    assert [e["text"] for e in server.user_events(f"rest:{session_id}")] == ["I am the widget now"]


@pytest.mark.parametrize("victim", ["123456789", "U024BE7LH", "whatsapp:+15551234567"])
def test_rest_cannot_reach_messaging_app_conversations(server: ChannelServer, victim: str) -> None:
    out = server.post({"sender": victim, "message": "cancel my order"})
    assert out.status_code == 200 and all(m["recipient_id"] == victim for m in out.json())
    assert server.user_events(victim) == []
    events = server.user_events(f"rest:{victim}")
    assert [e["text"] for e in events] == ["cancel my order"] and events[0]["input_channel"] == "rest"


# --- signed customer ids ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["expired", "forged", "other-secret", "extended", "unsigned", "valid"])
def test_customer_id_needs_an_unexpired_signature_of_the_shop(server: ChannelServer, kind: str) -> None:
    now = int(time.time())
    sig = {
        "expired": sign_customer_id("7", IDENTITY_SECRET, expires_at=now - 1),
        "forged": sign_customer_id("8", IDENTITY_SECRET, expires_at=now + 3600),
        "other-secret": sign_customer_id("7", "not-the-shop", expires_at=now + 3600),
        "extended": f"{now + 10**7}.{sign_customer_id('7', IDENTITY_SECRET, expires_at=now - 1).split('.')[1]}",
        "unsigned": None,
        "valid": sign_customer_id("7", IDENTITY_SECRET, expires_at=now + 3600),
    }[kind]
    sender = _sender()
    assert server.post({"sender": sender, "message": "my orders",
                        "metadata": {"customer_id": "7", "customer_sig": sig}}).status_code == 200
    metadata = server.user_events(f"rest:{sender}")[0]["metadata"]
    assert metadata.get("customer_id") == ("7" if kind == "valid" else None)


# --- rate limits ----------------------------------------------------------------------------

def test_conversation_rate_limit_holds_across_two_processes_through_redis(servers: list[ChannelServer]) -> None:
    first, second = servers[0], servers[1]
    sender = _sender()
    statuses = [first.post({"sender": sender, "message": f"m{i}"}).status_code for i in range(3)]
    statuses += [second.post({"sender": sender, "message": f"m{i}"}).status_code for i in range(3, 5)]
    assert statuses == [200] * 5
    over = second.post({"sender": sender, "message": "one too many"})
    assert over.status_code == 429 and 0 < int(over.headers["Retry-After"]) <= 61 and "error" in over.json()
    assert first.post({"sender": sender, "message": "and here"}).status_code == 429
    assert len(first.user_events(f"rest:{sender}")) == 3 and len(second.user_events(f"rest:{sender}")) == 2
    assert second.post({"sender": _sender(), "message": "another conversation"}).status_code == 200


def test_client_rate_limit_counts_in_process_when_redis_is_unreachable(servers: list[ChannelServer]) -> None:
    fallback = servers[2]
    senders = [_sender() for _ in range(6)]
    statuses = [fallback.post({"sender": s, "message": "hi"}).status_code for s in senders]
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429, 429]
    assert fallback.user_events(f"rest:{senders[4]}") == []
    assert "Redis unusable" in fallback.log.read_text()


# --- body size, apology ---------------------------------------------------------------------

def test_an_oversized_body_is_413_before_it_is_parsed(server: ChannelServer) -> None:
    sender = _sender()
    big = json.dumps({"sender": sender, "message": "x" * MAX_BODY_BYTES}).encode()
    assert server.post(big).status_code == 413
    assert server.post(b"[" * (MAX_BODY_BYTES * 4)).status_code == 413
    assert server.post(b"x" * (MAX_BODY_BYTES + 1), token=None).status_code == 413
    assert server.user_events(f"rest:{sender}") == []
    fits = json.dumps({"sender": sender, "message": "x" * 1000}).encode()
    assert server.post(fits).status_code == 200


@pytest.mark.parametrize("text", ["silent", "boom"])
def test_a_bot_that_says_nothing_or_fails_apologises(server: ChannelServer, text: str) -> None:
    out = server.post({"sender": _sender(), "message": text})
    assert out.status_code == 200 and [m.get("text") for m in out.json()] == [APOLOGY]


def test_no_apology_when_people_have_the_conversation_or_on_restart(server: ChannelServer) -> None:
    sender = _sender()
    assert server.post({"sender": sender, "message": "to people"}).json() == []
    assert server.post({"sender": sender, "message": "/restart"}).json() == []
    assert server.post({"sender": sender, "message": "hello"}).json() == [{"recipient_id": sender,
                                                                          "text": "echo: hello"}]
