"""Telegram, Slack and WhatsApp (Twilio) end to end: realistic, correctly signed
platform webhooks posted to the real Rasa server, whose connectors answer through the
fake platform APIs (``tests/fake_platforms.py``); the assertions read what the bot sent
there."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.webhook_auth import slack_signature, twilio_signature
from tests import fake_platforms as fp
from tests.fake_platforms import FakePlatforms, Recorded
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

SEARCH = "waterproof hiking boots"
CARD_LINE = re.compile(r"^(?P<n>\d+)\. (?P<title>.+?) — (?P<price>\$[\d,]+\.\d\d)(?: \((?P<rating>[\d.]+)★\))?$")
LINK_LINE = re.compile(r"^\s+(?P<url>https?://\S+)$")


def _url(stack: RunningStack, channel: str) -> str:
    return f"http://127.0.0.1:{stack.rasa_port}/webhooks/{channel}/webhook"


def card_list(text: str) -> list[dict[str, Any]]:
    """The numbered cards in a message, each with its ``link`` (the line after it)."""
    cards: list[dict[str, Any]] = []
    for line in text.splitlines():
        if m := CARD_LINE.match(line):
            cards.append({"n": int(m["n"]), "title": m["title"], "link": None})
        elif (m := LINK_LINE.match(line)) and cards and cards[-1]["link"] is None:
            cards[-1]["link"] = m["url"]
    return cards


def is_list(record: Recorded) -> bool:
    return len(card_list(record.text)) >= 2


def assert_linked_list(text: str, *, start: int) -> list[dict[str, Any]]:
    cards = card_list(text)
    assert cards, text
    assert [c["n"] for c in cards] == list(range(start, start + len(cards))), text
    for card in cards:
        assert card["link"] and card["link"].startswith(f"{fp.PUBLIC_URL}/products/"), text
    return cards


def total_of(text: str) -> int:
    """N in a heading "Here are 1–5 of N:" (the list's length without one)."""
    m = re.search(r"of (?P<total>\d+):", text)
    return int(m["total"]) if m else len(card_list(text))


def settle_count(fake: FakePlatforms, to: str, quiet_s: float = 3.0) -> int:
    return len(fake.settle(to, quiet_s=quiet_s))


# --- Telegram ---


class Telegram:
    """A private chat with the bot; :meth:`say` posts a signed ``message`` update."""

    def __init__(self, stack: RunningStack, fake: FakePlatforms) -> None:
        self.stack, self.fake = stack, fake
        self.chat_id = random.randint(10**8, 10**9)
        self.update_id = random.randint(10**6, 10**8)
        self.client = httpx.Client(timeout=30)

    @property
    def to(self) -> str:
        return str(self.chat_id)

    def post(self, update: dict[str, Any] | bytes, secret: str | None = fp.TELEGRAM_SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        return self.client.post(_url(self.stack, "telegram"), content=body, headers=headers)

    def update(self, **fields: Any) -> dict[str, Any]:
        self.update_id += 1
        return {"update_id": self.update_id, **fields}

    def message(self, text: str) -> dict[str, Any]:
        return self.update(message={
            "message_id": self.update_id, "date": int(time.time()), "text": text,
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "Ana", "language_code": "en"},
            "chat": {"id": self.chat_id, "first_name": "Ana", "type": "private"},
        })

    def press(self, data: str) -> dict[str, Any]:
        return self.update(callback_query={
            "id": str(uuid.uuid4().int)[:19], "chat_instance": "-1234", "data": data,
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "Ana"},
            "message": {"message_id": 1, "date": int(time.time()), "text": "…",
                        "chat": {"id": self.chat_id, "type": "private"}},
        })

    def say(self, text: str, until: Any = None) -> list[Recorded]:
        since = len(self.fake.messages(self.to))
        resp = self.post(self.message(text))
        assert resp.status_code == 200, resp.text
        return self.fake.wait_for(self.to, since=since, until=until)


@pytest.fixture()
def telegram(stack: RunningStack, fake_platforms: FakePlatforms) -> Telegram:
    return Telegram(stack, fake_platforms)


