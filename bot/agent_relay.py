"""The agent relay (Rasa server): the staff console posts a staff member's message here
and it goes out on the shopper's own channel (socket.io room, Telegram, Slack, Twilio).

``POST /webhooks/agent/send`` (listed in ``bot/credentials.yml`` as
``bot.agent_relay.AgentRelayInput``), body::

    {"sender_id": "…", "channel": "socketio" | "telegram" | "slack" | "twilio" | "rest",
     "message": {"text"?: "…", "custom"?: {…}, "agent_name"?: "Sam (support)"}}

signed under ``SHOP_RELAY_SECRET`` (``X-Shop-Relay-Signature`` over the timestamp,
the nonce and the raw body, ``X-Shop-Relay-Timestamp``, ``X-Shop-Relay-Nonce``:
:mod:`protocol.handoff`); a nonce is accepted once (remembered in
:func:`bot.shared_state.get_seen`, Redis when ``SHOP_REDIS_URL`` is set). Answers (JSON):

- 200 ``{"delivered": true}``: sent on the channel (for socket.io: the shopper's page
  is connected to the conversation's room, on this Rasa process or, with
  ``SHOP_REDIS_URL``, on another one, :meth:`bot.channels.ShopSocketIOInput.room_connected`;
  for messaging apps: the platform accepted every part);
- 200 ``{"delivered": false, "reason": …}``: REST has no push, the shopper's page is
  not connected right now, or the platform did not accept it; the console leaves it
  undelivered in ``handoff_messages`` and the gate hands it over when the shopper is
  back (their next message, or their page reconnecting);
- 400 malformed body, 401 missing signature headers, 403 wrong signature, stale
  timestamp or replayed nonce, 404 unknown channel, 413 body over 64 KiB, 503 relay
  disabled (``SHOP_RELAY_SECRET`` unset) or the channel is disabled.

A messaging output channel that logs platform errors instead of raising tells the
relay by setting ``delivery_failed = True`` on itself (:func:`platform_refused`).

Text goes out as ``text``: the web widget renders it as markdown with HTML off and
labels it with ``agent_name``; messaging apps get plain text, ``agent_name: `` first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bot_settings import get_bot_settings
from bot.handoff_gate import CHANNELS
from bot.shared_state import get_seen
from protocol.handoff import (
    REST_NO_PUSH,
    labelled_for_messaging,
    read_relay_request,
    relay_refusal,
)

logger = logging.getLogger(__name__)


async def _socket_connected(channel: InputChannel, room: str) -> bool:
    room_connected = getattr(channel, "room_connected", None)
    if room_connected is not None:  # the shop's socket.io channel: pages on every Rasa process
        return bool(await room_connected(room))
    sio = getattr(channel, "sio", None)
    if sio is None:
        return False
    return any(True for _ in sio.manager.get_participants(channel.namespace or "/", room))


def platform_refused(output: Any) -> bool:
    """Whether ``output`` recorded that the platform did not accept a message."""
    return getattr(output, "delivery_failed", False) is True


async def deliver(sender_id: str, channel_name: str, message: dict[str, Any]) -> HTTPResponse:
    """Send ``message`` to the conversation on its channel; the relay's answer."""
    if channel_name == "rest":
        return response.json({"delivered": False, "reason": REST_NO_PUSH})
    channel = CHANNELS.get(channel_name)
    if channel is None:
        return response.json({"error": f"unknown channel {channel_name!r}"}, status=404)
    if getattr(channel, "missing", None):
        return response.json({"error": f"{channel_name} channel is disabled"}, status=503)
    if channel_name == "socketio":
        if not await _socket_connected(channel, sender_id):
            return response.json({"delivered": False, "reason": "the shopper's page is not connected"})
    else:
        message = labelled_for_messaging(message)  # messaging apps show no label
    output = channel.get_output_channel()
    if output is None:
        return response.json({"error": f"{channel_name} channel is not running"}, status=503)
    await output.send_response(sender_id, dict(message))
    if platform_refused(output):
        return response.json({"delivered": False, "reason": f"{channel_name} did not accept the message"})
    return response.json({"delivered": True})


class AgentRelayInput(InputChannel):
    """Not a shopper channel: the console's way to reach shoppers (see the module doc)."""

    @classmethod
    def name(cls) -> str:
        return "agent"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Ignores ``credentials``: the secret comes from ``SHOP_RELAY_SECRET``."""
        if not get_bot_settings().relay_secret:
            logger.warning("agent relay disabled: SHOP_RELAY_SECRET is not set (it answers 503)")
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        relay = Blueprint("shop_agent_relay", __name__)

        @relay.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if get_bot_settings().relay_secret else "disabled"})

        @relay.route("/send", methods=["POST"])
        async def send(request: Request) -> HTTPResponse:
            body = request.body or b""
            refused = relay_refusal(body, request.headers, secret=get_bot_settings().relay_secret, seen=get_seen())
            if refused:
                return response.json({"error": refused[1]}, status=refused[0])
            parsed = read_relay_request(body)
            if isinstance(parsed, str):
                return response.json({"error": parsed}, status=400)
            sender, channel_name, message = parsed
            try:
                return await deliver(sender, channel_name, message)
            except Exception:
                logger.exception("relaying a staff message to %s on %s failed", sender, channel_name)
                return response.json({"error": f"sending on {channel_name} failed"}, status=502)

        return relay
