"""Input channels used by the Rasa server (see ``bot/credentials.yml``): REST and the
web widget's socket.io channel (messaging apps are in :mod:`bot.messaging`).

``SafeRestInput`` is Rasa's REST channel for the shop's own servers: it needs
``Authorization: Bearer <SHOP_REST_TOKEN>`` (:mod:`bot.rest_auth`) and stores sender
``x`` as conversation ``rest:x``, so a REST caller can never continue another channel's
conversation. ``ShopSocketIOInput`` serves the web widget with server-issued session
tokens (:mod:`protocol.identity`).

Both apply the checks of :mod:`bot.inbound` (invalid UTF-8 tolerated; empty,
unreadable and oversized messages get a polite reply without reaching the dialogue;
metadata reduced to what the shop allows, a customer id only with a valid, unexpired
signature), rate limits per client address and per conversation
(:mod:`bot.rate_limits`), the server-wide body size limit (:mod:`bot.body_limit`), and
an apology when the dialogue ran but said nothing (:mod:`bot.apology`).

Every message that passes those checks, on every shop channel, then goes through the
handoff gate (:mod:`bot.handoff_gate`): while a person has the conversation, the bot
does not answer.

With ``SHOP_REDIS_URL`` set, the socket.io server shares its messages with the other
Rasa processes through Redis (python-socketio's ``AsyncRedisManager``), so a message
emitted to a conversation's room on one process (a staff message the relay sends)
reaches the shopper's page connected to another, and :mod:`bot.socketio_presence`
records which pages are connected where (:meth:`ShopSocketIOInput.room_connected`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from redis.asyncio import Redis
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.apology import APOLOGY, apologising
from bot.body_limit import limit_request_bodies
from bot.bot_settings import BotSettings, get_bot_settings
from bot.handoff_gate import gated, take_pending
from bot.inbound import BAD_BODY_REPLY, check_message, clean_text, decode_body, verified_metadata
from bot.rate_limits import message_retry_after, rate_limited_reply
from bot.rest_auth import rest_refusal
from bot.shared_state import get_limiter, session_secret
from bot.socketio_presence import RoomPresence
from bot.widget_origins import allowed_origins
from protocol.identity import issue_session, session_of

logger = logging.getLogger(__name__)

LOST_SESSION_REPLY = "Sorry, I lost track of this chat. Please reload the page."

#: the Redis pub/sub channel every Rasa process's socket.io server shares
SOCKETIO_REDIS_CHANNEL = "shop-socketio"
#: seconds to wait for Redis to accept a connection (socket.io manager and presence)
REDIS_CONNECT_TIMEOUT_S = 2.0


def rest_conversation(sender: str) -> str:
    """The conversation id (Rasa sender id) REST sender ``sender`` is stored under."""
    return f"rest:{sender}"


def client_address(request: Request) -> str:
    """The client's address: the proxy-reported one when Sanic is configured to trust
    a proxy (``remote_addr``), else the connection's peer."""
    return request.remote_addr or request.ip or "unknown"


def _retry_after(settings: BotSettings, *, client: str, conversation: str) -> float | None:
    return message_retry_after(get_limiter(), client=client, conversation=conversation,
                               per_client_per_min=settings.rate_per_client_per_min,
                               per_conversation_per_min=settings.rate_per_sender_per_min)


