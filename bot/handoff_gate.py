"""The handoff gate (Rasa server): every inbound shopper message, on every shop channel,
first asks the action server whether it goes to the bot or to people.

Each shop channel class wraps the ``on_new_message`` Rasa gives its ``blueprint()``
with :func:`gated` (after the channel's own message checks, which stay first). For
each message the gate posts to ``<action server>/handoff/inbound``
(:attr:`bot.bot_settings.BotSettings.handoff_inbound_url`)::

    {"sender_id": "…", "channel": "rest" | "socketio" | "telegram" | "slack" | "twilio",
     "text": "…", "customer_id": "42" | null,   # only a signed (verified) customer id
     "history": [{"author": "shopper" | "bot", "text": "…", "at": 1764030000.5}, …]}

``history``: the conversation's last :data:`HISTORY_LIMIT` user/bot texts from the
tracker store (oldest first, ``at`` in epoch seconds), so the console can show what
came before a handoff. The answer::

    {"route": "bot" | "agent", "replies": [{"text": "…", "custom"?: {…}, "agent_name"?: "…"}],
     "handoff_id": 7 | null}

``replies`` go out on the message's own output channel first; then ``route`` ``bot``
runs the dialogue as usual and ``agent`` does not (the message went to the console).

Fail open: when the action server cannot be reached, times out
(``SHOP_HANDOFF_GATE_TIMEOUT_S``, default 3 s) or answers an error, the message goes
to the bot, with one warning in the log. Requests are signed with
``SHOP_RELAY_SECRET`` when it is set (``X-Shop-Relay-Signature``, hex HMAC-SHA256 of
the body).

:data:`CHANNELS` also records each shop channel instance by name, so the relay
(:mod:`bot.agent_relay`) can find a conversation's output channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)

from bot.bot_settings import get_bot_settings
from protocol.handoff import SIGNATURE_HEADER, TO_BOT, Decision, parse_decision, route_message, sign

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 20

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

#: shop channel instances by ``name()`` ("rest", "socketio", "telegram", …), filled in
#: by :func:`gated` from each channel's ``blueprint()``
CHANNELS: dict[str, InputChannel] = {}


def _agent() -> Any:
    """The Rasa agent of the running server (``app.ctx.agent``), or ``None``."""
    from sanic import Sanic
    from sanic.exceptions import SanicException

    try:
        apps = [Sanic.get_app()]
    except SanicException:
        apps = list(Sanic._app_registry.values())  # more than one app: the one with an agent
    for app in apps:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            return agent
    return None


def history_from_events(events: list[Any], *, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last ``limit`` user/bot texts of tracker ``events`` (Rasa event objects),
    oldest first: ``[{"author": "shopper" | "bot", "text", "at"}]``."""
    from rasa.shared.core.events import BotUttered, UserUttered

    out = []
    for event in events:
        if isinstance(event, (UserUttered, BotUttered)) and event.text and event.text.strip():
            out.append({"author": "shopper" if isinstance(event, UserUttered) else "bot",
                        "text": event.text[:4000], "at": float(event.timestamp or 0)})
    return out[-limit:]


async def conversation_history(sender_id: str) -> list[dict[str, Any]]:
    """The conversation's recent texts from the tracker store (empty when there is
    none or it cannot be read; a failure is logged, never raised)."""
    agent = _agent()
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return []
    try:
        tracker = await store.retrieve(sender_id)
    except Exception as exc:
        logger.warning("handoff gate: could not read the history of %s: %s", sender_id, exc)
        return []
    return history_from_events(tracker.applied_events()) if tracker is not None else []


async def ask(message: UserMessage, *, channel: str) -> Decision:
    """Ask the action server where ``message`` goes; :data:`TO_BOT` whenever it can't
    say (unreachable, timeout, error status, malformed answer: one warning logged)."""
    settings = get_bot_settings()
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    payload = {
        "sender_id": str(message.sender_id), "channel": channel, "text": message.text or "",
        "customer_id": metadata.get("customer_id"),
        "history": await conversation_history(str(message.sender_id)),
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if settings.relay_secret:
        headers[SIGNATURE_HEADER] = sign(body, settings.relay_secret)
    url = settings.handoff_inbound_url
    try:
        timeout = aiohttp.ClientTimeout(total=settings.handoff_gate_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session, \
                session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                logger.warning("handoff gate: %s answered %s; message from %s goes to the bot",
                               url, resp.status, message.sender_id)
                return TO_BOT
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        logger.warning("handoff gate: %s unreachable (%s); message from %s goes to the bot",
                       url, exc.__class__.__name__, message.sender_id)
        return TO_BOT
    decision = parse_decision(data)
    if decision is None:
        logger.warning("handoff gate: malformed answer from %s; message goes to the bot", url)
        return TO_BOT
    return decision


async def send_replies(output: OutputChannel | None, recipient_id: str, replies: list[dict[str, Any]]) -> None:
    """Send ``replies`` on ``output``. The REST collector gets each as one message
    (text, custom payload and ``agent_name`` together); other channels get
    ``send_response``."""
    if output is None:
        return
    for reply in replies:
        if isinstance(output, CollectingOutputChannel):
            output.messages.append({"recipient_id": recipient_id, **reply})
        else:
            await output.send_response(recipient_id, dict(reply))


def gated(channel: InputChannel, on_new_message: OnNewMessage) -> OnNewMessage:
    """``on_new_message`` behind the gate, for ``channel`` (which is also recorded in
    :data:`CHANNELS` for the relay). Call it in the channel's ``blueprint()``."""
    name = channel.name()
    CHANNELS[name] = channel

    async def handle(message: UserMessage) -> None:
        sender = str(message.sender_id)

        async def send(replies: list[dict[str, Any]]) -> None:
            await send_replies(message.output_channel, sender, replies)

        await route_message(ask=lambda: ask(message, channel=name), send=send,
                            dialogue=lambda: on_new_message(message))

    return handle
