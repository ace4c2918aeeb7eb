"""``GET /api/events``: the live console as Server-Sent Events.

The stream polls the database every ``sse_poll_s`` (1 s) and sends, only for what the
staff member may see:

- ``event: queue`` ``data: {"now", "items": [...]}`` at the start and whenever the
  open handoffs change (a new one, a status or assignee change, a new shopper message);
- ``event: message`` ``id: <message id>`` ``data: {message}`` for each new
  ``handoff_messages`` row (``Last-Event-ID`` on reconnect resumes after that id);
- ``: ping`` after ``sse_heartbeat_s`` (15 s) of silence;
- ``event: session`` ``data: {"state": "ended"}`` then the end, when the session is
  over (logout, idle or absolute timeout; the stream itself does not count as
  activity, so an idle console still times out).

It stops when the client disconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from apps.console.auth import SESSION_COOKIE, Staff, resolve_session
from apps.console.guards import staff_guard
from apps.console.staff_queries import staff_names
from apps.console.views import iso, message_dict, queue_items
from apps.console.wiring import Console
from shop.handoff.queries import message_ids_between, messages_after, newest_message_id

RESCAN = 50  # ids below the newest seen that are looked at again (PostgreSQL commits out of id order)
SESSION_CHECK_S = 15.0


def frame(event: str, data: Any, *, event_id: int | None = None) -> str:
    """One SSE frame (JSON data on one line)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class Watcher:
    """What one stream has sent so far, and the database reads that find what is new."""

    def __init__(self, console: Console, staff: Staff, *, after_id: int | None) -> None:
        self.console, self.staff = console, staff
        self.after_id = after_id
        self.seen: set[int] = set()
        self.queue_key: Any = None

    def start(self) -> None:
        """Messages up to now (or up to ``Last-Event-ID``) count as sent."""
        with self.console.db() as session:
            if self.after_id is None:
                self.after_id = newest_message_id(session)
            self.seen = message_ids_between(session, above=self.after_id - RESCAN, up_to=self.after_id)

    def poll(self) -> list[str]:
        """Frames for what changed since the last poll."""
        frames: list[str] = []
        with self.console.db() as session:
            now = self.console.clock()
            floor = max(0, self.after_id - RESCAN)
            rows = [m for m in messages_after(session, after_id=floor, teams=self.staff.visible_teams, limit=500)
                    if m.id not in self.seen]
            names = staff_names(session, ids={m.staff_user_id for m in rows if m.staff_user_id is not None})
            for message in rows:
                self.seen.add(message.id)
                frames.append(frame("message", message_dict(message, staff_names=names), event_id=message.id))
            if rows:
                self.after_id = max(self.after_id, max(m.id for m in rows))
                self.seen = {i for i in self.seen if i > self.after_id - RESCAN}
            items = queue_items(session, self.staff, now=now)
            key = [(i["id"], i["status"], i["assigned_to"], i["last_shopper_id"]) for i in items]
            if key != self.queue_key:
                self.queue_key = key
                frames.append(frame("queue", {"now": iso(now), "items": items}))
        return frames

    def session_live(self, token: str | None) -> bool:
        with self.console.db() as session:
            return resolve_session(session, token=token, now=self.console.clock(),
                                   policy=self.console.config.session, touch=False) is not None


def sse_router(console: Console) -> APIRouter:
    router = APIRouter(prefix="/api")
    staff_dep = staff_guard(console)

    @router.get("/events")
    async def events(request: Request, staff: Staff = Depends(staff_dep)) -> StreamingResponse:
        last = request.headers.get("last-event-id", "")
        watcher = Watcher(console, staff, after_id=int(last) if last.isdigit() and len(last) < 19 else None)
        token = request.cookies.get(SESSION_COOKIE)
        await run_in_threadpool(watcher.start)
        config = console.config

        async def stream() -> AsyncIterator[str]:
            yield "retry: 3000\n\n"
            quiet_since = checked_at = time.monotonic()
            while not await request.is_disconnected():
                frames = await run_in_threadpool(watcher.poll)
                for item in frames:
                    yield item
                now = time.monotonic()
                if frames:
                    quiet_since = now
                elif now - quiet_since >= config.sse_heartbeat_s:
                    yield ": ping\n\n"
                    quiet_since = now
                if now - checked_at >= SESSION_CHECK_S:
                    checked_at = now
                    if not await run_in_threadpool(watcher.session_live, token):
                        yield frame("session", {"state": "ended"})
                        return
                await asyncio.sleep(config.sse_poll_s)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return router
