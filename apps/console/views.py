"""What the console's JSON API and event stream send: handoffs, queue items, messages,
transcripts and the customer panel as plain dicts."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from apps.console.auth import Staff
from apps.console.staff_queries import customer_names, staff_names
from apps.console.wiring import Console
from shop.db.schema import Handoff, HandoffMessage
from shop.handoff.queries import last_shopper_messages, transcript_messages
from shop.handoff.queue import queue

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 140


def iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") + "Z" if at is not None else None


def handoff_dict(handoff: Handoff, *, now: datetime, customer_name: str | None,
                 assignee: str | None = None) -> dict[str, Any]:
    """``{"id", "channel", "team", "reason", "detail", "status", "created_at", "wait_s",
    "sentiment", "customer_id", "customer_name", "assigned_to", "assigned_name",
    "accepted_at", "ended_at"}``; ``wait_s``: seconds since it was opened."""
    return {"id": handoff.id, "channel": handoff.channel, "team": handoff.team, "reason": handoff.reason,
            "detail": handoff.detail, "status": handoff.status, "created_at": iso(handoff.created_at),
            "wait_s": max(0, int((now - handoff.created_at).total_seconds())),
            "sentiment": round(handoff.sentiment, 3) if handoff.sentiment is not None else None,
            "customer_id": handoff.customer_id, "customer_name": customer_name,
            "assigned_to": handoff.assigned_to, "assigned_name": assignee,
            "accepted_at": iso(handoff.accepted_at), "ended_at": iso(handoff.ended_at)}


def handoff_view(session: Session, handoff: Handoff, *, now: datetime) -> dict[str, Any]:
    """:func:`handoff_dict` with the customer's and the assignee's names looked up."""
    names = customer_names(session, ids={handoff.customer_id} if handoff.customer_id else set())
    assignee = staff_names(session, ids={handoff.assigned_to} if handoff.assigned_to else set())
    return handoff_dict(handoff, now=now, customer_name=names.get(handoff.customer_id),
                        assignee=assignee.get(handoff.assigned_to))


def queue_items(session: Session, staff: Staff, *, now: datetime) -> list[dict[str, Any]]:
    """The open handoffs ``staff`` may see, oldest first: :func:`handoff_dict` plus
    ``preview`` (the last shopper message, 140 characters) and ``last_shopper_id``."""
    rows = queue(session, teams=staff.visible_teams)
    if not rows:
        return []
    last = last_shopper_messages(session, handoff_ids=[h.id for h in rows])
    names = customer_names(session, ids={h.customer_id for h in rows if h.customer_id is not None})
    assignees = staff_names(session, ids={h.assigned_to for h in rows if h.assigned_to is not None})
    items = []
    for h in rows:
        item = handoff_dict(h, now=now, customer_name=names.get(h.customer_id),
                            assignee=assignees.get(h.assigned_to))
        last_id, text = last.get(h.id, (None, ""))
        item["preview"] = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"
        item["last_shopper_id"] = last_id
        items.append(item)
    return items


def message_dict(message: HandoffMessage, *, staff_names: dict[int, str]) -> dict[str, Any]:
    """``{"id", "handoff_id", "at", "author", "text", "payload", "delivered", "agent_name"}``."""
    return {"id": message.id, "handoff_id": message.handoff_id, "at": iso(message.at), "author": message.author,
            "text": message.text, "payload": message.payload, "delivered": message.delivered_at is not None,
            "agent_name": staff_names.get(message.staff_user_id) if message.staff_user_id else None}


def transcript(session: Session, handoff_id: int) -> list[dict[str, Any]]:
    """The handoff's messages, oldest first (:func:`message_dict`)."""
    rows = transcript_messages(session, handoff_id=handoff_id)
    names = staff_names(session, ids={m.staff_user_id for m in rows if m.staff_user_id is not None})
    return [message_dict(m, staff_names=names) for m in rows]


def assist_transcript(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript as ``shop.assist`` reads it: ``[{"author", "text", "at"}]``."""
    return [{"author": m["author"], "text": m["text"], "at": m["at"]} for m in items]


def load_panel(console: Console, session: Session, handoff: Handoff, now: datetime) -> Any | None:
    """The customer panel, or ``None`` when it fails (logged): the conversation stays
    usable without it. Runs in a savepoint so a failed query leaves the session usable."""
    try:
        with session.begin_nested():
            return console.assist.panel(session, handoff=handoff, now=now)
    except Exception:
        logger.exception("customer panel failed for handoff %s", handoff.id)
        return None


def panel_dict(panel: Any | None) -> dict[str, Any] | None:
    return panel.as_dict() if panel is not None else None
