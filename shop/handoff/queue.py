"""The queue of open handoffs, agents online, wait estimates and the notice a
waiting shopper reads."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Handoff, StaffSession, StaffUser
from shop.handoff.handoff_config import HandoffConfig
from shop.handoff.states import OPEN_STATUSES, record_message


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


def notice_for(session: Session, *, handoff: Handoff, config: HandoffConfig, now: datetime) -> str:
    """The queue notice for a new handoff; when nobody is online the handoff waits for a
    ticket instead (``awaiting_ticket``)."""
    estimate = wait_estimate(session, handoff=handoff, config=config, now=now)
    if not estimate.staffed:
        handoff.status = "awaiting_ticket"
    text = queued_notice(estimate)
    record_message(session, handoff_id=handoff.id, author="system", text=text, now=now, delivered=True)
    return text
