"""The wire-level controls both processes share (``protocol/``): expiring customer
signatures, server-issued widget sessions, timestamped relay signatures with nonces,
replay memories and rate limits, in Redis and in-process."""

from __future__ import annotations

import time

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import handoff as hp
from protocol.identity import customer_sig_valid, issue_session, session_of, sign_customer_id
from protocol.ratelimit import Limit, MemoryCounters, RateLimiter, RedisCounters
from protocol.replay import MemorySeen, RedisSeen
from tests.security.conftest import REDIS_ERRORS, REDIS_URL

SECRET = "s3cret"
NOW = 1_800_000_000.0
ERRORS = REDIS_ERRORS




# --- customer ids ------------------------------------------------------------------


def test_a_customer_signature_is_valid_until_it_expires() -> None:
    sig = sign_customer_id("42", SECRET, expires_at=int(NOW) + 60)
    assert customer_sig_valid("42", sig, SECRET, now=NOW)
    assert not customer_sig_valid("42", sig, SECRET, now=NOW + 61)


@pytest.mark.parametrize("customer, sig_for, secret", [
    ("43", "42", SECRET),          # another customer's signature
    ("42", "42", "other-secret"),  # signed with another secret
    ("42", "42", ""),              # no secret configured: never valid
])
def test_a_customer_signature_does_not_transfer(customer: str, sig_for: str, secret: str) -> None:
    sig = sign_customer_id(sig_for, SECRET, expires_at=int(NOW) + 60)
    assert not customer_sig_valid(customer, sig, secret, now=NOW)


def test_moving_the_expiry_of_a_customer_signature_breaks_it() -> None:
    sig = sign_customer_id("42", SECRET, expires_at=int(NOW) + 60)
    _, mac = sig.split(".")
    assert not customer_sig_valid("42", f"{int(NOW) + 10**6}.{mac}", SECRET, now=NOW)
    assert not customer_sig_valid("42", mac, SECRET, now=NOW)  # the old, expiry-less form


def test_a_session_token_cannot_serve_as_a_customer_signature() -> None:
    sid, token = issue_session(SECRET, now=NOW, ttl_s=60)
    _, expires, mac = token.split(".")
    assert not customer_sig_valid(sid, f"{expires}.{mac}", SECRET, now=NOW)


# --- widget sessions ------------------------------------------------------------------


def test_sessions_are_issued_random_and_read_back() -> None:
    sid, token = issue_session(SECRET, now=NOW, ttl_s=60)
    other, _ = issue_session(SECRET, now=NOW, ttl_s=60)
    assert len(sid) == 32 and sid != other
    assert session_of(token, SECRET, now=NOW) == sid
    assert session_of(token, SECRET, now=NOW + 61) is None
    assert session_of(token, "other-secret", now=NOW) is None


@pytest.mark.parametrize("token", [
    "abcd1234", "a" * 32, f"{'a' * 32}.9999999999.{'0' * 64}", None, 12, {"session": "x"},
    "../../etc/passwd", "a" * 5000,
])
def test_client_chosen_session_ids_are_not_sessions(token: object) -> None:
    assert session_of(token, SECRET, now=NOW) is None


def test_extending_a_session_keeps_its_id() -> None:
    sid, _ = issue_session(SECRET, now=NOW, ttl_s=60)
    same, token = issue_session(SECRET, now=NOW + 50, ttl_s=60, session_id=sid)
    assert same == sid and session_of(token, SECRET, now=NOW + 100) == sid


# --- relay signatures -------------------------------------------------------------------


def test_a_signed_relay_request_passes_once() -> None:
    body, seen = b'{"sender_id": "x"}', MemorySeen()
    headers = hp.signed_headers(body, SECRET, now=NOW)
    assert hp.signature_refusal(body, headers, secret=SECRET, seen=seen, now=NOW) is None
    refused = hp.signature_refusal(body, headers, secret=SECRET, seen=seen, now=NOW + 1)
    assert refused is not None and refused[0] == 403


def test_stale_forged_and_unsigned_relay_requests_are_refused() -> None:
    body = b'{"sender_id": "x"}'
    headers = hp.signed_headers(body, SECRET, now=NOW)
    assert hp.signature_refusal(body, headers, secret=SECRET, seen=None, now=NOW + 301)[0] == 403
    assert hp.signature_refusal(body + b" ", headers, secret=SECRET, seen=None, now=NOW)[0] == 403
    moved = {**headers, hp.TIMESTAMP_HEADER: str(int(NOW) + 5)}
    assert hp.signature_refusal(body, moved, secret=SECRET, seen=None, now=NOW)[0] == 403
    renonced = {**headers, hp.NONCE_HEADER: "another"}
    assert hp.signature_refusal(body, renonced, secret=SECRET, seen=None, now=NOW)[0] == 403
    no_stamp = {k: v for k, v in headers.items() if k != hp.TIMESTAMP_HEADER}
    assert hp.signature_refusal(body, no_stamp, secret=SECRET, seen=None, now=NOW)[0] == 401
    assert hp.relay_refusal(body, headers, secret="", seen=None, now=NOW)[0] == 503


