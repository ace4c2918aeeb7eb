"""The product page the shopper is on (shop.services.page_context): only this shop's
own product pages of active products count; forged URLs never do."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update

from shop.db.engine import session_scope
from shop.db.schema import Product
from shop.services.page_context import page_handle, page_product
from tests.demo_shops import DemoShops

SHOP = "https://shop.example.com"


def test_own_product_pages() -> None:
    assert page_handle(page_url=f"{SHOP}/products/trail-boot-2", public_url=SHOP) == "trail-boot-2"
    assert page_handle(page_url=f"{SHOP}/products/trail-boot-2/?ref=x#top", public_url=SHOP) == "trail-boot-2"
    assert page_handle(page_url="HTTPS://Shop.Example.com:443/products/a", public_url=SHOP) == "a"
    assert page_handle(page_url="http://127.0.0.1:8000/products/a", public_url="http://127.0.0.1:8000/") == "a"
    assert page_handle(page_url="https://x.org/store/products/a", public_url="https://x.org/store") == "a"


@pytest.mark.parametrize("url", [
    "https://evil.example/products/a", "http://shop.example.com/products/a", "https://shop.example.com:8443/products/a",
    "https://shop.example.com@evil.example/products/a", "https://user:pw@shop.example.com/products/a",
    "//evil.example/products/a", "javascript:alert(1)//shop.example.com/products/a", "/products/a",
    "https://shop.example.com/products/../admin", "https://shop.example.com/products/a/../../b",
    "https://shop.example.com/products/%2e%2e", "https://shop.example.com/products/A", "https://shop.example.com/",
    "https://shop.example.com/products/", "https://shop.example.com/products/a/b", "https://shop.example.com/x/products/a",
    "https://shop.example.com\\@evil.example/products/a", "https://shop.example.com:99999/products/a",
    "https://shop.example.com/products/" + "a" * 50_000, "", " https://shop.example.com/products/a",
    "https://shop.example.com/products/caf\u00e9", "https://shop.example.com/products/a\nb",
])
def test_forged_or_foreign_urls(url: str) -> None:
    assert page_handle(page_url=url, public_url=SHOP) is None


@pytest.mark.parametrize("value", [None, 12, ["https://shop.example.com/products/a"],
                                   {"href": "https://shop.example.com/products/a"}, b"https://shop.example.com/products/a"])
def test_not_a_string(value: object) -> None:
    assert page_handle(page_url=value, public_url=SHOP) is None


def test_page_product_only_for_active_products(db_url: str, demo_shop: DemoShops) -> None:
    url = demo_shop(seed=11, scale=0.03, as_of=datetime(2026, 11, 20), url=db_url)
    with session_scope(url) as s:
        pid, handle = s.execute(select(Product.id, Product.handle).where(Product.is_active.is_(True))
                                .order_by(Product.id).limit(1)).one()
        assert page_product(s, page_url=f"{SHOP}/products/{handle}", public_url=SHOP) == pid
        assert page_product(s, page_url=f"{SHOP}/products/{handle}-nope", public_url=SHOP) is None
        assert page_product(s, page_url=f"https://evil.example/products/{handle}", public_url=SHOP) is None
        s.execute(update(Product).where(Product.id == pid).values(is_active=False))
        assert page_product(s, page_url=f"{SHOP}/products/{handle}", public_url=SHOP) is None
