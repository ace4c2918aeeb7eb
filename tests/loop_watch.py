"""One way to check that work leaves the event loop free: :func:`loop_ticks` runs an
awaitable beside a 10 ms ticker and says how many ticks the loop managed meanwhile (a
blocked loop manages none)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
TICK_S = 0.01


@dataclass
class Watched(Generic[T]):
    """What the awaited work returned (or raised), how long it took, and the loop's ticks."""

    result: T | None
    error: BaseException | None
    elapsed_s: float
    ticks: int


async def loop_ticks(work: Awaitable[T]) -> Watched[T]:
    """Await ``work`` while counting 10 ms ticks of the running loop. An exception from
    ``work`` is kept in ``error`` rather than raised, so callers can check both."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(TICK_S)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    result: T | None = None
    error: BaseException | None = None
    try:
        result = await work
    except Exception as exc:  # handed to the caller in Watched.error
        error = exc
    elapsed = time.perf_counter() - started
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return Watched(result, error, elapsed, ticks)
