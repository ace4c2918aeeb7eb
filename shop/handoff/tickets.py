"""Tickets for when nobody is online: the shopper leaves a message and an email
address, the handoff closes and the team answers by email.

Filing (:func:`ticket_step`, :func:`leave_ticket`) happens in the gate; answering in the
console (``apps/console/routes/ticket_desk.py``): :func:`list_tickets` (an agent sees
their teams' tickets, supervisors and admins all), :func:`assign_ticket`,
:func:`draft_reply` (the reply is stored before the e-mail goes out,
:mod:`shop.handoff.mailer`), :func:`finish_reply` / :func:`claim_retry` (a failed reply
is sent again, once at a time) and :func:`close_ticket`. Statuses: ``open`` ->
``closed``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.db.feedback_tables import TicketReply
from shop.db.schema import Handoff, HandoffMessage, Ticket
from shop.handoff.mailer import EMAIL_RE, MAX_SUBJECT, header_text
from shop.handoff.states import MAX_TEXT, HandoffStateError, record_message

TICKET_STATUSES = ("open", "closed")
MAX_REPLY = 10_000


class TicketStateError(ValueError):
    """What a ticket's state does not allow (a reply to a closed ticket, ...); the
    message says why."""


def leave_ticket(session: Session, *, handoff: Handoff, email: str, message: str, now: datetime) -> Ticket:
    """Store the shopper's message for the team (answered by ``email``) and close the
    handoff. Raises :class:`HandoffStateError` for an address that is not an email."""
    if not EMAIL_RE.fullmatch(email.strip()):
        raise HandoffStateError("that doesn't look like an email address (name@example.com)")
    ticket = Ticket(handoff_id=handoff.id, sender_id=handoff.sender_id, channel=handoff.channel,
                    email=email.strip()[:254], message=message[:MAX_TEXT] or "(no message)", created_at=now)
    session.add(ticket)
    handoff.status, handoff.ended_at = "closed", now
    session.flush()
    return ticket


def ticket_step(session: Session, *, handoff: Handoff, text: str, now: datetime) -> list[str]:
    """While nobody is online: collect the message and an email address (in any order,
    over as many messages as it takes), then file the ticket. Only what the shopper wrote
    since the handoff opened counts, not the conversation copied before it. Returns the
    reply for the shopper (also recorded in the transcript)."""
    shopper = list(session.scalars(select(HandoffMessage.text).where(
        HandoffMessage.handoff_id == handoff.id, HandoffMessage.author == "shopper",
        HandoffMessage.at >= handoff.created_at).order_by(HandoffMessage.id)))
    emails = [found.group(0) for t in shopper for found in EMAIL_RE.finditer(t)]
    message = "\n".join(part for part in (EMAIL_RE.sub("", t).strip() for t in shopper) if part)
    if not emails:
        reply = "Thanks. What email address should we answer to?"
    elif not message:
        reply = "Thanks, we'll answer at that address. What would you like to tell our team?"
    else:
        ticket = leave_ticket(session, handoff=handoff, email=emails[-1], message=message, now=now)
        reply = (f"Thanks, we have your message (ticket #{ticket.id}) and will answer at {ticket.email}. "
                 "In the meantime I'm here if you need anything else.")
    record_message(session, handoff_id=handoff.id, author="system", text=reply, now=now, delivered=True)
    return [reply]


def list_tickets(session: Session, *, teams: Sequence[str] | None, status: str | None = "open",
                 limit: int = 100, before_id: int | None = None) -> list[tuple[Ticket, str | None]]:
    """``(ticket, team)`` newest first; ``team``: its handoff's queue. ``teams``: only
    those teams' tickets (an agent's; a ticket without a handoff is for supervisors
    only), ``None``: all. ``status``: ``open``, ``closed`` or ``None`` (both)."""
    query = select(Ticket, Handoff.team).outerjoin(Handoff, Handoff.id == Ticket.handoff_id)
    if teams is not None:
        query = query.where(Handoff.team.in_(list(teams)))
    if status is not None:
        query = query.where(Ticket.status == status)
    if before_id is not None:
        query = query.where(Ticket.id < before_id)
    return [(t, team) for t, team in session.execute(query.order_by(Ticket.id.desc()).limit(limit))]


def ticket_team(session: Session, ticket: Ticket) -> str | None:
    """The queue the ticket belongs to (its handoff's team), ``None`` without a handoff."""
    handoff = session.get(Handoff, ticket.handoff_id) if ticket.handoff_id is not None else None
    return handoff.team if handoff is not None else None


def ticket_replies(session: Session, *, ticket_id: int) -> list[TicketReply]:
    """The ticket's replies, oldest first."""
    return list(session.scalars(select(TicketReply).where(TicketReply.ticket_id == ticket_id)
                                .order_by(TicketReply.id)))


def _require_open(ticket: Ticket, action: str) -> None:
    if ticket.status != "open":
        raise TicketStateError(f"cannot {action} a ticket that is {ticket.status}")


def assign_ticket(session: Session, *, ticket: Ticket, staff_user_id: int | None) -> Ticket:
    """Give the open ticket to ``staff_user_id`` (``None``: nobody)."""
    _require_open(ticket, "assign")
    ticket.assigned_to = staff_user_id
    session.flush()
    return ticket


def close_ticket(session: Session, *, ticket: Ticket, staff_user_id: int | None, now: datetime) -> Ticket:
    """``open`` -> ``closed``."""
    _require_open(ticket, "close")
    ticket.status, ticket.closed_at, ticket.closed_by = "closed", now, staff_user_id
    session.flush()
    return ticket


def draft_reply(session: Session, *, ticket: Ticket, staff_user_id: int | None, subject: str, body: str,
                now: datetime) -> TicketReply:
    """Store a reply to the open ticket, ``sending``, before it goes out: the subject
    made one safe line (:func:`~shop.handoff.mailer.header_text`), the body at most
    10,000 characters. Raises :class:`TicketStateError` for a closed ticket or an
    empty body."""
    _require_open(ticket, "answer")
    if not body.strip():
        raise TicketStateError("the reply is empty")
    reply = TicketReply(ticket_id=ticket.id, staff_user_id=staff_user_id, to_email=ticket.email,
                        subject=header_text(subject, limit=MAX_SUBJECT) or "Your message", body=body[:MAX_REPLY],
                        status="sending", attempts=1, created_at=now)
    session.add(reply)
    session.flush()
    return reply


def claim_retry(session: Session, *, reply_id: int) -> bool:
    """Mark a ``failed`` reply ``sending`` again (one more attempt); ``False`` when it is
    not failed (already sent, or another request is sending it now)."""
    result = session.execute(update(TicketReply).where(TicketReply.id == reply_id, TicketReply.status == "failed")
                             .values(status="sending", attempts=TicketReply.attempts + 1, error=None)
                             .execution_options(synchronize_session=False))
    session.expire_all()
    return bool(getattr(result, "rowcount", 0) == 1)


def finish_reply(session: Session, *, reply_id: int, now: datetime, message_id: str | None = None,
                 error: str | None = None) -> TicketReply:
    """Record how sending went: ``sent`` (``message_id``) or, with ``error``, ``failed``."""
    reply = session.get(TicketReply, reply_id)
    if reply is None:
        raise TicketStateError(f"there is no reply {reply_id}")
    if error is None:
        reply.status, reply.sent_at, reply.message_id, reply.error = "sent", now, (message_id or "")[:200], None
    else:
        reply.status, reply.error = "failed", error[:300]
    session.flush()
    return reply
