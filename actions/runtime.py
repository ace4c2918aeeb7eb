"""Running blocking service calls from async actions.

``call_service(fn, **kwargs)`` runs ``fn(session, **kwargs)`` in a bounded thread
pool with its own DB session (committed on success), and gives up after
``Settings.action_timeout_s`` seconds with :class:`ServiceUnavailable`, so the
action server's event loop never waits on the database or on CPU work.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from shop.db.engine import session_scope
from shop.settings import get_settings

T = TypeVar("T")
logger = logging.getLogger(__name__)


class ServiceUnavailable(RuntimeError):
    """A service call timed out or its database failed; the action answers politely."""


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=get_settings().db_workers, thread_name_prefix="shop-db")


def _run_in_session(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with session_scope(get_settings().database_url) as session:
        return fn(session, **kwargs)


def start_in_background(fn: Callable[..., Any], /, **kwargs: Any) -> None:
    """Run ``fn(session, **kwargs)`` in the service pool without waiting (warm-ups);
    a failure is logged, never raised."""

    def done(future: Any) -> None:
        if future.exception() is not None:
            logger.error("background %s failed: %s", getattr(fn, "__name__", fn), future.exception())

    _pool().submit(_run_in_session, fn, kwargs).add_done_callback(done)


async def call_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """``await fn(session, **kwargs)`` off the event loop, with a timeout.

    Raises:
        ServiceUnavailable: on timeout or a database error (logged with details).
    """
    loop = asyncio.get_running_loop()
    timeout = get_settings().action_timeout_s
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(_pool(), partial(_run_in_session, fn, kwargs)), timeout
        )
    except asyncio.TimeoutError as exc:
        logger.error("service %s timed out after %.1fs", getattr(fn, "__name__", fn), timeout)
        raise ServiceUnavailable("timeout") from exc
    except SQLAlchemyError as exc:
        logger.exception("service %s failed: %s", getattr(fn, "__name__", fn), exc)
        raise ServiceUnavailable("database error") from exc

