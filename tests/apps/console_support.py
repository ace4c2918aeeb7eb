"""Shared pieces of the staff console tests (``tests/apps/test_console_*.py``): the
clock, ``shop.assist`` and relay fakes, :class:`Env` (a demo shop with staff and two
handoffs, see the ``env`` fixture in ``conftest.py``), login helpers, and the shop and
node runner of the browser tests (:func:`browser_shop`, :func:`run_browser_test`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from apps.console.app import create_console_app
from apps.console.auth import LoginLimit, SessionPolicy
from apps.console.staff import create_staff
from apps.console.wiring import Assist, ConsoleConfig
from shop.db.engine import session_scope
from shop.db.schema import AuditEntry, Product
from shop.handoff.relay import RelayError
from shop.promo.offers import eligible_offers
from shop.services.catalog import get_cards
from tests.demo_shops import DemoShops
from tests.e2e.browser_support import CHROMIUM, browser_missing
from tests.paths import ROOT

NOW = datetime(2026, 11, 20, 12, 0, 0)
PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BROWSER_PASSWORD = "browser test password"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakePanel:
    products: list[Any] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"profile": {"name": "Test Shopper"}, "products": [p.as_payload() for p in self.products],
                "offers": self.offers}


@dataclass(frozen=True)
class Summary:
    text: str
    source: str = "template"


@dataclass(frozen=True)
class Suggestion:
    key: str
    text: str
    source: str = "template"
    problems: tuple[str, ...] = ()


class FakeAssist:
    """``shop.assist`` stand-in: the panel lists two products and the customer's
    eligible offers; the summary/suggestions take ``delay_s``."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.calls = 0

    def panel(self, session, *, handoff, now):  # type: ignore[no-untyped-def]
        ids = list(session.scalars(select(Product.id).where(Product.is_active.is_(True)).order_by(Product.id).limit(2)))
        offers = ([{"offer_id": o.id, "discount": f"{o.value}"} for o in
                   eligible_offers(session, customer_id=handoff.customer_id, now=now)] if handoff.customer_id else [])
        return FakePanel(products=get_cards(session, product_ids=ids), offers=offers)

    async def summarize(self, *, transcript, panel, runner):  # type: ignore[no-untyped-def]
        self.calls += 1
        if runner is not None:  # "the model": slow when told; None: the templates
            await asyncio.sleep(self.delay_s)
            return Summary(f"{len(transcript)} messages", "llm")
        return Summary(f"{len(transcript)} messages")

    async def suggest_replies(self, *, transcript, panel, runner, count=3):  # type: ignore[no-untyped-def]
        if runner is not None:
            await asyncio.sleep(self.delay_s)
        return [Suggestion(f"s{i}", f"Suggested reply {i}", "llm" if runner else "template") for i in range(count)]

    def assist(self) -> Assist:
        return Assist(panel=self.panel, summarize=self.summarize, suggest_replies=self.suggest_replies,
                      runner=lambda: "model")


class FakeRelay:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = False
        self.result = True

    async def __call__(self, **kwargs: Any) -> bool:
        self.calls.append(kwargs)
        if self.fail:
            raise RelayError("relay at http://rasa.invalid unreachable: ConnectError")
        return self.result


@dataclass
class Env:
    url: str
    clock: Clock
    assist: FakeAssist
    relay: FakeRelay
    tmp: Path
    users: dict[str, int]
    handoffs: dict[str, int]
    customer_id: int

    def config(self, **overrides: Any) -> ConsoleConfig:
        values: dict[str, Any] = {"database_url": self.url, "rasa_url": "http://rasa.invalid", "relay_secret": "s",
                                  "bundle": self.tmp / "console.js", "assist_timeout_s": 2.0, "sse_poll_s": 0.1,
                                  "session": SessionPolicy(), "login_limit": LoginLimit()}
        return ConsoleConfig(**{**values, **overrides})

    def app(self, **overrides: Any):  # type: ignore[no-untyped-def]
        return create_console_app(self.config(**overrides), clock=self.clock, assist=self.assist.assist(),
                                  deliver=self.relay)

    def client(self, **overrides: Any) -> TestClient:
        return TestClient(self.app(**overrides))

def login(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = LOGIN_CSRF.search(form.text).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


def logged_in(env: Env, who: str, client: TestClient | None = None) -> tuple[TestClient, dict[str, str]]:
    """A client with ``who``'s session and the CSRF header for its writes."""
    client = client or env.client()
    assert login(client, f"{who}@ridgeline.example").status_code == 303
    page = client.get("/")
    return client, {"X-CSRF-Token": CSRF_META.search(page.text).group(1)}


def audit_actions(url: str) -> list[tuple[str, int | None, int | None]]:
    with session_scope(url) as s:
        return list(s.execute(select(AuditEntry.action, AuditEntry.user_id, AuditEntry.handoff_id)
                              .order_by(AuditEntry.id)).all())


def logged_in_with(env: Env, email: str, password: str) -> tuple[TestClient, None]:
    client = env.client()
    assert login(client, email, password).status_code == 303
    return client, None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_events(lines: Iterator[str], *, until: str, timeout_s: float) -> list[tuple[str, dict | None]]:
    """(event, data) pairs and ("ping", None) for comments, until an event named ``until``."""
    out: list[tuple[str, dict | None]] = []
    event = None
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {until!r} event in {timeout_s} s: {out}")
        if line.startswith(": "):
            out.append(("ping", None))
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            out.append((event, json.loads(line[6:])))
            if event == until:
                return out
            event = None
    return out


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port: yields its base URL
    once it has started (at most 10 s), and stops it afterwards."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def browser_shop(tmp_path: Path, demo_shop: DemoShops, *, email: str, name: str, role: str,
                 teams: list[str]) -> tuple[str, datetime]:
    """The start of a console browser test: skips, saying why, without Chromium, node,
    playwright-core or the built bundles; else a small demo shop made now (SQLite in
    ``tmp_path``) with one staff member who logs in with :data:`BROWSER_PASSWORD`.
    Returns the shop's URL and that time."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    demo_shop(seed=3, scale=0.02, as_of=now, url=url)
    with session_scope(url) as s:
        create_staff(s, email=email, name=name, password=BROWSER_PASSWORD, role=role, teams=teams, now=now)
    return url, now


def run_browser_test(test_file: str, *, console_url: str, email: str, tmp_path: Path,
                     env: dict[str, str] | None = None) -> Path:
    """Run ``tests/browser/<test_file>`` with node's test runner against the console at
    ``console_url``, logged in as ``email`` (:func:`browser_shop`'s staff member); fails
    with node's output when a browser test fails. Returns the screenshots' folder
    (``SHOP_SCREENSHOT_DIR`` when set)."""
    shots = Path(os.environ.get("SHOP_SCREENSHOT_DIR", str(tmp_path / "screenshots")))
    full_env = {**os.environ, "CONSOLE_URL": console_url, "CONSOLE_EMAIL": email,
                "CONSOLE_PASSWORD": BROWSER_PASSWORD, "CHROMIUM": CHROMIUM, "SCREENSHOT_DIR": str(shots),
                **(env or {})}
    out = subprocess.run(["node", "--test", "--test-reporter=spec", str(ROOT / "tests" / "browser" / test_file)],
                         cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)
    print(out.stdout[-20000:])
    assert out.returncode == 0, f"{out.stdout[-8000:]}\n{out.stderr[-4000:]}"
    return shots
