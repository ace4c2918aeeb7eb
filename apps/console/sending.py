"""Staff messages on their way to the shopper: stored first (:func:`store_message`,
undelivered), then relayed to the shopper's channel (:func:`deliver`), which marks
them delivered only when the relay answers that it delivered them (socket.io page
connected, messaging platform accepted). A message left undelivered is handed over
by the action server's gate when the shopper is back: with their next message on any
channel, or when their widget page reconnects (``POST /handoff/pending``)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from apps.console.auth import Staff, audit
from apps.console.guards import require_writer, visible_handoff
from apps.console.views import message_dict
from apps.console.wiring import Console
from shop.db.schema import Handoff
from shop.handoff.delivery import mark_delivered
from shop.handoff.relay import RelayError
from shop.handoff.states import record_message

logger = logging.getLogger(__name__)

Build = Callable[[Session, Handoff, datetime], tuple[str, dict[str, Any] | None, str, dict[str, Any]]]


@dataclass(frozen=True)
class Outgoing:
    """A stored agent/system message waiting for the relay."""

    message_id: int
    sender_id: str
    channel: str
    text: str
    payload: dict[str, Any] | None


async def deliver(console: Console, outgoing: Outgoing, *, agent_name: str) -> str | None:
    """Relay ``outgoing`` to the shopper's channel; on success marks it delivered and
    returns ``None``, else the reason (the message stays with ``delivered_at`` unset)."""
    message: dict[str, Any] = {"text": outgoing.text, "agent_name": agent_name}
    if outgoing.payload is not None:
        message["custom"] = outgoing.payload
    kwargs = {"rasa_url": console.config.rasa_url, "secret": console.config.relay_secret,
              "sender_id": outgoing.sender_id, "channel": outgoing.channel, "message": message}
    try:
        if inspect.iscoroutinefunction(console.deliver):
            result = await asyncio.wait_for(console.deliver(**kwargs), console.config.deliver_timeout_s)
        else:
            result = await asyncio.wait_for(run_in_threadpool(console.deliver, **kwargs),
                                            console.config.deliver_timeout_s)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, console.config.deliver_timeout_s)
    except TimeoutError:
        logger.warning("relay timed out for message %s", outgoing.message_id)
        return "the relay did not answer in time"
    except (RelayError, httpx.HTTPError, OSError) as exc:
        logger.warning("relay failed for message %s: %s", outgoing.message_id, exc)
        return "the relay failed" + (f": {str(exc)[:160]}" if str(exc) else "")
    if result is False:
        return "the shopper's channel cannot take it right now"

    def mark() -> None:
        with console.db() as session:
            mark_delivered(session, message_id=outgoing.message_id, now=console.clock())

    await run_in_threadpool(mark)
    return None


def sent_reply(message: dict[str, Any], error: str | None, **extra: Any) -> dict[str, Any]:
    """The answer to a send: ``{"message", "delivered", "warning"?}`` (``warning`` when
    the relay did not take it, ``error``)."""
    message = {**message, "delivered": error is None}
    reply = {"message": message, "delivered": error is None, **extra}
    if error is not None:
        reply["warning"] = (f"Saved, but not delivered yet ({error}). The shopper gets it when they are back: "
                            "with their next message, or when their chat page reconnects.")
    return reply


def store_message(console: Console, staff: Staff, handoff_id: int, build: Build) -> tuple[Outgoing, dict[str, Any]]:
    """Check the conversation, let ``build`` make ``(text, payload, audit_action,
    audit_detail)``, store the message undelivered and audit it."""
    with console.db() as session:
        now = console.clock()
        handoff = visible_handoff(session, staff, handoff_id)
        require_writer(handoff, staff)
        text, payload, action, detail = build(session, handoff, now)
        row = record_message(session, handoff_id=handoff.id, author="agent", text=text, now=now,
                             staff_user_id=staff.user_id, payload=payload)
        audit(session, action=action, now=now, user_id=staff.user_id, handoff_id=handoff.id,
              message_id=row.id, **detail)
        out = Outgoing(row.id, handoff.sender_id, handoff.channel, row.text, payload)
        return out, message_dict(row, staff_names={staff.user_id: staff.name})
