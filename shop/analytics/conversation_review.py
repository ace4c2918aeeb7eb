"""Review of bot-only conversations: the list (with a search in the shopper's words)
and one conversation's transcript.

A conversation is *bot-only* when no handoff was requested in it (see
:func:`shop.analytics.dashboard_metrics.conversations_in`); the list holds those of the
filter's days and channel, newest first. The transcript is the shopper's and the bot's
messages in order; a shopper message the action server read again (same message id)
shows once, with its final intent.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shop.analytics.dashboard_metrics import conversations_in
from shop.analytics.figures import ConversationSummary, Filters, Turn
from shop.analytics.rollup import folded
from shop.db.analytics_tables import AnalyticsConversation, AnalyticsEvent, AnalyticsTurn

MAX_QUERY = 200
MAX_LIMIT = 500
MAX_CONVERSATION_ID = 300
LIKE_ESCAPE = "\\"


class ReviewError(ValueError):
    """A review request that cannot be answered; the message says what is allowed."""


def _like_pattern(query: str) -> str:
    escaped = query.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    for wildcard in ("%", "_"):
        escaped = escaped.replace(wildcard, LIKE_ESCAPE + wildcard)
    return f"%{escaped}%"


def bot_only_conversations(session: Session, *, filters: Filters, query: str | None = None, limit: int = 50,
                           offset: int = 0) -> list[ConversationSummary]:
    """The bot-only conversations of ``filters``, newest first; ``query``: only those
    where a shopper message contains these words (case and spacing ignored).

    Raises:
        ReviewError: ``query`` over :data:`MAX_QUERY` characters, ``limit`` outside 1 to
            :data:`MAX_LIMIT`, a negative ``offset``.
    """
    if query is not None and len(query) > MAX_QUERY:
        raise ReviewError(f"the search may be at most {MAX_QUERY} characters")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ReviewError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ReviewError("offset must be a whole number, 0 or more")
    conv = conversations_in(filters)
    c = AnalyticsConversation
    stmt = (select(c.conversation_id, c.channel, c.started_at, c.turns, conv.c.contained, c.first_message)
            .join(conv, conv.c.id == c.id).where(conv.c.handed == 0))
    words = folded(query or "")
    if words:
        stmt = stmt.where(exists().where(AnalyticsTurn.conversation_pk == c.id,
                                         AnalyticsTurn.text.like(_like_pattern(words), escape=LIKE_ESCAPE)))
    rows = session.execute(stmt.order_by(c.started_at.desc(), c.id.desc()).limit(limit).offset(offset))
    return [ConversationSummary(conversation_id=cid, channel=channel or "", started_at=started, turns=int(turns),
                                contained=bool(contained), first_message=first or "")
            for cid, channel, started, turns, contained, first in rows]


def transcript(session: Session, *, conversation_id: str) -> list[Turn]:
    """The messages of one conversation in order; ``[]`` when there is no such
    conversation (or the id is not one: over :data:`MAX_CONVERSATION_ID` characters)."""
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= MAX_CONVERSATION_ID:
        return []
    conv = session.scalars(select(AnalyticsConversation)
                           .where(AnalyticsConversation.conversation_id == conversation_id)).first()
    if conv is None:
        return []
    e = AnalyticsEvent
    stmt = select(e).where(e.sender_id == conv.sender_id, e.type.in_(("user", "bot")), e.at >= conv.started_at)
    if conv.until_at is not None:
        stmt = stmt.where(e.at < conv.until_at)
    turns: list[Turn] = []
    seen: dict[str, int] = {}  # message id -> index in turns
    for event in session.scalars(stmt.order_by(e.at, e.id)):
        if event.type == "user":
            if event.message_id and event.message_id in seen:
                index = seen[event.message_id]
                turns[index] = replace(turns[index], intent=event.intent)
                continue
            if event.message_id:
                seen[event.message_id] = len(turns)
            turns.append(Turn(at=event.at, author="shopper", text=event.text or "", intent=event.intent))
        else:
            custom = (event.detail or {}).get("custom")
            text = event.text or (f"[{custom}]" if custom else "")
            turns.append(Turn(at=event.at, author="bot", text=text, intent=None))
    return turns
