"""The dialogue's side of handoff (actions/conversation.py): asking for a person and the
failed two-stage fallback open a handoff with the conversation copied and utter the queue
notice; with their trigger switched off they answer as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import runtime
from actions.conversation import ActionDefaultFallback, ActionRequestHuman, recent_texts
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Handoff, HandoffMessage
from shop.handoff.handoff_config import load_config
from shop.settings import get_settings

HOURS = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00",
         "close": "23:59", "text": "every day"}


def _use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, request: bool, fallback: bool) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    if not (tmp_path / "shop.db").exists():
        upgrade(url)
    config = tmp_path / f"handoff-{request}-{fallback}.yml"
    config.write_text(yaml.safe_dump({"triggers": {"request": request, "fallback": fallback},
                                      "business_hours": HOURS}))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SHOP_HANDOFF_CONFIG", str(config))
    get_settings.cache_clear()
    runtime._pool.cache_clear()
    return url


@pytest.fixture
def clean_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()
    runtime._pool.cache_clear()
    load_config.cache_clear()


def _tracker(sender: str, *, channel: str = "telegram", loop: str | None = None) -> Tracker:
    events: list[dict[str, Any]] = [
        {"event": "user", "text": "waterproof boots", "timestamp": 1_764_000_000.0, "input_channel": channel,
         "parse_data": {"intent": {"name": "search_products"}}, "metadata": {"customer_id": "99"}},
        {"event": "bot", "text": "Here are 1–5 of 12:", "timestamp": 1_764_000_001.0},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "I want a person", "timestamp": 1_764_000_010.0, "input_channel": channel,
         "parse_data": {"intent": {"name": "request_human"}}},
    ]
    return Tracker(sender, {}, {"text": "I want a person", "intent": {"name": "request_human"}}, events, False,
                   None, {"name": loop} if loop else {}, "action_listen")


def test_recent_texts_keeps_user_and_bot_texts_in_order() -> None:
    texts = recent_texts(_tracker("s"))
    assert [(t["author"], t["text"]) for t in texts] == [
        ("shopper", "waterproof boots"), ("bot", "Here are 1–5 of 12:"), ("shopper", "I want a person")]
    assert recent_texts(_tracker("s"), limit=1)[0]["text"] == "I want a person"


async def test_request_and_fallback_open_a_handoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   clean_settings: None) -> None:
    url = _use(tmp_path, monkeypatch, request=True, fallback=True)
    dispatcher = CollectingDispatcher()
    assert await ActionRequestHuman().run(dispatcher, _tracker("tg-1"), {}) == []
    assert "Nobody from our team is online" in dispatcher.messages[0]["text"]
    with session_scope(url) as s:
        handoff = s.scalar(select(Handoff).where(Handoff.sender_id == "tg-1"))
        assert (handoff.reason, handoff.channel, handoff.team, handoff.status, handoff.customer_id) == \
            ("request", "telegram", "support", "awaiting_ticket", None)  # customer 99 does not exist
        copied = [(m.author, m.text) for m in s.scalars(select(HandoffMessage).where(
            HandoffMessage.handoff_id == handoff.id).order_by(HandoffMessage.id))]
    assert copied[:3] == [("shopper", "waterproof boots"), ("bot", "Here are 1–5 of 12:"),
                          ("shopper", "I want a person")]
    assert copied[3][0] == "system"

    dispatcher = CollectingDispatcher()
    gave_up = _tracker("web-1", channel="socketio", loop="action_two_stage_fallback")
    assert await ActionDefaultFallback().run(dispatcher, gave_up, {}) == [UserUtteranceReverted()]
    assert "our team" in dispatcher.messages[0]["text"]
    with session_scope(url) as s:
        assert s.scalar(select(Handoff.reason).where(Handoff.sender_id == "web-1")) == "fallback"

    # the core fallback (the policies were unsure, not the shopper): Rasa's own answer
    dispatcher = CollectingDispatcher()
    assert await ActionDefaultFallback().run(dispatcher, _tracker("web-2"), {}) == [UserUtteranceReverted()]
    assert dispatcher.messages[0]["response"] == "utter_default"
    with session_scope(url) as s:
        assert s.scalar(select(Handoff.id).where(Handoff.sender_id == "web-2")) is None
    get_engine(url).dispose()


async def test_switched_off_triggers_answer_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      clean_settings: None) -> None:
    url = _use(tmp_path, monkeypatch, request=False, fallback=False)
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, _tracker("off-1"), {})
    # no contact policy in an empty shop: the domain's fallback response
    assert dispatcher.messages[0]["response"] == "utter_human_unavailable"
    dispatcher = CollectingDispatcher()
    off = _tracker("off-2", loop="action_two_stage_fallback")
    assert await ActionDefaultFallback().run(dispatcher, off, {}) == [UserUtteranceReverted()]
    assert dispatcher.messages[0]["response"] == "utter_default"
    with session_scope(url) as s:
        assert s.scalar(select(Handoff.id)) is None
    get_engine(url).dispose()
