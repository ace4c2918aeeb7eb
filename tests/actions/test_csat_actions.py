"""``action_record_csat`` from tracker JSON against the demo shop: a tap of the goodbye's
rating buttons or of the rating request after a handoff is stored for the tracker's own
conversation and thanked; a second tap, a score of 99, another conversation's handoff,
two scores in one payload and an unreachable database are answered politely and store
nothing more."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from actions import csat_actions
from actions.csat_actions import ActionRecordCsat, chat_started
from actions.runtime import ServiceUnavailable
from shop.db.feedback_tables import CsatRating
from shop.handoff.states import accept, close, start_handoff
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, run_action

COVERED = (ActionRecordCsat,)
NOW = datetime(2026, 12, 1, 12, 0, 0)


def _tap(domain: dict[str, Any], entities: Any, *, sender: str = "web-shopper", channel: str = "socketio") -> Any:
    tracker = build_tracker("start", text="/rate", intent="rate", confidence=1.0, entities=entities,
                            sender_id=sender, channel=channel)
    return asyncio.run(run_action(ActionRecordCsat(), tracker, domain))


def _ratings(shop: DemoShop) -> list[tuple[str, str, str, int | None, int]]:
    with shop.session() as s:
        return [tuple(r) for r in s.execute(select(CsatRating.conversation, CsatRating.channel, CsatRating.trigger,
                                                   CsatRating.handoff_id, CsatRating.score).order_by(CsatRating.id))]


def _closed_handoff(shop: DemoShop, sender: str) -> int:
    with shop.session() as s:
        hid = start_handoff(s, sender_id=sender, channel="telegram", reason="request", team="support", now=NOW).id
        accept(s, handoff_id=hid, staff_user_id=None, now=NOW)  # type: ignore[arg-type]
        close(s, handoff_id=hid, staff_user_id=None, now=NOW)
        return hid


def test_a_goodbye_rating_is_stored_once_and_thanked(shop: DemoShop, domain: dict[str, Any]) -> None:
    out = _tap(domain, {"score": 5})
    assert out.responses == ["utter_csat_thanks"] and out.texts == ["Thanks for rating us 5 out of 5!"]
    again = _tap(domain, {"score": 1})
    assert again.responses == ["utter_csat_already_rated"]
    low = _tap(domain, {"score": 2}, sender="web-unhappy", channel="twilio")
    assert low.responses == ["utter_csat_thanks_low"] and "ask for a human" in low.texts[0]
    assert _ratings(shop) == [("web-shopper", "socketio", "end_of_chat", None, 5),
                              ("web-unhappy", "twilio", "end_of_chat", None, 2)]


def test_a_handoff_rating_must_be_for_this_conversation(shop: DemoShop, domain: dict[str, Any]) -> None:
    mine, theirs = _closed_handoff(shop, "tg-123"), _closed_handoff(shop, "tg-999")
    assert _tap(domain, {"score": 4, "handoff_id": mine}, sender="tg-123", channel="telegram").responses == [
        "utter_csat_thanks"]
    forged = _tap(domain, {"score": 1, "handoff_id": theirs}, sender="tg-123", channel="telegram")
    assert forged.responses == ["utter_csat_invalid"]
    assert _ratings(shop) == [("tg-123", "telegram", "handoff", mine, 4)]


@pytest.mark.parametrize("entities", [{"score": 99}, {"score": "5; DROP TABLE csat_ratings"}, {},
                                      [("score", 5), ("score", 1)], {"score": 5, "handoff_id": "x"}])
def test_hostile_payloads_are_refused(shop: DemoShop, domain: dict[str, Any], entities: Any) -> None:
    out = _tap(domain, entities)
    assert out.responses == ["utter_csat_invalid"] and "from 1 (poor) to 5 (great)" in out.texts[0]
    assert _ratings(shop) == []


def test_database_down_answers_politely(shop: DemoShop, domain: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("database error")

    monkeypatch.setattr(csat_actions, "call_service", down)
    assert _tap(domain, {"score": 5}).responses == ["utter_service_unavailable"]


def test_the_chat_session_is_the_last_session_start() -> None:
    tracker = build_tracker("start", history=[("user", "hi"), ("bot", "hello")])
    assert chat_started(tracker) == "1764000000"
    tracker.events.append({"event": "session_started", "timestamp": 1764009999.7})
    assert chat_started(tracker) == "1764009999"
    tracker.events.append({"event": "session_started", "timestamp": "forged"})
    assert chat_started(tracker) == "0"
