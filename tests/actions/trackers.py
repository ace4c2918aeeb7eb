"""Tracker JSON for action unit tests, the way RasaHQ/financial-demo builds them.

A test starts from a tracker dump in ``tests/actions/trackers/`` (what the Rasa server
posts to the action server: ``sender_id``, ``slots``, ``latest_message``, ``events``,
``active_loop`` ...), changes what the case needs with :func:`tracker_state`, and turns
it into a :class:`rasa_sdk.Tracker` with :func:`build_tracker`. :func:`run_action` runs
an action against it with a :class:`rasa_sdk.executor.CollectingDispatcher` and returns
an :class:`Outcome`: the dispatched messages (each rendered with the real domain's
response text, so assertions read like the shopper's screen) and the returned events.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

TRACKER_DIR = Path(__file__).parent / "trackers"
_MESSAGE_KEYS = frozenset({"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"})


@cache
def _template(name: str) -> dict[str, Any]:
    return json.loads((TRACKER_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _entities(entities: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    pairs = entities.items() if isinstance(entities, Mapping) else entities
    out, start = [], 0
    for name, value in pairs:
        out.append({"entity": name, "value": value, "start": start, "end": start + len(str(value)),
                    "extractor": "DIETClassifier", "confidence_entity": 0.99})
        start += len(str(value)) + 1
    return out


def tracker_state(
    template: str = "start",
    *,
    text: str | None = None,
    intent: str | None = None,
    confidence: float = 0.95,
    intent_ranking: list[tuple[str, float]] | None = None,
    entities: Mapping[str, Any] | Iterable[tuple[str, Any]] = (),
    slots: Mapping[str, Any] | None = None,
    customer_id: int | str | None = None,
    sender_id: str | None = None,
    channel: str | None = None,
    history: Iterable[tuple[str, str]] = (),
    active_loop: str | None | bool = False,
    requested_slot: str | None | bool = False,
    candidates: Mapping[str, Any] | None = None,
    response_selector: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A tracker dump: the ``template`` JSON with this user turn on top.

    ``history``: earlier ``("user" | "bot", text)`` turns, before the latest message.
    ``customer_id``: the signed customer id the channel put in the message metadata.
    ``active_loop`` / ``requested_slot``: ``False`` keeps the template's; ``None`` clears.
    ``candidates``: slot values a form extracted from this message (appended as the
    trailing ``slot`` events Rasa sends to ``validate_<form>``, and set on the slots).
    """
    state = copy.deepcopy(_template(template))
    if sender_id is not None:
        state["sender_id"] = sender_id
    if channel is not None:
        state["latest_input_channel"] = channel
    channel = state.get("latest_input_channel") or "rest"
    state["slots"].update(slots or {})
    if requested_slot is not False:
        state["slots"]["requested_slot"] = requested_slot
    if active_loop is not False:
        state["active_loop"] = {"name": active_loop, "validate": True, "rejected": False,
                                "trigger_message": {}} if active_loop else {}

    clock = float(state.get("latest_event_time") or 1_764_000_000.0)
    for author, said in history:
        clock += 1.0
        if author == "user":
            state["events"].append({"event": "user", "timestamp": clock, "text": said, "input_channel": channel,
                                    "parse_data": {"intent": {"name": "inform", "confidence": 0.9}, "entities": []},
                                    "metadata": {}})
        else:
            state["events"].append({"event": "bot", "timestamp": clock, "text": said, "data": {}, "metadata": {}})
            state["events"].append({"event": "action", "timestamp": clock, "name": "action_listen"})

    latest = state["latest_message"]
    if text is not None:
        latest["text"] = text
    if intent is not None:
        latest["intent"] = {"name": intent, "confidence": confidence}
        latest["intent_ranking"] = [{"name": intent, "confidence": confidence}]
    if intent_ranking is not None:
        latest["intent_ranking"] = [{"name": n, "confidence": c} for n, c in intent_ranking]
        latest["intent"] = dict(latest["intent_ranking"][0]) if intent_ranking else {}
    latest["entities"] = _entities(entities)
    metadata = dict(latest.get("metadata") or {})
    if customer_id is not None:
        metadata["customer_id"] = str(customer_id)
    latest["metadata"] = metadata
    if response_selector is not None:
        latest["response_selector"] = response_selector

    clock += 1.0
    state["events"].append({
        "event": "user", "timestamp": clock, "text": latest.get("text"), "input_channel": channel,
        "message_id": latest.get("message_id"), "metadata": metadata,
        "parse_data": {k: v for k, v in latest.items() if k not in ("metadata", "text")},
    })
    state["events"].append({"event": "user_featurization", "timestamp": clock, "use_text_for_featurization": False})
    for name, value in (candidates or {}).items():
        state["slots"][name] = value
        state["events"].append({"event": "slot", "timestamp": clock, "name": name, "value": value})
    state["latest_event_time"] = clock
    return state