def test_all_channels_enabled_and_telegram_webhook_registered(stack: RunningStack,
                                                              fake_platforms: FakePlatforms) -> None:
    log = (stack.workdir / "rasa.log").read_text(errors="replace")
    assert "channel disabled" not in log
    for channel in ("telegram", "slack", "twilio"):
        health = httpx.get(f"http://127.0.0.1:{stack.rasa_port}/webhooks/{channel}/", timeout=10)
        assert health.json() == {"status": "ok"}
    [hook] = fake_platforms.requests("telegram", "setWebhook")
    assert hook.body["url"] == fp.TELEGRAM_WEBHOOK
    assert hook.body["secret_token"] == fp.TELEGRAM_SECRET
    assert json.loads(hook.body["allowed_updates"]) == ["message", "callback_query"]


def test_telegram_greeting_search_number_reply_and_buttons(telegram: Telegram,
                                                           fake_platforms: FakePlatforms) -> None:
    [greeting] = telegram.say("/start")[:1]
    assert greeting.text.strip()

    found = telegram.say(SEARCH, until=is_list)
    cards = assert_linked_list(found[-1].text, start=1)
    total = total_of(found[-1].text)
    assert not found[-1].buttons
    assert total > len(cards) == 5, found[-1].text  # the demo shop has more than a page of them
    followup = fake_platforms.settle(telegram.to)[-1]
    assert {"title": "Show more", "payload": "/more_results"} in followup.buttons  # inline keyboard

    details = telegram.say("2", until=lambda m: cards[1]["title"] in m.text)
    assert cards[1]["title"] in "\n".join(m.text for m in details)

    since = settle_count(fake_platforms, telegram.to)
    assert telegram.post(telegram.press("/more_results")).status_code == 200
    page2 = fake_platforms.wait_for(telegram.to, since=since, until=is_list)
    assert_linked_list(page2[-1].text, start=len(cards) + 1)
    assert fake_platforms.requests("telegram", "answerCallbackQuery")


def test_telegram_rejects_bad_or_missing_secret(telegram: Telegram, fake_platforms: FakePlatforms) -> None:
    assert telegram.post(telegram.message("hi"), secret="not-the-secret").status_code == 403
    assert telegram.post(telegram.message("hi"), secret=None).status_code == 401
    time.sleep(1.5)
    assert fake_platforms.messages(telegram.to) == []


def test_telegram_replayed_update_is_answered_once(telegram: Telegram, fake_platforms: FakePlatforms) -> None:
    update = telegram.message("hello")
    assert telegram.post(update).json() == {"status": "ok"}
    fake_platforms.wait_for(telegram.to)
    answered = settle_count(fake_platforms, telegram.to)
    assert telegram.post(update).json() == {"status": "duplicate"}
    assert settle_count(fake_platforms, telegram.to) == answered


def test_telegram_oversized_unknown_and_too_long(telegram: Telegram, fake_platforms: FakePlatforms,
                                                 stack: RunningStack) -> None:
    big = json.dumps(telegram.message("boots " * 12_000)).encode()
    assert len(big) > 64 * 1024
    assert telegram.post(big).status_code == 413
    for kind in ("edited_message", "channel_post", "poll"):
        resp = telegram.post(telegram.update(**{kind: {"message_id": 3, "date": int(time.time()), "text": "x",
                                                       "chat": {"id": telegram.chat_id, "type": "private"}}}))
        assert resp.status_code == 200 and resp.json() == {"status": "ignored"}
    time.sleep(1.5)
    assert fake_platforms.messages(telegram.to) == []
    [reply] = telegram.say("boots " * 500)  # 3,000 characters; the limit is 2,000
    assert "characters long" in reply.text


# --- Slack ---


