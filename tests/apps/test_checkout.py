"""The storefront's checkout over HTTP (``GET /checkout``, ``POST /api/checkout``) on a
real database (SQLite and PostgreSQL): the cart panel's Checkout link, preview then
place with a promo code, a replayed request, and what is refused: other origins, a
missing or wrong CSRF token, a forged or foreign session token (another session's
cart), another customer's code, a body carrying prices or negative quantities, and a
storefront without the session secret."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from apps.storefront.checkout_api import CSRF_COOKIE, CSRF_HEADER
from apps.storefront.pages import StorefrontConfig, create_app
from protocol.identity import issue_session
from shop.db.attribution_tables import OrderLineAttribution
from shop.db.engine import session_scope
from shop.db.schema import OfferCode, Order, OrderItem, ProductVariant
from tests.demo_shops import DemoShops
from tests.shop.checkout_shop import ALEX, DEMO_AS_OF, Ready, fill, ready_shop

IDENTITY = "storefront-identity-secret"
SESSIONS = "rasa-session-secret"
ORIGIN = "http://testserver"
ADDRESS = {"name": "Alex Rivera", "line1": "1 Main St", "city": "Portland", "postcode": "97201", "country": "US"}


@pytest.fixture
def shop(db_url: str, demo_shop: DemoShops) -> Ready:
    return ready_shop(demo_shop(seed=3, scale=0.02, as_of=DEMO_AS_OF, url=db_url))


def _client(shop: Ready, tmp_path: Path, *, session_secret: str = SESSIONS) -> TestClient:
    bundle = tmp_path / "shop-assistant.js"
    bundle.write_text("window.ShopAssistant = {};")
    return TestClient(create_app(StorefrontConfig(
        database_url=shop.url, rasa_url="http://127.0.0.1:5005", widget_bundle=bundle, identity_secret=IDENTITY,
        demo_customer_id=ALEX, session_secret=session_secret)))


@pytest.fixture
def client(shop: Ready, tmp_path: Path) -> TestClient:
    return _client(shop, tmp_path)


def _session(secret: str = SESSIONS) -> tuple[str, str]:
    return issue_session(secret, now=time.time())


def _csrf(client: TestClient) -> str:
    page = client.get("/checkout")
    assert page.status_code == 200
    token = re.search(r'data-csrf="([^"]+)"', page.text)
    assert token is not None and client.cookies.get(CSRF_COOKIE) == token.group(1)
    return token.group(1)


def _post(client: TestClient, body: dict[str, Any], *, csrf: str | None = None, origin: str | None = ORIGIN,
          **headers: str) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if origin is not None:
        sent["Origin"] = origin
    if csrf is not None:
        sent[CSRF_HEADER] = csrf
    return client.post("/api/checkout", json=body, headers=sent)


def _body(token: str, key: str = "http-key-000000000001", **kw: Any) -> dict[str, Any]:
    return {"session_token": token, "idempotency_key": key, "address": ADDRESS, **kw}


def _orders(shop: Ready) -> int:
    with session_scope(shop.url) as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_the_cart_panel_links_to_the_checkout_page(client: TestClient) -> None:
    home = client.get("/")
    assert 'data-testid="store-checkout"' in home.text and 'href="/checkout"' in home.text
    page = client.get("/checkout")
    assert page.status_code == 200 and 'data-testid="checkout-form"' in page.text
    assert "/assets/checkout.js" in page.text and 'name="email"' in page.text  # a guest gives an e-mail
    assert "samesite=strict" in page.headers["set-cookie"].lower() and "httponly" in page.headers["set-cookie"].lower()
    assert client.get("/assets/checkout.js").status_code == 200


def test_signed_in_preview_then_place_with_a_code_then_replay(client: TestClient, shop: Ready) -> None:
    sid, token = _session()
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    client.post("/demo/sign-in", data={"next": "/"}, follow_redirects=False)
    csrf = _csrf(client)
    code = shop.codes["alex_jackets"]
    before = _orders(shop)
    preview = _post(client, _body(token, promo_code=code, preview=True), csrf=csrf)
    assert preview.status_code == 200 and preview.json()["status"] == "preview", preview.text
    total = preview.json()["order"]["total_cents"]
    assert _orders(shop) == before and preview.json()["order"]["discount"] != "$0.00"

    placed = _post(client, _body(token, promo_code=code, expected_total_cents=total), csrf=csrf)
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    assert order["total_cents"] == total and order["code"] == code and _orders(shop) == before + 1
    again = _post(client, _body(token, promo_code=code, expected_total_cents=total), csrf=csrf)
    assert again.status_code == 200 and again.json()["status"] == "replayed"
    assert again.json()["order"]["number"] == order["number"] and _orders(shop) == before + 1
    with session_scope(shop.url) as s:
        redeemed = s.scalar(select(OfferCode.order_ref).where(OfferCode.code == code))
        assert redeemed == order["number"]
    assert client.get("/api/cart", params={"session": sid}).json()["count"] == 0


def test_an_add_to_cart_in_the_same_second_as_the_order_is_credited(client: TestClient, shop: Ready) -> None:
    """A quick shopper adds and orders within one second: the order line is still
    credited to that add-to-cart (the checkout's clock was cut to whole seconds, which
    put the order before it)."""
    time.sleep(1 - time.time() % 1 + 0.01)  # the start of a second, so the add and the order share it
    sid, token = _session()
    fill(shop.url, sid, shop.sock)
    placed = _post(client, _body(token, email="quick@example.org"), csrf=_csrf(client))
    assert placed.status_code == 201, placed.text
    with session_scope(shop.url) as s:
        order = s.scalar(select(Order).where(Order.number == placed.json()["order"]["number"]))
        assert order is not None
        item = s.scalar(select(OrderItem).where(OrderItem.order_id == order.id))
        assert item is not None
        line = s.scalar(select(OrderLineAttribution).where(OrderLineAttribution.order_item_id == item.id))
        assert line is not None and line.interaction_id is not None


def test_a_guest_checks_out_with_an_email(client: TestClient, shop: Ready) -> None:
    sid, token = _session()
    fill(shop.url, sid, shop.sock)
    csrf = _csrf(client)
    missing = _post(client, _body(token), csrf=csrf)
    assert missing.status_code == 422 and "email" in missing.json()["message"]
    coded = _post(client, _body(token, email="guest@example.org", promo_code=shop.codes["alex_socks"]), csrf=csrf)
    assert coded.status_code == 422 and coded.json()["status"] == "code_refused"
    placed = _post(client, _body(token, email="guest@example.org"), csrf=csrf)
    assert placed.status_code == 201 and placed.json()["status"] == "placed"


def test_other_origins_and_missing_or_wrong_csrf_tokens_are_refused(client: TestClient, shop: Ready) -> None:
    sid, token = _session()
    fill(shop.url, sid, shop.jacket)
    csrf = _csrf(client)
    before = _orders(shop)
    body = _body(token, email="guest@example.org")
    assert _post(client, body, csrf=csrf, origin="https://evil.example").status_code == 403
    assert _post(client, body, csrf=csrf, origin=None).status_code == 403  # neither Origin nor Referer
    assert _post(client, body, csrf=csrf, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert _post(client, body).status_code == 403  # no token
    wrong = _post(client, body, csrf="x" * 43)
    assert wrong.status_code == 403 and CSRF_HEADER in wrong.json()["message"]
    fresh = TestClient(client.app)  # a browser without the page's cookie: the header alone is not enough
    assert _post(fresh, body, csrf=csrf).status_code == 403
    assert _orders(shop) == before
    with session_scope(shop.url) as s:
        assert s.scalar(select(ProductVariant.stock).where(ProductVariant.id == shop.jacket)) == 5
    referer = _post(client, body, csrf=csrf, origin=None, Referer=f"{ORIGIN}/checkout")
    assert referer.status_code == 201


def test_another_sessions_cart_needs_that_sessions_signed_token(client: TestClient, shop: Ready) -> None:
    victim, _ = _session()
    fill(shop.url, victim, shop.jacket, customer_id=ALEX)
    csrf = _csrf(client)
    expires = int(time.time()) + 3600
    for token in (victim,                                        # the bare session id
                  f"{victim}.{expires}.{'0' * 64}",              # a forged signature
                  issue_session("another-secret", now=time.time(), session_id=victim)[1],
                  issue_session(SESSIONS, now=time.time() - 10 * 24 * 3600)[1]):  # expired
        refused = _post(client, _body(token, email="thief@example.org"), csrf=csrf)
        assert refused.status_code == 403 and "session token" in refused.json()["message"], token
    _, token = _session()  # a real token of another conversation reaches only its own (empty) cart
    empty = _post(client, _body(token, email="thief@example.org"), csrf=csrf)
    assert empty.status_code == 409 and empty.json()["status"] == "empty"
    with session_scope(shop.url) as s:
        assert s.scalar(select(ProductVariant.stock).where(ProductVariant.id == shop.jacket)) == 5


def test_another_customers_code_over_http(client: TestClient, shop: Ready) -> None:
    sid, token = _session()
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    client.post("/demo/sign-in", data={"next": "/"}, follow_redirects=False)
    refused = _post(client, _body(token, promo_code=shop.codes["other_ten"]), csrf=_csrf(client))
    assert refused.status_code == 422 and refused.json()["status"] == "code_refused"
    assert "another customer" in refused.json()["message"] and "order" not in refused.json()


def test_bodies_with_prices_negative_quantities_or_junk_are_refused(client: TestClient, shop: Ready) -> None:
    sid, token = _session()
    fill(shop.url, sid, shop.jacket)
    csrf = _csrf(client)
    before = _orders(shop)
    tampered = [
        _body(token, email="g@example.org", lines=[{"variant_id": shop.jacket, "unit_price_cents": 1}]),
        _body(token, email="g@example.org", total_cents=1),
        _body(token, email="g@example.org", quantities={str(shop.jacket): -2}),
        _body(token, email="g@example.org", quantities={str(shop.jacket): "2"}),
        _body(token, email="g@example.org", quantities={"-5": 1}),
        _body(token, email="g@example.org", address={**ADDRESS, "country": 12}),
    ]
    for body in tampered:
        answer = _post(client, body, csrf=csrf)
        assert answer.status_code == 422, (body, answer.text)
        assert "session_token" in answer.json()["message"] or "quantities" in answer.json()["message"]
    junk = client.post("/api/checkout", content=b"not json", headers={"Origin": ORIGIN, CSRF_HEADER: csrf,
                                                                       "Content-Type": "application/json"})
    assert junk.status_code == 422
    claimed = _post(client, _body(token, email="g@example.org", expected_total_cents=1), csrf=csrf)
    assert claimed.status_code == 409 and claimed.json()["status"] == "price_changed"
    assert _orders(shop) == before


def test_checkout_is_off_without_the_session_secret(shop: Ready, tmp_path: Path) -> None:
    client = _client(shop, tmp_path, session_secret="")
    assert 'data-testid="checkout-off"' in client.get("/checkout").text
    _, token = _session()
    answer = _post(client, _body(token, email="g@example.org"), csrf=_csrf(client))
    assert answer.status_code == 503 and "SHOP_SESSION_SECRET" in answer.json()["message"]
