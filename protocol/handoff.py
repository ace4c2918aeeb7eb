"""The plain-Python half of the handoff gate and the agent relay (no Rasa, no HTTP
client, so the action server's tests can check it): signatures, the gate's answer,
the relay's request, and the gate's routing of one message.

Signatures: ``X-Shop-Relay-Signature`` is the hex HMAC-SHA256, under
``SHOP_RELAY_SECRET``, of ``"<timestamp>.<nonce>."`` followed by the exact request body,
where ``X-Shop-Relay-Timestamp`` is the sending time (epoch seconds) and
``X-Shop-Relay-Nonce`` a random string used once. A request is refused when its
timestamp is more than :data:`MAX_SKEW_S` (5 minutes) away from the receiver's clock,
or when its nonce was seen before within that window (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from protocol.replay import SeenOnce

SIGNATURE_HEADER = "X-Shop-Relay-Signature"
TIMESTAMP_HEADER = "X-Shop-Relay-Timestamp"
NONCE_HEADER = "X-Shop-Relay-Nonce"
MAX_SKEW_S = 300
MAX_REPLIES = 20
REPLY_KEYS = ("text", "custom", "agent_name")
MAX_RELAY_BODY = 64 * 1024
MAX_TEXT = 4000
REST_NO_PUSH = "rest channel has no push; delivered with the next reply"


def sign(body: bytes, secret: str, *, timestamp: int, nonce: str) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<nonce>." + body`` under ``secret``."""
    return hmac.new(secret.encode(), f"{int(timestamp)}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, secret: str, *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """The three headers that sign ``body`` now (a fresh nonce unless one is given)."""
    timestamp = int(time.time() if now is None else now)
    nonce = nonce or secrets.token_hex(16)
    return {TIMESTAMP_HEADER: str(timestamp), NONCE_HEADER: nonce,
            SIGNATURE_HEADER: sign(body, secret, timestamp=timestamp, nonce=nonce)}


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


def signature_refusal(body: bytes, headers: Mapping[str, str], *, secret: str, seen: SeenOnce | None,
                      now: float | None = None) -> tuple[int, str] | None:
    """``(401, ...)`` when a signing header is missing, ``(403, ...)`` when the
    signature is wrong, the timestamp is over :data:`MAX_SKEW_S` off or the nonce was
    used before (recorded in ``seen``), else ``None``."""
    header, stamp, nonce = (headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER),
                            headers.get(NONCE_HEADER))
    if not header or not stamp or not nonce:
        return 401, f"missing {SIGNATURE_HEADER}, {TIMESTAMP_HEADER} or {NONCE_HEADER}"
    now = time.time() if now is None else now
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_SKEW_S:
        return 403, f"{TIMESTAMP_HEADER} is not within {MAX_SKEW_S} s of now"
    if len(nonce) > 128:
        return 403, f"{NONCE_HEADER} is over 128 characters"
    if not hmac.compare_digest(sign(body, secret, timestamp=int(stamp), nonce=nonce), header.strip().lower()):
        return 403, f"wrong {SIGNATURE_HEADER}"
    if seen is not None and seen.seen_before(f"relay-nonce:{nonce}", window_s=2 * MAX_SKEW_S):
        return 403, f"{NONCE_HEADER} was used before (replay)"
    return None


def relay_refusal(body: bytes, headers: Mapping[str, str], *, secret: str, seen: SeenOnce | None,
                  now: float | None = None) -> tuple[int, str] | None:
    """``(status, reason)`` when a relay request must be refused, ``None`` when it may
    pass: 503 no secret configured, 413 body over 64 KiB, then :func:`signature_refusal`."""
    if not secret:
        return 503, "relay disabled: SHOP_RELAY_SECRET is not set"
    if len(body) > MAX_RELAY_BODY:
        return 413, f"body over {MAX_RELAY_BODY // 1024} KiB"
    return signature_refusal(body, headers, secret=secret, seen=seen, now=now)


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
