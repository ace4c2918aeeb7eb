"""The conversation before a handoff, copied into its transcript
(:func:`copy_history`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from shop.db.schema import HandoffMessage
from shop.handoff.states import MAX_TEXT

HISTORY_LIMIT = 20
HISTORY_AUTHORS = {"shopper": "shopper", "user": "shopper", "bot": "bot"}


def _history_time(value: Any, now: datetime) -> datetime:
    """A history entry's ``at`` (epoch seconds or ISO 8601) as naive UTC, strictly
    before ``now`` (so it sorts before, and is told apart from, what the handoff
    itself records); ``now`` minus a millisecond when missing or unreadable."""
    latest = now - timedelta(milliseconds=1)
    at: datetime | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        try:
            at = datetime.fromtimestamp(float(value), timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            at = None
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        at = parsed
    return min(at, latest) if at is not None else latest


def copy_history(session: Session, *, handoff_id: int, history: Sequence[Mapping[str, Any]],
                 now: datetime) -> int:
    """Copy the conversation before the handoff into its transcript (delivered).

    ``history``: oldest first, ``[{"author": "shopper" | "bot", "text": str, "at":
    epoch seconds | ISO 8601}]`` (``"user"`` reads as ``"shopper"``); only the last 20
    entries, entries with another author or no text are skipped, texts are cut at
    4,000 characters, times are kept but never later than ``now``. Returns how many
    messages were added."""
    added = 0
    for entry in list(history)[-HISTORY_LIMIT:]:
        if not isinstance(entry, Mapping):
            continue
        author = HISTORY_AUTHORS.get(str(entry.get("author", "")))
        text = entry.get("text")
        if author is None or not isinstance(text, str) or not text.strip():
            continue
        session.add(HandoffMessage(handoff_id=handoff_id, at=_history_time(entry.get("at"), now), author=author,
                                   text=text[:MAX_TEXT], delivered_at=now))
        added += 1
    session.flush()
    return added
