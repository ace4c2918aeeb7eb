"""The plain-Python half of the handoff gate and the agent relay (no Rasa, no HTTP
client, so the action server's tests can check it): signatures, the gate's answer,
the relay's request, and the gate's routing of one message.

Signatures: ``X-Shop-Relay-Signature`` is the hex HMAC-SHA256 of the exact request
body under ``SHOP_RELAY_SECRET``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

SIGNATURE_HEADER = "X-Shop-Relay-Signature"
MAX_REPLIES = 20
REPLY_KEYS = ("text", "custom", "agent_name")
MAX_RELAY_BODY = 64 * 1024
MAX_TEXT = 4000
REST_NO_PUSH = "rest channel has no push; delivered with the next reply"


def sign(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Decision:
    """The gate endpoint's answer: ``route`` ``"bot"`` or ``"agent"``, ``replies``
    (``{"text"?, "custom"?, "agent_name"?}`` dicts) to send first, ``handoff_id``."""

    route: str = "bot"
    replies: list[dict[str, Any]] = field(default_factory=list)
    handoff_id: int | None = None


TO_BOT = Decision()


def parse_decision(data: Any) -> Decision | None:
    """A :class:`Decision` from the endpoint's JSON, or ``None`` when it is malformed.
    Replies keep only ``text`` (a string), ``custom`` (an object) and ``agent_name``;
    replies with neither text nor custom are dropped; at most 20."""
    if not isinstance(data, dict) or data.get("route") not in ("bot", "agent"):
        return None
    raw_replies = data.get("replies") or []
    if not isinstance(raw_replies, list):
        return None
    replies = []
    for raw in raw_replies:
        if not isinstance(raw, dict):
            return None
        reply = {k: raw[k] for k in REPLY_KEYS if raw.get(k)}
        if not isinstance(reply.get("text", ""), str) or not isinstance(reply.get("custom", {}), dict) \
                or not isinstance(reply.get("agent_name", ""), str):
            return None
        if reply.get("text") or reply.get("custom"):
            replies.append(reply)
    handoff_id = data.get("handoff_id")
    handoff_id = handoff_id if isinstance(handoff_id, int) and not isinstance(handoff_id, bool) else None
    return Decision(data["route"], replies[:MAX_REPLIES], handoff_id)


async def route_message(*, ask: Callable[[], Awaitable[Decision]],
                        send: Callable[[list[dict[str, Any]]], Awaitable[None]],
                        dialogue: Callable[[], Awaitable[Any]]) -> Decision:
    """One message through the gate: ``ask`` where it goes, ``send`` the decision's
    replies (if any), then run the ``dialogue`` only when the route is ``"bot"``.
    ``ask`` must not raise (it answers :data:`TO_BOT` when it can't decide)."""
    decision = await ask()
    if decision.replies:
        await send(decision.replies)
    if decision.route == "bot":
        await dialogue()
    return decision


def signature_refusal(body: bytes, header: str | None, *, secret: str) -> tuple[int, str] | None:
    """``(401, ...)`` when ``header`` is missing, ``(403, ...)`` when it is not
    :func:`sign` of ``body`` under ``secret``, else ``None``."""
    if not header:
        return 401, f"missing {SIGNATURE_HEADER}"
    if not hmac.compare_digest(sign(body, secret), header.strip().lower()):
        return 403, f"wrong {SIGNATURE_HEADER}"
    return None


def relay_refusal(body: bytes, header: str | None, *, secret: str) -> tuple[int, str] | None:
    """``(status, reason)`` when a relay request must be refused, ``None`` when it may
    pass: 503 no secret configured, 413 body over 64 KiB, 401 no signature, 403 wrong."""
    if not secret:
        return 503, "relay disabled: SHOP_RELAY_SECRET is not set"
    if len(body) > MAX_RELAY_BODY:
        return 413, f"body over {MAX_RELAY_BODY // 1024} KiB"
    return signature_refusal(body, header, secret=secret)


def json_object(body: bytes) -> dict[str, Any] | str:
    """The JSON object in ``body``, or what is wrong with it."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return "body is not JSON"
    if not isinstance(data, dict):
        return "body must be a JSON object"
    return data


def read_relay_request(body: bytes) -> tuple[str, str, dict[str, Any]] | str:
    """``(sender_id, channel, message)`` of a relay body, or what is wrong with it.
    ``message`` keeps ``text`` (cut at 4,000 characters), ``custom`` (an object) and
    ``agent_name`` (cut at 120); it needs a text or a custom payload."""
    data = json_object(body)
    if isinstance(data, str):
        return data
    sender, channel, message = data.get("sender_id"), data.get("channel"), data.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 200:
        return "'sender_id' must be a non-empty string of up to 200 characters"
    if not isinstance(channel, str) or not channel:
        return "'channel' must be a channel name"
    if not isinstance(message, dict):
        return "'message' must be an object"
    out: dict[str, Any] = {}
    if isinstance(message.get("text"), str) and message["text"].strip():
        out["text"] = message["text"][:MAX_TEXT]
    if isinstance(message.get("custom"), dict) and message["custom"]:
        out["custom"] = message["custom"]
    if not out:
        return "'message' needs a 'text' or a 'custom' payload"
    if isinstance(message.get("agent_name"), str) and message["agent_name"].strip():
        out["agent_name"] = message["agent_name"].strip()[:120]
    return sender, channel, out


def labelled_for_messaging(message: dict[str, Any]) -> dict[str, Any]:
    """A staff ``message`` for a messaging app, which shows no label: the text starts
    with ``"<agent_name> (team): "``."""
    if message.get("agent_name") and message.get("text"):
        return {**message, "text": f"{message['agent_name']} (team): {message['text']}"}
    return message
