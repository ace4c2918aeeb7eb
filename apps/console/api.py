"""The console's JSON API (all under ``/api``; see ``docs/agent-assist.md``), put
together from the routers of :mod:`apps.console.routes`; the event stream is
:mod:`apps.console.sse`.

Errors are ``{"detail": str}`` with: 401 without a live session (every route), 403
for a missing or wrong ``X-CSRF-Token`` on POST or a role that may not use the route
(audit, metrics, staff), 404 for a conversation that does not exist *or* is outside
an agent's teams (the two are not told apart), 409 for what the conversation's state
does not allow (the message says why), 422 for malformed input.
"""

from __future__ import annotations

from fastapi import APIRouter

from apps.console.routes.assist import assist_router
from apps.console.routes.audit import audit_router
from apps.console.routes.handoffs import handoffs_router
from apps.console.routes.messages import messages_router
from apps.console.routes.queue_list import queue_router
from apps.console.routes.staff_admin import staff_admin_router
from apps.console.routes.ticket_desk import ticket_desk_router
from apps.console.wiring import Console

ROUTERS = (staff_admin_router, queue_router, handoffs_router, assist_router, messages_router, audit_router,
           ticket_desk_router)


def api_router(console: Console) -> APIRouter:
    """Every ``/api`` route except the event stream (``apps.console.sse``)."""
    router = APIRouter(prefix="/api")
    for factory in ROUTERS:
        router.include_router(factory(console))
    return router
