"""One conversation: ``GET /handoffs/{id}`` (handoff, transcript and customer panel)
and its state changes ``POST /handoffs/{id}/accept``, ``/close`` and ``/handback``.
Closing a conversation a person was in relays a CSAT rating request to the shopper
(:func:`shop.services.csat.rating_request`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from apps.console.auth import Staff, audit
from apps.console.guards import staff_guard, visible_handoff
from apps.console.sending import Outgoing, deliver
from apps.console.views import handoff_view, load_panel, panel_dict, transcript
from apps.console.wiring import Console
from shop.handoff.states import HandoffStateError, accept, close, get_handoff, hand_back, record_message
from shop.services.csat import rating_request

HANDBACK_TEXT = "You're back with the virtual assistant — ask me anything."
CHANGES = {"accept": accept, "close": close, "hand_back": hand_back}


def change_state(console: Console, session: Session, handoff_id: int, staff: Staff, action: str) -> dict[str, Any]:
    """Run one state change of :mod:`shop.handoff.states` (``action``: ``accept``,
    ``close`` or ``hand_back``; 409 with its message when the state does not allow it),
    audited; returns the handoff's view."""
    now = console.clock()
    handoff = visible_handoff(session, staff, handoff_id)
    if action != "accept" and handoff.status == "active" and handoff.assigned_to != staff.user_id \
            and not staff.all_teams:
        raise HTTPException(409, "This conversation is with another agent.")
    try:
        CHANGES[action](session, handoff_id=handoff.id, staff_user_id=staff.user_id, now=now)
    except HandoffStateError as exc:
        raise HTTPException(409, str(exc)) from exc
    audit(session, action=action, now=now, user_id=staff.user_id, handoff_id=handoff.id, status=handoff.status)
    return handoff_view(session, handoff, now=now)


def handoffs_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/handoffs/{handoff_id}")
    def get_handoff_view(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"handoff", "transcript", "panel"}`` at once (no LLM work; the summary and
        suggested replies come from ``/assist``). Audited ``view_conversation``."""
        with console.db() as session:
            now = console.clock()
            handoff = visible_handoff(session, staff, handoff_id)
            view = handoff_view(session, handoff, now=now)
            items = transcript(session, handoff.id)
            panel = load_panel(console, session, handoff, now)
            audit(session, action="view_conversation", now=now, user_id=staff.user_id, handoff_id=handoff.id)
            return {"handoff": view, "transcript": items, "panel": panel_dict(panel),
                    "panel_error": None if panel is not None else "The customer panel is unavailable."}

    @router.post("/handoffs/{handoff_id}/accept")
    def accept_handoff(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``queued``/``awaiting_ticket`` -> ``active``, assigned to the caller: ``{"handoff"}``."""
        with console.db() as session:
            return {"handoff": change_state(console, session, handoff_id, staff, "accept")}

    @router.post("/handoffs/{handoff_id}/close")
    async def close_handoff(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """-> ``closed``: ``{"handoff"}``. When an agent was in the conversation
        (``active``), the shopper gets the rating request (a ``csat_request`` payload,
        relayed like a message): then also ``"delivered"`` and ``"warning"?``."""

        def change() -> tuple[dict[str, Any], Outgoing | None]:
            with console.db() as session:
                handoff = get_handoff(session, handoff_id=handoff_id)
                was_active = handoff is not None and handoff.status == "active"
                view = change_state(console, session, handoff_id, staff, "close")
                if handoff is None or not was_active:
                    return view, None
                text, payload = rating_request(handoff_id=handoff.id)
                row = record_message(session, handoff_id=handoff.id, author="system", text=text,
                                     now=console.clock(), staff_user_id=staff.user_id, payload=payload)
                return view, Outgoing(row.id, handoff.sender_id, handoff.channel, row.text, payload)

        view, outgoing = await run_in_threadpool(change)
        if outgoing is None:
            return {"handoff": view}
        error = await deliver(console, outgoing, agent_name=staff.name)
        return {"handoff": view, "delivered": error is None,
                **({"warning": f"The rating request was not delivered yet ({error})."} if error else {})}

    @router.post("/handoffs/{handoff_id}/handback")
    async def handback(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """-> ``returned``; the shopper is told they are back with the bot (relayed):
        ``{"handoff", "delivered", "warning"?}``."""

        def change() -> tuple[dict[str, Any], Outgoing]:
            with console.db() as session:
                view = change_state(console, session, handoff_id, staff, "hand_back")
                handoff = get_handoff(session, handoff_id=handoff_id)
                row = record_message(session, handoff_id=handoff_id, author="system", text=HANDBACK_TEXT,
                                     now=console.clock(), staff_user_id=staff.user_id)
                return view, Outgoing(row.id, handoff.sender_id, handoff.channel, row.text, None)

        view, outgoing = await run_in_threadpool(change)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return {"handoff": view, "delivered": error is None,
                **({"warning": f"The shopper was not told ({error})."} if error else {})}

    return router
