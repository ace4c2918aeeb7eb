"""Tables of what shoppers tell the shop about its service and what the team writes
back: CSAT ratings (one tap, 1 to 5, at the end of a chat or after a handoff) and the
e-mail replies to tickets (:class:`~shop.db.schema.Ticket`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.db.base import Base

CSAT_TRIGGERS = ("end_of_chat", "handoff")
TICKET_REPLY_STATUSES = ("sending", "sent", "failed")


class CsatRating(Base):
    """One shopper's rating of one chat or one handoff.

    ``conversation``: Rasa's sender id (as ``handoffs.sender_id`` stores it) on
    ``channel``; ``trigger``: ``end_of_chat`` (the goodbye's rating buttons) or
    ``handoff`` (the request the console relays when an agent closes the
    conversation; ``handoff_id`` set); ``trigger_key``: what makes the rating once
    per conversation and trigger (``chat:<session start>`` or ``handoff:<id>``): a
    second tap on the same request is refused and the first rating stays;
    ``score``: 1 (poor) to 5 (great); ``comment``: optional words."""

    __tablename__ = "csat_ratings"
    __table_args__ = (
        UniqueConstraint("conversation", "trigger_key", name="uq_csat_ratings_conversation_trigger"),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        CheckConstraint("trigger IN ('end_of_chat','handoff')", name="trigger_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    trigger_key: Mapped[str] = mapped_column(String(64))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


class TicketReply(Base):
    """An e-mail a staff member wrote to answer a ticket. Stored before it is sent
    (``status`` ``sending``), then ``sent`` (``sent_at``, ``message_id``: the
    ``Message-ID`` header) or ``failed`` (``error``: why), so a reply is never lost
    when the mail server is down and can be sent again (``attempts``)."""

    __tablename__ = "ticket_replies"
    __table_args__ = (CheckConstraint("status IN ('sending','sent','failed')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="sending")
    error: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
