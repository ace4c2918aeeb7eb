"""Blocking service calls run off the event loop, concurrently, with a timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from actions import runtime
from shop.db.migrate import upgrade
from shop.settings import get_settings
from tests.loop_watch import loop_ticks


@pytest.fixture
def settings_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SHOP_ACTION_TIMEOUT_S", "0.5")
    get_settings.cache_clear()
    runtime._pool.cache_clear()
    yield
    get_settings.cache_clear()
    runtime._pool.cache_clear()


def _slow(session, *, seconds: float) -> int:  # type: ignore[no-untyped-def]
    time.sleep(seconds)
    return int(session.execute(text("SELECT 1")).scalar_one())


def _broken(session) -> None:  # type: ignore[no-untyped-def]
    raise OperationalError("SELECT boom", {}, Exception("database went away"))


async def test_calls_run_concurrently_and_loop_stays_free(settings_env: None) -> None:
    watched = await loop_ticks(asyncio.gather(*(runtime.call_service(_slow, seconds=0.3) for _ in range(4))))
    assert watched.result == [1, 1, 1, 1]
    assert watched.elapsed_s < 0.3 * 4 * 0.75, "service calls were serialised"
    assert watched.ticks >= 10, "the event loop was blocked while services ran"


async def test_timeout_and_db_errors_become_service_unavailable(settings_env: None) -> None:
    with pytest.raises(runtime.ServiceUnavailable, match="timeout"):
        await runtime.call_service(_slow, seconds=1.5)
    with pytest.raises(runtime.ServiceUnavailable, match="database error"):
        await runtime.call_service(_broken)
