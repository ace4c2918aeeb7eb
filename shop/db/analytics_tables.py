"""Tables of conversation analytics (migration 0011; :mod:`shop.analytics`).

- ``analytics_events``: every Rasa tracker event received (from the RabbitMQ event
  broker or read from the SQL tracker store), once: ``event_key`` (unique) is a hash of
  the sender, the event's type and timestamp and a stable part of its payload, so a
  redelivered or re-read event is stored once. Only what the figures need is kept:
  the shopper's or bot's text (at most 4,000 characters), the intent, the action, the
  input channel, the message id and a small ``detail`` (the verified customer id of a
  user message, the ``analytics`` marks and custom payload type of a bot message).
- ``analytics_conversations``: one row per conversation, i.e. per Rasa *session* of a
  sender (a ``session_started`` event begins a new one), recomputed from the sender's
  events whenever new ones arrive: channel, start, last event, the next session's
  start (``until_at``: joins to handoffs, ratings and orders use ``[started_at,
  until_at)``), shopper turns, fallbacks and whether the last one was left unresolved,
  searches and LLM/template answers marked by the action server.
- ``analytics_turns``: one row per shopper message of a conversation (a message the
  action server read again, with the same message id, counts once, with its final
  intent): intent, text, whether the bot fell back on it.
- ``analytics_cursors``: how far the tracker-store reader got (the last ``events.id``
  read), per tracker store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.db.base import Base


class AnalyticsEvent(Base):
    """One tracker event, stored once (see the module doc). ``at``: the event's own
    timestamp (naive UTC); ``received_at``: when it was stored here."""

    __tablename__ = "analytics_events"
    __table_args__ = (Index("ix_analytics_events_sender_at", "sender_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime)
    intent: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class AnalyticsConversation(Base):
    """One conversation: a session of ``sender_id`` (``session_no`` counts from 1).
    ``conversation_id``: ``<sender_id>@<start in epoch milliseconds>``, stable across
    recomputations. ``customer_id``: the last verified customer of its messages."""

    __tablename__ = "analytics_conversations"
    __table_args__ = (Index("ix_analytics_conversations_sender_started", "sender_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(300), unique=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    session_no: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_event_at: Mapped[datetime] = mapped_column(DateTime)
    until_at: Mapped[datetime | None] = mapped_column(DateTime)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    bot_messages: Mapped[int] = mapped_column(Integer, default=0)
    fallback_turns: Mapped[int] = mapped_column(Integer, default=0)
    unresolved_fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    zero_result_searches: Mapped[int] = mapped_column(Integer, default=0)
    llm_answers: Mapped[int] = mapped_column(Integer, default=0)
    template_answers: Mapped[int] = mapped_column(Integer, default=0)
    first_message: Mapped[str] = mapped_column(String(500), default="")


class AnalyticsTurn(Base):
    """One shopper message of a conversation: ``intent`` (final, after any re-reading),
    ``text`` (at most 1,000 characters), ``button``: the text is a button payload
    (``/intent...``), ``fell_back``: the bot answered it with a fallback."""

    __tablename__ = "analytics_turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_pk: Mapped[int] = mapped_column(
        ForeignKey("analytics_conversations.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    intent: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    button: Mapped[bool] = mapped_column(Boolean, default=False)
    fell_back: Mapped[bool] = mapped_column(Boolean, default=False)


class AnalyticsCursor(Base):
    """How far a reader of a tracker store got: ``source`` names the store (a hash of
    its URL), ``last_id`` the last ``events.id`` read."""

    __tablename__ = "analytics_cursors"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), unique=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
