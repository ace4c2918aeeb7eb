"""``python -m apps.cli commerce sync|webhooks`` (apps/cli/commerce_commands.py): a sync
from the fake Shopify into a fresh SQLite database with a summary, a second run copying
only what changed, a platform that is down (exit 1, what was copied kept), and the
settings' refusals (built-in backend: exit 1; missing settings: exit 2, naming them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from apps.cli import commerce_commands
from apps.cli.__main__ import main
from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform, build_http
from shop.db.engine import session_scope
from shop.db.schema import Order, Product
from shop.settings import get_settings
from tests.fakes.shopify_server import CLIENT_SECRET, DOMAIN, TOKEN, FakeShopify

SHOPIFY_ENV = {"SHOP_COMMERCE_BACKEND": "shopify", "SHOP_SHOPIFY_DOMAIN": DOMAIN, "SHOP_SHOPIFY_TOKEN": TOKEN,
               "SHOP_SHOPIFY_WEBHOOK_SECRET": CLIENT_SECRET}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.fixture
def fake(env: pytest.MonkeyPatch) -> Iterator[FakeShopify]:
    """The fake shop with a product and an order, and the CLI's platform pointed at it."""
    for name, value in SHOPIFY_ENV.items():
        env.setenv(name, value)
    with FakeShopify() as shop:
        tent = shop.add_product("Trail Tent 2P", variants=[{"price": "199.00", "stock": 4}])
        shop.add_order(shop.add_customer("dana@example.com", "Dana", "Ng"), [(tent["variant_ids"][0], 1)])
        config = ShopifyConfig(domain=DOMAIN, token=TOKEN, webhook_secret=CLIENT_SECRET, base_url=shop.url)
        platform = ShopifyPlatform(config, http=build_http(config, sleep=lambda _s: None))
        env.setattr(commerce_commands, "platform_from_settings", lambda settings: platform)
        yield shop


def counts(url: str) -> tuple[int, int]:
    with session_scope(url) as s:
        return (s.scalar(select(func.count()).select_from(Product)) or 0,
                s.scalar(select(func.count()).select_from(Order)) or 0)


def test_sync_copies_the_shop_then_only_what_changed(fake: FakeShopify, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert main(["commerce", "sync", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "Syncing shopify into sqlite:///" in out
    assert "1 products new or changed; 1 customers and 1 orders copied" in out and "1 purchases recorded" in out
    assert "SHOP_SEARCH_INDEX_SYNC_S" in out and TOKEN not in out
    assert counts(url) == (1, 1)
    assert main(["commerce", "sync", "--url", url]) == 0
    again = capsys.readouterr().out  # the cursor is inclusive: the newest order is read again, changing nothing
    assert "0 products new or changed" in again and "0 purchases recorded" in again
    assert counts(url) == (1, 1)


def test_sync_with_the_platform_down_keeps_what_it_had(fake: FakeShopify, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    fake.fail(503, times=100)
    assert main(["commerce", "sync", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "Stopped: shopify could not be reached" in err and "run the command again" in err
    assert counts(url) == (0, 0)


def test_a_builtin_shop_has_nothing_to_sync_or_receive(env: pytest.MonkeyPatch, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SHOP_COMMERCE_BACKEND", "builtin")
    assert main(["commerce", "sync", "--url", f"sqlite:///{tmp_path / 'x.db'}"]) == 1
    assert "SHOP_COMMERCE_BACKEND is 'builtin'" in capsys.readouterr().err
    assert main(["commerce", "webhooks"]) == 1


def test_missing_settings_are_named(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("SHOP_COMMERCE_BACKEND", "woocommerce")
    env.setenv("SHOP_WOOCOMMERCE_URL", "https://shop.example.com")
    assert main(["commerce", "sync"]) == 2
    err = capsys.readouterr().err
    assert "SHOP_WOOCOMMERCE_KEY, SHOP_WOOCOMMERCE_SECRET, SHOP_WOOCOMMERCE_WEBHOOK_SECRET" in err


def test_a_malformed_setting_is_refused_before_anything_runs(env: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in {**SHOPIFY_ENV, "SHOP_SHOPIFY_DOMAIN": "evil.example.com/admin"}.items():
        env.setenv(name, value)
    assert main(["commerce", "webhooks", "--port", "8002"]) == 2
    assert "myshopify.com" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["commerce", "webhooks", "--port", "70000"])
