"""Input channels used by the Rasa server (see ``bot/credentials.yml``).

``SafeRestInput`` is Rasa's REST channel with the checks of :mod:`bot.inbound`:
invalid UTF-8 is tolerated, empty, unreadable and oversized messages get a polite
reply without reaching the dialogue, and metadata is reduced to what the shop allows
(a customer id only when signed).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.inbound import BAD_BODY_REPLY, check_message, clean_text, decode_body, verified_metadata
from bot.settings import get_bot_settings

logger = logging.getLogger(__name__)


class SafeRestInput(RestInput):
    """REST channel at ``/webhooks/rest/webhook`` that never lets bad input through."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
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
            except Exception:  # noqa: BLE001 - the channel must answer whatever the dialogue raised
                logger.exception("message from %s failed", sender)
                return response.json(
                    [{"recipient_id": sender, "text": "Sorry, something went wrong on my side. Please try again."}]
                )
            return response.json(collector.messages)

        return webhook
