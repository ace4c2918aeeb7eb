"""Delivering staff and system messages to the shopper: what is still undelivered,
marking a message delivered, and handing the pending ones over when the shopper is
back (their next message on any channel, or a socket.io page reconnecting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Handoff, HandoffMessage, StaffUser
from shop.handoff.states import stored_sender


def undelivered(session: Session, *, handoff_id: int) -> list[HandoffMessage]:
    """Agent and system messages not yet delivered to the shopper, oldest first."""
    return list(session.scalars(select(HandoffMessage).where(
        HandoffMessage.handoff_id == handoff_id, HandoffMessage.delivered_at.is_(None),
        HandoffMessage.author.in_(("agent", "system"))).order_by(HandoffMessage.id)))


def mark_delivered(session: Session, *, message_id: int, now: datetime) -> None:
    """Mark one message delivered at ``now`` (kept as is when it already was, or when
    there is no such message)."""
    row = session.get(HandoffMessage, message_id)
    if row is not None and row.delivered_at is None:
        row.delivered_at = now


@dataclass(frozen=True)
class PendingMessage:
    """A staff or system message for the shopper: ``text``, ``payload`` (a card or
    offer), ``agent_name`` (the staff member's name, ``None`` for system messages)."""

    id: int
    handoff_id: int
    text: str
    payload: dict[str, Any] | None
    agent_name: str | None


def take_undelivered(session: Session, *, sender_id: str, channel: str, now: datetime,
                     recent: int = 3) -> list[PendingMessage]:
    """Agent and system messages not yet delivered (:func:`undelivered`) of the
    ``recent`` latest handoffs of the conversation ``sender_id`` *on* ``channel`` (a
    handoff of another channel with the same sender id is never touched), oldest
    first, marked delivered at ``now``: the caller hands them to the shopper now (REST
    has no push; a page or app that was away gets what was sent meanwhile)."""
    handoff_ids = list(session.scalars(select(Handoff.id).where(Handoff.sender_id == stored_sender(sender_id),
                                                                Handoff.channel == channel[:32])
                                       .order_by(Handoff.id.desc()).limit(recent)))
    out: list[PendingMessage] = []
    for handoff_id in sorted(handoff_ids):
        for message in undelivered(session, handoff_id=handoff_id):
            name = None
            if message.author == "agent" and message.staff_user_id is not None:
                name = session.scalar(select(StaffUser.name).where(StaffUser.id == message.staff_user_id))
            out.append(PendingMessage(message.id, handoff_id, message.text, message.payload, name))
            message.delivered_at = now
    session.flush()
    return out
