"""The console's own reads and writes (keyword-only functions over a session): names
for ids, suggestion events and the audit log. Reads of handoff transcripts are in
:mod:`shop.handoff.queries`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import AuditEntry, Customer, StaffUser, SuggestionEvent


def customer_names(session: Session, *, ids: Iterable[int]) -> dict[int, str]:
    """``{customer id: "first last"}`` for the customers of ``ids`` that exist."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Customer.id, Customer.first_name, Customer.last_name)
                           .where(Customer.id.in_(wanted)))
    return {cid: f"{first} {last}".strip() for cid, first, last in rows}


def staff_names(session: Session, *, ids: Iterable[int]) -> dict[int, str]:
    """``{staff user id: name}`` for the staff of ``ids`` that exist."""
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(wanted))).all())


def add_suggestion_event(session: Session, *, handoff_id: int, staff_user_id: int, suggestion_key: str,
                         event: str, source: str, shown_text: str, at: datetime,
                         sent_text: str | None = None) -> SuggestionEvent:
    """Add one suggested-reply event (``shown``, ``ignored``, ``used``, ``edited``) to
    the session (not flushed)."""
    row = SuggestionEvent(handoff_id=handoff_id, staff_user_id=staff_user_id, suggestion_key=suggestion_key,
                          event=event, source=source, shown_text=shown_text, sent_text=sent_text, at=at)
    session.add(row)
    return row


def suggestion_event_counts(session: Session) -> dict[str, int]:
    """``{event: how many}`` over all suggestion events."""
    return dict(session.execute(select(SuggestionEvent.event, func.count()).group_by(SuggestionEvent.event)).all())


def audit_entries(session: Session, *, limit: int, before_id: int | None = None, action: str | None = None,
                  handoff_id: int | None = None) -> list[tuple[AuditEntry, str | None]]:
    """Audit entries, newest first, with the email of the staff member who acted
    (``None`` for none): at most ``limit``, only ids below ``before_id``, only
    ``action`` (when not empty), only ``handoff_id``, when given."""
    query = (select(AuditEntry, StaffUser.email).outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
             .order_by(AuditEntry.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if handoff_id is not None:
        query = query.where(AuditEntry.handoff_id == handoff_id)
    return [(entry, email) for entry, email in session.execute(query).all()]
