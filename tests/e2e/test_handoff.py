"""Agent handoff end to end, against the real Rasa server and action server: the gate
on every message, the request / topic / sentiment triggers, the ticket flow when nobody
is online, the queue notice when an agent is, the bot staying silent during a handoff,
staff messages through the relay (REST with the next reply, Telegram pushed to the fake
platform), the relay's and the gate's signature checks (replays refused), the action
server's token, and the bot going on with its context after the handoff is closed."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select

from protocol.handoff import signed_headers
from shop.db.engine import session_scope
from shop.db.schema import Handoff, HandoffMessage, StaffSession, Ticket
from shop.handoff import relay
from shop.handoff import states as hs
from tests.e2e.conftest import E2E_RELAY_SECRET
from tests.e2e.test_messaging import Telegram
from tests.fake_platforms import FakePlatforms
from tests.stack import ROOT, RunningStack, cards, new_sender, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ASK_HUMAN = "can I talk to a real person"
QUEUED = re.compile(r"You're next|You're number \d+ in the queue")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _handoff(url: str, sender: str) -> Handoff | None:
    """The conversation's latest handoff (REST conversations are ``rest:<sender>``)."""
    with session_scope(url) as s:
        return s.scalar(select(Handoff).where(Handoff.sender_id.in_((sender, f"rest:{sender}")))
                        .order_by(Handoff.id.desc()).limit(1))


def _transcript(url: str, handoff_id: int) -> list[tuple[str, str]]:
    with session_scope(url) as s:
        return [(m.author, m.text) for m in s.scalars(select(HandoffMessage).where(
            HandoffMessage.handoff_id == handoff_id).order_by(HandoffMessage.id))]


def _relay_url(stack: RunningStack) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}"


@pytest.fixture()
def nobody_online(e2e_db_url: str) -> None:
    """No live console session (other tests may have left one seen recently)."""
    with session_scope(e2e_db_url) as s:
        for session in s.scalars(select(StaffSession).where(StaffSession.ended_at.is_(None))):
            session.ended_at = _now()


def test_request_with_nobody_online_leaves_a_ticket(stack: RunningStack, e2e_db_url: str,
                                                    nobody_online: None) -> None:
    sender = new_sender()
    notice = texts(stack.send(sender, ASK_HUMAN))
    assert "Nobody from our team is online" in notice and "email" in notice, notice
    assert "email address" in texts(stack.send(sender, "My new boots fell apart after two weeks"))
    receipt = texts(stack.send(sender, "you can reach me at ana.rivera@example.com"))
    assert "ticket #" in receipt and "ana.rivera@example.com" in receipt, receipt
    handoff = _handoff(e2e_db_url, sender)
    assert handoff is not None and (handoff.reason, handoff.status) == ("request", "closed")
    with session_scope(e2e_db_url) as s:
        ticket = s.scalar(select(Ticket).where(Ticket.handoff_id == handoff.id))
        assert ticket is not None and ticket.email == "ana.rivera@example.com"
        assert "fell apart" in ticket.message and ASK_HUMAN not in ticket.message
    assert "Ridgeline" in texts(stack.send(sender, "hi there"))  # the bot is back


def test_handoff_with_an_agent_online_then_back_to_the_bot(stack: RunningStack, e2e_db_url: str,
                                                           online_agent: int) -> None:
    sender = new_sender()
    found = cards(stack.send(sender, "show me jackets for women"))
    assert found
    before = stack.tracker(sender)["slots"]
    assert before.get("last_search")

    notice = texts(stack.send(sender, ASK_HUMAN))
    assert QUEUED.search(notice) and "minute" in notice, notice
    handoff = _handoff(e2e_db_url, sender)
    assert handoff is not None and (handoff.status, handoff.reason, handoff.channel) == ("queued", "request", "rest")
    transcript = _transcript(e2e_db_url, handoff.id)
    assert ("shopper", "show me jackets for women") in transcript  # the conversation so far was copied

    # the bot stays silent; the message goes to the transcript the console shows
    assert stack.send(sender, "are you still there?") == []
    assert _transcript(e2e_db_url, handoff.id)[-1] == ("shopper", "are you still there?")

    # an agent takes it and writes; REST has no push: the text comes with the next reply
    with session_scope(e2e_db_url) as s:
        hs.accept(s, handoff_id=handoff.id, staff_user_id=online_agent, now=_now())
        hs.record_message(s, handoff_id=handoff.id, author="agent", text="Hi, Sam here. Which size?",
                          now=_now(), staff_user_id=online_agent)
    delivered = relay.deliver_sync(rasa_url=_relay_url(stack), secret=E2E_RELAY_SECRET, sender_id=sender,
                                   channel="rest", message={"text": "Hi, Sam here. Which size?", "agent_name": "Sam"})
    assert delivered is False
    reply = stack.send(sender, "ok")
    assert [(m.get("text"), m.get("agent_name")) for m in reply] == [("Hi, Sam here. Which size?", "Sam")]
    assert stack.send(sender, "medium please") == []  # delivered once

    with session_scope(e2e_db_url) as s:
        hs.close(s, handoff_id=handoff.id, staff_user_id=online_agent, now=_now())
    more = stack.send(sender, "show me more")
    more_cards = cards(more)
    assert more_cards and not {c["id"] for c in more_cards} & {c["id"] for c in found}, texts(more)
    tracker = stack.tracker(sender)
    # the search from before the handoff was still there: "more" paged on from it
    after = tracker["slots"]["last_search"]
    assert after["text"] == before["last_search"]["text"] and after["offset"] > before["last_search"]["offset"]
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert "are you still there?" not in said and "medium please" not in said  # never reached the bot


