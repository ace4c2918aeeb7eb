"""Messaging-app channels: Telegram, Slack and WhatsApp (through Twilio).

Rasa's own connectors, subclassed so that (see ``bot/credentials.yml``):

- their settings come from ``bot.bot_settings`` (``SHOP_TELEGRAM_*``, ``SHOP_SLACK_*``,
  ``SHOP_TWILIO_*``), never from the credentials file; a channel missing a required
  value is disabled with one log line at startup and its webhook answers 503 (JSON);
- every webhook is checked before anything is parsed for the dialogue
  (:mod:`bot.webhook_auth`): body size (413), the platform's signature (401/403),
  replays (a repeated update id is acknowledged with 200 and not answered again; ids
  are kept in :func:`bot.shared_state.get_seen`, Redis when ``SHOP_REDIS_URL`` is set);
  update types the shop does not handle are acknowledged and ignored;
- text gets the same checks as the REST channel (:func:`bot.inbound.check_message`),
  the polite replies going back on the platform;
- then the handoff gate (:mod:`bot.handoff_gate`) decides whether the bot or a person
  gets the message;
- the answer is sent from a background task, so the platform's webhook call returns
  at once (Slack wants an answer within 3 s, Twilio within 15 s);
- bot messages are made fit for the platform (:mod:`bot.degrade`): product cards as a
  numbered list with links, buttons as inline keyboards (Telegram), button blocks
  (Slack) or numbered options (WhatsApp); a reply that is just one of the numbers
  shown in the last turn is read as that card's details request or that option;
- the channels' log lines have phone numbers and e-mail addresses masked
  (:mod:`protocol.redact`).

Webhooks: ``/webhooks/telegram/webhook``, ``/webhooks/slack/webhook``,
``/webhooks/twilio/webhook``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

import aiohttp
from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.exceptions import TelegramAPIError, ValidationError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from requests import RequestException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from twilio.base.exceptions import TwilioException

from bot import webhook_auth as wa
from bot.bot_settings import BotSettings, get_bot_settings
from bot.degrade import CallbackKeys, Outgoing, ReplyNumbers, TurnNumbers, degrade_message, split_text
from bot.handoff_gate import gated
from bot.inbound import check_message, clean_text
from bot.rating_buttons import with_rating_buttons
from bot.shared_state import get_seen, get_strings
from protocol import redact

logger = logging.getLogger(__name__)
REDACTED_LOGGERS = (__name__, "rasa.core.channels.telegram", "rasa.core.channels.slack",
                    "rasa.core.channels.twilio", "twilio.http_client", "aiogram")
redact.install(*(logging.getLogger(name) for name in REDACTED_LOGGERS))

SORRY = "Sorry, something went wrong on my side. Please try again."
EXPIRED_BUTTON = "That button has expired. Could you type what you'd like instead?"
TELEGRAM_COMMANDS = {"/start": "hi", "/help": "what can you do?"}
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SLACK_MAX_BUTTONS = 25

REPLY_NUMBERS = ReplyNumbers(max_senders=10_000, shared=get_strings)  # each conversation's last turn's numbers


@lru_cache(maxsize=1)
def replays() -> wa.ReplayGuard:
    """The replay guard of every webhook, over the shared replay memory (built on first use)."""
    return wa.ReplayGuard(store=get_seen())


# --- output: degrading rich messages ---------------------------------------------


class _DegradingOutput:
    """Mixin for the platform output channels: every bot message goes through
    :func:`bot.degrade.degrade_message` and is delivered by :meth:`_deliver`.

    ``turn`` collects the numbers shown during one bot turn; ``public_url`` makes
    product links absolute; ``buttons_as_text``: the platform has no buttons."""

    buttons_as_text: ClassVar[bool] = False
    turn: TurnNumbers
    public_url: str

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        message = with_rating_buttons(message, REPLY_NUMBERS, (self.name(), recipient_id))  # bot/rating_buttons.py
        for out in degrade_message(message, public_url=self.public_url, turn=self.turn,
                                   buttons_as_text=self.buttons_as_text):
            await self._deliver(recipient_id, out)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        if text and text.strip():
            await self._deliver(recipient_id, Outgoing(text))

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons})

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": quick_replies})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"custom": json_message})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"image": image})

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"attachment": attachment})

    async def _deliver(self, recipient_id: str, out: Outgoing) -> None:
        raise NotImplementedError


class ShopTelegramOutput(_DegradingOutput, TelegramOutput):
    """Telegram output through the Bot API at ``api_url`` (aiogram 2). Texts are sent
    plain (no parse mode) without link previews, split at 4,096 characters; buttons
    become an inline keyboard, one button a row, ``callback_data`` the payload (or a
    short key from ``callback_keys`` when the payload is over 64 bytes)."""

    TEXT_LIMIT: ClassVar[int] = 4096

    def __init__(self, access_token: str, *, api_url: str, public_url: str,
                 callback_keys: CallbackKeys) -> None:
        # TelegramOutput.__init__ only calls Bot.__init__ without a server: call it here
        super(TelegramOutput, self).__init__(access_token, server=TelegramAPIServer.from_base(api_url))
        self.public_url = public_url
        self.callback_keys = callback_keys
        self.turn = TurnNumbers()

    def for_turn(self, turn: TurnNumbers) -> ShopTelegramOutput:
        """A copy sharing this bot's HTTP session, collecting numbers into ``turn``
        (call inside the event loop: the session is created on first use)."""
        _ = self.session
        clone = copy.copy(self)
        clone.turn = turn
        return clone

    def keyboard(self, buttons: Iterable[Any]) -> InlineKeyboardMarkup:
        markup = InlineKeyboardMarkup()
        for button in buttons:
            markup.row(InlineKeyboardButton(button.title[:64],
                                            callback_data=self.callback_keys.data_for(button.payload)))
        return markup

    async def _deliver(self, recipient_id: str, out: Outgoing) -> None:
        pieces = split_text(out.text, self.TEXT_LIMIT)
        for i, piece in enumerate(pieces):
            markup = self.keyboard(out.buttons) if out.buttons and i == len(pieces) - 1 else None
            try:
                await self.send_message(recipient_id, piece, reply_markup=markup,
                                        disable_web_page_preview=True)
            except (TelegramAPIError, asyncio.TimeoutError) as exc:
                logger.error("Telegram sendMessage to %s failed: %s", recipient_id, exc)
                self.delivery_failed = True  # the relay then answers delivered: false
                return


class ShopSlackOutput(_DegradingOutput, SlackBot):
    """Slack output through ``chat.postMessage`` at ``api_url`` into ``channel`` (the
    conversation the message came from). Text is mrkdwn with ``& < >`` escaped, split
    at 3,000 characters (a section block's limit); buttons become an ``actions`` block
    (at most 25)."""

    TEXT_LIMIT: ClassVar[int] = 3000

    def __init__(self, token: str, channel: str | None, *, api_url: str, public_url: str,
                 turn: TurnNumbers | None = None) -> None:
        super().__init__(token, channel)
        self.client = AsyncWebClient(token=token, base_url=api_url)
        self.public_url = public_url
        self.turn = turn or TurnNumbers()

    @staticmethod
    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    @staticmethod
    def button_blocks(text: str, buttons: list[Any]) -> list[dict[str, Any]]:
        return [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "elements": [
                {"type": "button", "action_id": f"option-{i}",
                 "text": {"type": "plain_text", "text": b.title[:75] or "…"}, "value": b.payload[:2000]}
                for i, b in enumerate(buttons[:SLACK_MAX_BUTTONS])
            ]},
        ]

    async def _deliver(self, recipient_id: str, out: Outgoing) -> None:
        channel = self.slack_channel or recipient_id
        pieces = split_text(self.escape(out.text), self.TEXT_LIMIT)
        for i, piece in enumerate(pieces):
            extra: dict[str, Any] = {}
            if out.buttons and i == len(pieces) - 1:
                extra["blocks"] = self.button_blocks(piece, out.buttons)
            try:
                await self.client.chat_postMessage(channel=channel, text=piece, **extra)
            except (SlackClientError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                logger.error("Slack chat.postMessage to %s failed: %s", channel, exc)
                self.delivery_failed = True  # the relay then answers delivered: false
                return


class ShopTwilioOutput(_DegradingOutput, TwilioOutput):
    """WhatsApp/SMS output through Twilio's Messages API at ``api_url`` from ``number``.
    No buttons: options become numbered lines; bodies are split at 1,600 characters.
    The Twilio client is blocking, so each request runs in a worker thread."""

    TEXT_LIMIT: ClassVar[int] = 1600
    buttons_as_text: ClassVar[bool] = True

    def __init__(self, account_sid: str, auth_token: str, number: str, *, api_url: str,
                 public_url: str, turn: TurnNumbers | None = None) -> None:
        super().__init__(account_sid, auth_token, number)
        self.api.base_url = api_url.rstrip("/")
        self.public_url = public_url
        self.turn = turn or TurnNumbers()

    async def _deliver(self, recipient_id: str, out: Outgoing) -> None:
        for piece in split_text(out.text, self.TEXT_LIMIT):
            try:
                await asyncio.to_thread(self.messages.create, to=recipient_id, from_=self.twilio_number,
                                        body=piece)
            except (TwilioException, RequestException) as exc:
                logger.error("Twilio message to %s failed: %s", recipient_id, exc)
                self.delivery_failed = True  # the relay then answers delivered: false
                return


# --- input: the shared webhook pipeline ----------------------------------------


def _log_disabled(label: str, missing: list[str]) -> None:
    logger.warning("%s channel disabled, missing or invalid: %s (its webhook answers 503 until they are set)",
                   label, ", ".join(missing))


def _rejected(rejection: wa.Rejection) -> HTTPResponse:
    return response.json({"error": rejection.reason}, status=rejection.status)


class _ShopMessagingInput:
    """Mixin with what the three input channels share: the disabled state, replay
    checks, and the turn run in the background (message checks, number replies,
    the dialogue, then remembering the turn's numbers)."""

    label: ClassVar[str] = ""
    replay_window_s: ClassVar[float] = wa.UNTIMED_REPLAY_WINDOW_S
    missing: list[str]
    settings: BotSettings
    _tasks: set[asyncio.Task[None]]

    def disabled_response(self) -> HTTPResponse:
        return response.json(wa.disabled_body(self.label, self.missing), status=503)

    def is_replay(self, item: wa.Inbound | wa.Ignored) -> bool:
        return bool(item.event_id) and replays().seen_before(item.event_id, window_s=self.replay_window_s)

    def start_turn(self, inbound: wa.Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        task = asyncio.create_task(self.run_turn(inbound, on_new_message))
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    def output_for(self, inbound: wa.Inbound, turn: TurnNumbers) -> _DegradingOutput:
        raise NotImplementedError

    async def user_text(self, inbound: wa.Inbound, out: _DegradingOutput) -> str | None:
        """The text for the dialogue, or ``None`` when a polite reply was sent instead."""
        text = inbound.text if inbound.is_button else clean_text(inbound.text)
        problem = check_message(text, max_chars=self.settings.max_message_chars)
        if problem:
            await out.send_text_message(inbound.sender, problem)
            return None
        if inbound.is_button:
            return text
        return REPLY_NUMBERS.resolve((self.name(), inbound.sender), text) or text

    async def run_turn(self, inbound: wa.Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        turn = TurnNumbers()
        out = self.output_for(inbound, turn)
        text = await self.user_text(inbound, out)
        if text is None:
            return
        try:
            await on_new_message(UserMessage(text, out, inbound.sender, input_channel=self.name(), metadata={}))
        except Exception:
            logger.exception("%s message from %s failed", self.label, inbound.sender)
            await out.send_text_message(inbound.sender, SORRY)
            return
        REPLY_NUMBERS.remember((self.name(), inbound.sender), turn.choices)


class ShopTelegramInput(_ShopMessagingInput, TelegramInput):
    """Telegram webhook at ``/webhooks/telegram/webhook``.

    Checks ``X-Telegram-Bot-Api-Secret-Token``; answers ``message`` updates (text or
    caption) and ``callback_query`` button presses (acknowledged with
    ``answerCallbackQuery``); ``/start`` reads as a greeting. When
    ``SHOP_TELEGRAM_WEBHOOK_URL`` is set, ``setWebhook`` (with the secret and
    ``allowed_updates`` message, callback_query) is called once the server started."""

    label = "Telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Ignores ``credentials`` (the file holds no secrets): reads bot settings."""
        return cls(get_bot_settings())

    def __init__(self, settings: BotSettings) -> None:
        super().__init__(settings.telegram_token, None, settings.telegram_webhook_url, debug_mode=False)
        self.settings = settings
        self._tasks = set()
        self.callback_keys = CallbackKeys(shared=get_strings)
        self.bot: ShopTelegramOutput | None = None
        self.missing = wa.missing_settings({"SHOP_TELEGRAM_TOKEN": settings.telegram_token,
                                            "SHOP_TELEGRAM_SECRET_TOKEN": settings.telegram_secret_token})
        if not self.missing:
            try:
                self.bot = ShopTelegramOutput(settings.telegram_token, api_url=settings.telegram_api_url,
                                              public_url=settings.public_url, callback_keys=self.callback_keys)
            except ValidationError:
                self.missing = ["SHOP_TELEGRAM_TOKEN (not a bot token '<digits>:<secret>')"]
        if self.missing:
            _log_disabled(self.label, self.missing)

    def get_output_channel(self) -> ShopTelegramOutput:  # type: ignore[override]
        """An output for one turn (Rasa's version calls setWebhook on a throw-away event
        loop, which leaves the bot's HTTP session bound to a closed loop); call it from
        inside the server's event loop."""
        if self.bot is None:
            raise RuntimeError(f"Telegram channel disabled, missing or invalid: {', '.join(self.missing)}")
        return self.bot.for_turn(TurnNumbers())

    def output_for(self, inbound: wa.Inbound, turn: TurnNumbers) -> ShopTelegramOutput:
        out = self.get_output_channel()
        out.turn = turn
        return out

    async def set_webhook_at_startup(self) -> None:
        """Registers the webhook with its secret; failures are logged, never fatal."""
        if self.bot is None:
            return
        if not self.settings.telegram_webhook_url:
            logger.info("SHOP_TELEGRAM_WEBHOOK_URL not set: register the Telegram webhook yourself "
                        "(setWebhook with secret_token).")
            return
        try:
            await self.bot.request("setWebhook", {
                "url": self.settings.telegram_webhook_url,
                "secret_token": self.settings.telegram_secret_token,
                "allowed_updates": json.dumps(["message", "callback_query"]),
            })
        except (TelegramAPIError, asyncio.TimeoutError) as exc:
            logger.error("Telegram setWebhook failed: %s", exc)

    async def user_text(self, inbound: wa.Inbound, out: _DegradingOutput) -> str | None:
        if inbound.is_button:
            if inbound.callback_id and self.bot is not None:
                try:
                    await self.bot.answer_callback_query(inbound.callback_id)
                except (TelegramAPIError, asyncio.TimeoutError) as exc:
                    logger.warning("Telegram answerCallbackQuery failed: %s", exc)
            payload = self.callback_keys.payload_for(inbound.text)
            if payload is None:
                await out.send_text_message(inbound.sender, EXPIRED_BUTTON)
                return None
            inbound = replace(inbound, text=payload)
        else:
            command = inbound.text.strip().split(" ", 1)[0].split("@", 1)[0].lower()
            if command in TELEGRAM_COMMANDS:
                inbound = replace(inbound, text=TELEGRAM_COMMANDS[command])
        return await super().user_text(inbound, out)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = gated(self, on_new_message)  # bot or people, after the message checks
        hook = Blueprint("shop_telegram_webhook", __name__)

        @hook.listener("after_server_start")
        async def register(_app: Any, _loop: Any) -> None:
            await self.set_webhook_at_startup()

        @hook.listener("before_server_stop")
        async def close(_app: Any, _loop: Any) -> None:
            # aiogram 2 keeps its HTTP session in ``_session``; ``.session`` would open one
            if self.bot is not None and self.bot._session is not None:
                await self.bot._session.close()

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "disabled" if self.missing else "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if self.missing:
                return self.disabled_response()
            rejection = wa.check_size(request.body) or wa.verify_telegram(
                secret_token=self.settings.telegram_secret_token,
                header=request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
            if rejection:
                return _rejected(rejection)
            try:
                update = json.loads(request.body or b"")
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                return response.json({"error": "body is not JSON"}, status=400)
            item = wa.read_telegram_update(update)
            if self.is_replay(item):
                return response.json({"status": "duplicate"})
            if isinstance(item, wa.Ignored):
                logger.debug("Telegram update ignored: %s", item.reason)
                return response.json({"status": "ignored"})
            self.start_turn(item, on_new_message)
            return response.json({"status": "ok"})

        return hook


class ShopSlackInput(_ShopMessagingInput, SlackInput):
    """Slack webhook at ``/webhooks/slack/webhook`` (Events API and interactivity).

    Checks the v0 signature (``X-Slack-Signature``, ``X-Slack-Request-Timestamp``
    within 5 minutes); answers ``url_verification``; answers people's direct messages
    and ``app_mention`` s, and button presses (form field ``payload``, ``block_actions``).
    A retry (``X-Slack-Retry-Num``) of an event already seen is acknowledged with
    ``X-Slack-No-Retry: 1``. Conversations are per Slack user."""

    label = "Slack"
    replay_window_s = wa.REPLAY_WINDOW_S  # signed with a timestamp: stale requests are refused anyway

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Ignores ``credentials`` (the file holds no secrets): reads bot settings."""
        return cls(get_bot_settings())

    def __init__(self, settings: BotSettings) -> None:
        super().__init__(settings.slack_token, slack_signing_secret=settings.slack_signing_secret)
        self.settings = settings
        self._tasks = set()
        self.missing = wa.missing_settings({"SHOP_SLACK_TOKEN": settings.slack_token,
                                            "SHOP_SLACK_SIGNING_SECRET": settings.slack_signing_secret})
        if self.missing:
            _log_disabled(self.label, self.missing)

    def _validate_credentials(self) -> None:
        """Rasa raises on a missing signing secret; here the channel is disabled instead."""

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> ShopSlackOutput:
        return ShopSlackOutput(self.slack_token, channel or self.slack_channel,
                               api_url=self.settings.slack_api_url, public_url=self.settings.public_url)

    def output_for(self, inbound: wa.Inbound, turn: TurnNumbers) -> ShopSlackOutput:
        return ShopSlackOutput(self.slack_token, inbound.reply_to, api_url=self.settings.slack_api_url,
                               public_url=self.settings.public_url, turn=turn)

    @staticmethod
    def bot_user_ids(body: dict[str, Any]) -> list[str]:
        """The app's own user ids (to drop ``<@U…>`` mentions of the bot from the text)."""
        ids = [u for u in body.get("authed_users") or [] if isinstance(u, str)]
        for auth in body.get("authorizations") or []:
            if isinstance(auth, dict) and isinstance(auth.get("user_id"), str):
                ids.append(auth["user_id"])
        return ids

    def read(self, request: Request) -> wa.Inbound | wa.Ignored | HTTPResponse:
        body_bytes = request.body or b""
        if (request.content_type or "").startswith("application/x-www-form-urlencoded"):
            return wa.read_slack_action(body_bytes)
        try:
            body = json.loads(body_bytes)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return response.json({"error": "body is not JSON"}, status=400)
        if isinstance(body, dict) and body.get("type") == "url_verification":
            return response.json({"challenge": str(body.get("challenge", ""))})
        item = wa.read_slack_event(body)
        if isinstance(item, wa.Inbound):
            text = self._sanitize_user_message(item.text, self.bot_user_ids(body))
            item = replace(item, text=text)
        return item

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = gated(self, on_new_message)  # bot or people, after the message checks
        hook = Blueprint("shop_slack_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "disabled" if self.missing else "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if self.missing:
                return self.disabled_response()
            rejection = wa.check_size(request.body) or wa.verify_slack(
                secret=self.slack_signing_secret, body=request.body or b"",
                signature=request.headers.get("X-Slack-Signature"),
                timestamp=request.headers.get("X-Slack-Request-Timestamp"))
            if rejection:
                return _rejected(rejection)
            item = self.read(request)
            if isinstance(item, HTTPResponse):
                return item
            if self.is_replay(item):
                return response.text("", headers={"X-Slack-No-Retry": "1"})
            if isinstance(item, wa.Ignored):
                logger.debug("Slack request ignored: %s", item.reason)
                return response.text("")
            self.start_turn(item, on_new_message)
            return response.text("")

        return hook


class ShopTwilioInput(_ShopMessagingInput, TwilioInput):
    """WhatsApp (or SMS) through Twilio: webhook at ``/webhooks/twilio/webhook``.

    Checks ``X-Twilio-Signature`` against ``SHOP_TWILIO_WEBHOOK_URL`` (the public URL
    Twilio posts to) and the form parameters; answers messages (``From``, ``Body``),
    ignores status callbacks (no ``Body``), answers the webhook with empty TwiML (the
    replies go through the Messages API)."""

    label = "Twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Ignores ``credentials`` (the file holds no secrets): reads bot settings."""
        return cls(get_bot_settings())

    def __init__(self, settings: BotSettings) -> None:
        super().__init__(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_number,
                         debug_mode=False)
        self.settings = settings
        self._tasks = set()
        self.missing = wa.missing_settings({
            "SHOP_TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "SHOP_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
            "SHOP_TWILIO_NUMBER": settings.twilio_number,
            "SHOP_TWILIO_WEBHOOK_URL": settings.twilio_webhook_url,
        })
        if self.missing:
            _log_disabled(self.label, self.missing)
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # it logs each request at INFO

    def get_output_channel(self) -> ShopTwilioOutput:
        return ShopTwilioOutput(self.account_sid, self.auth_token, self.twilio_number,
                                api_url=self.settings.twilio_api_url, public_url=self.settings.public_url)

    def output_for(self, inbound: wa.Inbound, turn: TurnNumbers) -> ShopTwilioOutput:
        out = self.get_output_channel()
        out.turn = turn
        return out

    @staticmethod
    def twiml() -> HTTPResponse:
        return response.text(TWIML_EMPTY, content_type="text/xml")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = gated(self, on_new_message)  # bot or people, after the message checks
        hook = Blueprint("shop_twilio_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "disabled" if self.missing else "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if self.missing:
                return self.disabled_response()
            rejection = wa.check_size(request.body)
            if rejection:
                return _rejected(rejection)
            params = wa.parse_form(request.body or b"")
            rejection = wa.verify_twilio(auth_token=self.auth_token, url=self.settings.twilio_webhook_url,
                                         params=params, signature=request.headers.get("X-Twilio-Signature"))
            if rejection:
                return _rejected(rejection)
            item = wa.read_twilio_form(params)
            if self.is_replay(item):
                return self.twiml()
            if isinstance(item, wa.Ignored):
                logger.debug("Twilio request ignored: %s", item.reason)
                return self.twiml()
            item = replace(item, text=item.text.replace("¡", "@"))  # carriers corrupt @
            self.start_turn(item, on_new_message)
            return self.twiml()

        return hook