class Slack:
    """A direct-message conversation with the app; requests are signed v0."""

    def __init__(self, stack: RunningStack, fake: FakePlatforms) -> None:
        self.stack, self.fake = stack, fake
        self.user = "U" + uuid.uuid4().hex[:10].upper()
        self.channel = "D" + uuid.uuid4().hex[:10].upper()
        self.client = httpx.Client(timeout=30)

    def post(self, body: bytes, *, content_type: str = "application/json", timestamp: int | None = None,
             secret: str = fp.SLACK_SIGNING_SECRET, headers: dict[str, str] | None = None) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signed = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
                  "X-Slack-Signature": slack_signature(secret, ts, body), **(headers or {})}
        return self.client.post(_url(self.stack, "slack"), content=body, headers=signed)

    def event(self, text: str, **event: Any) -> tuple[str, bytes]:
        event_id = "Ev" + uuid.uuid4().hex[:10].upper()
        ts = f"{time.time():.6f}"
        body = {
            "token": "legacy-verification-token", "team_id": "T0SHOP", "api_app_id": "A0SHOP",
            "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": "T0SHOP", "user_id": "U0BOT", "is_bot": True}],
            "event": {"client_msg_id": str(uuid.uuid4()), "type": "message", "text": text, "user": self.user,
                      "ts": ts, "team": "T0SHOP", "channel": self.channel, "event_ts": ts,
                      "channel_type": "im", **event},
        }
        return event_id, json.dumps(body).encode()

    def press(self, value: str, title: str = "Show more") -> bytes:
        payload = {
            "type": "block_actions", "user": {"id": self.user, "username": "ana", "team_id": "T0SHOP"},
            "api_app_id": "A0SHOP", "token": "legacy-verification-token", "trigger_id": "1.2.3",
            "team": {"id": "T0SHOP", "domain": "shop"}, "channel": {"id": self.channel, "name": "directmessage"},
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": self.channel},
            "actions": [{"action_id": "option-0", "block_id": "b1", "type": "button", "value": value,
                         "text": {"type": "plain_text", "text": title}, "action_ts": f"{time.time():.6f}"}],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    def say(self, text: str, until: Any = None) -> list[Recorded]:
        since = len(self.fake.messages(self.channel))
        _, body = self.event(text)
        resp = self.post(body)
        assert resp.status_code == 200, resp.text
        return self.fake.wait_for(self.channel, since=since, until=until)


@pytest.fixture()
def slack(stack: RunningStack, fake_platforms: FakePlatforms) -> Slack:
    return Slack(stack, fake_platforms)


def test_slack_url_verification(slack: Slack) -> None:
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"}).encode()
    resp = slack.post(body)
    assert resp.status_code == 200
    assert resp.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    unsigned = slack.client.post(_url(slack.stack, "slack"), content=body,
                                 headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401


def test_slack_search_number_reply_and_buttons(slack: Slack, fake_platforms: FakePlatforms) -> None:
    found = slack.say(SEARCH, until=is_list)
    cards = assert_linked_list(found[-1].text, start=1)
    total = total_of(found[-1].text)
    assert total > len(cards) == 5, found[-1].text
    after = fake_platforms.settle(slack.channel)
    assert {"title": "Show more", "payload": "/more_results"} in after[-1].buttons
    assert after[-1].body["blocks"][1]["type"] == "actions"

    details = slack.say("2", until=lambda m: cards[1]["title"] in m.text)
    assert cards[1]["title"] in "\n".join(m.text for m in details)

    since = settle_count(fake_platforms, slack.channel)
    resp = slack.post(slack.press("/more_results"), content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200
    page2 = fake_platforms.wait_for(slack.channel, since=since, until=is_list)
    assert_linked_list(page2[-1].text, start=len(cards) + 1)
    assert all(r.headers.get("authorization") == f"Bearer {fp.SLACK_TOKEN}"
               for r in fake_platforms.requests("slack", "chat.postMessage"))


def test_slack_rejects_bad_signature_and_stale_timestamp(slack: Slack, fake_platforms: FakePlatforms) -> None:
    _, body = slack.event("hi")
    assert slack.post(body, secret="wrong-secret").status_code == 403
    assert slack.post(body, timestamp=int(time.time()) - 6 * 60).status_code == 403
    tampered = body.replace(b'"hi"', b'"cancel my order"')
    ts = str(int(time.time()))
    resp = slack.client.post(_url(slack.stack, "slack"), content=tampered, headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": slack_signature(fp.SLACK_SIGNING_SECRET, ts, body)})
    assert resp.status_code == 403
    time.sleep(1.5)
    assert fake_platforms.messages(slack.channel) == []


def test_slack_retry_and_bot_messages_are_not_answered(slack: Slack, fake_platforms: FakePlatforms) -> None:
    _, body = slack.event("hello")
    assert slack.post(body).status_code == 200
    fake_platforms.wait_for(slack.channel)
    answered = settle_count(fake_platforms, slack.channel)
    retry = slack.post(body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    _, own = slack.event("Here are 1–5 of 12:", bot_id="B0FAKE", subtype="bot_message")
    assert slack.post(own).status_code == 200
    assert settle_count(fake_platforms, slack.channel) == answered


# --- WhatsApp through Twilio ---


class WhatsApp:
    """A WhatsApp user writing to the shop's Twilio number; requests are signed."""

    def __init__(self, stack: RunningStack, fake: FakePlatforms) -> None:
        self.stack, self.fake = stack, fake
        digits = "".join(random.choice("0123456789") for _ in range(7))
        self.number = f"whatsapp:+1555{digits}"
        self.client = httpx.Client(timeout=30)

    def form(self, body: str) -> dict[str, str]:
        sid = "SM" + uuid.uuid4().hex
        return {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Ana", "MessageType": "text",
                "SmsSid": sid, "WaId": self.number.removeprefix("whatsapp:+"), "SmsStatus": "received",
                "Body": body, "To": fp.TWILIO_NUMBER, "NumSegments": "1", "ReferralNumMedia": "0",
                "MessageSid": sid, "AccountSid": fp.TWILIO_SID, "From": self.number, "ApiVersion": "2010-04-01"}

    def post(self, params: dict[str, str], *, token: str = fp.TWILIO_TOKEN,
             url: str = fp.TWILIO_WEBHOOK) -> httpx.Response:
        signature = twilio_signature(token, url, {k: [v] for k, v in params.items()})
        return self.client.post(_url(self.stack, "twilio"), content=urlencode(params).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "X-Twilio-Signature": signature})

    def say(self, text: str, until: Any = None) -> list[Recorded]:
        since = len(self.fake.messages(self.number))
        resp = self.post(self.form(text))
        assert resp.status_code == 200 and "<Response>" in resp.text, resp.text
        return self.fake.wait_for(self.number, since=since, until=until)


@pytest.fixture()
def whatsapp(stack: RunningStack, fake_platforms: FakePlatforms) -> WhatsApp:
    return WhatsApp(stack, fake_platforms)


def test_whatsapp_search_numbered_options_and_number_replies(whatsapp: WhatsApp,
                                                             fake_platforms: FakePlatforms) -> None:
    [greeting] = whatsapp.say("hi")[:1]
    assert greeting.text.strip() and greeting.body["From"] == fp.TWILIO_NUMBER

    found = whatsapp.say(SEARCH, until=is_list)
    cards = assert_linked_list(found[-1].text, start=1)
    total = total_of(found[-1].text)
    assert total > len(cards) == 5, found[-1].text
    followup = fake_platforms.settle(whatsapp.number)[-1]
    assert "6. Show more" in followup.text.splitlines()  # the button, numbered after the cards
    page2 = whatsapp.say("6", until=is_list)
    cards = assert_linked_list(page2[-1].text, start=6)
    fake_platforms.settle(whatsapp.number)
    second = cards[1] if len(cards) > 1 else cards[0]
    details = whatsapp.say(f"{second['n']}.", until=lambda m: second["title"] in m.text)
    assert second["title"] in "\n".join(m.text for m in details)


def test_whatsapp_rejects_bad_signature_ignores_status_and_replays(whatsapp: WhatsApp,
                                                                   fake_platforms: FakePlatforms) -> None:
    assert whatsapp.post(whatsapp.form("hi"), token="wrong-token").status_code == 403
    assert whatsapp.post(whatsapp.form("hi"), url="https://elsewhere.example/webhooks/twilio/webhook") \
        .status_code == 403
    unsigned = whatsapp.client.post(_url(whatsapp.stack, "twilio"), content=urlencode(whatsapp.form("hi")).encode(),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    status = {"SmsSid": "SM" + uuid.uuid4().hex, "SmsStatus": "delivered", "MessageStatus": "delivered",
              "To": whatsapp.number, "MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": fp.TWILIO_SID,
              "From": fp.TWILIO_NUMBER, "ApiVersion": "2010-04-01", "ChannelToAddress": whatsapp.number}
    assert whatsapp.post(status).status_code == 200
    time.sleep(1.5)
    assert fake_platforms.messages(whatsapp.number) == []

    params = whatsapp.form("hello")
    assert whatsapp.post(params).status_code == 200
    fake_platforms.wait_for(whatsapp.number)
    answered = settle_count(fake_platforms, whatsapp.number)
    assert whatsapp.post(params).status_code == 200  # Twilio's retry of the same MessageSid
    assert settle_count(fake_platforms, whatsapp.number) == answered
    big = whatsapp.form("boots " * 12_000)
    assert whatsapp.post(big).status_code == 413
