"""One Rasa tracker event, read and checked: what analytics keeps of it, and its
idempotency key.

An event reaches analytics as the dict Rasa's event broker publishes (the tracker
event's ``as_dict()`` plus ``sender_id``) or as a row of the SQL tracker store (the
same dict in ``data``, the sender in ``sender_id``). :func:`read_event` returns a
:class:`ReadEvent`, ``None`` for a well-formed event analytics does not use (slots,
loops, ``action_listen``...), or raises :class:`BadEvent` saying what is wrong.

The idempotency key (:func:`event_key`) is the SHA-256 of the sender, the event type,
its timestamp and a stable part of its payload (a user message's text, message id and
intent; a bot message's text and custom payload; an action's name; a session start's
nothing more). A redelivered event, or the same event read from the tracker store and
from the broker, has the same key and is stored once.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MAX_SENDER = 255
MAX_TEXT = 4000
MAX_NAME = 128
MAX_CHANNEL = 64
MAX_MESSAGE_ID = 64
#: timestamps outside these (2000-01-01 .. 2100-01-01 UTC) are refused
EARLIEST_TS, LATEST_TS = 946_684_800.0, 4_102_444_800.0
#: the event types analytics keeps
KEPT = frozenset({"user", "bot", "action", "session_started"})
#: well-formed Rasa event types analytics ignores
IGNORED = frozenset({"slot", "rewind", "undo", "restart", "reset_slots", "active_loop", "form", "followup",
                     "pause", "resume", "user_featurization", "entities", "reminder", "cancel_reminder",
                     "loop_interrupted", "form_validation", "action_execution_rejected", "export", "agent",
                     "stack", "flow_started", "flow_completed", "flow_interrupted", "flow_resumed",
                     "flow_cancelled"})
#: actions that say nothing about the conversation (not stored)
QUIET_ACTIONS = frozenset({"action_listen", "action_session_start"})
#: what an action may mark a bot message with (``metadata.analytics``)
ANSWER_SOURCES = ("llm", "template")
MAX_SEARCH_RESULTS = 1_000_000


class BadEvent(ValueError):
    """An event analytics cannot read; the message says what is wrong."""


@dataclass(frozen=True)
class ReadEvent:
    """What analytics keeps of one event (see :class:`shop.db.analytics_tables.AnalyticsEvent`)."""

    key: str
    sender_id: str
    type: str
    at: datetime
    intent: str | None = None
    action: str | None = None
    channel: str | None = None
    message_id: str | None = None
    text: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _name(value: object, what: str, most: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise BadEvent(f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise BadEvent(f"{what} must be a string")
    if len(value) > most:
        raise BadEvent(f"{what} is longer than {most} characters")
    return value


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadEvent(f"{what} must be a string")
    return value[:MAX_TEXT]


def _timestamp(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadEvent("timestamp must be a number (Unix seconds)")
    stamp = float(value)
    if not math.isfinite(stamp) or not EARLIEST_TS <= stamp < LATEST_TS:
        raise BadEvent("timestamp must be Unix seconds between 2000 and 2100")
    return stamp


def _dict(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadEvent(f"{what} must be an object")
    return value


def _customer_id(metadata: dict[str, Any]) -> int | None:
    value = metadata.get("customer_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 9:
        return int(value) or None
    return None


def analytics_marks(metadata: dict[str, Any]) -> dict[str, Any]:
    """The action server's marks on a bot message (``metadata.analytics``), checked:
    ``search_results`` (a whole number: a first page of product search found that many)
    and ``answer`` (``llm`` or ``template``: who worded a generated answer). Anything
    else is dropped."""
    marks = metadata.get("analytics")
    if not isinstance(marks, dict):
        return {}
    kept: dict[str, Any] = {}
    results = marks.get("search_results")
    if isinstance(results, int) and not isinstance(results, bool) and 0 <= results <= MAX_SEARCH_RESULTS:
        kept["search_results"] = results
    if marks.get("answer") in ANSWER_SOURCES:
        kept["answer"] = marks["answer"]
    return kept


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_key(sender_id: str, kind: str, timestamp: float, stable: object) -> str:
    """The idempotency key: SHA-256 (hex) of sender, type, timestamp and ``stable``."""
    raw = "\x1f".join((sender_id, kind, repr(timestamp), _canonical(stable)))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _at(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, tz=timezone.utc).replace(tzinfo=None)


def read_event(event: object, *, sender_id: object = None) -> ReadEvent | None:
    """``event`` as analytics keeps it; ``None`` for a well-formed event of a type it
    ignores. ``sender_id``: the sender when it is not in the dict (a tracker-store row).

    Raises:
        BadEvent: not a dict, no sender, an unknown type, a bad timestamp or a field
            of the wrong type.
    """
    if not isinstance(event, dict):
        raise BadEvent("an event must be a JSON object")
    sender = _name(sender_id if sender_id is not None else event.get("sender_id"), "sender_id", MAX_SENDER)
    if sender is None:
        raise BadEvent("sender_id is missing")
    kind = event.get("event")
    if not isinstance(kind, str) or not kind:
        raise BadEvent("'event' (the event type) is missing")
    if kind in IGNORED:
        return None
    if kind not in KEPT:
        raise BadEvent(f"unknown event type {kind[:40]!r}")
    stamp = _timestamp(event.get("timestamp"))
    if kind == "session_started":
        return ReadEvent(event_key(sender, kind, stamp, None), sender, kind, _at(stamp))
    if kind == "action":
        name = _name(event.get("name"), "action name", MAX_NAME, required=True)
        if name in QUIET_ACTIONS:
            return None
        return ReadEvent(event_key(sender, kind, stamp, name), sender, kind, _at(stamp), action=name)
    metadata = _dict(event.get("metadata"), "metadata")
    text = _text(event.get("text"), "text")
    if kind == "user":
        parse = _dict(event.get("parse_data"), "parse_data")
        intent_data = _dict(parse.get("intent"), "parse_data.intent")
        intent = _name(intent_data.get("name"), "intent name", MAX_NAME)
        channel = _name(event.get("input_channel"), "input_channel", MAX_CHANNEL)
        message_id = _name(event.get("message_id"), "message_id", MAX_MESSAGE_ID)
        customer = _customer_id(metadata)
        key = event_key(sender, kind, stamp, [text, message_id, intent])
        return ReadEvent(key, sender, kind, _at(stamp), intent=intent, channel=channel, message_id=message_id,
                         text=text, detail={"customer_id": customer} if customer else {})
    data = _dict(event.get("data"), "data")
    custom = data.get("custom")
    detail: dict[str, Any] = {}
    if isinstance(custom, dict) and isinstance(custom.get("type"), str):
        detail["custom"] = custom["type"][:40]
    marks = analytics_marks(metadata)
    if marks:
        detail["analytics"] = marks
    key = event_key(sender, kind, stamp, [text, custom])
    return ReadEvent(key, sender, kind, _at(stamp), text=text, detail=detail)
