"""Conversations and shopper turns, recomputed from a sender's stored events.

:func:`rebuild_senders` rebuilds every conversation of the given senders from all of
their ``analytics_events`` (ordered by timestamp, then arrival): events arriving late,
twice or out of order give the same rows as events arriving once and in order.

The rules (docs/operations.md#analytics):

- a **conversation** is one Rasa session of a sender: a ``session_started`` event
  begins the next one; it runs until the next one begins (``until_at``);
- a **shopper turn** is a ``user`` event; one with the message id of an earlier turn
  of the conversation is that message read again (the two-stage fallback's
  clarification, or the action server reading an unclear message as a product search)
  and replaces the earlier turn's intent and fallback flag instead of adding a turn;
- a turn **fell back** when ``action_default_fallback`` or ``action_two_stage_fallback``
  ran after it (before the next shopper message, and before any re-reading of it);
- a conversation's fallback is **unresolved** when its last fallen-back turn is not
  followed by a turn that did not fall back (a CSAT rating tap does not count);
- **searches** and **LLM/template answers** are the marks the action server puts on
  its bot messages (``metadata.analytics``, :func:`shop.analytics.event_shape.analytics_marks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shop.db.analytics_tables import AnalyticsConversation, AnalyticsEvent, AnalyticsTurn

FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback"})
#: intents of turns that never resolve a fallback (a rating is not an answer)
NOT_RESOLVING = frozenset({"rate"})
MAX_TURN_TEXT = 1000
MAX_FIRST_MESSAGE = 500


@dataclass
class _Turn:
    at: datetime
    intent: str | None
    text: str
    message_id: str | None
    fell_back: bool = False

    @property
    def button(self) -> bool:
        return self.text.lstrip().startswith("/")


@dataclass
class _Conversation:
    started_at: datetime
    last_event_at: datetime
    channel: str | None = None
    customer_id: int | None = None
    turns: list[_Turn] = field(default_factory=list)
    bot_messages: int = 0
    searches: int = 0
    zero_result_searches: int = 0
    llm_answers: int = 0
    template_answers: int = 0

    def add(self, event: AnalyticsEvent, current: _Turn | None) -> _Turn | None:
        """Take ``event`` in; returns the turn later actions belong to."""
        self.last_event_at = event.at
        if event.type == "user":
            return self._user(event)
        if event.type == "action" and event.action in FALLBACK_ACTIONS and current is not None:
            current.fell_back = True
        elif event.type == "bot":
            self.bot_messages += 1
            marks = (event.detail or {}).get("analytics") or {}
            if "search_results" in marks:
                self.searches += 1
                self.zero_result_searches += marks["search_results"] == 0
            if marks.get("answer") == "llm":
                self.llm_answers += 1
            elif marks.get("answer") == "template":
                self.template_answers += 1
        return current

    def _user(self, event: AnalyticsEvent) -> _Turn:
        if self.channel is None and event.channel:
            self.channel = event.channel
        customer = (event.detail or {}).get("customer_id")
        if isinstance(customer, int):
            self.customer_id = customer
        if event.message_id:
            for turn in self.turns:
                if turn.message_id == event.message_id:  # the same message read again
                    turn.intent, turn.fell_back = event.intent, False
                    return turn
        turn = _Turn(event.at, event.intent, (event.text or "")[:MAX_TURN_TEXT], event.message_id)
        self.turns.append(turn)
        return turn

    @property
    def unresolved_fallback(self) -> bool:
        last = max((i for i, t in enumerate(self.turns) if t.fell_back), default=None)
        if last is None:
            return False
        return not any(not t.fell_back and t.intent not in NOT_RESOLVING for t in self.turns[last + 1:])

    @property
    def first_message(self) -> str:
        typed = next((t.text for t in self.turns if t.text and not t.button), None)
        return (typed or next((t.text for t in self.turns if t.text), ""))[:MAX_FIRST_MESSAGE]


def folded(text: str) -> str:
    """A shopper text as turns keep it: spaces collapsed, case folded (so "Where is my
    order?" and "where is  my order?" count as one unanswered question)."""
    return " ".join(text.split()).casefold()[:MAX_TURN_TEXT]


def split_conversations(events: Sequence[AnalyticsEvent]) -> list[_Conversation]:
    """One sender's events (in order) as conversations (see the module doc)."""
    conversations: list[_Conversation] = []
    current_turn: _Turn | None = None
    for event in events:
        if event.type == "session_started" or not conversations:
            conversations.append(_Conversation(started_at=event.at, last_event_at=event.at))
            current_turn = None
        current_turn = conversations[-1].add(event, current_turn)
    return conversations


def conversation_id(sender_id: str, started_at: datetime) -> str:
    """``<sender_id>@<start in epoch milliseconds>``."""
    millis = round(started_at.replace(tzinfo=timezone.utc).timestamp() * 1000)
    return f"{sender_id}@{millis}"


def _session_start_before(session: Session, sender: str, earliest: datetime) -> datetime | None:
    """The latest ``session_started`` of the sender strictly before ``earliest``, or
    ``None``. Conversations begun before it can't change: a new event at or after it,
    even a late ``session_started`` that splits a conversation, only touches the
    conversation begun there and later ones."""
    return session.scalar(select(func.max(AnalyticsEvent.at)).where(
        AnalyticsEvent.sender_id == sender, AnalyticsEvent.type == "session_started", AnalyticsEvent.at < earliest))


def _rebuild_one(session: Session, sender: str, earliest: datetime | None) -> int:
    """Recompute the sender's conversations from the last session begun before
    ``earliest`` on (all of them when ``earliest`` is ``None`` or no session began
    before it)."""
    boundary = _session_start_before(session, sender, earliest) if earliest is not None else None
    c = AnalyticsConversation
    mine = [c.sender_id == sender] + ([c.started_at >= boundary] if boundary is not None else [])
    session.execute(delete(AnalyticsTurn).where(AnalyticsTurn.conversation_pk.in_(select(c.id).where(*mine))))
    session.execute(delete(c).where(*mine))
    kept = session.scalars(select(c).where(c.sender_id == sender).order_by(c.started_at, c.id)).all()
    stmt = select(AnalyticsEvent).where(AnalyticsEvent.sender_id == sender)
    if boundary is not None:
        stmt = stmt.where(AnalyticsEvent.at >= boundary)
    conversations = split_conversations(session.scalars(stmt.order_by(AnalyticsEvent.at, AnalyticsEvent.id)).all())
    if kept:
        kept[-1].until_at = conversations[0].started_at if conversations else None
    used = {k.conversation_id for k in kept}
    for index, conv in enumerate(conversations):
        number = len(kept) + index + 1
        until = conversations[index + 1].started_at if index + 1 < len(conversations) else None
        cid = conversation_id(sender, conv.started_at)
        if cid in used:  # two sessions begun in one millisecond
            cid = f"{cid}.{number}"
        used.add(cid)
        row = AnalyticsConversation(
            conversation_id=cid, sender_id=sender, session_no=number,
            channel=conv.channel, customer_id=conv.customer_id, started_at=conv.started_at,
            last_event_at=conv.last_event_at, until_at=until, turns=len(conv.turns),
            bot_messages=conv.bot_messages, fallback_turns=sum(t.fell_back for t in conv.turns),
            unresolved_fallback=conv.unresolved_fallback, searches=conv.searches,
            zero_result_searches=conv.zero_result_searches, llm_answers=conv.llm_answers,
            template_answers=conv.template_answers, first_message=conv.first_message)
        session.add(row)
        session.flush()
        session.add_all([AnalyticsTurn(conversation_pk=row.id, at=t.at, intent=t.intent, text=folded(t.text),
                                       button=t.button, fell_back=t.fell_back) for t in conv.turns])
    return len(kept) + len(conversations)


def rebuild_senders(session: Session, *, sender_ids: Iterable[str],
                    since: Mapping[str, datetime] | None = None) -> int:
    """Recompute the conversations and turns of ``sender_ids`` from their stored events;
    returns how many conversations they have now. ``since``: per sender, the earliest
    new event: only the sessions from the one holding it on are recomputed (a sender
    with months of history is not re-read whole for each message). The caller commits."""
    total = 0
    for sender in sorted(set(sender_ids)):
        total += _rebuild_one(session, sender, (since or {}).get(sender))
    session.flush()
    return total
