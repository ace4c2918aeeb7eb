"""``action_session_start`` from tracker JSON: a new session gets the shop's name in the
``shop_name`` slot (responses say "{shop_name}"), nothing else carries over (a verified
order of the last session stays there), a name left in the tracker never survives,
and every response that names the shop has a variation for when the slot is empty."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from actions.session_start import SHOP_NAME_SLOT, ActionSessionStart
from shop.settings import get_settings
from tests.actions.trackers import build_tracker, render, run_action

COVERED = (ActionSessionStart,)


@pytest.fixture
def named_shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SHOP_NAME", "Copper & Crumb")
    get_settings.cache_clear()
    yield "Copper & Crumb"
    get_settings.cache_clear()


def test_a_new_session_says_the_shops_name(named_shop: str, domain: dict[str, Any]) -> None:
    tracker = build_tracker("start", slots={SHOP_NAME_SLOT: None})
    out = asyncio.run(run_action(ActionSessionStart(), tracker, domain))
    assert out.event_kinds() == ["session_started", "slot", "action"]
    assert out.events[-1]["name"] == "action_listen"
    assert out.slots == {SHOP_NAME_SLOT: named_shop}
    greeting = render({"response": "utter_greet"}, domain, out.slots)
    assert greeting.startswith("Hi! I'm the Copper & Crumb assistant.")
    assert render({"response": "utter_chitchat/ask_name"}, domain, out.slots) == \
        "I'm the Copper & Crumb shopping assistant."


def test_nothing_carries_over_and_an_old_name_never_survives(named_shop: str, domain: dict[str, Any]) -> None:
    stale = {"order_verified": "100234|a@example.com", "order_number": "100234", SHOP_NAME_SLOT: "Evil Corp"}
    tracker = build_tracker("start", slots=stale, candidates=stale)
    out = asyncio.run(run_action(ActionSessionStart(), tracker, domain))
    assert out.slots == {SHOP_NAME_SLOT: named_shop}  # carry_over_slots_to_new_session is false
    carrying = {**domain, "session_config": {"carry_over_slots_to_new_session": True}}
    carried = asyncio.run(run_action(ActionSessionStart(), tracker, carrying))
    assert carried.slots["order_number"] == "100234" and carried.slots[SHOP_NAME_SLOT] == named_shop
    assert [e["name"] for e in carried.events if e["event"] == "slot"][-1] == SHOP_NAME_SLOT  # set last: it wins


def test_the_slot_is_declared_and_every_named_response_has_a_fallback(domain: dict[str, Any]) -> None:
    slot = domain["slots"][SHOP_NAME_SLOT]
    assert slot["influence_conversation"] is False and slot["mappings"] == [{"type": "custom"}]
    assert "action_session_start" in domain["actions"]
    named = [name for name, variations in domain["responses"].items()
             if any("{shop_name}" in str(v.get("text", "")) for v in variations)]
    assert {"utter_greet", "utter_chitchat/ask_name", "utter_chitchat/who_made_you"} <= set(named)
    for name in named:
        fallback = [v for v in domain["responses"][name]
                    if v.get("condition") == [{"type": "slot", "name": SHOP_NAME_SLOT, "value": None}]]
        assert len(fallback) == 1 and "{" not in fallback[0]["text"], name
    texts = " ".join(str(v.get("text", "")) for vs in domain["responses"].values() for v in vs).lower()
    assert "ridgeline" not in texts and "outfitters" not in texts
