"""The staff console's front end in a real browser (``tests/browser/console.test.mjs``:
Debian Chromium via playwright-core) against a console served here on a demo shop
(SQLite) with the real ``shop.assist`` on templates (no LLM) and a relay stand-in;
when the agent's first message arrives, the "shopper" answers, so the test sees the
transcript update live. Skips without Chromium, node, playwright-core or the built
``web/dist/console.js``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from apps.console.app import create_console_app
from apps.console.wiring import Assist, ConsoleConfig
from shop.db.engine import session_scope
from shop.db.schema import HandoffMessage
from shop.handoff import states as handoffs
from tests.apps.console_support import browser_shop, run_browser_test, served
from tests.demo_shops import DemoShops
from tests.paths import ROOT

BUNDLE = ROOT / "web" / "dist" / "console.js"
EMAIL = "agent@ridgeline.example"


async def _relay(**kwargs: Any) -> bool:
    return True


def _shopper_answers(url: str, handoff_id: int, stop: threading.Event) -> None:
    """Once an agent has written, the shopper writes back (as the gate would record it)."""
    while not stop.wait(0.2):
        with session_scope(url) as s:
            if s.scalar(select(HandoffMessage.id).where(HandoffMessage.handoff_id == handoff_id,
                                                        HandoffMessage.author == "agent")):
                handoffs.record_message(s, handoff_id=handoff_id, author="shopper", text="Thanks, that helps!",
                                        now=datetime.now(timezone.utc).replace(tzinfo=None), delivered=True)
                return


@pytest.fixture
def console_url(tmp_path: Path, demo_shop: DemoShops) -> Iterator[str]:
    url, now = browser_shop(tmp_path, demo_shop, email=EMAIL, name="Sam", role="agent", teams=["support"])
    with session_scope(url) as s:
        h = handoffs.start_handoff(s, sender_id="web-browser-test", channel="socketio", reason="request",
                                   team="support", now=now - timedelta(minutes=2), customer_id=1, sentiment=-0.6)
        handoffs.record_message(s, handoff_id=h.id, author="shopper", text="My order never arrived <img src=x>",
                                now=now - timedelta(minutes=2), delivered=True)
        handoffs.record_message(s, handoff_id=h.id, author="shopper", text="I want to talk to a person",
                                now=now - timedelta(minutes=1), delivered=True)
        handoff_id = h.id
    config = ConsoleConfig(database_url=url, bundle=BUNDLE, assist_timeout_s=5.0, sse_poll_s=0.3)
    app = create_console_app(config, assist=Assist(runner=lambda: None), deliver=_relay)
    stop = threading.Event()
    shopper = threading.Thread(target=_shopper_answers, args=(url, handoff_id, stop), daemon=True)
    shopper.start()
    try:
        with served(app) as base:
            yield base
    finally:
        stop.set()


def test_console_in_chromium(console_url: str, tmp_path: Path) -> None:
    run_browser_test("console.test.mjs", console_url=console_url, email=EMAIL, tmp_path=tmp_path)