def test_a_relay_replay_is_refused_by_another_process_through_redis(redis_db: redis.Redis, redis_prefix: str) -> None:
    body = b'{"sender_id": "x"}'
    headers = hp.signed_headers(body, SECRET, now=time.time())
    first = RedisSeen(redis_db, prefix=redis_prefix, errors=ERRORS)
    second = RedisSeen(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix, errors=ERRORS)
    assert hp.signature_refusal(body, headers, secret=SECRET, seen=first) is None
    assert hp.signature_refusal(body, headers, secret=SECRET, seen=second)[0] == 403


# --- replay memories and rate limits --------------------------------------------------


def test_redis_replay_memory_falls_back_to_the_process_when_redis_is_down() -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    seen = RedisSeen(dead, prefix="x:", errors=ERRORS)
    assert not seen.seen_before("event-1", window_s=60)
    assert seen.seen_before("event-1", window_s=60)


def test_memory_replay_forgets_after_its_window() -> None:
    seen = MemorySeen()
    assert not seen.seen_before("k", window_s=10, now=0)
    assert seen.seen_before("k", window_s=10, now=5)
    assert not seen.seen_before("k", window_s=10, now=11)


def test_rate_limits_hold_across_two_processes_through_redis(redis_db: redis.Redis, redis_prefix: str) -> None:
    limit = Limit("msgs", 5, 60)
    one = RateLimiter(RedisCounters(redis_db, prefix=redis_prefix, errors=ERRORS))
    two = RateLimiter(RedisCounters(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix,
                                    errors=ERRORS))
    now = time.time()
    results = [(one if i % 2 else two).hit(limit, "1.2.3.4", now=now) for i in range(8)]
    assert results[:5] == [None] * 5 and all(r is not None and r > 0 for r in results[5:])
    assert one.hit(limit, "5.6.7.8", now=now) is None  # another key has its own count


def test_rate_limits_fall_back_to_the_process_when_redis_is_down() -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RateLimiter(RedisCounters(dead, prefix="x:", errors=ERRORS))
    limit = Limit("msgs", 3, 60)
    assert [limiter.hit(limit, "k", now=NOW) is None for _ in range(5)] == [True, True, True, False, False]


def test_a_new_window_starts_a_new_count_and_over_only_looks() -> None:
    limiter, limit = RateLimiter(MemoryCounters()), Limit("fail", 2, 60)
    start = 60.0 * 1000
    assert limiter.over(limit, "k", now=start) is None
    limiter.hit(limit, "k", now=start)
    limiter.hit(limit, "k", now=start + 1)
    assert limiter.over(limit, "k", now=start + 2) is not None
    assert limiter.over(limit, "k", now=start + 2) is not None  # looking did not count
    assert limiter.hit(limit, "k", now=start + 61) is None


class _DeadRedis:
    """A client whose every call fails, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        raise ConnectionError("Redis is down")

    set = get = pipeline = _fail


def test_a_down_redis_is_not_asked_again_on_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = _DeadRedis()
    limiter = RateLimiter(RedisCounters(dead, prefix="x:", errors=ERRORS))
    seen = RedisSeen(dead, prefix="x:", errors=ERRORS)
    limit = Limit("msgs", 3, 60)
    verdicts = [limiter.hit(limit, "k", now=NOW) is None for _ in range(5)]
    assert verdicts == [True, True, True, False, False]  # the fallback still limits
    assert [seen.seen_before("e", window_s=60) for _ in range(3)] == [False, True, True]
    assert dead.calls == 2  # one failed call per store, then the pause
    clock = time.monotonic() + 10
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    limiter.hit(limit, "k", now=NOW)
    assert dead.calls == 3  # after the pause Redis is tried again


# --- inputs nobody here wrote: generated ones -------------------------------------------

_ANY_JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text())


@settings(max_examples=300, deadline=None)
@given(token=_ANY_JSON_SCALAR, customer=_ANY_JSON_SCALAR, sig=_ANY_JSON_SCALAR)
def test_generated_tokens_and_signatures_are_never_accepted(token: object, customer: object, sig: object) -> None:
    assert session_of(token, SECRET, now=NOW) is None
    assert not customer_sig_valid(customer, sig, SECRET, now=NOW)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=512), signature=st.text(max_size=80), stamp=st.text(max_size=20),
       nonce=st.text(max_size=200))
def test_generated_relay_headers_are_refused_without_raising(body: bytes, signature: str, stamp: str,
                                                             nonce: str) -> None:
    headers = {hp.SIGNATURE_HEADER: signature, hp.TIMESTAMP_HEADER: stamp, hp.NONCE_HEADER: nonce}
    refused = hp.relay_refusal(body, headers, secret=SECRET, seen=MemorySeen(), now=NOW)
    assert refused is not None and refused[0] in (401, 403, 413)
