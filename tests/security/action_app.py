"""The real action server app (:func:`actions.server.create_app`: rasa-sdk's Sanic app
with our middleware and routes) served in-process over ASGI on a demo shop, for the
hostile tests of its door and its handoff endpoints. No warm-ups (no index, no LLM)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions import runtime
from actions import server as action_server
from protocol.handoff import signed_headers
from shop.handoff.handoff_config import load_config
from shop.services.llm import get_llm_runner
from shop.settings import REPO_ROOT, get_settings
from shop.shared_counters import get_seen

TOKEN = "action-token-for-tests"
RELAY_SECRET = "relay-secret-for-tests"


def clear_caches() -> None:
    if runtime._pool.cache_info().currsize:
        runtime._pool().shutdown(wait=True)
    for cached in (get_settings, runtime._pool, get_llm_runner, load_config, get_seen):
        cached.cache_clear()


def configure(monkeypatch: pytest.MonkeyPatch, *, db_url: str, token: str = TOKEN,
              relay_secret: str = RELAY_SECRET, **extra: str) -> None:
    """Point the action server's settings at ``db_url`` with these secrets (``""``: unset)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    env = {"ACTION_TOKEN": token, "RELAY_SECRET": relay_secret, "SEARCH_BACKEND": "sql", "LLM_MODEL": "off",
           "DB_WORKERS": "2", "ACTION_TIMEOUT_S": "60", "REDIS_URL": "",
           "HANDOFF_CONFIG": str(REPO_ROOT / "shop" / "handoff" / "handoff.yml"), **extra}
    for name, value in env.items():
        monkeypatch.setenv(f"SHOP_{name.upper()}", value)
    clear_caches()


async def _no_warm_up(app: Sanic, loop: Any) -> None:
    return None


@asynccontextmanager
async def served(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh action server app (started and stopped through ASGI lifespan)."""
    monkeypatch.setattr(action_server, "_warm_up", _no_warm_up)
    executor = ActionExecutor()
    executor.register_package("actions")
    app = action_server.create_app(executor, level="WARNING", log_file=None, logging_config_file=None,
                                   cors_origins="*", auto_reload=False,
                                   endpoints=str(REPO_ROOT / "bot" / "endpoints.yml"))
    app.config.TOUCHUP = False  # Sanic rewrites its classes on the first start only; later apps must not
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://actions") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan
        Sanic.unregister_app(app)
        clear_caches()


def signed(payload: dict[str, Any], *, secret: str = RELAY_SECRET, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` of a request signed like the Rasa server's gate signs it."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", **signed_headers(body, secret, **kwargs)}
