"""The demo storefront app (``apps.storefront``) on a real database (SQLite and PostgreSQL):
pages, the cart API the page's cart panel reads, the signed demo sign-in, and what it
does with bad input. The widget itself is tested in a real browser (tests/e2e)."""

from __future__ import annotations

import hmac
import html
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from apps.storefront.pages import SIGN_IN_COOKIE, StorefrontConfig, create_app
from protocol.identity import customer_sig_valid, sign_customer_id
from shop.db.engine import session_scope
from shop.db.schema import Product
from shop.services.cart import add_to_cart
from tests.demo_shops import DemoShops

NOW = datetime(2026, 11, 1)
SECRET = "storefront-test-secret"


@pytest.fixture
def shop_url(db_url: str, demo_shop: DemoShops) -> str:
    return demo_shop(seed=3, scale=0.02, as_of=NOW, url=db_url)


@pytest.fixture
def client(shop_url: str, tmp_path: Path) -> TestClient:
    bundle = tmp_path / "shop-assistant.js"
    bundle.write_text("window.ShopAssistant = {};")
    config = StorefrontConfig(database_url=shop_url, rasa_url="http://127.0.0.1:5005", widget_bundle=bundle,
                              identity_secret=SECRET, demo_customer_id=1)
    return TestClient(create_app(config))


def _a_product(url: str) -> Product:
    with session_scope(url) as s:
        product = s.scalars(select(Product).where(Product.is_active.is_(True)).order_by(Product.id)).first()
        s.expunge(product)
        return product


def test_listing_has_products_and_the_widget_tag_without_identity(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.text.count('class="product"') >= 10
    assert 'src="/widget/shop-assistant.js"' in page.text and 'data-server="http://127.0.0.1:5005"' in page.text
    assert "data-customer-id" not in page.text  # nobody signed in


def test_category_filter_and_unknown_category(client: TestClient, shop_url: str) -> None:
    product = _a_product(shop_url)
    with session_scope(shop_url) as s:
        slug = s.get(Product, product.id).category.slug
    assert client.get("/", params={"category": slug}).status_code == 200
    unknown = client.get("/", params={"category": "'; DROP TABLE products;--"})
    assert unknown.status_code == 200 and 'aria-current="page">All' in unknown.text


def test_product_page_and_missing_products(client: TestClient, shop_url: str) -> None:
    product = _a_product(shop_url)
    page = client.get(f"/products/{product.handle}")
    assert page.status_code == 200 and product.title in html.unescape(page.text)
    assert client.get("/products/no-such-thing").status_code == 404
    assert client.get("/products/%3Cscript%3E").status_code == 404


def test_signed_sign_in_puts_a_signed_id_in_the_widget_tag(client: TestClient) -> None:
    client.post("/demo/sign-in", data={"next": "/"}, follow_redirects=False)
    page = client.get("/")
    assert 'data-customer-id="1"' in page.text
    sig = re.search(r'data-customer-sig="([^"]+)"', page.text)
    assert sig is not None and customer_sig_valid("1", sig.group(1), SECRET, now=time.time())
    expires_at = int(sig.group(1).split(".")[0])  # signed for 12 hours, not forever
    assert time.time() + 11 * 3600 < expires_at <= time.time() + 12 * 3600 + 5
    assert not customer_sig_valid("1", sig.group(1), SECRET, now=expires_at)
    client.post("/demo/sign-out", data={"next": "/"})
    assert "data-customer-id" not in client.get("/").text


def test_a_forged_sign_in_cookie_is_ignored(client: TestClient) -> None:
    later = int(time.time()) + 3600
    for forged in (f"2.{sign_customer_id('1', SECRET, expires_at=later)}",      # another id's signature
                   f"1.{sign_customer_id('1', 'other-secret', expires_at=later)}",  # another secret
                   f"1.{sign_customer_id('1', SECRET, expires_at=int(time.time()) - 1)}",  # expired
                   f"1.{later + 10**6}.{sign_customer_id('1', SECRET, expires_at=later).split('.')[1]}",  # extended
                   "2.not-a-signature", "1." + "0" * 64, "1"):
        client.cookies.set(SIGN_IN_COOKIE, forged)
        assert "data-customer-id" not in client.get("/").text, forged
    client.cookies.set(SIGN_IN_COOKIE, f"1.{sign_customer_id('1', SECRET, expires_at=later)}")
    assert 'data-customer-id="1"' in client.get("/").text


def test_sign_in_redirect_stays_on_the_site(client: TestClient) -> None:
    out = client.post("/demo/sign-in", data={"next": "//evil.example/"}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"


def test_cart_api_shows_the_sessions_real_cart(client: TestClient, shop_url: str) -> None:
    session_id = "a1b2c3d4e5f6a7b8"
    assert client.get("/api/cart", params={"session": session_id}).json() == {"lines": [], "count": 0,
                                                                              "total": "$0.00"}
    with session_scope(shop_url) as s:
        product = s.scalars(select(Product).where(Product.is_active.is_(True)).order_by(Product.id)).first()
        variant = next(v for v in product.variants if v.stock > 0)
        result = add_to_cart(s, session_id=session_id, product_id=product.id, size=variant.size, colour=variant.colour)
        assert result.status == "added", result
    cart = client.get("/api/cart", params={"session": session_id}).json()
    assert cart["count"] == 1 and cart["lines"][0]["title"] == product.title


@pytest.mark.parametrize("bad", ["short", "x" * 65, "../../etc/passwd", "a' OR '1'='1", "\x00\x01binary"])
def test_cart_api_refuses_bad_session_ids(client: TestClient, bad: str) -> None:
    out = client.get("/api/cart", params={"session": bad})
    assert out.status_code in (400, 422)
    assert "session" in out.text


def test_widget_bundle_and_product_pictures(client: TestClient, shop_url: str) -> None:
    bundle = client.get("/widget/shop-assistant.js")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    product = _a_product(shop_url)
    svg = client.get(f"/static/products/{product.handle}.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg") and svg.text == client.get(
        f"/static/products/{product.handle}.svg").text
    assert client.get("/static/products/..%2Fsecret.svg").status_code == 404


def test_unbuilt_widget_says_how_to_build_it(shop_url: str, tmp_path: Path) -> None:
    config = StorefrontConfig(database_url=shop_url, rasa_url="http://x", widget_bundle=tmp_path / "missing.js")
    out = TestClient(create_app(config)).get("/widget/shop-assistant.js")
    assert out.status_code == 503 and "make widget" in out.text


def test_the_sign_in_cookie_is_compared_in_constant_time(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[str] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client.cookies.set(SIGN_IN_COOKIE, f"1.{int(time.time()) + 60}.{'0' * 64}")
    assert "data-customer-id" not in client.get("/").text
    assert "0" * 64 in compared  # the signature went through hmac.compare_digest, not ==
