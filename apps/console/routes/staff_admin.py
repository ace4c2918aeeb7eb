"""``GET /me`` (the logged-in staff member) and ``POST /staff`` (admins create
staff)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException

from apps.console.auth import Staff, audit
from apps.console.bodies import StaffIn
from apps.console.guards import require_role, staff_guard
from apps.console.staff import StaffError, create_staff
from apps.console.wiring import Console


def staff_admin_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/me")
    def me(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        return staff.public()

    @router.post("/staff", status_code=201)
    def add_staff(body: StaffIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Admins create staff: ``{"id", "email", "name", "role", "teams"}``; 409 for an
        email in use, 422 for bad fields."""
        require_role(staff, "admin")
        with console.db() as session:
            now = console.clock()
            try:
                user = create_staff(session, email=body.email, name=body.name, password=body.password,
                                    role=body.role, teams=body.teams, now=now)
            except StaffError as exc:
                raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from exc
            audit(session, action="create_staff", now=now, user_id=staff.user_id, staff_id=user.id,
                  email=user.email, role=user.role, teams=user.teams)
            return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "teams": user.teams}

    return router
