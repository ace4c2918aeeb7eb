"""Where a shopper's message goes (:func:`route_inbound`: the bot, or the people of
an open or new handoff) and opening a handoff from the dialogue
(:func:`request_handoff`). The action server, the Rasa-side gate and the staff
console share these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shop.handoff.handoff_config import HandoffConfig
from shop.handoff.history import copy_history
from shop.handoff.queue import notice_for
from shop.handoff.sentiment import sustained_negative
from shop.handoff.states import open_handoff_for, record_message, start_handoff
from shop.handoff.tickets import ticket_step


@dataclass(frozen=True)
class GateDecision:
    """Where one inbound shopper message goes: ``route`` ``"bot"`` (the dialogue) or
    ``"agent"`` (the console; the bot stays silent); ``replies``: texts to send the
    shopper at once (a queue notice, a ticket receipt); ``handoff_id`` when handed off;
    ``started``: this message opened the handoff."""

    route: str
    replies: list[str] = field(default_factory=list)
    handoff_id: int | None = None
    started: bool = False


def route_inbound(session: Session, *, sender_id: str, channel: str, text: str, now: datetime,
                  config: HandoffConfig, recent_scores: Sequence[float], customer_id: int | None = None,
                  history: Sequence[Mapping[str, Any]] = ()) -> GateDecision:
    """Decide where a shopper's message goes before the bot sees it.

    - An open handoff takes the message (it joins the transcript the console shows;
      while waiting for a ticket, a message with an email address files the ticket).
    - Otherwise a configured topic in the text, or sustained negative sentiment
      (``recent_scores``: this conversation's VADER scores, oldest first, this message's
      last), opens a handoff and the shopper is told about the queue; ``history``
      (the conversation so far, see :func:`~shop.handoff.history.copy_history`) is
      copied into its transcript first.
    - Everything else goes to the bot.
    """
    handoff = open_handoff_for(session, sender_id=sender_id)
    if handoff is not None:
        record_message(session, handoff_id=handoff.id, author="shopper", text=text, now=now, delivered=True)
        if handoff.status != "awaiting_ticket":
            return GateDecision("agent", [], handoff.id)
        return GateDecision("agent", ticket_step(session, handoff=handoff, text=text, now=now), handoff.id)
    reason = None
    topic = config.topic_of(text) if config.topics else None
    if topic is not None:
        reason, team, detail = "topic", topic[0], topic[1]
    elif config.sentiment and sustained_negative(recent_scores, window=config.window,
                                                 min_negative=config.min_negative, threshold=config.threshold):
        reason, team, detail = "sentiment", config.default_team, f"{recent_scores[-1]:.2f}"
    if reason is None:
        return GateDecision("bot")
    handoff = start_handoff(session, sender_id=sender_id, channel=channel, reason=reason, team=team, now=now,
                            detail=detail, customer_id=customer_id,
                            sentiment=recent_scores[-1] if recent_scores else None)
    copy_history(session, handoff_id=handoff.id, history=history, now=now)
    record_message(session, handoff_id=handoff.id, author="shopper", text=text, now=now, delivered=True)
    return GateDecision("agent", [notice_for(session, handoff=handoff, config=config, now=now)], handoff.id,
                        started=True)


@dataclass(frozen=True)
class HandoffStarted:
    """What :func:`request_handoff` did: the handoff's ``handoff_id`` and ``status``
    (``queued``, or ``awaiting_ticket`` when nobody is online) and the ``notice`` the
    shopper gets."""

    handoff_id: int
    status: str
    notice: str


def request_handoff(session: Session, *, sender_id: str, channel: str, reason: str, team: str,
                    config: HandoffConfig, now: datetime, history: Sequence[Mapping[str, Any]] = (),
                    customer_id: int | None = None, detail: str | None = None) -> HandoffStarted:
    """Open a handoff from the dialogue (the shopper asked for a person, or the
    fallback gave up): :func:`~shop.handoff.states.start_handoff`, the conversation so
    far into the transcript (:func:`~shop.handoff.history.copy_history`) and the queue
    notice (:func:`~shop.handoff.queue.notice_for`). A handoff already open is kept (no
    second copy of the history)."""
    existing = open_handoff_for(session, sender_id=sender_id)
    handoff = existing or start_handoff(session, sender_id=sender_id, channel=channel, reason=reason, team=team,
                                        now=now, detail=detail, customer_id=customer_id)
    if existing is None:
        copy_history(session, handoff_id=handoff.id, history=history, now=now)
    notice = notice_for(session, handoff=handoff, config=config, now=now)
    return HandoffStarted(handoff.id, handoff.status, notice)
