"""Everything an inbound messaging-app webhook goes through before the dialogue sees it
(plain Python, no Rasa, so the tests can check it directly):

- :func:`check_size`: bodies over :data:`MAX_BODY_BYTES` (64 KiB) are refused (413);
- :func:`verify_slack`, :func:`verify_twilio`, :func:`verify_telegram`: each platform's
  own signature scheme, compared in constant time (401 when the header is missing,
  403 when it is wrong or stale);
- :class:`ReplayGuard`: ids seen recently (Telegram ``update_id``, Slack ``event_id``,
  Twilio ``MessageSid``), so a platform's retry (or a captured request sent again) is
  acknowledged without a second turn; kept in a :mod:`protocol.replay` memory (Redis
  in production, so it survives restarts and is shared between processes);
- :func:`read_telegram_update`, :func:`read_slack_event`, :func:`read_slack_action`,
  :func:`read_twilio_form`: a verified payload read into an :class:`Inbound` (a user's
  text or button press) or an :class:`Ignored` (an update type the shop does not handle);
- :func:`missing_settings`: which required variables of a channel are unset.

Every check returns ``None`` when the request may go on, or a :class:`Rejection`
carrying the HTTP status and a reason for the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from protocol.replay import MemorySeen, SeenOnce

MAX_BODY_BYTES = 64 * 1024
SLACK_TOLERANCE_S = 5 * 60
REPLAY_WINDOW_S = 60 * 60
# Twilio and Telegram requests carry no timestamp: a captured one stays valid, so their
# ids are remembered for a month (Slack's are refused after 5 minutes anyway)
UNTIMED_REPLAY_WINDOW_S = 30 * 24 * 60 * 60
REPLAY_MAX_IDS = 100_000
REPLAY_PREFIX = "webhook:"


@dataclass(frozen=True)
class Rejection:
    """Why a webhook request is refused: ``status`` (401, 403 or 413) and ``reason``."""

    status: int
    reason: str


def check_size(body: bytes | None, *, limit: int = MAX_BODY_BYTES) -> Rejection | None:
    """413 when ``body`` is longer than ``limit`` bytes (default 64 KiB)."""
    if body is not None and len(body) > limit:
        return Rejection(413, f"payload of {len(body):,} bytes is over the {limit:,}-byte limit")
    return None


def missing_settings(required: Mapping[str, str | None]) -> list[str]:
    """Names (environment variables) in ``required`` whose value is empty, in order.

    ``required`` maps a variable name to its current value, e.g.
    ``{"SHOP_SLACK_TOKEN": "xoxb-…", "SHOP_SLACK_SIGNING_SECRET": ""}``."""
    return [name for name, value in required.items() if not (value or "").strip()]


def disabled_body(channel: str, missing: Iterable[str]) -> dict[str, Any]:
    """The JSON a disabled channel's webhook answers with (status 503)."""
    names = list(missing)
    return {"error": f"The {channel} channel is disabled; missing or invalid settings: {', '.join(names)}.",
            "channel": channel, "missing": names}


