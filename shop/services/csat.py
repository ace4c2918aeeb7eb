"""CSAT: one-tap ratings of a chat or a handoff, 1 (poor) to 5 (great).

Where they come from (docs/widget.md#csat, docs/messaging.md#csat):

- **end of chat**: the goodbye (``utter_goodbye`` in ``bot/domain.yml``) carries the
  rating buttons; each sends ``/rate{"score": N}``;
- **after a handoff**: when an agent closes a conversation they were in, the console
  relays :func:`rating_request` to the shopper; its buttons send
  ``/rate{"score": N, "handoff_id": H}``.

Either way the tap reaches ``action_record_csat`` (``actions/csat_actions.py``), which
calls :func:`record_rating` with the tracker's own conversation id, so a shopper can
only rate their own conversation; a ``handoff_id`` must belong to it. One rating per
conversation and trigger (``trigger_key``): a second tap on the same request is refused
and the first stays (:attr:`RatingOutcome.duplicate`).

CSAT figure (:func:`csat_summary`): the share of ratings that are 4 or 5, with the count
and the mean score.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.db.feedback_tables import CsatRating
from shop.db.schema import Handoff

SCALE = 5
LABELS = ("Poor", "Fair", "Okay", "Good", "Great")  # score 1..5
SATISFIED_FROM = 4  # 4 and 5 count as satisfied (the CSAT share)
DISSATISFIED_UP_TO = 2  # 1 and 2: the bot says sorry and offers a person
MAX_COMMENT = 1000
RATED_HANDOFF_STATUSES = ("returned", "closed")
REQUEST_TEXT = ("Thanks for talking with us. How did we do? Tap a rating, or reply with a number "
                "from 1 (poor) to 5 (great).")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CHAT_REF = re.compile(r"[A-Za-z0-9_.:-]{1,48}")


class CsatError(ValueError):
    """A rating that cannot be stored; the message says what is allowed."""


@dataclass(frozen=True)
class RatingOutcome:
    """What :func:`record_rating` did: ``rating_id`` and ``score`` of the stored rating
    (the earlier one when ``duplicate``: this tap was refused)."""

    rating_id: int
    score: int
    duplicate: bool


def parse_score(value: Any) -> int:
    """A score from a button payload: an integer 1..5, or its digits as a string.
    Raises :class:`CsatError` for anything else (99, 0, 4.5, true, "five")."""
    if isinstance(value, bool):
        raise CsatError(f"a rating is a whole number from 1 to {SCALE}")
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 2:
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= SCALE:
        raise CsatError(f"a rating is a whole number from 1 to {SCALE}")
    return value


def parse_handoff_id(value: Any) -> int | None:
    """``None`` (no handoff), or a positive id (integer or digits). Raises :class:`CsatError`."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CsatError("that rating is not for this conversation")
    return value


def clean_comment(comment: str | None) -> str | None:
    """The comment as stored: NFC, no control characters, trimmed, at most 1,000
    characters; ``None`` when empty."""
    if comment is None:
        return None
    text = _CONTROL.sub("", unicodedata.normalize("NFC", _CONTROL.sub("", str(comment)))).strip()
    return text[:MAX_COMMENT] or None


def rating_payload(score: int, *, handoff_id: int | None = None) -> str:
    """The message a rating button sends: ``/rate{"score": 5}`` or with ``handoff_id``."""
    args: dict[str, int] = {"score": score}
    if handoff_id is not None:
        args["handoff_id"] = handoff_id
    return "/rate{" + ", ".join(f'"{k}": {v}' for k, v in args.items()) + "}"


def rating_buttons(*, handoff_id: int | None = None) -> list[dict[str, str]]:
    """The five rating buttons (``[{"title": "Poor", "payload": '/rate{"score": 1}'}, ...]``),
    in score order, so a numbered list of them reads 1 (poor) to 5 (great)."""
    return [{"title": label, "payload": rating_payload(n, handoff_id=handoff_id)}
            for n, label in enumerate(LABELS, start=1)]


def rating_request(*, handoff_id: int) -> tuple[str, dict[str, Any]]:
    """``(text, custom)`` of the rating request relayed after a handoff: the widget draws
    ``{"type": "csat_request", "scale": 5, "handoff_id": H}`` as stars, the messaging
    channels as buttons or numbered options (``bot/messaging.py``)."""
    return REQUEST_TEXT, {"type": "csat_request", "scale": SCALE, "handoff_id": handoff_id}


