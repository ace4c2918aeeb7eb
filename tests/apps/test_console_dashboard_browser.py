"""The console's analytics dashboard in a real browser (``tests/browser/dashboard.test.mjs``:
Debian Chromium via playwright-core) against a console served here on a demo shop
(SQLite) with a week of conversations fed through the real analytics ingest
(``tests/apps/analytics_seed.py``): a supervisor logs in, the headline figures match
what ``shop.analytics.dashboard_metrics`` computes (and the hand-computed
conversation count), the charts are drawn, filters apply, a shopper's markup stays
text, and the review list opens a transcript. Screenshots go to the test's tmp dir
(``SHOP_SCREENSHOT_DIR`` when set). Skips without Chromium, node or playwright-core."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from apps.console.app import create_console_app
from apps.console.dashboard_view import cards
from apps.console.wiring import ConsoleConfig
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.figures import Filters
from shop.db.engine import session_scope
from tests.apps.analytics_seed import seed_week
from tests.apps.console_support import browser_shop, run_browser_test, served
from tests.demo_shops import DemoShops
from tests.paths import ROOT

EMAIL = "lead@ridgeline.example"


@dataclass(frozen=True)
class Seeded:
    url: str
    expected: dict[str, str]  # card key -> the value the page must show


@pytest.fixture
def dashboard_console(tmp_path: Path, demo_shop: DemoShops) -> Iterator[Seeded]:
    url, now = browser_shop(tmp_path, demo_shop, email=EMAIL, name="Lee", role="supervisor", teams=[])
    made = seed_week(url, now=now)
    with session_scope(url) as s:
        figures = dashboard(s, filters=Filters(start=now.date() - timedelta(days=6), end=now.date()))
    assert figures.conversations == made  # every seeded conversation started in the last 7 days
    expected = {card.key: card.value for card in cards(figures)}
    config = ConsoleConfig(database_url=url, bundle=ROOT / "web" / "dist" / "console.js")
    with served(create_console_app(config)) as base:
        yield Seeded(base, expected)


def test_dashboard_in_chromium(dashboard_console: Seeded, tmp_path: Path) -> None:
    shots = run_browser_test("dashboard.test.mjs", console_url=dashboard_console.url, email=EMAIL, tmp_path=tmp_path,
                             env={"EXPECTED_FIGURES": json.dumps(dashboard_console.expected)})
    for name in ("dashboard.png", "conversation-review.png"):
        assert (shots / name).stat().st_size > 10_000, name
