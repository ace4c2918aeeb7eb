"""The handoff gate's endpoint on the action server: ``POST /handoff/inbound``.

The Rasa server's gate (:mod:`bot.handoff_gate`) asks here, for every inbound shopper
message, whether it goes to the bot or to people. Body::

    {"sender_id": str, "channel": str, "text": str, "customer_id": str | int | null,
     "history": [{"author": "shopper" | "bot", "text": str, "at": epoch seconds}]}

Answer (200)::

    {"route": "bot" | "agent", "replies": [{"text": str, "custom"?: {...}, "agent_name"?: str}],
     "handoff_id": int | null}

It runs :func:`shop.handoff.gate.route_inbound` in the DB worker pool with the
conversation's recent VADER scores, which this process keeps in a bounded in-memory
LRU (:data:`SCORES`; per worker process, lost on restart: the sentiment trigger then
starts counting again). When a handoff starts, ``history`` goes into its transcript.
For REST conversations (no push) undelivered staff/system messages come back as
``replies`` and are marked delivered.

Access: with ``SHOP_RELAY_SECRET`` set, only requests whose ``X-Shop-Relay-Signature``
is the hex HMAC-SHA256 of the body under it (401 missing, 403 wrong); without it,
only requests from loopback (403). Errors: 400 malformed body, 413 body over 256 KiB,
503 configuration or database unusable (the gate then lets the message through to the
bot: fail open).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from actions.runtime import ServiceUnavailable, call_service
from protocol.handoff import SIGNATURE_HEADER, json_object, signature_refusal
from shop.handoff.delivery import take_undelivered
from shop.handoff.gate import route_inbound
from shop.handoff.handoff_config import HandoffConfig, HandoffConfigError, load_config
from shop.handoff.sentiment import score
from shop.settings import get_settings

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
MAX_TEXT = 4000
MAX_HISTORY = 20


class RecentScores:
    """Each conversation's last ``keep`` sentiment scores (oldest first), for at most
    ``max_conversations`` conversations (least recently used dropped first).
    Thread-safe: the DB worker threads update it."""

    def __init__(self, *, max_conversations: int = 10_000, keep: int = 10) -> None:
        self.max_conversations, self.keep = max_conversations, keep
        self._scores: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, sender_id: str, value: float) -> list[float]:
        """Append ``value``; returns the conversation's scores, this one last."""
        with self._lock:
            scores = self._scores.pop(sender_id, [])
            scores = [*scores, value][-self.keep:]
            self._scores[sender_id] = scores
            while len(self._scores) > self.max_conversations:
                self._scores.popitem(last=False)
            return list(scores)

    def reset(self, sender_id: str) -> None:
        """Forget the conversation's scores (a handoff started: count afresh after it)."""
        with self._lock:
            self._scores.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._scores)


SCORES = RecentScores()


def access_refused(*, body: bytes, signature: str | None, client_ip: str, secret: str) -> tuple[int, str] | None:
    """``(status, reason)`` when the request may not use the endpoint, else ``None``."""
    if len(body) > MAX_BODY:
        return 413, f"body over {MAX_BODY // 1024} KiB"
    if secret:
        return signature_refusal(body, signature, secret=secret)
    try:
        loopback = ipaddress.ip_address(client_ip.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return 403, "only loopback clients may call this without SHOP_RELAY_SECRET"
    return None


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
    return {"sender_id": sender, "channel": channel, "text": text[:MAX_TEXT], "customer_id": customer_id,
            "history": history}


def gate_step(session: Session, *, sender_id: str, channel: str, text: str, customer_id: int | None,
              history: list[dict[str, Any]], config: HandoffConfig, now: datetime,
              scores: RecentScores) -> dict[str, Any]:
    """One gate decision (runs in the DB worker pool): score the text, route it, and
    for REST add the undelivered staff messages. Returns the endpoint's JSON answer."""

    recent = scores.add(sender_id, score(text))
    decision = route_inbound(session, sender_id=sender_id, channel=channel, text=text, now=now, config=config,
                             recent_scores=recent, customer_id=customer_id, history=history)
    if decision.route == "agent":
        scores.reset(sender_id)  # after the handoff, sentiment counts afresh
    replies: list[dict[str, Any]] = []
    if channel == "rest":
        for message in take_undelivered(session, sender_id=sender_id, now=now):
            reply: dict[str, Any] = {"text": message.text} if message.text else {}
            if message.payload:
                reply["custom"] = message.payload
            if message.agent_name:
                reply["agent_name"] = message.agent_name
            if reply.keys() - {"agent_name"}:
                replies.append(reply)
    replies.extend({"text": t} for t in decision.replies)
    return {"route": decision.route, "replies": replies, "handoff_id": decision.handoff_id}


async def inbound(request: Request) -> HTTPResponse:
    """``POST /handoff/inbound`` (see the module doc)."""
    settings = get_settings()
    body = request.body or b""
    refused = access_refused(body=body, signature=request.headers.get(SIGNATURE_HEADER),
                             client_ip=request.ip or "", secret=settings.relay_secret)
    if refused:
        return response.json({"error": refused[1]}, status=refused[0])
    fields = read_inbound(body)
    if isinstance(fields, str):
        return response.json({"error": fields}, status=400)
    try:
        config = load_config(settings.handoff_config)
    except HandoffConfigError as exc:
        logger.error("handoff gate: %s", exc)
        return response.json({"error": "handoff configuration unusable"}, status=503)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        answer = await call_service(gate_step, **fields, config=config, now=now, scores=SCORES)
    except ServiceUnavailable as exc:
        return response.json({"error": f"handoff state unavailable ({exc})"}, status=503)
    return response.json(answer)


def register(app: Sanic) -> None:
    """Add ``POST /handoff/inbound`` to the action server's app."""
    app.add_route(inbound, "/handoff/inbound", methods=["POST"], name="handoff_inbound")
