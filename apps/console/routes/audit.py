"""``GET /audit``: the audit log, newest first (supervisors and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from apps.console.auth import Staff
from apps.console.guards import require_role, staff_guard
from apps.console.staff_queries import audit_entries
from apps.console.views import iso
from apps.console.wiring import Console


def audit_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/audit")
    def audit_log(staff: Staff = Depends(staff_dep), limit: int = Query(default=100, ge=1, le=500),
                  before_id: int | None = Query(default=None, ge=1),
                  action: str | None = Query(default=None, max_length=40),
                  handoff_id: int | None = Query(default=None, ge=1)) -> dict[str, Any]:
        """Newest first: ``{"items": [{"id", "at", "user_id", "user_email", "action",
        "handoff_id", "detail"}]}``. Supervisors and admins."""
        require_role(staff, "supervisor", "admin")
        with console.db() as session:
            rows = audit_entries(session, limit=limit, before_id=before_id, action=action, handoff_id=handoff_id)
            return {"items": [{"id": e.id, "at": iso(e.at), "user_id": e.user_id, "user_email": email,
                               "action": e.action, "handoff_id": e.handoff_id, "detail": e.detail}
                              for e, email in rows]}

    return router
