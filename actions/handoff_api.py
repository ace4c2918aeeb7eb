"""The handoff endpoints on the action server: ``POST /handoff/inbound`` and
``POST /handoff/pending``.

The Rasa server's gate (:mod:`bot.handoff_gate`) asks ``/handoff/inbound``, for every
inbound shopper message, whether it goes to the bot or to people. Body::

    {"sender_id": str, "channel": str, "text": str, "customer_id": str | int | null,
     "history": [{"author": "shopper" | "bot", "text": str, "at": epoch seconds}],
     "take_pending": bool (default true)}

Answer (200)::

    {"route": "bot" | "agent", "replies": [{"text": str, "custom"?: {...}, "agent_name"?: str}],
     "handoff_id": int | null}

It runs :func:`shop.handoff.gate.route_inbound` in the DB worker pool with the
conversation's recent VADER scores (keyed by channel and sender id), kept by
:func:`shop.handoff.sentiment.get_recent_scores`: in Redis when ``SHOP_REDIS_URL`` is
set, shared by every action-server process (a day after the last message), else in
this process (bounded, lost on restart: the sentiment trigger then starts counting
again). When a handoff starts, ``history`` goes into its transcript.
On every channel, staff/system messages still undelivered in a handoff of this
conversation *on this channel* come back first in ``replies`` and are marked
delivered (``take_pending: false``, as the gate's spool sends, leaves them pending).

``/handoff/pending`` (``{"sender_id": str, "channel": str}`` -> ``{"replies": [...]}``)
hands over the same undelivered messages without a shopper message: the socket.io
channel asks it when a shopper's page reconnects.

Access: both are signed by the Rasa server with ``SHOP_RELAY_SECRET``
(``X-Shop-Relay-Signature``/``-Timestamp``/``-Nonce``, :mod:`protocol.handoff`;
401 missing, 403 wrong, stale or replayed; nonces are remembered in
:func:`shop.shared_counters.get_seen`, Redis when ``SHOP_REDIS_URL`` is set). Without
``SHOP_RELAY_SECRET`` they answer 503 to everyone (the gate then fails open): a
loopback address proves nothing behind a reverse proxy on the same host. They need
no action token (:mod:`actions.server`). Errors: 400 malformed body, 413 body over
256 KiB, 503 configuration or database unusable.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from actions.runtime import ServiceUnavailable, call_service
from protocol.handoff import json_object, signature_refusal
from protocol.replay import SeenOnce
from shop.handoff.delivery import PendingMessage, take_undelivered
from shop.handoff.gate import route_inbound
from shop.handoff.handoff_config import HandoffConfig, HandoffConfigError, load_config
from shop.handoff.sentiment import RecentScores, RedisRecentScores, conversation_key, get_recent_scores, score
from shop.services.interactions import utc_now
from shop.settings import get_settings
from shop.shared_counters import get_seen

logger = logging.getLogger(__name__)

INBOUND_PATH = "/handoff/inbound"
PENDING_PATH = "/handoff/pending"
MAX_BODY = 256 * 1024
MAX_TEXT = 4000
MAX_HISTORY = 20




def access_refused(*, body: bytes, headers: Mapping[str, str], secret: str,
                   seen: SeenOnce | None) -> tuple[int, str] | None:
    """``(status, reason)`` when the request may not use the endpoints, else ``None``:
    413 body too big, 503 no relay secret configured, then the signature check
    (:func:`protocol.handoff.signature_refusal`: 401 missing, 403 wrong, stale, replayed)."""
    if len(body) > MAX_BODY:
        return 413, f"body over {MAX_BODY // 1024} KiB"
    if not secret:
        return 503, "handoff endpoints disabled: SHOP_RELAY_SECRET is not set"
    return signature_refusal(body, headers, secret=secret, seen=seen)


def read_inbound(body: bytes) -> dict[str, Any] | str:
    """The request's fields (``sender_id``, ``channel``, ``text``, ``customer_id`` int
    or ``None``, ``history`` list), or what is wrong with the body."""
    data = json_object(body)
    if isinstance(data, str):
        return data
    sender, channel, text = data.get("sender_id"), data.get("channel"), data.get("text")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 200:
        return "'sender_id' must be a non-empty string of up to 200 characters"
    if not isinstance(channel, str) or not channel or len(channel) > 32:
        return "'channel' must be a channel name"
    if not isinstance(text, str):
        return "'text' must be a string"
    customer = data.get("customer_id")
    customer_id = int(customer) if isinstance(customer, (int, str)) and str(customer).isdigit() else None
    history = data.get("history")
    history = [h for h in history if isinstance(h, dict)][-MAX_HISTORY:] if isinstance(history, list) else []
    take_pending = data.get("take_pending", True)
    if not isinstance(take_pending, bool):
        return "'take_pending' must be true or false"
    return {"sender_id": sender, "channel": channel, "text": text[:MAX_TEXT], "customer_id": customer_id,
            "history": history, "take_pending": take_pending}


def read_pending(body: bytes) -> dict[str, str] | str:
    """``{"sender_id", "channel"}`` of a ``/handoff/pending`` body, or what is wrong with it."""
    data = json_object(body)
    if isinstance(data, str):
        return data
    sender, channel = data.get("sender_id"), data.get("channel")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 200:
        return "'sender_id' must be a non-empty string of up to 200 characters"
    if not isinstance(channel, str) or not channel or len(channel) > 32:
        return "'channel' must be a channel name"
    return {"sender_id": sender, "channel": channel}


def as_reply(message: PendingMessage) -> dict[str, Any] | None:
    """A pending message as a gate reply (``text``, ``custom``, ``agent_name``), or
    ``None`` when it has nothing to show."""
    reply: dict[str, Any] = {"text": message.text} if message.text else {}
    if message.payload:
        reply["custom"] = message.payload
    if not reply:
        return None
    if message.agent_name:
        reply["agent_name"] = message.agent_name
    return reply


def pending_step(session: Session, *, sender_id: str, channel: str, now: datetime) -> dict[str, Any]:
    """The conversation's undelivered staff/system messages on ``channel`` as replies,
    marked delivered at ``now`` (runs in the DB worker pool)."""
    taken = take_undelivered(session, sender_id=sender_id, channel=channel, now=now)
    return {"replies": [r for r in map(as_reply, taken) if r is not None]}


def gate_step(session: Session, *, sender_id: str, channel: str, text: str, customer_id: int | None,
              history: list[dict[str, Any]], config: HandoffConfig, now: datetime,
              scores: RecentScores | RedisRecentScores, take_pending: bool = True) -> dict[str, Any]:
    """One gate decision (runs in the DB worker pool): score the text, route it, and
    (``take_pending``) put the conversation's undelivered staff messages on this
    channel first in the replies. Returns the endpoint's JSON answer."""

    conversation = conversation_key(channel, sender_id)
    recent = scores.add(conversation, score(text))
    decision = route_inbound(session, sender_id=sender_id, channel=channel, text=text, now=now, config=config,
                             recent_scores=recent, customer_id=customer_id, history=history)
    if decision.route == "agent":
        scores.reset(conversation)  # after the handoff, sentiment counts afresh
    replies: list[dict[str, Any]] = []
    if take_pending:
        replies = pending_step(session, sender_id=sender_id, channel=channel, now=now)["replies"]
    replies.extend({"text": t} for t in decision.replies)
    return {"route": decision.route, "replies": replies, "handoff_id": decision.handoff_id}


