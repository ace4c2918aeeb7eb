"""Input channels used by the Rasa server (see ``bot/credentials.yml``): REST and the
web widget's socket.io channel (messaging apps are in :mod:`bot.messaging`).

``SafeRestInput`` is Rasa's REST channel with the checks of :mod:`bot.inbound`:
invalid UTF-8 is tolerated, empty, unreadable and oversized messages get a polite
reply without reaching the dialogue, and metadata is reduced to what the shop allows
(a customer id only when signed).

Every message that passes those checks, on every shop channel, then goes through the
handoff gate (:mod:`bot.handoff_gate`): while a person has the conversation, the bot
does not answer.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.bot_settings import get_bot_settings
from bot.handoff_gate import gated
from bot.inbound import BAD_BODY_REPLY, check_message, clean_text, decode_body, verified_metadata

logger = logging.getLogger(__name__)


class SafeRestInput(RestInput):
    """REST channel at ``/webhooks/rest/webhook`` that never lets bad input through."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = gated(self, on_new_message)  # bot or people: asked after the checks below
        webhook = Blueprint("safe_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            settings = get_bot_settings()
            body = decode_body(request.body or b"")
            if body is None:
                return response.json({"error": BAD_BODY_REPLY}, status=400)
            sender = body.get("sender")
            if not isinstance(sender, (str, int)) or not str(sender).strip() or len(str(sender)) > 200:
                return response.json({"error": "'sender' must be a non-empty id of up to 200 characters."}, status=400)
            sender = str(sender)
            raw = body.get("message")
            if raw is not None and not isinstance(raw, str):
                return response.json({"error": "'message' must be a string."}, status=400)
            text = clean_text(raw or "")
            problem = check_message(text, max_chars=settings.max_message_chars)
            if problem:
                return response.json([{"recipient_id": sender, "text": problem}])
            metadata = verified_metadata(body.get("metadata"), secret=settings.identity_secret)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
                )
            except Exception:
                logger.exception("message from %s failed", sender)
                return response.json(
                    [{"recipient_id": sender, "text": "Sorry, something went wrong on my side. Please try again."}]
                )
            return response.json(collector.messages)

        return webhook


# --- socket.io, for the web chat widget -------------------------------------------------

_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _session_id(value: Any) -> str | None:
    """``value`` when it is a usable session id (8-64 letters, digits, ``_`` or ``-``)."""
    return value if isinstance(value, str) and _SESSION_ID_RE.match(value) else None


class ShopSocketIOOutput(SocketIOOutput):
    """Sends each bot message as ONE ``bot_uttered`` event to the conversation's room:
    ``{"text"?, "buttons"?: [{"title", "payload"}], "custom"?, "image"?, "attachment"?,
    "agent_name"?}`` (``agent_name``: a staff member's message relayed from the console).

    Rasa's own socket.io output splits text at blank lines and passes custom payloads
    to ``emit`` as keyword arguments; the widget wants whole messages."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        out: dict[str, Any] = {}
        if message.get("text"):
            out["text"] = message["text"]
        buttons = message.get("buttons") or message.get("quick_replies") or []
        if buttons:
            out["buttons"] = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                              for b in buttons if isinstance(b, dict)]
        for key in ("custom", "image", "attachment", "agent_name"):
            if message.get(key):
                out[key] = message[key]
        if out.keys() - {"agent_name"}:
            await self._send_message(recipient_id, out)


class ShopSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel for the web widget, with the shop's checks.

    - The conversation (sender id) is the page's session id, so it survives reloads
      and page changes (``session_persistence``); ids must be 8-64 characters of
      ``[A-Za-z0-9_-]``, otherwise the server makes one.
    - Messages pass :func:`bot.inbound.check_message` (empty, oversized, unreadable
      get a polite reply and never reach the dialogue).
    - Metadata is reduced by :func:`bot.inbound.verified_metadata`: a customer id only
      when the page signed it with the shop's secret.
    - After each answer the server emits ``bot_done`` (the widget's typing indicator
      stops), also when the dialogue failed.
    - Allowed page origins come from ``SHOP_WIDGET_ORIGINS`` (default: any).
    """

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return ShopSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = gated(self, on_new_message)  # bot or people: asked after the checks below
        settings = get_bot_settings()
        origins = [o.strip() for o in settings.widget_origins.split(",") if o.strip()]
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins="*" if origins in ([], ["*"]) else origins)
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None = None) -> bool:
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = _session_id((data or {}).get("session_id") if isinstance(data, dict) else None)
            session_id = session_id or uuid.uuid4().hex
            await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            output = ShopSocketIOOutput(sio, self.bot_message_evt)
            session_id = _session_id(data.get("session_id")) if isinstance(data, dict) else None
            if session_id is None or session_id not in sio.rooms(sid, namespace=namespace):
                await sio.emit(self.bot_message_evt,
                               {"text": "Sorry, I lost track of this chat. Please reload the page."},
                               room=sid, namespace=namespace)
                await sio.emit("bot_done", {}, room=sid, namespace=namespace)
                return
            raw = data.get("message")
            text = clean_text(raw) if isinstance(raw, str) else ""
            problem = check_message(text, max_chars=settings.max_message_chars)
            try:
                if problem:
                    await output.send_response(session_id, {"text": problem})
                    return
                metadata = verified_metadata(data.get("metadata"), secret=settings.identity_secret)
                await on_new_message(UserMessage(text, output, session_id, input_channel=self.name(),
                                                 metadata=metadata))
            except Exception:
                logger.exception("socket.io message from %s failed", session_id)
                await output.send_response(
                    session_id, {"text": "Sorry, something went wrong on my side. Please try again."})
            finally:
                await sio.emit("bot_done", {}, room=session_id, namespace=namespace)

        return socketio_webhook
