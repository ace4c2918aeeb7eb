"""CSAT ratings (:mod:`shop.services.csat`) on a real database (SQLite and PostgreSQL):
once per conversation and trigger, a handoff rating only for the conversation's own
finished handoff, the CSAT figure by SQL against hand-computed values; hostile scores,
another conversation's handoff, replayed and simultaneous taps. The rating request and
buttons as every channel gets them, and the messaging channels' rating buttons
(``bot/rating_buttons.py``; through ``bot/messaging.py``'s outputs in the Rasa environment)."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.degrade import ReplyNumbers, TurnNumbers, degrade_message
from bot.rating_buttons import with_rating_buttons
from shop.db.engine import session_scope
from shop.db.feedback_tables import CsatRating
from shop.handoff.states import accept, close, start_handoff
from shop.services.csat import (
    CsatError,
    clean_comment,
    csat_summary,
    parse_score,
    rating_buttons,
    rating_request,
    record_rating,
    satisfied_share_sql,
)
from tests.paths import ROOT

NOW = datetime(2026, 12, 1, 12, 0, 0)
RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"


def _rate(url: str, conversation: str = "web-a", score: Any = 5, **kwargs: Any) -> Any:
    kwargs.setdefault("channel", "socketio")
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("chat_ref", "1764590000")
    with session_scope(url) as s:
        return record_rating(s, conversation=conversation, score=score, **kwargs)


def _handoff(url: str, sender: str, *, status: str = "closed") -> int:
    with session_scope(url) as s:
        h = start_handoff(s, sender_id=sender, channel="telegram", reason="request", team="support", now=NOW)
        if status in ("active", "closed"):
            accept(s, handoff_id=h.id, staff_user_id=None, now=NOW)  # type: ignore[arg-type]
        if status == "closed":
            close(s, handoff_id=h.id, staff_user_id=None, now=NOW)
        return h.id


def _rows(url: str) -> list[tuple[str, str, str, int | None, int]]:
    with session_scope(url) as s:
        return [tuple(r) for r in s.execute(select(CsatRating.conversation, CsatRating.trigger, CsatRating.trigger_key,
                                                   CsatRating.handoff_id, CsatRating.score).order_by(CsatRating.id))]


def test_once_per_conversation_and_trigger(db_url: str) -> None:
    first = _rate(db_url, score=4, comment="  quick\x00 and helpful \u0007")
    assert (first.score, first.duplicate) == (4, False)
    replay = _rate(db_url, score=1)  # the same tap again, or a change of mind: the first stays
    assert (replay.rating_id, replay.score, replay.duplicate) == (first.rating_id, 4, True)
    later_chat = _rate(db_url, score="2", chat_ref="1764600000")  # a new chat session of the same shopper
    assert (later_chat.score, later_chat.duplicate) == (2, False)
    assert _rate(db_url, "web-b", score=5).duplicate is False  # another conversation's own rating
    hid = _handoff(db_url, "web-a")
    assert _rate(db_url, score=3, handoff_id=hid).duplicate is False
    assert _rate(db_url, score=5, handoff_id=str(hid)).duplicate is True
    assert _rows(db_url) == [("web-a", "end_of_chat", "chat:1764590000", None, 4),
                             ("web-a", "end_of_chat", "chat:1764600000", None, 2),
                             ("web-b", "end_of_chat", "chat:1764590000", None, 5),
                             ("web-a", "handoff", f"handoff:{hid}", hid, 3)]
    with session_scope(db_url) as s:
        assert s.scalar(select(CsatRating.comment).where(CsatRating.id == first.rating_id)) == "quick and helpful"


@pytest.mark.parametrize("score", [99, 0, -1, 6, 4.5, True, "five", "", None, "99", [5, 5], {"score": 5}, "5 "])
def test_hostile_scores_are_refused(db_url: str, score: Any) -> None:
    if score == "5 ":  # digits with spaces are still a score; everything else is refused
        assert _rate(db_url, score=score).score == 5
        return
    with pytest.raises(CsatError, match="from 1 to 5"):
        _rate(db_url, score=score)
    assert _rows(db_url) == []


def test_a_rating_for_another_conversations_handoff_is_refused(db_url: str) -> None:
    theirs = _handoff(db_url, "web-victim")
    still_open = _handoff(db_url, "web-a", status="active")
    for handoff_id in (theirs, still_open, 999_999, 0, -3, "abc", True, "1; DROP TABLE csat_ratings"):
        with pytest.raises(CsatError, match="not for this conversation"):
            _rate(db_url, "web-a", score=5, handoff_id=handoff_id)
    with pytest.raises(CsatError, match="needs a conversation"):
        _rate(db_url, "  ", score=5)
    assert _rows(db_url) == []
    # a forged chat reference falls back to the default, it never widens the key
    assert _rate(db_url, chat_ref="x" * 500 + "\r\n").duplicate is False
    assert _rows(db_url)[0][2] == "chat:0"


def test_simultaneous_taps_store_one_rating(db_url: str) -> None:
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def tap() -> None:
        start.wait()
        try:
            results.append(_rate(db_url, "web-race", score=5))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=tap) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5
    assert len({r.rating_id for r in results}) == 1 and len(_rows(db_url)) == 1


def test_csat_figure_against_hand_computed_values(db_url: str) -> None:
    plan = [("web-1", 5, "socketio", 0), ("web-2", 4, "socketio", 1), ("web-3", 2, "telegram", 2),
            ("web-4", 1, "twilio", 3), ("web-5", 5, "telegram", 10)]
    for conversation, score, channel, days in plan:
        _rate(db_url, conversation, score=score, channel=channel, now=NOW + timedelta(days=days))
    hid = _handoff(db_url, "web-6")
    _rate(db_url, "web-6", score=3, channel="slack", handoff_id=hid, now=NOW + timedelta(days=2))
    with session_scope(db_url) as s:
        every = csat_summary(s)
        assert (every.count, every.csat, every.mean) == (6, round(3 / 6, 4), round(20 / 6, 3))
        assert every.by_score == {1: 1, 2: 1, 3: 1, 4: 1, 5: 2}
        week = csat_summary(s, since=NOW, until=NOW + timedelta(days=7))
        assert (week.count, week.csat) == (5, 0.4)  # 5 and 4 of 5, 4, 2, 1, 3
        assert csat_summary(s, channel="telegram").csat == 0.5
        assert csat_summary(s, trigger="handoff").by_score == {1: 0, 2: 0, 3: 1, 4: 0, 5: 0}
        empty = csat_summary(s, channel="whatsapp")
        assert (empty.count, empty.csat, empty.mean) == (0, None, None)
        by_channel = dict(s.execute(select(CsatRating.channel, satisfied_share_sql())
                                    .group_by(CsatRating.channel)).all())
        assert {k: round(float(v), 4) for k, v in by_channel.items()} == {
            "socketio": 1.0, "telegram": 0.5, "twilio": 0.0, "slack": 0.0}
        assert s.scalar(select(func.count()).select_from(CsatRating)) == 6


def test_the_rating_request_and_buttons() -> None:
    text, custom = rating_request(handoff_id=12)
    assert custom == {"type": "csat_request", "scale": 5, "handoff_id": 12} and "1 (poor) to 5 (great)" in text
    buttons = rating_buttons(handoff_id=12)
    assert [b["title"] for b in buttons] == ["Poor", "Fair", "Okay", "Good", "Great"]
    for n, button in enumerate(buttons, start=1):
        assert button["payload"].startswith("/rate{")
        assert json.loads(button["payload"][len("/rate"):]) == {"score": n, "handoff_id": 12}
        assert len(button["payload"].encode()) <= 64  # fits Telegram's callback_data as is
    assert [b["payload"] for b in rating_buttons()][:1] == ['/rate{"score": 1}']
    assert parse_score(" 3") == 3 and clean_comment("  \u0000 ") is None
    assert len(clean_comment("x" * 5000) or "") == 1000


def test_the_goodbye_asks_for_a_rating_with_the_same_buttons() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    [goodbye] = domain["responses"]["utter_goodbye"]
    assert goodbye["buttons"] == rating_buttons() and goodbye["custom"] == {"type": "csat_request", "scale": 5}
    assert "rate" in domain["intents"] and "action_record_csat" in domain["actions"]
    entities = {next(iter(e)) if isinstance(e, dict) else e: e for e in domain["entities"]}
    for name in ("score", "handoff_id"):  # Rasa drops payload entities the domain does not list
        assert entities[name] == {name: {"influence_conversation": False}}
    for slot in ("order_number", "order_email"):  # a rating tap never fills a form's slot
        for mapping in domain["slots"][slot]["mappings"]:
            if mapping["type"] == "from_text":
                assert "rate" in mapping["not_intent"]


def test_relayed_rating_requests_get_buttons_and_remembered_numbers() -> None:
    numbers = ReplyNumbers()
    request = {"text": "How did we do?", "custom": {"type": "csat_request", "scale": 5, "handoff_id": 12}}
    out = with_rating_buttons(dict(request), numbers, ("twilio", "whatsapp:+1555"))
    assert out["buttons"] == rating_buttons(handoff_id=12)  # the bot's copy agrees with the service's
    assert numbers.resolve(("twilio", "whatsapp:+1555"), "4") == '/rate{"score": 4, "handoff_id": 12}'
    assert numbers.resolve(("twilio", "whatsapp:+1666"), "4") is None
    lines = degrade_message(out, public_url="http://shop.test", turn=TurnNumbers(), buttons_as_text=True)
    assert lines[0].text.splitlines()[1:] == ["1. Poor", "2. Fair", "3. Okay", "4. Good", "5. Great"]
    for forged in ("12}, {\"x\": 1", -4, 0, True, 1.5, None):
        custom = {"type": "csat_request", "handoff_id": forged}
        assert with_rating_buttons({"custom": custom})["buttons"] == rating_buttons()
    goodbye = {"text": "Bye", "buttons": rating_buttons(), "custom": {"type": "csat_request"}}
    assert with_rating_buttons(goodbye, numbers, ("twilio", "x")) is goodbye  # its own buttons stay
    assert with_rating_buttons({"text": "hi"}) == {"text": "hi"}


MESSAGING_SCRIPT = r'''
import asyncio, json
from bot import messaging
from bot.degrade import Outgoing

class Capture(messaging.ShopTwilioOutput):
    def __init__(self):
        self.public_url, self.turn, self.sent = "http://shop.test", messaging.TurnNumbers(), []
    async def _deliver(self, recipient_id, out):
        self.sent.append({"to": recipient_id, "text": out.text, "buttons": [b.payload for b in out.buttons]})

class TelegramCapture(messaging.ShopTelegramOutput):
    def __init__(self):
        self.public_url, self.turn, self.sent = "http://shop.test", messaging.TurnNumbers(), []
    async def _deliver(self, recipient_id, out):
        self.sent.append({"to": recipient_id, "text": out.text, "buttons": [b.payload for b in out.buttons]})

async def main():
    out = {}
    request = {"text": "How did we do?", "agent_name": "Sam",
               "custom": {"type": "csat_request", "scale": 5, "handoff_id": 12}}
    whatsapp = Capture()
    await whatsapp.send_response("whatsapp:+15550001", dict(request))
    out["whatsapp"] = whatsapp.sent
    out["reply_5"] = messaging.REPLY_NUMBERS.resolve(("twilio", "whatsapp:+15550001"), "5")
    out["reply_9"] = messaging.REPLY_NUMBERS.resolve(("twilio", "whatsapp:+15550001"), "9")
    out["other_sender"] = messaging.REPLY_NUMBERS.resolve(("twilio", "whatsapp:+15550002"), "5")
    telegram = TelegramCapture()
    await telegram.send_response("42", dict(request))
    out["telegram"] = telegram.sent
    forged = Capture()
    await forged.send_response("whatsapp:+15550003", {"text": "x", "custom": {"type": "csat_request",
                                                                         "handoff_id": "1}, {\"x\": 1"}})
    out["forged"] = forged.sent
    out["forged_5"] = messaging.REPLY_NUMBERS.resolve(("twilio", "whatsapp:+15550003"), "5")
    print(json.dumps(out))

asyncio.run(main())
'''


@pytest.mark.rasa
def test_messaging_channels_get_rating_buttons_and_number_replies() -> None:
    if not RASA_PY.is_file():
        pytest.skip(f"{RASA_PY} is missing: the Rasa environment is not built")
    run = subprocess.run([str(RASA_PY), "-c", MESSAGING_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    [whatsapp] = out["whatsapp"]
    assert whatsapp["buttons"] == []  # WhatsApp: numbered lines, a number reply picks the score
    assert whatsapp["text"].splitlines()[-5:] == ["1. Poor", "2. Fair", "3. Okay", "4. Good", "5. Great"]
    assert out["reply_5"] == '/rate{"score": 5, "handoff_id": 12}'
    assert out["reply_9"] is None and out["other_sender"] is None
    [telegram] = out["telegram"]
    assert telegram["buttons"] == [f'/rate{{"score": {n}, "handoff_id": 12}}' for n in range(1, 6)]
    [forged] = out["forged"]  # a handoff id that is not a number is left out, never spliced into the payload
    assert forged["text"].splitlines()[-1] == "5. Great" and out["forged_5"] == '/rate{"score": 5}'
