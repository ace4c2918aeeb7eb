"""Reads over handoff transcripts for the staff console's views and its event stream
(keyword-only functions over a session)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Handoff, HandoffMessage


def last_shopper_messages(session: Session, *, handoff_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """Each handoff's latest shopper message: ``{handoff_id: (message_id, text)}``;
    handoffs without one are left out."""
    if not handoff_ids:
        return {}
    last_ids = dict(session.execute(
        select(HandoffMessage.handoff_id, func.max(HandoffMessage.id))
        .where(HandoffMessage.handoff_id.in_(list(handoff_ids)), HandoffMessage.author == "shopper")
        .group_by(HandoffMessage.handoff_id)).all())
    if not last_ids:
        return {}
    texts = dict(session.execute(select(HandoffMessage.id, HandoffMessage.text)
                                 .where(HandoffMessage.id.in_(list(last_ids.values())))).all())
    return {handoff_id: (message_id, texts.get(message_id, "")) for handoff_id, message_id in last_ids.items()}


def transcript_messages(session: Session, *, handoff_id: int) -> list[HandoffMessage]:
    """The handoff's messages, oldest first."""
    return list(session.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)
                                .order_by(HandoffMessage.at, HandoffMessage.id)))


def newest_message_id(session: Session) -> int:
    """The highest message id of all handoffs (0 when there is none)."""
    return int(session.scalar(select(func.max(HandoffMessage.id))) or 0)


def message_ids_between(session: Session, *, above: int, up_to: int) -> set[int]:
    """Ids of the messages with ``above < id <= up_to``."""
    return set(session.scalars(select(HandoffMessage.id).where(HandoffMessage.id > above,
                                                               HandoffMessage.id <= up_to)))


def messages_after(session: Session, *, after_id: int, teams: Sequence[str] | None,
                   limit: int = 500) -> list[HandoffMessage]:
    """Messages with an id above ``after_id``, in id order, at most ``limit``; only
    those of handoffs of ``teams`` when given."""
    query = (select(HandoffMessage).join(Handoff, Handoff.id == HandoffMessage.handoff_id)
             .where(HandoffMessage.id > after_id).order_by(HandoffMessage.id).limit(limit))
    if teams is not None:
        query = query.where(Handoff.team.in_(list(teams)))
    return list(session.scalars(query))
