"""The checks every channel applies to inbound messages (bot/inbound.py)."""

from __future__ import annotations

import json
import time

from bot.inbound import (
    EMPTY_REPLY,
    check_message,
    clean_text,
    decode_body,
    verified_metadata,
)
from protocol.identity import sign_customer_id


def test_decode_body_tolerates_invalid_utf8() -> None:
    raw = b'{"sender": "s1", "message": "caf\xc3\xa9 \xff\xfe boots"}'
    body = decode_body(raw)
    assert body is not None and body["sender"] == "s1"
    assert "\ufffd" in body["message"] and "boots" in body["message"]


def test_decode_body_rejects_non_objects() -> None:
    assert decode_body(b"\x00\x01\x02binary") is None
    assert decode_body(b"[1, 2]") is None
    assert decode_body(b"") is None
    assert decode_body(b"[" * 100_000) is None


def test_clean_text_strips_control_chars_and_surrogates() -> None:
    assert clean_text("  hi\x00\x07 there\n ") == "hi   there"
    assert "\ud800" not in clean_text("bad \ud800 surrogate")


def test_check_message() -> None:
    assert check_message("", max_chars=2000) == EMPTY_REPLY
    assert check_message("   ", max_chars=2000) == EMPTY_REPLY
    assert "10,000 characters" in (check_message("a" * 10_000, max_chars=2000) or "")
    assert check_message("\ufffd\ufffd", max_chars=2000) is not None
    assert check_message("🥾🥾", max_chars=2000) is None
    assert check_message("where is my order", max_chars=2000) is None


def test_customer_id_needs_a_valid_signature() -> None:
    secret = "s3cret"
    later = int(time.time()) + 3600
    good = {"customer_id": "42", "customer_sig": sign_customer_id("42", secret, expires_at=later), "locale": "en"}
    assert verified_metadata(good, secret=secret) == {"customer_id": "42", "locale": "en"}
    forged = {"customer_id": "43", "customer_sig": sign_customer_id("42", secret, expires_at=later)}
    assert verified_metadata(forged, secret=secret) == {}
    assert verified_metadata(good, secret=secret, now=later) == {"locale": "en"}  # expired
    assert verified_metadata({"customer_id": "42"}, secret=secret) == {}
    assert verified_metadata(good, secret="") == {"locale": "en"}
    assert verified_metadata("not a dict", secret=secret) == {}
    assert json.dumps(verified_metadata({"evil": {"x": 1}}, secret=secret)) == "{}"


def test_an_over_long_page_url_is_dropped_not_cut() -> None:
    # cut to a shorter length, "<shop>/products/<handle>?aaaa..." would still name a product page
    page = "http://127.0.0.1:8000/products/some-jacket?" + "a" * 50_000
    assert verified_metadata({"page_url": page, "locale": "en-GB"}, secret="") == {"locale": "en-GB"}
    ok = "http://127.0.0.1:8000/products/some-jacket"
    assert verified_metadata({"page_url": ok}, secret="") == {"page_url": ok}