def test_topic_hands_over_to_its_team(stack: RunningStack, e2e_db_url: str) -> None:
    sender = new_sender()
    notice = texts(stack.send(sender, "I want to file a chargeback"))
    assert "Nobody from our team is online" in notice or QUEUED.search(notice), notice
    handoff = _handoff(e2e_db_url, sender)
    assert handoff is not None and (handoff.reason, handoff.team, handoff.detail) == ("topic", "payments", "chargeback")
    assert "email address" in texts(stack.send(sender, "the charge is from last Tuesday"))


def test_three_angry_messages_hand_over(stack: RunningStack, e2e_db_url: str) -> None:
    sender = new_sender()
    angry = ["This is terrible, my order is late again!", "Your service is useless and awful.",
             "I hate this, worst shop ever!!"]
    first = texts(stack.send(sender, angry[0]))
    assert first and "Nobody from our team" not in first  # one angry message: still the bot
    for message in angry[1:]:
        stack.send(sender, message)
    handoff = _handoff(e2e_db_url, sender)
    assert handoff is not None and handoff.reason == "sentiment" and handoff.sentiment <= -0.4


def test_relay_and_gate_refuse_unsigned_forged_or_replayed_requests(stack: RunningStack) -> None:
    url = f"{_relay_url(stack)}/webhooks/agent/send"
    body = json.dumps({"sender_id": "x", "channel": "rest", "message": {"text": "hi"}}).encode()
    with httpx.Client(timeout=10) as client:
        assert client.post(url, content=body).status_code == 401
        assert client.post(url, content=body, headers=signed_headers(body, "guess")).status_code == 403
        good = signed_headers(body, E2E_RELAY_SECRET)
        forged = body.replace(b'"hi"', b'"pay here"')
        assert client.post(url, content=forged, headers=good).status_code == 403
        big = json.dumps({"sender_id": "x", "channel": "rest", "message": {"text": "a" * 70_000}}).encode()
        assert client.post(url, content=big, headers=signed_headers(big, E2E_RELAY_SECRET)).status_code == 413
        rest = client.post(url, content=body, headers=good)
        assert rest.status_code == 200 and rest.json()["delivered"] is False
        assert client.post(url, content=body, headers=good).status_code == 403  # the same request again
        stale = signed_headers(body, E2E_RELAY_SECRET, now=_now().replace(tzinfo=timezone.utc).timestamp() - 600)
        assert client.post(url, content=body, headers=stale).status_code == 403
        nowhere = json.dumps({"sender_id": "x", "channel": "fax", "message": {"text": "hi"}}).encode()
        assert client.post(url, content=nowhere, headers=signed_headers(nowhere, E2E_RELAY_SECRET)).status_code == 404
        # the action server's gate endpoint wants the signature too, and takes it once
        gate = f"http://127.0.0.1:{stack.action_port}/handoff/inbound"
        inbound = json.dumps({"sender_id": "x", "channel": "rest", "text": "hi", "history": []}).encode()
        assert client.post(gate, content=inbound).status_code == 401
        gate_headers = signed_headers(inbound, E2E_RELAY_SECRET)
        signed = client.post(gate, content=inbound, headers=gate_headers)
        assert signed.status_code == 200 and signed.json()["route"] == "bot"
        assert client.post(gate, content=inbound, headers=gate_headers).status_code == 403
        # the rest of the action server wants the action token (Rasa sends it)
        assert client.get(f"http://127.0.0.1:{stack.action_port}/actions").status_code == 401
        assert client.get(f"http://127.0.0.1:{stack.action_port}/actions",
                          headers={"X-Shop-Action-Token": stack.action_token}).status_code == 200
        assert client.get(f"http://127.0.0.1:{stack.action_port}/health").status_code == 200