# --- signatures -------------------------------------------------------------------


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: ``"v0=" + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(*, secret: str, signature: str | None, timestamp: str | None, body: bytes,
                 now: float | None = None, tolerance_s: int = SLACK_TOLERANCE_S) -> Rejection | None:
    """Checks ``X-Slack-Signature`` (``signature``) and ``X-Slack-Request-Timestamp``
    (``timestamp``) over the raw ``body``; the timestamp must be within ``tolerance_s``
    (default 5 minutes) of ``now`` (default: the clock)."""
    if not signature or not timestamp:
        return Rejection(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
    try:
        sent_at = int(timestamp)
    except ValueError:
        return Rejection(403, "X-Slack-Request-Timestamp is not a number")
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        return Rejection(403, "X-Slack-Request-Timestamp is too old or in the future")
    if not hmac.compare_digest(slack_signature(secret, timestamp, body).encode(), signature.encode()):
        return Rejection(403, "X-Slack-Signature does not match")
    return None


def twilio_signature(auth_token: str, url: str, params: Mapping[str, Iterable[str]]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(auth_token, url + each POST
    parameter's name and value, sorted by name, then value)) — what
    ``twilio.request_validator.RequestValidator.compute_signature`` computes."""
    text = url
    for name in sorted(set(params)):
        for value in sorted(set(params[name])):
            text += name + value
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """``url`` as given, without its port, and with the scheme's default port: Twilio
    signs whichever form it was configured with (as its own validator tries)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default_port = 443 if parts.scheme == "https" else 80
    without = urlunsplit(parts._replace(netloc=host if parts.port else parts.netloc))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default_port}"))
    return list(dict.fromkeys([url, without, with_port]))


def verify_twilio(*, auth_token: str, url: str, params: Mapping[str, Iterable[str]],
                  signature: str | None) -> Rejection | None:
    """Checks ``X-Twilio-Signature`` for a form POST to ``url`` (the public webhook URL
    configured at Twilio, not the local one) with form ``params`` (name -> values)."""
    if not signature:
        return Rejection(401, "missing X-Twilio-Signature")
    for candidate in _url_variants(url):
        expected = twilio_signature(auth_token, candidate, params)
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return None
    return Rejection(403, "X-Twilio-Signature does not match")


def verify_telegram(*, secret_token: str, header: str | None) -> Rejection | None:
    """Checks ``X-Telegram-Bot-Api-Secret-Token`` against the secret given to ``setWebhook``."""
    if not header:
        return Rejection(401, "missing X-Telegram-Bot-Api-Secret-Token")
    if not hmac.compare_digest(secret_token.encode(), header.encode()):
        return Rejection(403, "X-Telegram-Bot-Api-Secret-Token does not match")
    return None


# --- replays -----------------------------------------------------------------------


class ReplayGuard:
    """Ids seen in the last ``window_s`` seconds (default an hour, longer than Slack's
    5-minute signature window and the platforms' retry periods; a call may ask for a
    longer one), kept in ``store``: :func:`bot.shared_state.get_seen` (Redis when
    ``SHOP_REDIS_URL`` is set, so a restarted or second process still knows them; it
    answers from this process when Redis fails). Without ``store``, this process
    remembers at most ``max_ids`` (default 100,000; the oldest are forgotten first)."""

    def __init__(self, *, store: SeenOnce | None = None, window_s: float = REPLAY_WINDOW_S,
                 max_ids: int = REPLAY_MAX_IDS) -> None:
        self.window_s = window_s
        self.store: SeenOnce = store if store is not None else MemorySeen(max_keys=max_ids)

    def seen_before(self, key: str, *, window_s: float | None = None, now: float | None = None) -> bool:
        """``True`` when ``key`` was recorded within the window; records it otherwise."""
        return self.store.seen_before(REPLAY_PREFIX + key, window_s=window_s or self.window_s, now=now)

    def __len__(self) -> int:
        return len(self.store) if isinstance(self.store, MemorySeen) else 0


# --- reading verified payloads --------------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """A user's message: ``sender`` (the conversation id), ``text`` (typed text or a
    button's payload), ``reply_to`` (where answers go: Telegram chat id, Slack channel
    id, Twilio ``From``), ``event_id`` (for :class:`ReplayGuard`, may be empty),
    ``is_button`` (a button press: its text is a payload, not typed) and ``callback_id``
    (a Telegram callback query to acknowledge)."""

    sender: str
    text: str
    reply_to: str
    event_id: str = ""
    is_button: bool = False
    callback_id: str = ""


@dataclass(frozen=True)
class Ignored:
    """A verified update the shop does not answer; ``event_id`` still counts for replays."""

    reason: str
    event_id: str = ""


def read_telegram_update(update: Any) -> Inbound | Ignored:
    """An ``Update`` object (parsed JSON) read: a ``message`` (its ``text``, else its
    ``caption``, else empty text, which gets the polite empty-message reply) or a
    ``callback_query`` (its ``data``); every other update type is :class:`Ignored`."""
    if not isinstance(update, dict):
        return Ignored("not a JSON object")
    event_id = f"telegram:{update.get('update_id', '')}" if "update_id" in update else ""
    message = update.get("message")
    if isinstance(message, dict) and isinstance(message.get("chat"), dict):
        chat_id = str(message["chat"].get("id", ""))
        text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
        if not chat_id:
            return Ignored("message without a chat id", event_id)
        return Inbound(sender=chat_id, text=text if isinstance(text, str) else "", reply_to=chat_id,
                       event_id=event_id)
    query = update.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("message"), dict):
        chat = query["message"].get("chat")
        chat_id = str(chat.get("id", "")) if isinstance(chat, dict) else ""
        if not chat_id or not isinstance(query.get("data"), str):
            return Ignored("callback query without a chat or data", event_id)
        return Inbound(sender=chat_id, text=query["data"], reply_to=chat_id, event_id=event_id,
                       is_button=True, callback_id=str(query.get("id", "")))
    kind = next((k for k in update if k != "update_id"), "empty")
    return Ignored(f"update type {kind!r} is not handled", event_id)


def read_slack_event(body: Any) -> Inbound | Ignored:
    """An Events API ``event_callback`` read: a person's ``message`` in a direct message
    (``channel_type`` ``im``, no ``subtype``, no ``bot_id``) or an ``app_mention``;
    anything else (bot messages, edits, joins, other event types) is :class:`Ignored`.
    The text is as Slack sent it (mentions are removed by the channel)."""
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return Ignored(f"Slack payload type {body.get('type') if isinstance(body, dict) else None!r}")
    event_id = f"slack:{body.get('event_id', '')}" if body.get("event_id") else ""
    event = body.get("event")
    if not isinstance(event, dict):
        return Ignored("event_callback without an event", event_id)
    kind, user, channel = event.get("type"), event.get("user"), event.get("channel")
    if event.get("bot_id") or event.get("subtype") or not isinstance(user, str) or not isinstance(channel, str):
        return Ignored("not a person's message", event_id)
    if kind == "app_mention" or (kind == "message" and event.get("channel_type") == "im"):
        text = event.get("text") if isinstance(event.get("text"), str) else ""
        return Inbound(sender=user, text=text, reply_to=channel, event_id=event_id)
    return Ignored(f"Slack event {kind!r} is not handled", event_id)


def read_slack_action(form_body: bytes) -> Inbound | Ignored:
    """An interactive payload (form field ``payload``, JSON) read: a ``block_actions``
    button press whose ``value`` is the payload; other interactions are :class:`Ignored`."""
    fields = parse_qs(form_body.decode("utf-8", errors="replace"), keep_blank_values=True)
    try:
        payload = json.loads(fields.get("payload", [""])[0])
    except (json.JSONDecodeError, RecursionError):
        return Ignored("interactive payload is not JSON")
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return Ignored("not a block_actions payload")
    actions = payload.get("actions")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    channel = payload.get("channel") if isinstance(payload.get("channel"), dict) else {}
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return Ignored("no action")
    action = actions[0]
    user_id, channel_id = str(user.get("id", "")), str(channel.get("id", ""))
    event_id = f"slack-action:{user_id}:{action.get('action_ts', '')}:{action.get('action_id', '')}"
    if action.get("type") != "button" or not isinstance(action.get("value"), str):
        return Ignored("not a button with a value", event_id)
    if not user_id or not channel_id:
        return Ignored("button press without a user or channel", event_id)
    return Inbound(sender=user_id, text=action["value"], reply_to=channel_id, event_id=event_id,
                   is_button=True)


def read_twilio_form(params: Mapping[str, list[str]]) -> Inbound | Ignored:
    """A Twilio message webhook (form ``params``) read: ``From`` and ``Body`` (an empty
    ``Body``, e.g. a photo, gets the polite empty-message reply); a request without
    ``Body`` (a status callback) is :class:`Ignored`."""
    first = {name: values[0] for name, values in params.items() if values}
    sid = first.get("MessageSid") or first.get("SmsMessageSid") or ""
    event_id = f"twilio:{sid}" if sid else ""
    if "Body" not in first:
        status = first.get("MessageStatus") or first.get("SmsStatus") or "unknown"
        return Ignored(f"no Body (status callback: {status})", event_id)
    sender = first.get("From", "")
    if not sender:
        return Ignored("message without From", event_id)
    return Inbound(sender=sender, text=first["Body"], reply_to=sender, event_id=event_id)


def parse_form(body: bytes) -> dict[str, list[str]]:
    """A ``application/x-www-form-urlencoded`` body as name -> values, blanks kept
    (Twilio signs blank parameters too)."""
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
