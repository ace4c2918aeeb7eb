"""Who may make an admin change from the command line, and the audit row each change
leaves (the console's ``audit_log``: ``at``, ``user_id``, ``action``, ``detail``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import AuditEntry, StaffUser

ADMIN_ROLE = "admin"


class AdminError(ValueError):
    """An admin change that is refused; the message says why and what is allowed."""


def active_admins(session: Session) -> int:
    """How many active staff members have the admin role."""
    return int(session.scalar(select(func.count()).select_from(StaffUser).where(
        StaffUser.role == ADMIN_ROLE, StaffUser.is_active.is_(True))) or 0)


def acting_admin(session: Session, *, email: str | None) -> StaffUser:
    """The active admin with ``email`` (case-insensitive), who is making a change.

    Raises:
        AdminError: no email, or nobody with it, or not an active admin.
    """
    if not email or not email.strip():
        raise AdminError("say who makes the change: --by EMAIL of an active admin")
    clean = email.strip().lower()[:254]
    user = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == clean))
    if user is None or not user.is_active or user.role != ADMIN_ROLE:
        raise AdminError(f"{clean} is not an active admin; only active admins may change the shop "
                         "(create the first one with `python -m apps.cli admin create-user --role admin`)")
    return user


def record_admin_change(session: Session, *, by: StaffUser | int, action: str, now: datetime,
                        **detail: Any) -> AuditEntry:
    """Append one ``audit_log`` row for a change made by ``by`` (a staff member or their
    id) from the command line (``detail["via"] = "cli"``). ``detail``: JSON-able facts,
    never a password."""
    entry = AuditEntry(at=now, user_id=by if isinstance(by, int) else by.id, action=action[:40],
                       detail={"via": "cli", **detail})
    session.add(entry)
    session.flush()
    return entry
