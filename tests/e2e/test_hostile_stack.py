"""The hostile run of issue 15, against the real stack (Rasa server, action server,
relay, socket.io): each probe that once got through now asserts the facts that show it
no longer does (HTTP statuses, tracker events, DB rows, who received which message)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from protocol import handoff as hp
from shop.db.engine import session_scope
from shop.db.schema import Handoff, OfferCode
from tests.e2e.conftest import E2E_RELAY_SECRET
from tests.stack import ROOT, RunningStack, new_sender, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TRACKER = {"sender_id": "probe", "slots": {}, "latest_message": {"text": "hi", "intent": {"name": "greet"}},
           "events": [{"event": "user", "text": "hi", "metadata": {"customer_id": "1"}}],
           "paused": False, "followup_action": None, "active_loop": {}, "latest_action_name": None}
PROBE = {"next_action": "action_request_human", "sender_id": "probe", "tracker": TRACKER,
         "domain": {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": [], "forms": {}},
         "version": "3.6.21"}


def _action_url(stack: RunningStack, path: str) -> str:
    return f"http://127.0.0.1:{stack.action_port}{path}"


def _handoffs(url: str) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(Handoff)))


def _codes(url: str) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(OfferCode)))


@pytest.mark.parametrize("headers", [{}, {"X-Shop-Action-Token": "guess"}, {"X-Shop-Action-Token": ""}])
def test_the_action_server_refuses_callers_without_its_token(stack: RunningStack, e2e_db_url: str,
                                                              headers: dict[str, str]) -> None:
    before = (_handoffs(e2e_db_url), _codes(e2e_db_url))
    resp = httpx.post(_action_url(stack, "/webhook"), json=PROBE, headers=headers, timeout=10)
    assert resp.status_code == 401 and "events" not in resp.text
    assert httpx.get(_action_url(stack, "/actions"), headers=headers, timeout=10).status_code == 401
    assert (_handoffs(e2e_db_url), _codes(e2e_db_url)) == before  # no handoff opened, no code issued


def _listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, _, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_action_server_answers_its_token_and_listens_on_loopback_only(stack: RunningStack) -> None:
    ok = httpx.get(_action_url(stack, "/actions"), headers={"X-Shop-Action-Token": stack.action_token}, timeout=10)
    assert ok.status_code == 200 and any(a.get("name") == "action_request_human" for a in ok.json())
    addresses = _listening_addresses(stack.action_port)
    if not addresses:
        pytest.skip("/proc/net/tcp is not readable here")
    assert addresses == {"0100007F"}  # 127.0.0.1 only: not 0.0.0.0 (00000000) or any other interface


def test_the_gate_endpoint_refuses_unsigned_and_replayed_questions(stack: RunningStack) -> None:
    body = json.dumps({"sender_id": new_sender(), "channel": "rest", "text": "hi", "customer_id": 1,
                       "history": []}).encode()
    url = _action_url(stack, "/handoff/inbound")
    assert httpx.post(url, content=body, timeout=10).status_code == 401
    headers = hp.signed_headers(body, E2E_RELAY_SECRET)
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 403  # replay


def test_a_replayed_staff_message_is_refused(stack: RunningStack) -> None:
    body = json.dumps({"sender_id": new_sender(), "channel": "rest", "message": {"text": "hello"}}).encode()
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/agent/send"
    headers = hp.signed_headers(body, E2E_RELAY_SECRET)
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 403
    stale = hp.signed_headers(body, E2E_RELAY_SECRET, now=time.time() - 3600)
    assert httpx.post(url, content=body, headers=stale, timeout=10).status_code == 403


@pytest.mark.parametrize("headers, status", [({}, 401), ({"Authorization": "Bearer guess"}, 403),
                                             ({"Authorization": "Basic Zm9vOmJhcg=="}, 401)])
def test_rest_needs_the_shop_servers_token(stack: RunningStack, headers: dict[str, str], status: int) -> None:
    sender = new_sender()
    resp = httpx.post(stack.webhook, json={"sender": sender, "message": "hi"}, headers=headers, timeout=30)
    assert resp.status_code == status
    tracker = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/conversations/rest:{sender}/tracker",
                        params={"token": stack.api_token}, timeout=10).json()
    assert not [e for e in tracker.get("events", []) if e.get("event") == "user"]  # nothing reached the dialogue


def test_an_oversized_body_is_refused_before_it_is_read(stack: RunningStack) -> None:
    big = json.dumps({"sender": new_sender(), "message": "x" * (2 * 1024 * 1024)}).encode()
    resp = httpx.post(stack.webhook, content=big, headers={"Content-Type": "application/json", **stack.rest_headers},
                      timeout=30)
    assert resp.status_code == 413


def test_one_conversation_cannot_flood_rest(stack: RunningStack) -> None:
    sender, statuses = new_sender(), []
    with httpx.Client(timeout=30, headers=stack.rest_headers) as client:
        for _ in range(40):
            statuses.append(client.post(stack.webhook, json={"sender": sender, "message": "hi"}).status_code)
    assert statuses.count(429) >= 5 and statuses[0] == 200
    assert new_sender() and stack.send(new_sender(), "hi")  # another conversation is not held up


# The widget's side, on python-socketio's client in the Rasa environment: asks for a
# session (with a token or an id it chose), prints what it receives as JSON lines, sends
# the message given (if any) with the session id it was confirmed, and listens until
# stdin closes.
SOCKET_CLIENT = r"""
import asyncio, json, sys
import socketio

