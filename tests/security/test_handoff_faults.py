"""Hostile and fault tests of the handoff plumbing (issue 15, findings 3 and 4).

Finding 3: staff messages a shopper could not get at once are handed over when they
are back, on every channel, and only on the conversation's own channel; the relay
says "delivered" only when the platform took the message. Finding 4: while the action
server is down, a conversation known to be with people does not go to the bot: the
message is spooled and posted once the action server is back."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime

import pytest
from sqlalchemy import select

from actions.handoff_api import RecentScores, gate_step, pending_step
from shop.db.engine import session_scope
from shop.db.schema import HandoffMessage, StaffUser
from shop.handoff import states as hs
from shop.handoff.delivery import undelivered
from shop.handoff.handoff_config import parse_config
from tests.demo_shops import DemoShops
from tests.paths import ROOT
from tests.security.action_app import RELAY_SECRET, configure, served, signed

NOW = datetime(2026, 11, 25, 12, 0, 0)
CONFIG = parse_config({"business_hours": {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                                      "sun"], "open": "00:00", "close": "23:59"}})
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"


def handoff_with_pending(url: str, *, sender: str, channel: str, texts: tuple[str, ...] = ("Hi, Ana here.",)) -> int:
    """An active handoff of ``sender`` on ``channel`` with staff messages not delivered yet."""
    with session_scope(url) as s:
        ana = StaffUser(email=f"ana-{sender}@shop.test", name="Ana", password_hash="x", role="agent",
                        teams=["support"], created_at=NOW)
        s.add(ana)
        s.flush()
        handoff = hs.start_handoff(s, sender_id=sender, channel=channel, reason="request", team="support", now=NOW)
        hs.accept(s, handoff_id=handoff.id, staff_user_id=ana.id, now=NOW)
        for text in texts:
            hs.record_message(s, handoff_id=handoff.id, author="agent", text=text, now=NOW, staff_user_id=ana.id)
        return handoff.id


def waiting(url: str, handoff_id: int) -> list[str]:
    with session_scope(url) as s:
        return [m.text for m in undelivered(s, handoff_id=handoff_id)]


@pytest.fixture
def shop_url(demo_shop: DemoShops) -> str:
    return demo_shop(seed=3, scale=0.02)


@pytest.mark.parametrize("channel", ["socketio", "telegram", "slack", "twilio", "rest"])
def test_the_next_message_on_any_channel_gets_what_staff_sent_meanwhile(shop_url: str, channel: str) -> None:
    hid = handoff_with_pending(shop_url, sender="back-1", channel=channel, texts=("One", "Two"))
    step = dict(customer_id=None, history=[], config=CONFIG, now=NOW, scores=RecentScores())
    with session_scope(shop_url) as s:
        answer = gate_step(s, sender_id="back-1", channel=channel, text="hello?", **step)
        assert answer["route"] == "agent"
        assert [r["text"] for r in answer["replies"]] == ["One", "Two"]
        assert all(m.delivered_at == NOW for m in s.scalars(select(HandoffMessage).where(
            HandoffMessage.handoff_id == hid, HandoffMessage.author == "agent")))
    assert waiting(shop_url, hid) == []


@pytest.mark.parametrize("claimed", ["rest", "telegram", "twilio", "slack", "agent"])
def test_another_channel_claiming_the_sender_id_gets_nothing(shop_url: str, claimed: str) -> None:
    hid = handoff_with_pending(shop_url, sender="victim-sid", channel="socketio", texts=("Your refund code is X",))
    step = dict(customer_id=None, history=[], config=CONFIG, now=NOW, scores=RecentScores())
    with session_scope(shop_url) as s:
        assert gate_step(s, sender_id="victim-sid", channel=claimed, text="hi", **step)["replies"] == []
        assert pending_step(s, sender_id="victim-sid", channel=claimed, now=NOW) == {"replies": []}
    assert waiting(shop_url, hid) == ["Your refund code is X"]


def test_a_spooled_message_leaves_staff_messages_pending(shop_url: str) -> None:
    hid = handoff_with_pending(shop_url, sender="spooled-1", channel="socketio")
    step = dict(customer_id=None, history=[], config=CONFIG, now=NOW, scores=RecentScores())
    with session_scope(shop_url) as s:
        late = gate_step(s, sender_id="spooled-1", channel="socketio", text="hello?", take_pending=False, **step)
        assert late["replies"] == []  # nobody is there to show them to: they wait for a live message
    assert waiting(shop_url, hid) == ["Hi, Ana here."]


async def test_a_reconnecting_page_gets_its_pending_messages_once(
        shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, db_url=shop_url)
    hid = handoff_with_pending(shop_url, sender="page-1", channel="socketio", texts=("Are you there?", "Back soon"))
    async with served(monkeypatch) as client:
        wrong = signed({"sender_id": "page-1", "channel": "rest"})
        assert (await client.post("/handoff/pending", content=wrong[0], headers=wrong[1])).json() == {"replies": []}
        body, headers = signed({"sender_id": "page-1", "channel": "socketio"})
        taken = (await client.post("/handoff/pending", content=body, headers=headers)).json()
        assert taken == {"replies": [{"text": "Are you there?", "agent_name": "Ana"},
                                     {"text": "Back soon", "agent_name": "Ana"}]}
        again = signed({"sender_id": "page-1", "channel": "socketio"})
        assert (await client.post("/handoff/pending", content=again[0], headers=again[1])).json() == {"replies": []}
        bad = signed({"sender_id": "", "channel": "socketio"})
        assert (await client.post("/handoff/pending", content=bad[0], headers=bad[1])).status_code == 400
    assert waiting(shop_url, hid) == []


FAULTS_SCRIPT = r'''
import asyncio, json, os, socket
from rasa.core.channels.channel import InputChannel, OutputChannel
from tests.relay_standin import GatedChat, RelayStandIn

relay = RelayStandIn(route=lambda data: {"route": "agent", "replies": [], "handoff_id": 1},
                     pending=[{"text": "Sent while you were away", "agent_name": "Ana"}, {"text": 5}])

class RefusingOutput(OutputChannel):
    """A messaging output that logs a platform error instead of raising (as bot.messaging does)."""
    async def send_text_message(self, recipient_id, text, **kwargs):
        self.delivery_failed = True

class Refusing(InputChannel):
    @classmethod
    def name(cls):
        return "telegram"
    def get_output_channel(self):
        return RefusingOutput()

async def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ["ACTION_SERVER_URL"] = f"http://127.0.0.1:{port}/webhook"
    from bot import handoff_gate as gate
    from bot import agent_relay
    out = {}
    chat = GatedChat(gate.gated)
    say, runs = chat.say, chat.runs

    runner = await relay.start(port)
    await say("s1", "I want a person")            # the action server says: with people
    out["pending_up"] = await gate.take_pending("s1", channel="socketio")
    await runner.cleanup()                        # the action server goes down
    out["spooled_reply"] = await say("s1", "are you still there?")
    out["spooled_second"] = await say("s1", "my order is 1234")
    out["spool_len"] = len(gate.SPOOL)
    out["unknown_reply"] = await say("s2", "hello")     # not known to be with people: the bot answers
    out["dialogue_while_down"] = list(runs)
    out["pending_down"] = await gate.take_pending("s1", channel="socketio")
    out["received_while_down"] = len(relay.received)
    runner = await relay.start(port)                    # back: the background retry posts the spool
    for _ in range(100):
        if not len(gate.SPOOL):
            break
        await asyncio.sleep(0.2)
    out["spool_after"] = len(gate.SPOOL)
    out["received"] = [{"text": r["text"], "sender": r["sender_id"], "take_pending": r.get("take_pending")}
                       for r in relay.received]
    out["dialogue"] = list(runs)
    await runner.cleanup()

    agent_relay.CHANNELS["telegram"] = Refusing()
    answer = await agent_relay.deliver("123", "telegram", {"text": "Hi", "agent_name": "Ana"})
    out["relay_refused"] = json.loads(answer.body)
    print(json.dumps(out))

asyncio.run(main())
'''


@pytest.mark.rasa
@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_the_gate_spools_handed_off_messages_while_the_action_server_is_down() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_RELAY_SECRET=RELAY_SECRET, SHOP_HANDOFF_GATE_TIMEOUT_S="1")
    done = subprocess.run([str(RASA_PY), "-c", FAULTS_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # while down: the handed-off conversation does not reach the bot, and is told it was kept
    assert out["dialogue_while_down"] == ["hello"]
    assert out["spool_len"] == 2
    assert len(out["spooled_reply"]) == 1 and len(out["spooled_second"]) == 1
    assert out["received_while_down"] == 1
    assert out["pending_up"] == [{"text": "Sent while you were away", "agent_name": "Ana"}]
    assert out["pending_down"] == []
    # back: both spooled messages were posted, in order, and the bot never saw them
    assert out["spool_after"] == 0
    assert out["received"] == [
        {"text": "I want a person", "sender": "s1", "take_pending": None},
        {"text": "are you still there?", "sender": "s1", "take_pending": False},
        {"text": "my order is 1234", "sender": "s1", "take_pending": False},
    ]
    assert out["dialogue"] == ["hello"]
    # a platform that did not accept the staff message: the relay does not claim delivery
    assert out["relay_refused"]["delivered"] is False
