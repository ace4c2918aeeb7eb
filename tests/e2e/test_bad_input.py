"""Bad input through the REST channel: each gets a polite answer (or, without the REST
token or with a huge body, a refusal), the server keeps working, and the shop database
is untouched."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from protocol.identity import sign_customer_id
from tests.e2e.conftest import ShopFacts
from tests.stack import RunningStack, new_sender, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def unchanged_db(facts: ShopFacts):
    before = facts.counts()
    yield
    assert facts.counts() == before


def _still_works(stack: RunningStack) -> None:
    assert "Ridgeline" in texts(stack.send(new_sender(), "hello"))


@pytest.mark.parametrize(
    "message",
    ["", "   ", "\n\t"],
    ids=["empty", "spaces", "whitespace"],
)
def test_empty_message(stack: RunningStack, unchanged_db: None, message: str) -> None:
    reply = stack.send(new_sender(), message)
    assert "empty" in texts(reply).lower()
    _still_works(stack)


def test_ten_thousand_characters(stack: RunningStack, unchanged_db: None) -> None:
    reply = stack.send(new_sender(), "where is my order " + "a" * 10_000)
    assert "shorter" in texts(reply).lower()
    _still_works(stack)


def test_invalid_utf8_bytes(stack: RunningStack, unchanged_db: None) -> None:
    body = b'{"sender": "' + new_sender().encode() + b'", "message": "\xff\xfe\xfd boots \xc3\x28"}'
    resp = stack.post_raw(body)
    assert resp.status_code == 200
    assert texts(resp.json())
    _still_works(stack)


def test_binary_body(stack: RunningStack, unchanged_db: None) -> None:
    resp = stack.post_raw(bytes(range(256)) * 4, content_type="application/octet-stream")
    assert resp.status_code == 400
    assert "JSON" in resp.json()["error"]
    _still_works(stack)


def test_only_replacement_characters(stack: RunningStack, unchanged_db: None) -> None:
    body = json.dumps({"sender": new_sender(), "message": "\ufffd\ufffd\x00\x01"}).encode()
    resp = stack.post_raw(body)
    assert resp.status_code == 200 and "couldn't read" in texts(resp.json())


def test_emoji_only(stack: RunningStack, unchanged_db: None) -> None:
    reply = stack.send(new_sender(), "🥾🔥🙏😂")
    assert texts(reply).strip()
    _still_works(stack)


@pytest.mark.parametrize(
    "payload",
    ["1'; DROP TABLE orders;--", "100234' OR '1'='1", "\" OR 1=1 --", "%' UNION SELECT email FROM customers --"],
)
def test_sql_metacharacters_in_order_number(stack: RunningStack, facts: ShopFacts, unchanged_db: None,
                                            payload: str) -> None:
    sender = new_sender()
    stack.send(sender, "where is my order")
    reply = texts(stack.send(sender, payload))
    assert reply.strip()
    # Depending on how NLU reads it, the form explains the order-number format, or the
    # shopper leaves the form ("DROP" reads as stop); whatever happens next, an email
    # never unlocks any order and nothing about one is said.
    reply += texts(stack.send(sender, "nobody@example.com"))
    assert "Total:" not in reply and "tracking number" not in reply
    assert "@example.com" not in reply.replace("name@example.com", "")


def test_bad_request_shapes(stack: RunningStack, unchanged_db: None) -> None:
    assert stack.post_raw(b'{"message": "hi"}').status_code == 400          # no sender
    assert stack.post_raw(b'{"sender": "x", "message": 42}').status_code == 400
    assert stack.post_raw(b"[1,2,3]").status_code == 400
    _still_works(stack)


def _user_metadata(stack: RunningStack, sender: str) -> dict:
    events = stack.tracker(sender)["events"]
    return next(e for e in reversed(events) if e["event"] == "user").get("metadata") or {}


def test_forged_customer_id_is_ignored_and_signed_one_kept(stack: RunningStack) -> None:
    later, earlier = int(time.time()) + 3600, int(time.time()) - 1
    forged = new_sender()
    stack.send(forged, "hi", metadata={"customer_id": "1",
                                       "customer_sig": sign_customer_id("1", "wrong", expires_at=later)})
    assert "customer_id" not in _user_metadata(stack, forged)
    expired = new_sender()
    stack.send(expired, "hi", metadata={"customer_id": "1",
                                        "customer_sig": sign_customer_id("1", "e2e-secret", expires_at=earlier)})
    assert "customer_id" not in _user_metadata(stack, expired)
    signed = new_sender()
    stack.send(signed, "hi", metadata={"customer_id": "1",
                                       "customer_sig": sign_customer_id("1", "e2e-secret", expires_at=later)})
    assert _user_metadata(stack, signed).get("customer_id") == "1"


def test_rest_needs_the_token_and_refuses_huge_bodies(stack: RunningStack) -> None:
    sender = new_sender()
    assert httpx.post(stack.webhook, json={"sender": sender, "message": "hi"}, timeout=30).status_code == 401
    assert httpx.post(stack.webhook, json={"sender": sender, "message": "hi"}, timeout=30,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert stack.post_raw(b'{"sender": "x", "message": "' + b"a" * 300_000 + b'"}').status_code == 413
    _still_works(stack)