async def main(url, asked, message):
    sio = socketio.AsyncClient()
    out = lambda kind, data: print(json.dumps({"event": kind, "data": data}), flush=True)
    confirmed = asyncio.get_running_loop().create_future()
    sio.on("bot_uttered", lambda data: out("bot_uttered", data))
    sio.on("bot_done", lambda data: out("bot_done", data))
    def confirm(data):
        out("session_confirm", data)
        if not confirmed.done():
            confirmed.set_result(data)
    sio.on("session_confirm", confirm)
    await sio.connect(url, transports=["polling"], socketio_path="/socket.io")
    await sio.emit("session_request", {"session_id": asked} if asked else {})
    token = await asyncio.wait_for(confirmed, 20)
    if message:
        await sio.emit("user_uttered", {"session_id": token, "message": message})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sio.disconnect()

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
"""


class Widget:
    def __init__(self, stack: RunningStack, *, asked: str = "", message: str = "") -> None:
        self.proc = subprocess.Popen([str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-c", SOCKET_CLIENT,
                                      f"http://127.0.0.1:{stack.rasa_port}", asked, message],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def next(self, kind: str) -> object:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            if event["event"] == kind:
                return event["data"]
        raise AssertionError(f"the socket.io client ended before {kind}")

    def close(self) -> list[dict[str, object]]:
        """Stops the client; returns every event it printed after the last ``next``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        rest = [json.loads(line) for line in self.proc.stdout]
        self.proc.wait(timeout=10)
        return rest


def _session_id(token: object) -> str:
    assert isinstance(token, str)
    return token.split(".", 1)[0]


def test_a_socket_cannot_join_another_sessions_room(stack: RunningStack) -> None:
    owner = Widget(stack, message="hi")
    try:
        token = owner.next("session_confirm")
        owner.next("bot_done")
        sid = _session_id(token)
        assert len(sid) == 32
        intruder = Widget(stack, asked=sid)  # the id alone, as a hijacker would send it
        try:
            assert _session_id(intruder.next("session_confirm")) != sid  # a new session instead
        finally:
            time.sleep(0.5)
        # the owner talks on; the intruder must not receive any of it
        relayed = json.dumps({"sender_id": sid, "channel": "socketio",
                              "message": {"text": "Staff only for the owner", "agent_name": "Sam"}}).encode()
        resp = httpx.post(f"http://127.0.0.1:{stack.rasa_port}/webhooks/agent/send", content=relayed,
                          headers=hp.signed_headers(relayed, E2E_RELAY_SECRET), timeout=10)
        assert resp.json().get("delivered") is True
        assert owner.next("bot_uttered") == {"text": "Staff only for the owner", "agent_name": "Sam"}
        leaked = [e for e in intruder.close() if e["event"] == "bot_uttered"]
        assert not leaked
    finally:
        owner.close()


@pytest.mark.parametrize("asked", ["abcdefgh", "0123456789", "../../admin"])
def test_client_chosen_session_ids_get_a_fresh_server_session(stack: RunningStack, asked: str) -> None:
    widget = Widget(stack, asked=asked)
    try:
        sid = _session_id(widget.next("session_confirm"))
        assert sid != asked and len(sid) == 32
    finally:
        widget.close()


def test_rest_cannot_continue_a_widget_conversation(stack: RunningStack) -> None:
    widget = Widget(stack, message="hi")
    try:
        sid = _session_id(widget.next("session_confirm"))
        widget.next("bot_done")
    finally:
        widget.close()
    url = f"http://127.0.0.1:{stack.rasa_port}/conversations/{sid}/tracker"
    before = httpx.get(url, params={"token": stack.api_token}, timeout=10).json()["events"]
    reply = stack.send(sid, "where is my order?")  # the widget's id, sent on REST
    after = httpx.get(url, params={"token": stack.api_token}, timeout=10).json()["events"]
    assert len(after) == len(before)  # the widget's conversation did not move
    assert texts(reply) is not None
