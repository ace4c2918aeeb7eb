"""Running blocking service calls from async actions.

``call_service(fn, **kwargs)`` runs ``fn(session, **kwargs)`` in a bounded thread
pool with its own DB session (committed on success), and gives up after
``Settings.action_timeout_s`` seconds with :class:`ServiceUnavailable`, so the
action server's event loop never waits on the database or on CPU work.

``commerce_platform()`` is the shop's commerce platform (``SHOP_COMMERCE_BACKEND``),
built once per process with the chat's request budget, or ``None`` for the built-in
database. ``call_write_back(fn, **kwargs)`` is ``call_service`` for the services that
change an order (cancel, address, return): it passes ``platform=commerce_platform()``, and
with a platform it waits long enough for the platform's answer
(:func:`write_back_timeout_s`), so a shopper is never told "try again" about a change that
then goes through.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from actions.action_metrics import observe_service
from shop.commerce.errors import PlatformConfigError
from shop.commerce.factory import CHAT_BUDGET, platform_from_settings
from shop.commerce.platform import CommercePlatform
from shop.db.engine import session_scope
from shop.settings import get_settings

T = TypeVar("T")
logger = logging.getLogger(__name__)


class ServiceUnavailable(RuntimeError):
    """A service call timed out or its database failed; the action answers politely."""


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=get_settings().db_workers, thread_name_prefix="shop-db")


@lru_cache(maxsize=1)
def commerce_platform() -> CommercePlatform | None:
    """The configured commerce platform, built once; ``None`` for ``"builtin"`` and, with
    the reason logged, when its settings are malformed (mirrored orders then answer
    "platform_unavailable" and nothing is changed)."""
    try:
        return platform_from_settings(get_settings(), budget=CHAT_BUDGET)
    except PlatformConfigError as exc:
        logger.error("commerce backend %s is not usable: %s", get_settings().commerce_backend, exc)
        return None


#: platform requests one order change may make in the worst case (Shopify: read the order,
#: the mutation, the job it queued)
WRITE_BACK_REQUESTS = 3


def write_back_timeout_s() -> float:
    """How long an order change may take: ``action_timeout_s``, plus the platform's
    worst case when the shop has one."""
    base = get_settings().action_timeout_s
    return base if commerce_platform() is None else base + WRITE_BACK_REQUESTS * CHAT_BUDGET.worst_case_s()


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
    return await _call_within(get_settings().action_timeout_s, fn, kwargs)


async def call_write_back(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """:func:`call_service` for a service that changes an order and takes ``platform``:
    it gets :func:`commerce_platform`, and :func:`write_back_timeout_s` to answer in."""
    return await _call_within(write_back_timeout_s(), fn, {**kwargs, "platform": commerce_platform()})


async def _call_within(timeout: float, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    """Run ``fn`` in the pool within ``timeout`` seconds, in a copy of this task's context
    (log fields such as the conversation id), and record its duration by outcome
    (``shop_service_call_duration_seconds``: ``ok``, ``timeout``, ``db_error``, ``error``)."""
    loop = asyncio.get_running_loop()
    name = getattr(fn, "__name__", "service")
    context = contextvars.copy_context()
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await asyncio.wait_for(
            loop.run_in_executor(_pool(), partial(context.run, _run_in_session, fn, kwargs)), timeout
        )
        outcome = "ok"
        return result
    except asyncio.TimeoutError as exc:
        outcome = "timeout"
        logger.error("service %s timed out after %.1fs", name, timeout)
        raise ServiceUnavailable("timeout") from exc
    except SQLAlchemyError as exc:
        outcome = "db_error"
        logger.exception("service %s failed: %s", name, exc)
        raise ServiceUnavailable("database error") from exc
    finally:
        observe_service(name, outcome, time.perf_counter() - started)