def test_staff_message_reaches_telegram(stack: RunningStack, fake_platforms: FakePlatforms,
                                        e2e_db_url: str) -> None:
    chat = Telegram(stack, fake_platforms)
    notice = chat.say(ASK_HUMAN, until=lambda r: "online" in r.text or "queue" in r.text or "next" in r.text)
    assert notice
    handoff = _handoff(e2e_db_url, chat.to)
    assert handoff is not None and handoff.channel == "telegram"

    since = len(fake_platforms.messages(chat.to))
    assert relay.deliver_sync(rasa_url=_relay_url(stack), secret=E2E_RELAY_SECRET, sender_id=chat.to,
                              channel="telegram", message={"text": "Hi, Sam here.", "agent_name": "Sam"})
    sent = fake_platforms.wait_for(chat.to, since=since, until=lambda r: "Sam here" in r.text, timeout=30)
    assert sent[-1].text == "Sam (team): Hi, Sam here."



def test_failed_two_stage_fallback_hands_over(stack: RunningStack, e2e_db_url: str) -> None:
    """Messages the NLU is unsure about until the two-stage fallback gives up, then a
    person. Sent as ``/nlu_fallback`` (what the FallbackClassifier makes of an unclear
    message), so the test does not depend on what a trained model happens to make of
    nonsense words on this CPU: it asks back, asks to rephrase, then hands over."""
    sender = new_sender()
    replies = [texts(stack.send(sender, "/nlu_fallback"))]
    assert "Did you want to" in replies[0] or "another way" in replies[0], replies  # the first stage asks
    handoff = None
    for _ in range(3):
        replies.append(texts(stack.send(sender, "/nlu_fallback")))
        handoff = _handoff(e2e_db_url, sender)
        if handoff is not None:
            break
        assert "another way" in replies[-1] or "Did you want to" in replies[-1], replies
    assert handoff is not None and handoff.reason == "fallback", replies
    assert "our team" in replies[-1]
    assert len(replies) <= 3, replies  # asked once, asked to rephrase once, then a person


# A widget stand-in on python-socketio's client (in the Rasa environment, which has it):
# asks for a session (the server issues it: a signed token whose first part is the
# conversation id), asks for a person, prints each session_confirm / bot_uttered /
# bot_done as a JSON line, and keeps listening until stdin closes.
SOCKET_CLIENT = r"""
import asyncio, json, sys
import socketio

async def main(url):
    sio = socketio.AsyncClient()
    out = lambda kind, data: print(json.dumps({"event": kind, "data": data}), flush=True)
    confirmed = asyncio.get_running_loop().create_future()
    def confirm(data):
        out("session_confirm", data)
        if not confirmed.done():
            confirmed.set_result(data)
    sio.on("bot_uttered", lambda data: out("bot_uttered", data))
    sio.on("bot_done", lambda data: out("bot_done", data))
    sio.on("session_confirm", confirm)
    await sio.connect(url, transports=["polling"], socketio_path="/socket.io")  # its websocket needs a newer aiohttp
    await sio.emit("session_request", {})
    token = await asyncio.wait_for(confirmed, 20)
    await sio.emit("user_uttered", {"session_id": token, "message": sys.argv[2]})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sio.disconnect()

asyncio.run(main(sys.argv[1]))
"""


def _next_event(proc: subprocess.Popen[str], kind: str) -> dict[str, object]:
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == kind:
            return event
    raise AssertionError(f"the socket.io client ended before {kind}")


def test_staff_message_reaches_the_widget_over_socketio(stack: RunningStack, e2e_db_url: str) -> None:
    proc = subprocess.Popen([str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-c", SOCKET_CLIENT,
                             f"http://127.0.0.1:{stack.rasa_port}", ASK_HUMAN],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        session_id = str(_next_event(proc, "session_confirm")["data"]).split(".", 1)[0]
        notice = _next_event(proc, "bot_uttered")["data"]
        assert "our team" in notice["text"], notice
        _next_event(proc, "bot_done")  # the typing indicator stops, as after any answer
        handoff = _handoff(e2e_db_url, session_id)
        assert handoff is not None and handoff.channel == "socketio"
        assert relay.deliver_sync(rasa_url=_relay_url(stack), secret=E2E_RELAY_SECRET, sender_id=session_id,
                                  channel="socketio", message={"text": "Hi, Sam here.", "agent_name": "Sam"})
        assert _next_event(proc, "bot_uttered")["data"] == {"text": "Hi, Sam here.", "agent_name": "Sam"}
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    # nobody on the page any more: not delivered, so the console keeps it for later
    assert not relay.deliver_sync(rasa_url=_relay_url(stack), secret=E2E_RELAY_SECRET, sender_id=session_id,
                                  channel="socketio", message={"text": "Still there?"})
