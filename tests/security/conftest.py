"""Fixtures of the hostile tests: the real Redis at 127.0.0.1:6379 (database 15), and
a key prefix of a test's own that is cleaned up after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.exceptions import RedisError

REDIS_URL = "redis://127.0.0.1:6379/15"
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """A client of the test Redis database; the test is skipped, saying why, when Redis
    does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except REDIS_ERRORS as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_db: redis.Redis) -> Iterator[str]:
    """A key prefix no other test uses; every key under it is deleted afterwards."""
    prefix = f"test:{uuid.uuid4().hex}:"
    yield prefix
    for key in redis_db.scan_iter(match=f"{prefix}*"):
        redis_db.delete(key)