class SafeRestInput(RestInput):
    """REST channel at ``/webhooks/rest/webhook`` for the shop's servers (bearer token),
    that never lets bad input through. The answer's ``recipient_id`` is the ``sender``
    the caller sent; the conversation is stored as ``rest:<sender>``."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # bot or people (asked after the checks below); an apology when the bot says nothing
        on_new_message = gated(self, apologising(on_new_message))
        webhook = Blueprint("safe_rest_webhook", __name__)
        limit_request_bodies(webhook, max_bytes=get_bot_settings().max_body_bytes)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            settings = get_bot_settings()
            refusal = rest_refusal(request.headers.get("Authorization"), token=settings.rest_token)
            if refusal is not None:
                status, reason = refusal
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
                return response.json({"error": reason}, status=status, headers=headers)
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
            conversation = rest_conversation(sender)
            wait = _retry_after(settings, client=client_address(request), conversation=conversation)
            if wait is not None:
                return response.json({"error": rate_limited_reply(wait), "retry_after_s": math.ceil(wait)},
                                     status=429, headers={"Retry-After": str(math.ceil(wait))})
            text = clean_text(raw or "")
            problem = check_message(text, max_chars=settings.max_message_chars)
            if problem:
                return response.json([{"recipient_id": sender, "text": problem}])
            metadata = verified_metadata(body.get("metadata"), secret=settings.identity_secret)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, conversation, input_channel=self.name(), metadata=metadata)
                )
            except Exception:
                logger.exception("message from %s failed", conversation)
                return response.json([{"recipient_id": sender, "text": APOLOGY}])
            return response.json([{**message, "recipient_id": sender} for message in collector.messages])

        return webhook


# --- socket.io, for the web chat widget -------------------------------------------------


class ShopSocketIOOutput(SocketIOOutput):
    """Sends each bot message as ONE ``bot_uttered`` event to the conversation's room:
    ``{"text"?, "buttons"?: [{"title", "payload"}], "custom"?, "image"?, "attachment"?,
    "agent_name"?}`` (``agent_name``: a staff member's message relayed from the console).
    ``sent`` counts the events sent (for :func:`bot.apology.apologising`).

    Rasa's own socket.io output splits text at blank lines and passes custom payloads
    to ``emit`` as keyword arguments; the widget wants whole messages."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)

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


def _socket_client(environ: dict[str, Any]) -> str:
    """The client address of a socket.io connection (engine.io's Sanic driver puts the
    request in the environ; its ``REMOTE_ADDR`` is always 127.0.0.1)."""
    request = environ.get("sanic.request")
    if isinstance(request, Request):
        return client_address(request)
    return str(environ.get("REMOTE_ADDR") or "unknown")


def socketio_manager(settings: BotSettings) -> AsyncRedisManager | None:
    """The socket.io client manager shared by every Rasa process through Redis when
    ``SHOP_REDIS_URL`` is set; ``None`` (python-socketio's in-process manager) otherwise.
    It connects on first use. No read timeout: its subscriber waits on Redis for as
    long as nothing is published."""
    if not settings.redis_url:
        return None
    return AsyncRedisManager(settings.redis_url, channel=SOCKETIO_REDIS_CHANNEL,
                             redis_options={"socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S})


def room_presence(settings: BotSettings) -> RoomPresence | None:
    """Which rooms have a page connected, across processes (``SHOP_REDIS_URL``)."""
    if not settings.redis_url:
        return None
    client = Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=REDIS_CONNECT_TIMEOUT_S,
                            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S)
    return RoomPresence(client, room_ttl_s=settings.session_ttl_s,
                        heartbeat_s=settings.socketio_presence_heartbeat_s)


class ShopSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel for the web widget, with the shop's checks.

    - Sessions are issued by the server (:func:`protocol.identity.issue_session`):
      ``session_request {session_id: <token>}`` with a valid, unexpired token joins
      that session's room again and gets a fresh token (sliding expiry), then any
      staff messages that were waiting for it (:func:`bot.handoff_gate.take_pending`);
      with no token, or a forged or expired one, it gets a new session.
      ``session_confirm`` carries the token (``"<32 hex>.<expires>.<hex>"``). The room
      and the conversation (Rasa sender id) are the 32-hex session id, never a
      client-chosen string.
    - ``user_uttered`` must carry a valid token of a session this socket joined;
      otherwise the socket is told to reload and nothing reaches the dialogue.
    - Rate limits per client address and per conversation: over them, a polite
      message and ``bot_done``, and the message is not processed.
    - Messages pass :func:`bot.inbound.check_message` (empty, oversized, unreadable
      get a polite reply and never reach the dialogue).
    - Metadata is reduced by :func:`bot.inbound.verified_metadata`: a customer id only
      with the shop's unexpired signature.
    - After each answer the server emits ``bot_done`` (the widget's typing indicator
      stops), also when the dialogue failed.
    - Allowed page origins come from ``SHOP_WIDGET_ORIGINS`` (default: the origin of
      ``SHOP_PUBLIC_URL``; ``*`` only when set so, with a warning).
    - With ``SHOP_REDIS_URL``: messages are shared with the other Rasa processes
      (:func:`socketio_manager`) and :attr:`presence` records the rooms with a page.
    """

    presence: RoomPresence | None = None

    async def room_connected(self, room: str) -> bool:
        """Whether a page is connected to ``room`` (a conversation) on this process or,
        with ``SHOP_REDIS_URL``, on any live Rasa process (this process only while Redis
        does not answer)."""
        if self.sio is None:
            return False
        namespace = self.namespace or "/"
        if any(True for _ in self.sio.manager.get_participants(namespace, room)):
            return True
        if self.presence is None:
            return False
        return bool(await self.presence.anyone_in(room))

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return None
        return ShopSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # bot or people (asked after the checks below); an apology when the bot says nothing
        on_new_message = gated(self, apologising(on_new_message))
        settings = get_bot_settings()
        sio = AsyncServer(async_mode="sanic", client_manager=socketio_manager(settings),
                          max_http_buffer_size=settings.max_body_bytes,
                          cors_allowed_origins=allowed_origins(settings.widget_origins,
                                                               public_url=settings.public_url))
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        limit_request_bodies(socketio_webhook, max_bytes=settings.max_body_bytes)
        self.sio = sio
        self.presence = presence = room_presence(settings)
        namespace = self.namespace
        room_of: dict[str, str] = {}  # socket id -> the session room it joined (for presence)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None = None) -> bool:
            await sio.save_session(sid, {"client": _socket_client(environ)}, namespace=namespace)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_reason: Any) -> None:
            room = room_of.pop(sid, None)
            if presence is not None and room is not None:
                await presence.left(room, sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            now = time.time()
            sent_token = data.get("session_id") if isinstance(data, dict) else None
            resumed = session_of(sent_token, session_secret(), now=now)
            session_id, token = issue_session(session_secret(), now=now, ttl_s=settings.session_ttl_s,
                                              session_id=resumed)
            for room in sio.rooms(sid, namespace=namespace):
                if room not in (sid, session_id):
                    await sio.leave_room(sid, room, namespace=namespace)
                    if presence is not None:
                        await presence.left(room, sid)
            await sio.enter_room(sid, session_id, namespace=namespace)
            room_of[sid] = session_id
            if presence is not None:
                await presence.joined(session_id, sid)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)
            if resumed is not None:
                output = ShopSocketIOOutput(sio, self.bot_message_evt)
                for reply in await take_pending(session_id, channel=self.name()):
                    await output.send_response(session_id, dict(reply))

        async def refuse(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=namespace)
            await sio.emit("bot_done", {}, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            output = ShopSocketIOOutput(sio, self.bot_message_evt)
            token = data.get("session_id") if isinstance(data, dict) else None
            session_id = session_of(token, session_secret(), now=time.time())
            if session_id is None or session_id not in sio.rooms(sid, namespace=namespace):
                await refuse(sid, LOST_SESSION_REPLY)
                return
            client = (await sio.get_session(sid, namespace=namespace)).get("client", "unknown")
            wait = _retry_after(settings, client=client, conversation=session_id)
            if wait is not None:
                await refuse(sid, rate_limited_reply(wait))
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
                await output.send_response(session_id, {"text": APOLOGY})
            finally:
                await sio.emit("bot_done", {}, room=session_id, namespace=namespace)

        return socketio_webhook
