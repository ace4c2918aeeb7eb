"""Messaging-app webhooks and replies, the plain-Python parts (bot/webhook_auth.py,
bot/degrade.py): signatures against the platforms' published examples, replays,
limits, payload reading, and rich messages made into text, links and buttons."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bot import webhook_auth as wa
from bot.degrade import (
    CallbackKeys,
    ReplyNumbers,
    TurnNumbers,
    absolute_link,
    degrade_message,
    parse_number,
    split_text,
)

NOW = 1_700_000_000

# Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack)
SLACK_DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TS = "1531420618"
SLACK_DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SLACK_DOC_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# Twilio's documented example; the second computed by twilio 8.2.2's RequestValidator
TWILIO_DOC_PARAMS = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+12349013030"], "Digits": ["1234"],
                     "From": ["+12349013030"], "To": ["+18005551212"]}
TWILIO_WA_PARAMS = {"MessageSid": ["SM0123"], "From": ["whatsapp:+15551230000"], "To": ["whatsapp:+14155238886"],
                    "Body": ["waterproof hiking boots"], "NumMedia": ["0"], "ProfileName": [""]}
TWILIO_WA_URL = "https://shop.example.test/webhooks/twilio/webhook"


# --- Slack ---


def test_slack_signature_matches_slacks_example() -> None:
    assert wa.slack_signature(SLACK_DOC_SECRET, SLACK_DOC_TS, SLACK_DOC_BODY) == SLACK_DOC_SIG


def test_slack_valid_request_passes() -> None:
    assert wa.verify_slack(secret=SLACK_DOC_SECRET, signature=SLACK_DOC_SIG, timestamp=SLACK_DOC_TS,
                           body=SLACK_DOC_BODY, now=int(SLACK_DOC_TS) + 60) is None


@pytest.mark.parametrize("change", ["secret", "body", "stale", "future", "no_signature", "no_timestamp",
                                    "bad_timestamp"])
def test_slack_rejections(change: str) -> None:
    kwargs = dict(secret=SLACK_DOC_SECRET, signature=SLACK_DOC_SIG, timestamp=SLACK_DOC_TS, body=SLACK_DOC_BODY,
                  now=int(SLACK_DOC_TS) + 10)
    if change == "secret":
        kwargs["secret"] = "not-the-secret"
    elif change == "body":
        kwargs["body"] = SLACK_DOC_BODY.replace(b"roadrunner", b"coyote")
    elif change == "stale":
        kwargs["now"] = int(SLACK_DOC_TS) + 5 * 60 + 1
    elif change == "future":
        kwargs["now"] = int(SLACK_DOC_TS) - 5 * 60 - 1
    elif change == "no_signature":
        kwargs["signature"] = None
    elif change == "no_timestamp":
        kwargs["timestamp"] = ""
    else:
        kwargs["timestamp"] = "yesterday"
    rejection = wa.verify_slack(**kwargs)
    assert rejection is not None
    assert rejection.status == (401 if change.startswith("no_") else 403)


def test_slack_timestamp_is_part_of_the_signature() -> None:
    # a fresh timestamp on an old signature does not pass
    assert wa.verify_slack(secret=SLACK_DOC_SECRET, signature=SLACK_DOC_SIG, timestamp=str(NOW),
                           body=SLACK_DOC_BODY, now=NOW) is not None


# --- Twilio ---


def test_twilio_signature_matches_twilios_example() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert wa.twilio_signature("12345", url, TWILIO_DOC_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilio_whatsapp_form_signature_and_port_variants() -> None:
    sig = "i+6lhB+oy8txdbLBp3stz4eBCpQ="  # RequestValidator("tok-abc").compute_signature(...)
    assert wa.twilio_signature("tok-abc", TWILIO_WA_URL, TWILIO_WA_PARAMS) == sig
    assert wa.verify_twilio(auth_token="tok-abc", url=TWILIO_WA_URL, params=TWILIO_WA_PARAMS, signature=sig) is None
    # configured with the explicit default port, signed without it (and the other way)
    assert wa.verify_twilio(auth_token="tok-abc", url="https://shop.example.test:443/webhooks/twilio/webhook",
                            params=TWILIO_WA_PARAMS, signature=sig) is None


@pytest.mark.parametrize("change", ["token", "param", "extra_param", "url", "missing"])
def test_twilio_rejections(change: str) -> None:
    params = {k: list(v) for k, v in TWILIO_WA_PARAMS.items()}
    kwargs = dict(auth_token="tok-abc", url=TWILIO_WA_URL, params=params, signature="i+6lhB+oy8txdbLBp3stz4eBCpQ=")
    if change == "token":
        kwargs["auth_token"] = "other"
    elif change == "param":
        params["Body"] = ["cancel my order"]
    elif change == "extra_param":
        params["Injected"] = ["1"]
    elif change == "url":
        kwargs["url"] = "https://evil.example/webhooks/twilio/webhook"
    else:
        kwargs["signature"] = None
    rejection = wa.verify_twilio(**kwargs)
    assert rejection is not None and rejection.status == (401 if change == "missing" else 403)


def test_parse_form_keeps_blank_values_for_the_signature() -> None:
    body = urlencode({k: v[0] for k, v in TWILIO_WA_PARAMS.items()}).encode()
    assert wa.parse_form(body) == TWILIO_WA_PARAMS


# --- Telegram ---


def test_telegram_secret_token() -> None:
    assert wa.verify_telegram(secret_token="s3cret", header="s3cret") is None
    assert wa.verify_telegram(secret_token="s3cret", header="s3cret-not").status == 403
    assert wa.verify_telegram(secret_token="s3cret", header=None).status == 401
    assert wa.verify_telegram(secret_token="s3cret", header="").status == 401


# --- limits, replays, missing settings ---


def test_body_size_limit() -> None:
    assert wa.check_size(b"x" * wa.MAX_BODY_BYTES) is None
    rejection = wa.check_size(b"x" * (wa.MAX_BODY_BYTES + 1))
    assert rejection is not None and rejection.status == 413
    assert wa.check_size(None) is None


def test_replay_guard_remembers_within_the_window_and_stays_bounded() -> None:
    guard = wa.ReplayGuard(window_s=60, max_ids=3)
    assert not guard.seen_before("a", now=0)
    assert guard.seen_before("a", now=30)
    assert not guard.seen_before("a", now=100)  # window over: seen again as new
    for i, key in enumerate("bcde"):
        guard.seen_before(key, now=101 + i)
    assert len(guard) <= 3
    assert not guard.seen_before("b", now=110)  # forgotten to keep the bound


def test_missing_settings_and_disabled_body() -> None:
    missing = wa.missing_settings({"SHOP_SLACK_TOKEN": "xoxb-1", "SHOP_SLACK_SIGNING_SECRET": " ",
                                   "SHOP_X": None})
    assert missing == ["SHOP_SLACK_SIGNING_SECRET", "SHOP_X"]
    body = wa.disabled_body("Slack", missing)
    assert body["missing"] == missing and "SHOP_SLACK_SIGNING_SECRET" in body["error"]
    assert wa.missing_settings({"A": "1"}) == []


# --- reading payloads ---


def _tg_message(text: str | None, update_id: int = 1, **extra: object) -> dict:
    message = {"message_id": 5, "date": NOW, "chat": {"id": 4242, "type": "private"},
               "from": {"id": 4242, "is_bot": False, "first_name": "Ana"}, **extra}
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def test_read_telegram_message_callback_and_ignored_types() -> None:
    item = wa.read_telegram_update(_tg_message("hi", update_id=77))
    assert item == wa.Inbound(sender="4242", text="hi", reply_to="4242", event_id="telegram:77")
    photo = wa.read_telegram_update(_tg_message(None, caption="these?"))
    assert isinstance(photo, wa.Inbound) and photo.text == "these?"
    sticker = wa.read_telegram_update(_tg_message(None, sticker={"file_id": "x"}))
    assert isinstance(sticker, wa.Inbound) and sticker.text == ""
    press = wa.read_telegram_update({"update_id": 9, "callback_query": {
        "id": "cb1", "from": {"id": 4242}, "data": "/more_results",
        "message": {"message_id": 6, "date": NOW, "chat": {"id": 4242, "type": "private"}}}})
    assert isinstance(press, wa.Inbound) and press.is_button and press.callback_id == "cb1"
    assert press.text == "/more_results"
    for kind in ("edited_message", "channel_post", "poll", "my_chat_member"):
        ignored = wa.read_telegram_update({"update_id": 10, kind: {"id": "x"}})
        assert isinstance(ignored, wa.Ignored) and kind in ignored.reason and ignored.event_id == "telegram:10"
    assert isinstance(wa.read_telegram_update([1, 2]), wa.Ignored)


def _slack_event(event: dict, event_id: str = "Ev01") -> dict:
    return {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": NOW,
            "authorizations": [{"user_id": "UBOT"}], "event": event}


def test_read_slack_events() -> None:
    dm = wa.read_slack_event(_slack_event({"type": "message", "channel_type": "im", "user": "U1",
                                           "channel": "D1", "text": "hi", "ts": "1.2"}))
    assert dm == wa.Inbound(sender="U1", text="hi", reply_to="D1", event_id="slack:Ev01")
    mention = wa.read_slack_event(_slack_event({"type": "app_mention", "user": "U1", "channel": "C1",
                                                "text": "<@UBOT> boots"}))
    assert isinstance(mention, wa.Inbound) and mention.reply_to == "C1"
    for event in ({"type": "message", "channel_type": "im", "bot_id": "B1", "channel": "D1", "text": "x"},
                  {"type": "message", "channel_type": "im", "subtype": "message_changed", "channel": "D1"},
                  {"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "text": "x"},
                  {"type": "reaction_added", "user": "U1", "channel": "C1"}):
        assert isinstance(wa.read_slack_event(_slack_event(event)), wa.Ignored)
    assert isinstance(wa.read_slack_event({"type": "url_verification", "challenge": "c"}), wa.Ignored)


def test_read_slack_button_press() -> None:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "D1"},
               "actions": [{"type": "button", "action_id": "option-0", "value": "/more_results",
                            "action_ts": "1700000000.1"}]}
    item = wa.read_slack_action(urlencode({"payload": json.dumps(payload)}).encode())
    assert isinstance(item, wa.Inbound) and item.text == "/more_results" and item.is_button
    assert item.sender == "U1" and item.reply_to == "D1" and item.event_id
    payload["actions"][0]["type"] = "static_select"
    assert isinstance(wa.read_slack_action(urlencode({"payload": json.dumps(payload)}).encode()), wa.Ignored)
    assert isinstance(wa.read_slack_action(b"payload=not-json"), wa.Ignored)


def test_read_twilio_message_and_status_callback() -> None:
    item = wa.read_twilio_form(TWILIO_WA_PARAMS)
    assert item == wa.Inbound(sender="whatsapp:+15551230000", text="waterproof hiking boots",
                              reply_to="whatsapp:+15551230000", event_id="twilio:SM0123")
    status = wa.read_twilio_form({"MessageSid": ["SM9"], "MessageStatus": ["delivered"], "To": ["whatsapp:+1"]})
    assert isinstance(status, wa.Ignored) and "delivered" in status.reason
    media = wa.read_twilio_form({**TWILIO_WA_PARAMS, "Body": [""], "NumMedia": ["1"]})
    assert isinstance(media, wa.Inbound) and media.text == ""


# --- degrading replies ---

CARDS = [{"id": 12, "title": "Trail Boot", "brand": "Cairn", "price": "$129.00", "rating": 4.5,
          "rating_count": 10, "in_stock_sizes": ["9"], "url": "/products/trail-boot"},
         {"id": 31, "title": "Ridge Mid", "brand": "Cairn", "price": "$99.00", "rating": None,
          "rating_count": 0, "in_stock_sizes": [], "url": "/products/ridge-mid"}]
URL = "https://shop.example"


def test_cards_become_a_numbered_list_with_links_and_remembered_numbers() -> None:
    turn = TurnNumbers()
    message = {"text": "Here are 6–7 of 9:\n6. Trail Boot — $129.00, 4.5★\n7. Ridge Mid — $99.00",
               "custom": {"type": "product_cards", "heading": "Here are 6–7 of 9:", "start": 6, "cards": CARDS}}
    [out] = degrade_message(message, public_url=URL, turn=turn, buttons_as_text=False)
    assert out.text.splitlines() == [
        "Here are 6–7 of 9:",
        "6. Trail Boot — $129.00 (4.5★)",
        "   https://shop.example/products/trail-boot",
        "7. Ridge Mid — $99.00",
        "   https://shop.example/products/ridge-mid",
    ]
    assert turn.choices == {6: '/product_details{"product_id": 12}', 7: '/product_details{"product_id": 31}'}


def test_cards_sent_apart_from_their_text_are_numbered_from_one() -> None:
    turn = TurnNumbers()
    text_only = degrade_message({"text": "Here they are:", "custom": None}, public_url=URL, turn=turn,
                                buttons_as_text=True)
    assert [o.text for o in text_only] == ["Here they are:"]
    [out] = degrade_message({"custom": {"type": "product_cards", "cards": CARDS[:2]}}, public_url=URL, turn=turn,
                            buttons_as_text=True)
    assert out.text.startswith("1. Trail Boot") and set(turn.choices) == {1, 2}


def test_the_single_card_after_a_description_is_just_its_link() -> None:
    turn = TurnNumbers()
    [out] = degrade_message({"custom": {"type": "product_cards", "heading": "", "start": 1, "cards": CARDS[:1]}},
                            public_url=URL, turn=turn, buttons_as_text=True)
    assert out.text.startswith("See it in the shop: ") and out.text.endswith(CARDS[0]["url"].lstrip("/"))
    assert turn.choices == {}


def test_buttons_platform_or_numbered_after_the_cards() -> None:
    followup = {"text": "Want details?", "buttons": [{"title": "Show more", "payload": "/more_results"}]}
    cards = {"custom": {"type": "product_cards", "heading": "", "start": 1, "cards": CARDS}}
    turn = TurnNumbers()
    degrade_message(cards, public_url=URL, turn=turn, buttons_as_text=True)
    [out] = degrade_message(followup, public_url=URL, turn=turn, buttons_as_text=True)
    assert out.text == "Want details?\n3. Show more" and not out.buttons
    assert turn.choices[3] == "/more_results"
    turn = TurnNumbers()
    [out] = degrade_message(followup, public_url=URL, turn=turn, buttons_as_text=False)
    assert out.text == "Want details?" and [b.payload for b in out.buttons] == ["/more_results"]
    assert turn.choices == {}
    [out] = degrade_message({"text": None, "buttons": followup["buttons"]}, public_url=URL, turn=TurnNumbers(),
                            buttons_as_text=False)
    assert out.text and out.buttons


def test_promo_cart_and_unknown_custom_payloads() -> None:
    turn = TurnNumbers()
    promo = {"type": "promo_code", "code": "RDG7K2QX", "discount": "15% off", "applies_to": "jackets and fleece",
             "expires": "December 1, 2026"}
    [out] = degrade_message({"custom": promo}, public_url=URL, turn=turn, buttons_as_text=False)
    assert "RDG7K2QX" in out.text and "15% off" in out.text and "December 1, 2026" in out.text
    cart = {"type": "cart", "count": 2, "total": "$258.00",
            "lines": [{"product_id": 12, "title": "Trail Boot", "size": "9", "colour": None, "quantity": 2,
                       "line_total": "$258.00"}]}
    [out] = degrade_message({"custom": cart}, public_url=URL, turn=turn, buttons_as_text=False)
    assert out.text.splitlines() == ["Your cart: 2 items, $258.00", "- 2 × Trail Boot (9) — $258.00"]
    assert degrade_message({"custom": {"type": "carousel3d"}}, public_url=URL, turn=turn,
                           buttons_as_text=False) == []
    assert [o.text for o in degrade_message({"text": "hi", "custom": {"type": "x"}}, public_url=URL, turn=turn,
                                            buttons_as_text=False)] == ["hi"]
    assert degrade_message({"custom": "not a dict"}, public_url=URL, turn=turn, buttons_as_text=False) == []
    assert turn.choices == {}


def test_absolute_links() -> None:
    assert absolute_link("http://127.0.0.1:8000", "/products/a") == "http://127.0.0.1:8000/products/a"
    assert absolute_link("https://s.example/shop/", "products/a") == "https://s.example/shop/products/a"
    assert absolute_link(URL, "https://cdn.example/x") == "https://cdn.example/x"
    assert absolute_link(URL, None) is None


@pytest.mark.parametrize(("text", "number"), [("2", 2), (" 2. ", 2), ("#3", 3), ("no. 4", 4), ("7)", 7),
                                              ("two", None), ("2 boots", None), ("", None), ("12345", None)])
def test_parse_number(text: str, number: int | None) -> None:
    assert parse_number(text) == number


def test_reply_numbers_map_clear_and_lru_bound() -> None:
    numbers = ReplyNumbers(max_senders=2)
    numbers.remember(("telegram", "a"), {1: "/product_details{\"product_id\": 12}", 6: "/more_results"})
    assert numbers.resolve(("telegram", "a"), " 6. ") == "/more_results"
    assert numbers.resolve(("telegram", "a"), "9") is None  # not shown
    assert numbers.resolve(("slack", "a"), "1") is None  # another channel
    assert numbers.resolve(("telegram", "b"), "1") is None  # no map: passes through
    numbers.remember(("telegram", "a"), {})  # a turn without numbers clears them
    assert numbers.resolve(("telegram", "a"), "1") is None
    for sender in "xyz":
        numbers.remember(("twilio", sender), {1: "p"})
    assert len(numbers) == 2 and numbers.get(("twilio", "x")) == {}


def test_telegram_callback_keys_for_long_payloads() -> None:
    keys = CallbackKeys(max_keys=2)
    assert keys.data_for("/more_results") == "/more_results"
    long_payload = '/add_to_cart{"product_id": 12345, "size": "XL", "colour": "Forest green heather"}'
    data = keys.data_for(long_payload)
    assert len(data.encode()) <= 64 and data != long_payload
    assert keys.payload_for(data) == long_payload
    assert keys.payload_for("/more_results") == "/more_results"
    assert keys.payload_for("k:0000000000000000") is None  # unknown (e.g. after a restart)
    multibyte = "/pick" + "é" * 40  # 85 bytes in 45 characters
    assert len(keys.data_for(multibyte).encode()) <= 64


def test_split_text_at_line_breaks() -> None:
    text = "\n".join(f"line {i}" for i in range(100))
    pieces = split_text(text, 50)
    assert all(len(p) <= 50 for p in pieces) and "\n".join(pieces) == text
    assert split_text("x" * 120, 50) == ["x" * 50, "x" * 50, "x" * 20]
    assert split_text("short", 50) == ["short"]
