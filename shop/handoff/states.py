"""The handoff state machine and its transcript (plain functions over a session).

States of a :class:`~shop.db.schema.Handoff`::

    queued ──accept──> active ──hand_back──> returned   (the bot answers again)
      │  └──────────────┴──────close───────> closed
      └─ awaiting_ticket (nobody online) ──leave_ticket──> closed

At most one handoff per conversation is open (``queued``, ``active`` or
``awaiting_ticket``); while one is, the bot does not answer in that conversation.
The queue and wait estimates are in :mod:`shop.handoff.queue`, tickets in
:mod:`shop.handoff.tickets`, where a shopper's message goes in :mod:`shop.handoff.gate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Customer, Handoff, HandoffMessage

OPEN_STATUSES = ("queued", "active", "awaiting_ticket")
MAX_TEXT = 4000


class HandoffStateError(ValueError):
    """A transition the handoff's state does not allow; the message says why."""


def stored_sender(sender_id: str) -> str:
    """The sender id as stored (``handoffs.sender_id`` holds 128 characters): every
    lookup cuts it the same way, so a longer id still finds its handoff."""
    return sender_id[:128]


def open_handoff_for(session: Session, *, sender_id: str) -> Handoff | None:
    """The conversation's open handoff, or ``None``."""
    return session.scalar(select(Handoff).where(Handoff.sender_id == stored_sender(sender_id),
                                                Handoff.status.in_(OPEN_STATUSES))
                          .order_by(Handoff.id.desc()).limit(1))


def get_handoff(session: Session, *, handoff_id: int) -> Handoff | None:
    return session.get(Handoff, handoff_id)


def record_message(session: Session, *, handoff_id: int, author: str, text: str, now: datetime,
                   staff_user_id: int | None = None, payload: dict | None = None,
                   delivered: bool = False) -> HandoffMessage:
    """Add one message to the handoff's transcript (``text`` cut at 4,000 characters)."""
    message = HandoffMessage(handoff_id=handoff_id, at=now, author=author, text=(text or "")[:MAX_TEXT],
                             staff_user_id=staff_user_id, payload=payload, delivered_at=now if delivered else None)
    session.add(message)
    session.flush()
    return message


def start_handoff(session: Session, *, sender_id: str, channel: str, reason: str, team: str, now: datetime,
                  detail: str | None = None, customer_id: int | None = None,
                  sentiment: float | None = None) -> Handoff:
    """Open a handoff for the conversation (``queued``), or return the one already open.
    ``customer_id`` is dropped when no such customer exists."""
    existing = open_handoff_for(session, sender_id=sender_id)
    if existing is not None:
        return existing
    if customer_id is not None and session.get(Customer, customer_id) is None:
        customer_id = None  # a stale or foreign id must not break the handoff (foreign key)
    handoff = Handoff(sender_id=stored_sender(sender_id), channel=channel[:32], reason=reason, team=team[:40],
                      detail=(detail or None) and detail[:200], status="queued", customer_id=customer_id,
                      sentiment=sentiment, created_at=now)
    session.add(handoff)
    session.flush()
    return handoff


def _transition(handoff: Handoff, allowed: Sequence[str], action: str) -> None:
    if handoff.status not in allowed:
        raise HandoffStateError(f"cannot {action} a conversation that is {handoff.status.replace('_', ' ')}")


def accept(session: Session, *, handoff_id: int, staff_user_id: int, now: datetime) -> Handoff:
    """An agent takes a queued conversation (or one waiting for a ticket): ``active``."""
    handoff = _require(session, handoff_id)
    if handoff.status == "active" and handoff.assigned_to == staff_user_id:
        return handoff
    _transition(handoff, ("queued", "awaiting_ticket"), "accept")
    handoff.status, handoff.assigned_to, handoff.accepted_at = "active", staff_user_id, now
    return handoff


def hand_back(session: Session, *, handoff_id: int, staff_user_id: int, now: datetime) -> Handoff:
    """Give the conversation back to the bot (``returned``); its dialogue context was
    never touched, so the bot goes on from where it was."""
    handoff = _require(session, handoff_id)
    _transition(handoff, ("queued", "active"), "hand back")
    handoff.status, handoff.ended_at, handoff.ended_by = "returned", now, staff_user_id
    return handoff


def close(session: Session, *, handoff_id: int, staff_user_id: int | None, now: datetime) -> Handoff:
    """End the handoff (``closed``); the next shopper message goes to the bot."""
    handoff = _require(session, handoff_id)
    _transition(handoff, OPEN_STATUSES, "close")
    handoff.status, handoff.ended_at, handoff.ended_by = "closed", now, staff_user_id
    return handoff


def _require(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise HandoffStateError(f"there is no conversation {handoff_id}")
    return handoff