def build_tracker(template: str = "start", **changes: Any) -> Tracker:
    """A :class:`rasa_sdk.Tracker` from :func:`tracker_state` (same arguments)."""
    return Tracker.from_dict(tracker_state(template, **changes))


def faq_selector(key: str) -> dict[str, Any]:
    """The response selector's pick as the Rasa server sends it (``faq/<key>``)."""
    return {"all_retrieval_intents": ["faq"],
            "faq": {"response": {"intent_response_key": f"faq/{key}", "confidence": 0.93,
                                 "utter_action": f"utter_faq/{key}", "responses": []},
                    "ranking": []}}


@dataclass
class Outcome:
    """What an action did: ``messages`` as dispatched, ``events`` as returned, and
    ``texts``: each message as the shopper reads it (response templates rendered)."""

    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    texts: list[str]

    @property
    def responses(self) -> list[str]:
        """The response names uttered, in order (``None`` for plain text messages)."""
        return [m.get("response") for m in self.messages]

    @property
    def customs(self) -> list[dict[str, Any]]:
        """The custom payloads (``json_message``), in order."""
        return [m["custom"] for m in self.messages if m.get("custom")]

    @property
    def slots(self) -> dict[str, Any]:
        """The ``SlotSet`` events as ``{name: value}`` (the last one wins)."""
        return {e["name"]: e["value"] for e in self.events if e.get("event") == "slot"}

    def event_kinds(self) -> list[str]:
        return [str(e.get("event")) for e in self.events]

    @property
    def text(self) -> str:
        """Every rendered message, one per line."""
        return "\n".join(self.texts)


def render(message: dict[str, Any], domain: dict[str, Any], slots: Mapping[str, Any]) -> str:
    """The text the shopper reads for one dispatched message. A response name must be
    in the domain, and every ``{placeholder}`` of its text must be filled (by the
    message's own arguments or a slot), or the test fails."""
    name = message.get("response")
    if not name:
        return str(message.get("text") or "")
    assert name in domain["responses"], f"{name} is not a response in bot/domain.yml"
    template = domain["responses"][name][0].get("text") or ""
    values = {**slots, **{k: v for k, v in message.items() if k not in _MESSAGE_KEYS}}
    try:
        return template.format(**values)
    except KeyError as exc:  # pragma: no cover - a failing test shows which
        raise AssertionError(f"{name} needs {exc} but the action did not give it") from exc


async def run_action(action: Action, tracker: Tracker, domain: dict[str, Any]) -> Outcome:
    """Run ``action`` as the action server would and collect what it did."""
    dispatcher = CollectingDispatcher()
    slots_before = dict(tracker.slots)
    events = await action.run(dispatcher, tracker, domain)
    events = [dict(e) for e in events]
    after = {**slots_before, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
    texts = [render(m, domain, after) for m in dispatcher.messages]
    return Outcome(dispatcher.messages, events, texts)
