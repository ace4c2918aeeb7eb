"""A local stand-in for the messaging platforms' outbound APIs, for tests without the
internet: one HTTP server on 127.0.0.1 (a free port, in a thread) that answers like

- the Telegram Bot API: ``POST /bot<token>/<method>`` (form or JSON) ->
  ``{"ok": true, "result": …}``, a Message object for ``sendMessage``;
- the Slack Web API: ``POST /api/<method>`` (JSON or form) -> ``{"ok": true, …}``;
- Twilio's REST API: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (form) -> 201
  and a message resource;

and records every request (:class:`Recorded`). :meth:`FakePlatforms.wait_for` waits
until messages for a chat/channel/recipient arrive. :func:`stack_env` gives the Rasa
server the settings that point its connectors here.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TELEGRAM_TOKEN = "7000001:AAFakeTelegramTokenForTests"
TELEGRAM_SECRET = "telegram-secret-e2e"
SLACK_TOKEN = "xoxb-fake-e2e-token"
SLACK_SIGNING_SECRET = "slack-signing-secret-e2e"
TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-auth-token-e2e"
TWILIO_NUMBER = "whatsapp:+14155238886"
PUBLIC_URL = "https://shop.example.test"
TELEGRAM_WEBHOOK = f"{PUBLIC_URL}/webhooks/telegram/webhook"
TWILIO_WEBHOOK = f"{PUBLIC_URL}/webhooks/twilio/webhook"

SEND_METHODS = {"telegram": "sendMessage", "slack": "chat.postMessage", "twilio": "Messages.json"}
_TELEGRAM_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>\w+)$")
_SLACK_PATH = re.compile(r"^/api/(?P<method>[\w.]+)$")
_TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>\w+)/Messages\.json$")


@dataclass
class Recorded:
    """One request to the fake platforms: ``platform`` (telegram, slack, twilio or
    unknown), API ``method`` (``sendMessage``, ``chat.postMessage``, ``Messages.json``,
    ``setWebhook`` …), ``body`` (parsed JSON, or a form with one value per field),
    and for messages ``to`` (chat id, channel or number), ``text`` and ``buttons``
    (``{"title", "payload"}`` from an inline keyboard or a Slack actions block)."""

    platform: str
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    to: str = ""
    text: str = ""
    buttons: list[dict[str, str]] = field(default_factory=list)

    @property
    def is_message(self) -> bool:
        return SEND_METHODS.get(self.platform) == self.method


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {"_": value}
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        return {part.get_param("name", header="content-disposition"): part.get_content()
                for part in message.iter_parts()}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True).items()}


def _telegram_buttons(markup: Any) -> list[dict[str, str]]:
    if isinstance(markup, str):
        markup = json.loads(markup or "{}")
    rows = (markup or {}).get("inline_keyboard") or []
    return [{"title": b.get("text", ""), "payload": b.get("callback_data", "")} for row in rows for b in row]


def _slack_buttons(blocks: Any) -> list[dict[str, str]]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks or "[]")
    return [{"title": e.get("text", {}).get("text", ""), "payload": e.get("value", "")}
            for b in blocks or [] if b.get("type") == "actions" for e in b.get("elements", [])]


class FakePlatforms:
    """The fake server; :meth:`start` it, :meth:`stop` it, read :attr:`url`."""

    def __init__(self) -> None:
        self.records: list[Recorded] = []
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._next_id = 1000

    # --- server ---

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakePlatforms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = fake.handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-platforms", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _new_id(self) -> int:
        with self._cond:
            self._next_id += 1
            return self._next_id

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        """Records one request and returns (status, JSON answer)."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            body = _parse_body(lower.get("content-type", ""), raw)
        except (ValueError, UnicodeDecodeError):
            body = {"_raw": raw.decode("utf-8", errors="replace")}
        path = path.split("?", 1)[0]
        if m := _TELEGRAM_PATH.match(path):
            record = Recorded("telegram", m["method"], path, lower, body, to=str(body.get("chat_id", "")),
                              text=str(body.get("text", "")),
                              buttons=_telegram_buttons(body.get("reply_markup")))
            answer = self._telegram_answer(m["method"], body)
            status = 200
        elif m := _SLACK_PATH.match(path):
            record = Recorded("slack", m["method"], path, lower, body, to=str(body.get("channel", "")),
                              text=str(body.get("text", "")), buttons=_slack_buttons(body.get("blocks")))
            answer = self._slack_answer(m["method"], body)
            status = 200
        elif m := _TWILIO_PATH.match(path):
            record = Recorded("twilio", "Messages.json", path, lower, body, to=str(body.get("To", "")),
                              text=str(body.get("Body", "")))
            answer = self._twilio_answer(m["sid"], body)
            status = 201
        else:
            record = Recorded("unknown", "", path, lower, body)
            answer, status = {"error": f"no such endpoint {path}"}, 404
        with self._cond:
            self.records.append(record)
            self._cond.notify_all()
        return status, answer

    def _telegram_answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "getMe":
            return {"ok": True, "result": {"id": int(TELEGRAM_TOKEN.split(":")[0]), "is_bot": True,
                                           "first_name": "Ridgeline", "username": "ridgeline_shop_bot"}}
        if method in ("sendMessage", "editMessageText"):
            chat_id = str(body.get("chat_id", "0"))
            message = {
                "message_id": self._new_id(), "date": int(time.time()),
                "from": {"id": int(TELEGRAM_TOKEN.split(":")[0]), "is_bot": True, "first_name": "Ridgeline",
                         "username": "ridgeline_shop_bot"},
                "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"},
                "text": body.get("text", ""),
            }
            if body.get("reply_markup"):
                markup = body["reply_markup"]
                message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            return {"ok": True, "result": message}
        if method == "setWebhook":
            return {"ok": True, "result": True, "description": "Webhook was set"}
        return {"ok": True, "result": True}

    def _slack_answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            return {"ok": True, "channel": body.get("channel"), "ts": ts,
                    "message": {"type": "message", "subtype": "bot_message", "text": body.get("text", ""),
                                "bot_id": "B0FAKE", "ts": ts}}
        if method == "auth.test":
            return {"ok": True, "user_id": "U0BOT", "bot_id": "B0FAKE", "team_id": "T0FAKE"}
        return {"ok": True}

    def _twilio_answer(self, sid: str, body: dict[str, Any]) -> dict[str, Any]:
        message_sid = "SM" + uuid.uuid4().hex
        now = formatdate(usegmt=True)
        return {
            "sid": message_sid, "account_sid": sid, "to": body.get("To"), "from": body.get("From"),
            "body": body.get("Body", ""), "status": "queued", "direction": "outbound-api",
            "date_created": now, "date_updated": now, "date_sent": None, "num_segments": "1",
            "num_media": "0", "price": None, "price_unit": "USD", "api_version": "2010-04-01",
            "messaging_service_sid": None, "error_code": None, "error_message": None,
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media.json"},
        }

    # --- assertions ---

    def requests(self, platform: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._cond:
            return [r for r in self.records if (platform is None or r.platform == platform)
                    and (method is None or r.method == method)]

    def messages(self, to: str) -> list[Recorded]:
        """Every message sent to ``to`` (a Telegram chat id, Slack channel or Twilio number)."""
        with self._cond:
            return [r for r in self.records if r.is_message and r.to == to]

    def wait_for(self, to: str, *, since: int = 0, count: int = 1,
                 until: Callable[[Recorded], bool] | None = None, timeout: float = 90) -> list[Recorded]:
        """Messages to ``to`` after the first ``since``, once ``count`` arrived (and, with
        ``until``, one of them matches it: those up to and including it are returned)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                new = [r for r in self.records if r.is_message and r.to == to][since:]
                if until is not None:
                    hit = next((i for i, r in enumerate(new) if until(r)), None)
                    if hit is not None and hit + 1 >= count:
                        return new[:hit + 1]
                elif len(new) >= count:
                    return new
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout:.0f} s for messages to {to}; got "
                                         + json.dumps([r.text for r in new], ensure_ascii=False))
                self._cond.wait(left)

    def settle(self, to: str, *, quiet_s: float = 2.0, timeout: float = 90) -> list[Recorded]:
        """All messages to ``to`` once none arrived for ``quiet_s`` seconds."""
        deadline = time.monotonic() + timeout
        seen = len(self.messages(to))
        quiet_until = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = len(self.messages(to))
            if now != seen:
                seen, quiet_until = now, time.monotonic() + quiet_s
            elif time.monotonic() >= quiet_until:
                break
        return self.messages(to)


def stack_env(fake: FakePlatforms) -> dict[str, str]:
    """The Rasa server's settings for all three channels, pointed at ``fake``."""
    return {
        "SHOP_PUBLIC_URL": PUBLIC_URL,
        "SHOP_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "SHOP_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "SHOP_TELEGRAM_WEBHOOK_URL": TELEGRAM_WEBHOOK,
        "SHOP_TELEGRAM_API_URL": fake.url,
        "SHOP_SLACK_TOKEN": SLACK_TOKEN,
        "SHOP_SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SHOP_SLACK_API_URL": f"{fake.url}/api/",
        "SHOP_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "SHOP_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SHOP_TWILIO_NUMBER": TWILIO_NUMBER,
        "SHOP_TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK,
        "SHOP_TWILIO_API_URL": fake.url,
    }
