"""The agent relay (Rasa server): the staff console posts a staff member's message here
and it goes out on the shopper's own channel (socket.io room, Telegram, Slack, Twilio).

``POST /webhooks/agent/send`` (listed in ``bot/credentials.yml`` as
``bot.agent_relay.AgentRelayInput``), body::

    {"sender_id": "…", "channel": "socketio" | "telegram" | "slack" | "twilio" | "rest",
     "message": {"text"?: "…", "custom"?: {…}, "agent_name"?: "Sam (support)"}}

with ``X-Shop-Relay-Signature``: hex HMAC-SHA256 of the raw body under
``SHOP_RELAY_SECRET``. Answers (JSON):

- 200 ``{"delivered": true}``: sent on the channel (for socket.io: the shopper's page
  is connected to the conversation's room);
- 200 ``{"delivered": false, "reason": …}``: REST has no push (the shopper gets the
  message with their next reply, from ``handoff_messages``), or the shopper's page is
  not connected right now;
- 400 malformed body, 401 missing signature, 403 wrong signature, 404 unknown channel,
  413 body over 64 KiB, 503 relay disabled (``SHOP_RELAY_SECRET`` unset) or the
  channel is disabled.

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
from protocol.handoff import (
    REST_NO_PUSH,
    SIGNATURE_HEADER,
    labelled_for_messaging,
    read_relay_request,
    relay_refusal,
)

logger = logging.getLogger(__name__)


def _socket_connected(channel: InputChannel, room: str) -> bool:
    sio = getattr(channel, "sio", None)
    if sio is None:
        return False
    return any(True for _ in sio.manager.get_participants(channel.namespace or "/", room))


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
        if not _socket_connected(channel, sender_id):
            return response.json({"delivered": False, "reason": "the shopper's page is not connected"})
    else:
        message = labelled_for_messaging(message)  # messaging apps show no label
    output = channel.get_output_channel()
    if output is None:
        return response.json({"error": f"{channel_name} channel is not running"}, status=503)
    await output.send_response(sender_id, dict(message))
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
            refused = relay_refusal(body, request.headers.get(SIGNATURE_HEADER),
                                      secret=get_bot_settings().relay_secret)
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
