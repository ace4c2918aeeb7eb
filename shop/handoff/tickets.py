"""Tickets for when nobody is online: the shopper leaves a message and an email
address, the handoff closes and the team answers by email."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Handoff, HandoffMessage, Ticket
from shop.handoff.states import MAX_TEXT, HandoffStateError, record_message

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")


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