def trigger_key(*, handoff_id: int | None, chat_ref: str) -> str:
    """``handoff:<id>``, or ``chat:<chat_ref>`` (the chat session's start, from the tracker)."""
    if handoff_id is not None:
        return f"handoff:{handoff_id}"
    ref = chat_ref if _CHAT_REF.fullmatch(chat_ref or "") else "0"
    return f"chat:{ref}"


def record_rating(session: Session, *, conversation: str, channel: str, score: Any, now: datetime,
                  handoff_id: Any = None, chat_ref: str = "", comment: str | None = None) -> RatingOutcome:
    """Store the rating of ``conversation`` (Rasa's sender id) on ``channel``.

    ``score`` and ``handoff_id`` come from the button payload and are checked here
    (:func:`parse_score`, :func:`parse_handoff_id`); a handoff must be this
    conversation's and over (``returned`` or ``closed``). The rating is stored once
    per conversation and :func:`trigger_key`; a second one is refused
    (``duplicate=True``, the first is returned unchanged).

    Raises:
        CsatError: a score outside 1..5, or a handoff that is not this conversation's.
    """
    value = parse_score(score)
    handoff_ref = parse_handoff_id(handoff_id)
    conversation = conversation[:128]
    if not conversation.strip():
        raise CsatError("a rating needs a conversation")
    key = trigger_key(handoff_id=handoff_ref, chat_ref=chat_ref)
    row = CsatRating(conversation=conversation, channel=(channel or "unknown")[:32],
                     trigger="handoff" if handoff_ref is not None else "end_of_chat", trigger_key=key,
                     handoff_id=handoff_ref, score=value, comment=clean_comment(comment), at=now)
    # Write first, then read: the unique constraint decides between simultaneous taps, and
    # SQLite takes its write lock (waiting its busy timeout) before this transaction has
    # read anything, so a tap never fails because another one committed meanwhile.
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            if handoff_ref is not None:
                handoff = session.get(Handoff, handoff_ref)
                if handoff is None or handoff.sender_id != conversation \
                        or handoff.status not in RATED_HANDOFF_STATUSES:
                    raise CsatError("that rating is not for this conversation")
    except IntegrityError as exc:  # rated before (unique), or no such handoff (foreign key)
        earlier = _existing(session, conversation=conversation, key=key)
        if earlier is None:
            raise CsatError("that rating is not for this conversation") from exc
        return RatingOutcome(earlier.id, earlier.score, duplicate=True)
    return RatingOutcome(row.id, row.score, duplicate=False)


def _existing(session: Session, *, conversation: str, key: str) -> CsatRating | None:
    return session.scalar(select(CsatRating).where(CsatRating.conversation == conversation,
                                                   CsatRating.trigger_key == key))


@dataclass(frozen=True)
class CsatSummary:
    """``count`` ratings, ``csat``: share rated 4 or 5 (``None`` without ratings),
    ``mean`` score, ``by_score``: ``{1: n, ..., 5: n}``."""

    count: int
    csat: float | None
    mean: float | None
    by_score: dict[int, int]


def csat_summary(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                 channel: str | None = None, trigger: str | None = None) -> CsatSummary:
    """CSAT over ratings with ``since <= at < until`` (either open), optionally of one
    ``channel`` or ``trigger``: one SQL aggregate."""
    query = select(CsatRating.score, func.count()).group_by(CsatRating.score)
    if since is not None:
        query = query.where(CsatRating.at >= since)
    if until is not None:
        query = query.where(CsatRating.at < until)
    if channel is not None:
        query = query.where(CsatRating.channel == channel)
    if trigger is not None:
        query = query.where(CsatRating.trigger == trigger)
    by_score = {n: 0 for n in range(1, SCALE + 1)}
    for score, count in session.execute(query):
        by_score[int(score)] = int(count)
    total = sum(by_score.values())
    if not total:
        return CsatSummary(0, None, None, by_score)
    satisfied = sum(n for score, n in by_score.items() if score >= SATISFIED_FROM)
    mean = sum(score * n for score, n in by_score.items()) / total
    return CsatSummary(total, round(satisfied / total, 4), round(mean, 3), by_score)


def satisfied_share_sql() -> Any:
    """The CSAT share as a SQL expression over ``csat_ratings`` (for dashboards that
    group by day or channel): ``avg(case when score >= 4 then 1.0 else 0.0 end)``."""
    return func.avg(case((CsatRating.score >= SATISFIED_FROM, 1.0), else_=0.0))
