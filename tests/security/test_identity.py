"""Hostile tests of the identities browsers carry (no servers): customer ids the
channels accept only with the shop's unexpired signature (``bot.inbound``), and widget
session tokens only the Rasa server can issue (``protocol.identity``)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.inbound import verified_metadata
from protocol.identity import issue_session, session_of, sign_customer_id

SECRET = "identity-secret"
NOW = 1_800_000_000


def _sig(customer_id: str = "42", *, secret: str = SECRET, expires_at: int = NOW + 3600) -> str:
    return sign_customer_id(customer_id, secret, expires_at=expires_at)


@pytest.mark.parametrize("metadata", [
    {"customer_id": "42", "customer_sig": _sig(expires_at=NOW)},                       # expires now
    {"customer_id": "42", "customer_sig": _sig(expires_at=NOW - 1)},                   # expired
    {"customer_id": "42", "customer_sig": _sig(secret="other")},                       # another secret
    {"customer_id": "43", "customer_sig": _sig("42")},                                 # another customer's
    {"customer_id": "42", "customer_sig": f"{NOW + 10**6}.{_sig(expires_at=NOW - 1).split('.')[1]}"},  # extended
    {"customer_id": "42", "customer_sig": _sig().split(".")[1]},                        # old, unexpiring format
    {"customer_id": "42", "customer_sig": "0" * 64},
    {"customer_id": "42", "customer_sig": ""},
    {"customer_id": "42"},
    {"customer_id": True, "customer_sig": _sig("True")},                               # not an id
    {"customer_id": {"id": 42}, "customer_sig": _sig("{'id': 42}")},
    {"customer_id": "42", "customer_sig": issue_session(SECRET, now=NOW)[1]},          # a session token
])
def test_no_customer_id_without_the_shops_unexpired_signature(metadata: dict[str, object]) -> None:
    assert "customer_id" not in verified_metadata(metadata, secret=SECRET, now=NOW)


def test_a_valid_signature_keeps_the_customer_id_until_it_expires() -> None:
    metadata = {"customer_id": "42", "customer_sig": _sig(), "locale": "en", "role": "admin"}
    assert verified_metadata(metadata, secret=SECRET, now=NOW) == {"customer_id": "42", "locale": "en"}
    assert verified_metadata(metadata, secret=SECRET, now=NOW + 3600) == {"locale": "en"}
    assert verified_metadata(metadata, secret="", now=NOW) == {"locale": "en"}  # no secret: never


def test_the_clock_is_used_when_now_is_not_given() -> None:
    fresh = {"customer_id": "42", "customer_sig": _sig(expires_at=int(time.time()) + 60)}
    stale = {"customer_id": "42", "customer_sig": _sig(expires_at=int(time.time()) - 60)}
    assert verified_metadata(fresh, secret=SECRET) == {"customer_id": "42"}
    assert verified_metadata(stale, secret=SECRET) == {}


@pytest.mark.parametrize("token", [
    issue_session(SECRET, now=NOW - 7200, ttl_s=60)[1],                                 # expired
    issue_session("other", now=NOW)[1],                                                 # another secret
    f"{'a' * 32}.{NOW + 3600}.{'0' * 64}",                                              # forged
    "abcdefgh", "a" * 32, "", None, 42,                                                 # client-chosen ids
    _sig(),                                                                             # a customer signature
])
def test_session_tokens_only_from_the_server(token: object) -> None:
    assert session_of(token, SECRET, now=NOW) is None


def test_a_session_token_cannot_be_moved_to_another_session_or_extended() -> None:
    sid, token = issue_session(SECRET, now=NOW, ttl_s=600)
    assert session_of(token, SECRET, now=NOW) == sid
    _, exp, mac = token.split(".")
    assert session_of(f"{'b' * 32}.{exp}.{mac}", SECRET, now=NOW) is None
    assert session_of(f"{sid}.{int(exp) + 10**6}.{mac}", SECRET, now=NOW) is None
    resumed, fresh = issue_session(SECRET, now=NOW + 300, ttl_s=600, session_id=sid)
    assert resumed == sid and session_of(fresh, SECRET, now=NOW + 800) == sid  # sliding expiry
    assert session_of(token, SECRET, now=NOW + 800) is None


_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=80)),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                   max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(metadata=st.dictionaries(st.sampled_from(["customer_id", "customer_sig", "locale", "page_url", "x"]),
                                _VALUES, max_size=5))
def test_generated_metadata_never_names_a_customer(metadata: dict) -> None:
    """Metadata nobody signed, however odd, yields no customer id and only allowed keys."""
    out = verified_metadata(metadata, secret="s3cret")
    assert "customer_id" not in out and set(out) <= {"locale", "page_url"}
