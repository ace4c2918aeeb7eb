"""Agent assist: ``GET /handoffs/{id}/assist`` (summary and suggested replies),
``POST /suggestions/{key}/events`` (a suggestion ``shown`` or ``ignored``) and
``GET /metrics/suggestions`` (counts and the accept rate; supervisors, admins)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool

from apps.console.auth import Staff, audit
from apps.console.bodies import KEY_PATTERN, SuggestionEventIn, clean_text
from apps.console.guards import require_role, staff_guard, visible_handoff
from apps.console.staff_queries import add_suggestion_event, suggestion_event_counts
from apps.console.views import assist_transcript, load_panel, transcript
from apps.console.wiring import Console

TEMPLATE_TIMEOUT_S = 3.0


def assist_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/handoffs/{handoff_id}/assist")
    async def get_assist(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"summary": {"text", "source"} | None, "suggestions": [{"key", "text",
        "source"}], "error": str | None}``. The LLM work gets ``assist_timeout_s`` and
        never blocks the event loop; past it, the templates (``runner=None``) answer."""

        def load() -> tuple[list[dict[str, Any]], Any, Any]:
            with console.db() as session:
                now = console.clock()
                handoff = visible_handoff(session, staff, handoff_id)
                items = assist_transcript(transcript(session, handoff.id))
                return items, load_panel(console, session, handoff, now), console.assist.runner()

        items, panel, runner = await run_in_threadpool(load)
        if panel is None:
            return {"summary": None, "suggestions": [], "error": "The customer panel is unavailable."}

        async def both(model: Any) -> tuple[Any, list[Any]]:
            return await asyncio.gather(
                console.assist.summarize(transcript=items, panel=panel, runner=model),
                console.assist.suggest_replies(transcript=items, panel=panel, runner=model, count=3))

        error = None
        try:
            summary, suggestions = await asyncio.wait_for(both(runner), console.config.assist_timeout_s)
        except TimeoutError:  # the model is slow or busy: the templates (no model) answer at once
            error = "The assistant took too long; these come from templates."
            try:
                summary, suggestions = await asyncio.wait_for(both(None), TEMPLATE_TIMEOUT_S)
            except TimeoutError:
                return {"summary": None, "suggestions": [], "error": "The assistant took too long; try again."}
        return {"summary": {"text": summary.text, "source": summary.source},
                "suggestions": [{"key": s.key, "text": s.text, "source": s.source} for s in suggestions],
                "error": error}

    @router.post("/suggestions/{key}/events", status_code=201)
    def suggestion_event(key: str, body: SuggestionEventIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Record that a suggested reply was ``shown`` or ``ignored``."""
        if not re.fullmatch(KEY_PATTERN, key):
            raise HTTPException(422, "Bad suggestion key.")
        with console.db() as session:
            now = console.clock()
            handoff = visible_handoff(session, staff, body.handoff_id)
            row = add_suggestion_event(session, handoff_id=handoff.id, staff_user_id=staff.user_id,
                                       suggestion_key=key, event=body.event, source=body.source,
                                       shown_text=clean_text(body.text), at=now)
            audit(session, action=f"suggestion_{body.event}", now=now, user_id=staff.user_id,
                  handoff_id=handoff.id, suggestion_key=key)
            session.flush()
            return {"id": row.id}

    @router.get("/metrics/suggestions")
    def suggestion_metrics(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"shown", "used", "edited", "ignored", "accept_rate"}``: accept rate =
        (used + edited) / shown, ``None`` before anything was shown. Supervisors, admins."""
        require_role(staff, "supervisor", "admin")
        with console.db() as session:
            counts = suggestion_event_counts(session)
        out = {event: int(counts.get(event, 0)) for event in ("shown", "used", "edited", "ignored")}
        out["accept_rate"] = round((out["used"] + out["edited"]) / out["shown"], 4) if out["shown"] else None
        return out

    return router
