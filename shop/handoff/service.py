"""The handoff state machine, the queue, wait estimates and tickets (plain functions
over a session; the action server, the Rasa-side gate and the staff console share them).

States of a :class:`~shop.db.schema.Handoff`::

    queued ──accept──> active ──hand_back──> returned   (the bot answers again)
      │  └──────────────┴──────close───────> closed
      └─ awaiting_ticket (nobody online) ──leave_ticket──> closed

At most one handoff per conversation is open (``queued``, ``active`` or
``awaiting_ticket``); while one is, the bot does not answer in that conversation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Customer, Handoff, HandoffMessage, StaffSession, StaffUser, Ticket
from shop.handoff.handoff_config import HandoffConfig
from shop.handoff.sentiment import sustained_negative

OPEN_STATUSES = ("queued", "active", "awaiting_ticket")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
MAX_TEXT = 4000


class HandoffStateError(ValueError):
    """A transition the handoff's state does not allow; the message says why."""


def _sender(sender_id: str) -> str:
    """The sender id as stored (``handoffs.sender_id`` holds 128 characters): every
    lookup cuts it the same way, so a longer id still finds its handoff."""
    return sender_id[:128]


def open_handoff_for(session: Session, *, sender_id: str) -> Handoff | None:
    """The conversation's open handoff, or ``None``."""
    return session.scalar(select(Handoff).where(Handoff.sender_id == _sender(sender_id),
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
    handoff = Handoff(sender_id=_sender(sender_id), channel=channel[:32], reason=reason, team=team[:40],
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


def queue(session: Session, *, teams: Sequence[str] | None = None) -> list[Handoff]:
    """Open handoffs, oldest first; only those of ``teams`` when given."""
    query = select(Handoff).where(Handoff.status.in_(OPEN_STATUSES)).order_by(Handoff.created_at, Handoff.id)
    if teams is not None:
        query = query.where(Handoff.team.in_(list(teams)))
    return list(session.scalars(query))


def agents_online(session: Session, *, team: str, now: datetime, window_s: int) -> int:
    """Staff with a live console session seen in the last ``window_s`` seconds who work
    ``team`` (supervisors and admins work every team)."""
    since = now - timedelta(seconds=window_s)
    rows = session.execute(
        select(StaffUser.id, StaffUser.role, StaffUser.teams).join(StaffSession, StaffSession.user_id == StaffUser.id)
        .where(StaffSession.ended_at.is_(None), StaffSession.expires_at > now, StaffSession.last_seen_at >= since,
               StaffUser.is_active.is_(True))
    ).all()
    return len({uid for uid, role, teams in rows if role != "agent" or team in (teams or [])})


@dataclass(frozen=True)
class WaitEstimate:
    """``position``: 1 = next; ``minutes``: expected wait; ``open_now``: within
    business hours; ``hours_text``: the hours as the shopper reads them."""

    position: int
    agents_online: int
    minutes: int
    open_now: bool
    hours_text: str

    @property
    def staffed(self) -> bool:
        return self.open_now and self.agents_online > 0


def wait_estimate(session: Session, *, handoff: Handoff, config: HandoffConfig, now: datetime) -> WaitEstimate:
    """Where ``handoff`` is in its team's queue and how long the wait should be:
    position × average handle time / agents online, rounded up (minutes)."""
    ahead = session.scalar(select(func.count()).select_from(Handoff).where(
        Handoff.team == handoff.team, Handoff.status == "queued", Handoff.id < handoff.id)) or 0
    online = agents_online(session, team=handoff.team, now=now, window_s=config.agent_online_window_s)
    position = int(ahead) + 1
    minutes = math.ceil(position * config.average_handle_minutes / online) if online else 0
    return WaitEstimate(position, online, minutes, config.open_now(now), config.hours_text)


def queued_notice(estimate: WaitEstimate) -> str:
    """What the shopper reads while waiting for a person."""
    if not estimate.staffed:
        when = f" Our team is available {estimate.hours_text}." if estimate.hours_text else ""
        return ("Nobody from our team is online right now." + when +
                " Leave your message and your email address here, and we'll answer by email.")
    wait = "about a minute" if estimate.minutes <= 1 else f"about {estimate.minutes} minutes"
    place = "You're next" if estimate.position == 1 else f"You're number {estimate.position} in the queue"
    return (f"I'm connecting you with a member of our team. {place}; the wait is {wait}. "
            "Everything you write here goes to them.")


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
      (the conversation so far, see :func:`copy_history`) is copied into its transcript
      first.
    - Everything else goes to the bot.
    """
    handoff = open_handoff_for(session, sender_id=sender_id)
    if handoff is not None:
        record_message(session, handoff_id=handoff.id, author="shopper", text=text, now=now, delivered=True)
        if handoff.status != "awaiting_ticket":
            return GateDecision("agent", [], handoff.id)
        return GateDecision("agent", _ticket_step(session, handoff=handoff, text=text, now=now), handoff.id)
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


def notice_for(session: Session, *, handoff: Handoff, config: HandoffConfig, now: datetime) -> str:
    """The queue notice for a new handoff; when nobody is online the handoff waits for a
    ticket instead (``awaiting_ticket``)."""
    estimate = wait_estimate(session, handoff=handoff, config=config, now=now)
    if not estimate.staffed:
        handoff.status = "awaiting_ticket"
    text = queued_notice(estimate)
    record_message(session, handoff_id=handoff.id, author="system", text=text, now=now, delivered=True)
    return text


def _ticket_step(session: Session, *, handoff: Handoff, text: str, now: datetime) -> list[str]:
    """While nobody is online: collect the message and an email address (in any order,
    over as many messages as it takes), then file the ticket. Only what the shopper wrote
    since the handoff opened counts, not the conversation copied before it."""
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


def undelivered(session: Session, *, handoff_id: int) -> list[HandoffMessage]:
    """Agent and system messages not yet delivered to the shopper, oldest first."""
    return list(session.scalars(select(HandoffMessage).where(
        HandoffMessage.handoff_id == handoff_id, HandoffMessage.delivered_at.is_(None),
        HandoffMessage.author.in_(("agent", "system"))).order_by(HandoffMessage.id)))


HISTORY_LIMIT = 20
HISTORY_AUTHORS = {"shopper": "shopper", "user": "shopper", "bot": "bot"}


def _history_time(value: Any, now: datetime) -> datetime:
    """A history entry's ``at`` (epoch seconds or ISO 8601) as naive UTC, strictly
    before ``now`` (so it sorts before, and is told apart from, what the handoff
    itself records); ``now`` minus a millisecond when missing or unreadable."""
    latest = now - timedelta(milliseconds=1)
    at: datetime | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        try:
            at = datetime.fromtimestamp(float(value), timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            at = None
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        at = parsed
    return min(at, latest) if at is not None else latest


def copy_history(session: Session, *, handoff_id: int, history: Sequence[Mapping[str, Any]],
                 now: datetime) -> int:
    """Copy the conversation before the handoff into its transcript (delivered).

    ``history``: oldest first, ``[{"author": "shopper" | "bot", "text": str, "at":
    epoch seconds | ISO 8601}]`` (``"user"`` reads as ``"shopper"``); only the last 20
    entries, entries with another author or no text are skipped, texts are cut at
    4,000 characters, times are kept but never later than ``now``. Returns how many
    messages were added."""
    added = 0
    for entry in list(history)[-HISTORY_LIMIT:]:
        if not isinstance(entry, Mapping):
            continue
        author = HISTORY_AUTHORS.get(str(entry.get("author", "")))
        text = entry.get("text")
        if author is None or not isinstance(text, str) or not text.strip():
            continue
        session.add(HandoffMessage(handoff_id=handoff_id, at=_history_time(entry.get("at"), now), author=author,
                                   text=text[:MAX_TEXT], delivered_at=now))
        added += 1
    session.flush()
    return added


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
    fallback gave up): :func:`start_handoff`, the conversation so far into the
    transcript (:func:`copy_history`) and the queue notice (:func:`notice_for`). A
    handoff already open is kept (no second copy of the history)."""
    existing = open_handoff_for(session, sender_id=sender_id)
    handoff = existing or start_handoff(session, sender_id=sender_id, channel=channel, reason=reason, team=team,
                                        now=now, detail=detail, customer_id=customer_id)
    if existing is None:
        copy_history(session, handoff_id=handoff.id, history=history, now=now)
    notice = notice_for(session, handoff=handoff, config=config, now=now)
    return HandoffStarted(handoff.id, handoff.status, notice)


@dataclass(frozen=True)
class PendingMessage:
    """A staff or system message for the shopper: ``text``, ``payload`` (a card or
    offer), ``agent_name`` (the staff member's name, ``None`` for system messages)."""

    id: int
    handoff_id: int
    text: str
    payload: dict[str, Any] | None
    agent_name: str | None


def take_undelivered(session: Session, *, sender_id: str, now: datetime, recent: int = 3) -> list[PendingMessage]:
    """Agent and system messages of the conversation's ``recent`` latest handoffs not yet
    delivered (:func:`undelivered`), oldest first, marked delivered at ``now``: for a
    channel without push (REST), which gets them with the shopper's next reply."""
    handoff_ids = list(session.scalars(select(Handoff.id).where(Handoff.sender_id == _sender(sender_id))
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
