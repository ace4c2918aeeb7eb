"""``GET /queue``: the open conversations the staff member may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from apps.console.auth import Staff
from apps.console.guards import staff_guard
from apps.console.views import iso, queue_items
from apps.console.wiring import Console


def queue_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/queue")
    def get_queue(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"now", "items": [queue item, ...]}`` (see :func:`~apps.console.views.queue_items`)."""
        with console.db() as session:
            now = console.clock()
            return {"now": iso(now), "items": queue_items(session, staff, now=now)}

    return router
