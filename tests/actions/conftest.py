"""Fixtures for the action unit tests: a small demo shop (SQLite, generated once per
session "as of" now through the shared ``demo_shop`` factory, copied for every test
so writes never leak), the action server's settings pointed at it (SQL search,
template answers: no index and no LLM), and the real domain (``bot/domain.yml``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions import runtime
from shop.db.engine import get_engine, session_scope
from shop.db.schema import Customer, Order
from shop.handoff.handoff_config import load_config
from shop.services.llm import get_llm_runner
from shop.services.recommendations import get_model_holder
from shop.settings import REPO_ROOT, get_settings
from shop.shared_counters import get_limiter
from tests.demo_shops import DemoShops
from tools.demo.generate import DemoStats

SEED, SCALE = 11, 0.03
AS_OF = datetime.now(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
ALWAYS_OPEN = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "open": "00:00",
               "close": "23:59", "text": "every day"}


def _clear_caches() -> None:
    if runtime._pool.cache_info().currsize:
        runtime._pool().shutdown(wait=True)
    for cached in (get_settings, runtime._pool, get_llm_runner, load_config, get_model_holder, get_limiter,
                   runtime.commerce_platform):
        clear = getattr(cached, "cache_clear", None)  # a test may have put a plain function in its place
        if clear is not None:
            clear()


@dataclass
class DemoShop:
    """A fresh copy of the demo shop the actions under test use."""

    url: str
    stats: DemoStats
    tmp: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def email(self) -> str:
        return self.stats.persona_email

    @property
    def customer_id(self) -> int:
        return self.stats.persona_customer_id

    def order(self, role: str) -> str:
        """The persona's order number for ``role`` (returnable, expired, processing, shipped)."""
        return self.stats.persona_orders[role]

    def session(self) -> AbstractContextManager[Session]:
        return session_scope(self.url)

    def other_customers_order(self) -> tuple[str, str]:
        """``(order number, owner's email)`` of an order that is not the persona's."""
        with self.session() as s:
            order = s.scalar(select(Order).where(Order.customer_id != self.customer_id).order_by(Order.id).limit(1))
            owner = s.get(Customer, order.customer_id)
            return order.number, owner.email

    def use(self, **env: Any) -> None:
        """Change settings for this test (``SHOP_<NAME>`` variables), caches cleared."""
        for name, value in env.items():
            self.monkeypatch.setenv(f"SHOP_{name.upper()}", str(value))
        _clear_caches()

    def use_handoff(self, *, request: bool = True, fallback: bool = True) -> None:
        """A handoff configuration with these triggers and the team always on duty."""
        path = self.tmp / f"handoff-{request}-{fallback}.yml"
        path.write_text(yaml.safe_dump({"triggers": {"request": request, "fallback": fallback},
                                        "business_hours": ALWAYS_OPEN}))
        self.use(handoff_config=path)


@pytest.fixture(scope="session")
def action_shop_template(demo_shop: DemoShops, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoStats]:
    """The demo shop for these tests, generated once by the shared factory into a file of
    our own and closed (checkpointed: SQLite runs in WAL mode, and a copy of a file whose
    engine is still open can miss what is only in its ``-wal`` file)."""
    path = tmp_path_factory.mktemp("action-shop") / "shop.db"
    url = demo_shop(seed=SEED, scale=SCALE, as_of=AS_OF, url=f"sqlite:///{path}")
    get_engine(url).dispose()
    return path, demo_shop.stats(seed=SEED, scale=SCALE, as_of=AS_OF)


@pytest.fixture
def shop(action_shop_template: tuple[Path, DemoStats], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoShop]:
    """A private copy of the demo shop, with the action server's settings pointing at it.
    The shop is generated as of this session's start: the actions compare order dates
    with the real clock ("returnable" was delivered 5 days ago, "processing" placed 1
    day ago)."""
    template, stats = action_shop_template
    for file in template.parent.glob("shop.db*"):
        shutil.copyfile(file, tmp_path / file.name)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    for name, value in {"SEARCH_BACKEND": "sql", "LLM_MODEL": "off", "DB_WORKERS": "2",
                        "ACTION_TIMEOUT_S": "60", "RECOMMEND_MODEL_DIR": str(tmp_path / "no-model"),
                        "PROMO_MODEL_DIR": str(tmp_path / "no-uplift-model"),
                        "PROMO_POLICY": "uplift", "HANDOFF_CONFIG": str(REPO_ROOT / "shop/handoff/handoff.yml"),
                        "MAX_ORDER_LOOKUP_FAILURES": "3", "SEARCH_PAGE_SIZE": "5"}.items():
        monkeypatch.setenv(f"SHOP_{name}", value)
    _clear_caches()
    yield DemoShop(url, stats, tmp_path, monkeypatch)
    _clear_caches()
    get_engine(url).dispose()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The assistant's domain as the Rasa server sends it with each request."""
    return yaml.safe_load((REPO_ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