def _refused(request: Request) -> HTTPResponse | None:
    body = request.body or b""
    refused = access_refused(body=body, headers=request.headers, secret=get_settings().relay_secret,
                             seen=get_seen(get_settings().redis_url))
    if refused:
        return response.json({"error": refused[1]}, status=refused[0])
    return None



async def inbound(request: Request) -> HTTPResponse:
    """``POST /handoff/inbound`` (see the module doc)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    fields = read_inbound(request.body or b"")
    if isinstance(fields, str):
        return response.json({"error": fields}, status=400)
    try:
        config = load_config(get_settings().handoff_config)
    except HandoffConfigError as exc:
        logger.error("handoff gate: %s", exc)
        return response.json({"error": "handoff configuration unusable"}, status=503)
    try:
        answer = await call_service(gate_step, **fields, config=config, now=utc_now(),
                                    scores=get_recent_scores(get_settings().redis_url))
    except ServiceUnavailable as exc:
        return response.json({"error": f"handoff state unavailable ({exc})"}, status=503)
    return response.json(answer)


async def pending(request: Request) -> HTTPResponse:
    """``POST /handoff/pending`` (see the module doc)."""
    refused = _refused(request)
    if refused is not None:
        return refused
    fields = read_pending(request.body or b"")
    if isinstance(fields, str):
        return response.json({"error": fields}, status=400)
    try:
        answer = await call_service(pending_step, **fields, now=utc_now())
    except ServiceUnavailable as exc:
        return response.json({"error": f"handoff state unavailable ({exc})"}, status=503)
    return response.json(answer)


def register(app: Sanic) -> None:
    """Add ``POST /handoff/inbound`` and ``POST /handoff/pending`` to the action server's app."""
    app.add_route(inbound, INBOUND_PATH, methods=["POST"], name="handoff_inbound")
    app.add_route(pending, PENDING_PATH, methods=["POST"], name="handoff_pending")
