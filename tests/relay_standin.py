"""A stand-in for the action server's handoff endpoints, for the scripts the handoff gate
tests run in the Rasa environment (``.venv/rasa``: it has aiohttp and Rasa, the test
environment has neither, so only those scripts import this module).

Every post to ``/handoff/inbound`` (and to ``/handoff/pending`` when the stand-in has
staff messages waiting) must carry the relay signature of ``SHOP_RELAY_SECRET``; a
replayed nonce is refused, as by the real endpoints. What reached ``/handoff/inbound``
is kept in ``received``, across restarts. :class:`GatedChat` sends shopper messages
through the gate (``bot.handoff_gate.gated``) on a socket.io channel (:class:`SocketIOChannel`)
to a dialogue that only records what reached it."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from protocol.handoff import signature_refusal
from protocol.replay import MemorySeen


class RelayStandIn:
    """``route(body)`` is the answer to each signed inbound post; ``pending``, when given,
    the replies of ``/handoff/pending`` (without it there is no such endpoint)."""

    def __init__(self, *, route: Callable[[dict[str, Any]], dict[str, Any]],
                 pending: list[Any] | None = None) -> None:
        self.secret = os.environ["SHOP_RELAY_SECRET"]
        self.route = route
        self.pending = pending
        self.received: list[dict[str, Any]] = []
        self.nonces = MemorySeen()

    async def _signed_body(self, request: web.Request) -> bytes | None:
        body = await request.read()
        if signature_refusal(body, request.headers, secret=self.secret, seen=self.nonces) is not None:
            return None
        return body

    async def inbound(self, request: web.Request) -> web.Response:
        body = await self._signed_body(request)
        if body is None:
            return web.json_response({"error": "signature"}, status=403)
        data = json.loads(body)
        self.received.append(data)
        return web.json_response(self.route(data))

    async def take_pending(self, request: web.Request) -> web.Response:
        if await self._signed_body(request) is None:
            return web.json_response({"error": "signature"}, status=403)
        return web.json_response({"replies": self.pending})

    async def start(self, port: int) -> web.AppRunner:
        """Serve on ``127.0.0.1:port`` until the returned runner's ``cleanup()``."""
        app = web.Application()
        app.router.add_post("/handoff/inbound", self.inbound)
        if self.pending is not None:
            app.router.add_post("/handoff/pending", self.take_pending)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner


class SocketIOChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "socketio"


class GatedChat:
    """``gated`` is ``bot.handoff_gate.gated`` (passed in: that module reads
    ``ACTION_SERVER_URL`` when imported, which the scripts set first); ``runs`` are the
    texts the gate let through to the dialogue."""

    def __init__(self, gated: Callable[..., Callable[[UserMessage], Awaitable[Any]]]) -> None:
        self.runs: list[str] = []
        self.handler = gated(SocketIOChannel(), self._dialogue)

    async def _dialogue(self, message: UserMessage) -> None:
        self.runs.append(message.text)

    async def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        """``sender``'s message through the gate; the messages it answered with."""
        output = CollectingOutputChannel()
        await self.handler(UserMessage(text, output, sender, input_channel="socketio"))
        return output.messages
