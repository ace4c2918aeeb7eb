"""Rasa tracker events as the event broker publishes them (the event's ``as_dict()`` plus
``sender_id``), written turn by turn: :class:`Chat` (the analytics tests' conversations
and the simulated week of ``bench/analytics_week.py``).

Timestamps are naive UTC datetimes turned into Unix seconds, as Rasa stamps them. The
shapes follow Rasa 3.6 (``rasa.shared.core.events``): what the two-stage fallback writes
when a shopper clarifies (the message read again with the same message id), what the
action server's ``_read_as`` writes, and the ``metadata.analytics`` marks of
``actions/analytics_marks.py``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from itertools import count
from typing import Any

_MESSAGE_IDS = count(1)


def unix(at: datetime) -> float:
    return at.replace(tzinfo=timezone.utc).timestamp()


class Chat:
    """The events of one sender, from ``start``; every call moves the clock on."""

    def __init__(self, sender: str, *, channel: str, start: datetime, customer_id: int | None = None) -> None:
        self.sender, self.channel, self.customer_id = sender, channel, customer_id
        self.now = start
        self.events: list[dict[str, Any]] = []
        self.session(start)

    def _event(self, kind: str, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
        if at is not None:
            self.now = at
        else:
            self.now += timedelta(milliseconds=250)
        event = {"sender_id": self.sender, "event": kind, "timestamp": unix(self.now), **fields}
        self.events.append(event)
        return event

    def session(self, at: datetime) -> Chat:
        """A new session: ``action_session_start``, ``session_started``, ``action_listen``."""
        self.action("action_session_start", at=at)
        self._event("session_started")
        self.action("action_listen")
        return self

    def action(self, name: str, *, at: datetime | None = None) -> Chat:
        self._event("action", at, name=name, policy="policy_2_RulePolicy", confidence=1.0, action_text=None,
                    hide_rule_turn=False)
        return self

    def user(self, text: str, intent: str, *, at: datetime | None = None, message_id: str | None = None,
             confidence: float = 0.93) -> str:
        """A shopper message; returns its message id."""
        if message_id is None:
            message_id = f"m{next(_MESSAGE_IDS):06d}"
        metadata = {"customer_id": str(self.customer_id)} if self.customer_id else {}
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text,
                 "message_id": message_id, "metadata": metadata,
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        self._event("user", at, text=text, parse_data=parse, input_channel=self.channel, message_id=message_id,
                    metadata=metadata)
        return message_id

    def bot(self, text: str | None, *, response: str | None = None, custom: dict[str, Any] | None = None,
            buttons: list[dict[str, str]] | None = None, analytics: dict[str, Any] | None = None) -> Chat:
        metadata: dict[str, Any] = {}
        if response:
            metadata["utter_action"] = response
        if analytics:
            metadata["analytics"] = analytics
        self._event("bot", text=text, data={"elements": None, "quick_replies": None, "buttons": buttons,
                                            "attachment": None, "image": None, "custom": custom},
                    metadata=metadata)
        return self

    def turn(self, text: str, intent: str, action: str, reply: str | None, *, at: datetime | None = None,
             analytics: dict[str, Any] | None = None, custom: dict[str, Any] | None = None) -> str:
        """A shopper message, the action that answers it, its reply and ``action_listen``."""
        message_id = self.user(text, intent, at=at)
        self.action(action)
        self.bot(reply, custom=custom, analytics=analytics)
        self.action("action_listen")
        return message_id

    def unclear(self, text: str, *, at: datetime | None = None) -> str:
        """A message the NLU did not understand, and the two-stage fallback's "Did you mean …?"."""
        message_id = self.user(text, "nlu_fallback", at=at, confidence=0.31)
        self.action("action_two_stage_fallback")
        self._event("active_loop", name="action_two_stage_fallback")
        self.bot("Did you mean 'search for products'?", buttons=[{"title": "Yes", "payload": "/search_products"},
                                                                 {"title": "No", "payload": "/out_of_scope"}])
        self.action("action_listen")
        return message_id

    def read_again(self, message_id: str, text: str, intent: str) -> Chat:
        """The message ``message_id`` read again as ``intent`` (the two-stage fallback's
        clarification, or the action server's ``_read_as``): loop off, rewind, listen, the
        message again."""
        self._event("active_loop", name=None)
        self._event("rewind")
        self.action("action_listen")
        metadata = {"customer_id": str(self.customer_id)} if self.customer_id else {}
        parse = {"intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": text,
                 "message_id": message_id, "metadata": metadata}
        self._event("user", text=text, parse_data=parse, input_channel=self.channel, message_id=message_id,
                    metadata=metadata)
        return self

    def rating(self, score: int, *, handoff_id: int | None = None, at: datetime | None = None) -> str:
        payload = {"score": score, **({"handoff_id": handoff_id} if handoff_id else {})}
        return self.turn("/rate" + json.dumps(payload), "rate", "action_record_csat", "Thanks for rating us!",
                         at=at)
