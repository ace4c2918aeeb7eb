"""The Shopify connector (shop.commerce.shopify) reading from the fake shop of
tests/fakes/shopify_server.py (a real HTTP server speaking the documented Admin GraphQL
API): settings, values and status mapping, full and incremental sync into a real
database (SQLite, and PostgreSQL when it answers), pagination and its hostile cases,
429 and GraphQL throttling, authentication. Write-backs and webhooks are in the two
test_shopify_* files beside this one."""
# ruff: noqa: F811

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.commerce.errors import PlatformConfigError, PlatformUnavailable
from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform
from shop.commerce.shopify import shopify_queries as queries
from shop.commerce.shopify.shopify_ids import gid
from shop.commerce.shopify.shopify_status import order_status, return_status
from shop.commerce.shopify.shopify_values import cents, size_and_colour_from_title, text_from_html, utc
from shop.commerce.sync import sync_platform
from shop.db.engine import session_scope
from shop.db.schema import (
    Customer,
    Interaction,
    Product,
    SyncCursor,
)
from tests.commerce.shopify_shop import NOW, count, fake, make_platform, order_row, platform, seed  # noqa: F401 (fixtures)
from tests.fakes.mini_graphql import Parser, bind_fields, requested_cost
from tests.fakes.shopify_server import CLIENT_ID, CLIENT_SECRET, DOMAIN, TOKEN, FakeShopify

# --- configuration and values -----------------------------------------------------------


@pytest.mark.parametrize(("changes", "message"), [
    ({"domain": "shop.example.com"}, "myshopify.com"),
    ({"domain": "https://ridgeline-test.myshopify.com"}, "myshopify.com"),
    ({"domain": "evil.myshopify.com.attacker.net"}, "myshopify.com"),
    ({"api_version": "2025-02"}, "YYYY-01"),
    ({"api_version": "latest"}, "YYYY-01"),
    ({"webhook_secret": ""}, "webhook secret"),
    ({"token": "", "client_id": ""}, "access token"),
    ({"token": "has spaces in it"}, "access token"),
    ({"base_url": "http://127.0.0.1:1/admin"}, "no path"),
    ({"base_url": "ftp://127.0.0.1"}, "http(s)"),
    ({"currency": "usd"}, "ISO 4217"),
])
def test_a_bad_setting_is_refused_saying_what_is_allowed(changes: dict[str, Any], message: str) -> None:
    values = {"domain": DOMAIN, "token": TOKEN, "webhook_secret": CLIENT_SECRET}
    values.update(changes)
    with pytest.raises(PlatformConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ShopifyConfig(**values)


def test_the_config_normalises_the_domain_and_never_prints_secrets() -> None:
    cfg = ShopifyConfig(domain=" Ridgeline-Test.MyShopify.com ", token=TOKEN, webhook_secret=CLIENT_SECRET)
    assert cfg.domain == DOMAIN and cfg.root == f"https://{DOMAIN}"
    assert cfg.graphql_path == "/admin/api/2025-01/graphql.json" and not cfg.uses_refund_method
    assert ShopifyConfig(domain=DOMAIN, token=TOKEN, webhook_secret=CLIENT_SECRET,
                         api_version="2025-07").uses_refund_method
    shown = repr(cfg) + repr(ShopifyPlatform(cfg))
    assert TOKEN not in shown and CLIENT_SECRET not in shown


def test_ids_take_one_form_whatever_the_input() -> None:
    assert gid("Order", 123) == gid("Order", "123") == gid("Order", "gid://shopify/Order/123") \
        == "gid://shopify/Order/123"
    for bad in ("gid://shopify/Product/123", "12a", "", "gid://shopify/Order/", -5, True, None, "1" * 30):
        with pytest.raises(ValueError, match="Order id"):
            gid("Order", bad)


def test_values_are_read_as_shopify_writes_them() -> None:
    assert cents("19.99") == 1999 and cents("0.005") == 1 and cents(12) == 1200
    for bad in ("-1.00", "NaN", "Infinity", "abc", None, True, "1e20"):
        with pytest.raises(ValueError):
            cents(bad)
    assert utc("2025-04-22T14:30:00-05:00") == datetime(2025, 4, 22, 19, 30)
    assert utc("2025-04-22T19:30:00Z") == datetime(2025, 4, 22, 19, 30)
    assert text_from_html("<p>Warm &amp; dry</p><script>steal()</script><ul><li>2 kg</li></ul>") == "Warm & dry\n\n2 kg"
    assert size_and_colour_from_title("M / Navy") == ("M", "Navy")
    assert size_and_colour_from_title("Default Title") == (None, None)
    assert size_and_colour_from_title("Forest / Cotton") == (None, None)  # unsure: nothing guessed


@pytest.mark.parametrize(("cancelled", "fulfillment", "financial", "delivered", "status"), [
    (True, "FULFILLED", "PAID", True, "cancelled"),
    (False, "FULFILLED", "PAID", True, "delivered"),
    (False, "FULFILLED", "PENDING", False, "shipped"),
    (False, "PARTIALLY_FULFILLED", "PAID", False, "processing"),
    (False, "UNFULFILLED", "PENDING", False, "pending"),
    (False, "UNFULFILLED", "EXPIRED", False, "pending"),
    (False, "UNFULFILLED", "AUTHORIZED", False, "processing"),
    (False, "ON_HOLD", "PAID", False, "processing"),
    (False, None, None, False, "processing"),
])
def test_the_status_table(cancelled: bool, fulfillment: str | None, financial: str | None, delivered: bool,
                          status: str) -> None:
    assert order_status(cancelled=cancelled, fulfillment_status=fulfillment, financial_status=financial,
                        all_delivered=delivered) == status


def test_return_statuses_use_the_shops_words() -> None:
    assert [return_status(s) for s in ("REQUESTED", "OPEN", "CLOSED", "DECLINED", "CANCELED", None)] == [
        "requested", "approved", "received", "rejected", "rejected", "requested"]


@pytest.mark.parametrize("name", ["PRODUCTS", "PRODUCT_VARIANTS", "CUSTOMERS", "ORDERS", "ORDER", "ORDER_LINE_ITEMS",
                                  "ORDER_FULFILLMENT_LINES", "RETURN_REQUEST", "ORDER_CANCEL_REFUND"])
def test_every_query_fits_shopifys_single_query_cost_limit(name: str) -> None:
    kind, _, selections = Parser(getattr(queries, name)).document()
    pages = {"PRODUCTS": queries.PRODUCTS_PAGE, "CUSTOMERS": queries.CUSTOMERS_PAGE, "ORDERS": queries.ORDERS_PAGE}
    bind_fields(selections, {"first": pages.get(name, queries.FOLLOW_UP_PAGE)})
    assert requested_cost(selections, mutation=kind == "mutation") <= 1000


# --- reading: full and incremental sync -------------------------------------------------


def test_a_full_sync_mirrors_catalog_customers_and_orders(fake: FakeShopify, platform: ShopifyPlatform,
                                                          db_url: str) -> None:
    shop = seed(fake, filler=41)  # 45 products: three pages of 20
    with session_scope(db_url) as session:
        changes = sync_platform(session, platform=platform, now=NOW)
    assert len(changes.products) == 45 and platform.skipped == 0
    product_pages = [s for s in fake.seen if s.operation == "Products"]
    assert len(product_pages) == 3 and all(s.variables["first"] == queries.PRODUCTS_PAGE for s in product_pages)
    assert [s.operation for s in fake.seen].count("ProductVariants") == 1  # the jacket's 12 variants
    with session_scope(db_url) as session:
        tent = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.tent["id"])))
        assert tent is not None and tent.external_source == "shopify"
        assert (tent.title, tent.price_cents, tent.compare_at_cents, tent.currency) == ("Trail Tent 2P", 19900,
                                                                                        24900, "USD")
        assert tent.brand is not None and tent.brand.name == "Northway"
        assert tent.category is not None and tent.category.name == "Tents"
        variants = {v.sku: v for v in tent.variants}
        tent_m = variants["TT-M-GRN"]
        assert (tent_m.size, tent_m.colour, tent_m.stock) == ("M", "Green", 2)  # 4, less two sold
        assert variants["TT-L-GRY"].price_cents == 21900 and variants["TT-L-GRY"].stock == 0
        jacket = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.jacket["id"])))
        assert jacket is not None and len(jacket.variants) == 12
        assert jacket.description == "Waterproof & light." and "alert" not in jacket.description
        socks = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.socks["id"])))
        assert socks is not None and socks.variants[0].stock is None and socks.image_url is None  # not tracked
        draft = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.draft["id"])))
        assert draft is not None and not draft.is_active
        statuses = {name: order_row(session, o).status for name, o in shop.orders.items()}
        assert statuses == {"processing": "processing", "pending": "pending", "shipped": "shipped",
                            "delivered": "delivered", "partial": "processing", "cancelled": "cancelled",
                            "big": "processing"}
        shipped = order_row(session, shop.orders["shipped"])
        assert (shipped.carrier, shipped.tracking_number, shipped.number) == ("UPS", "1Z999AA10123456784",
                                                                              str(shop.orders["shipped"]["number"]))
        assert shipped.shipped_at is not None and shipped.delivered_at is None
        delivered = order_row(session, shop.orders["delivered"])
        assert delivered.delivered_at is not None and delivered.carrier == "DHL"
        partial = order_row(session, shop.orders["partial"])
        assert partial.tracking_number == "PART1"  # the part that left is trackable
        big = order_row(session, shop.orders["big"])
        assert len(big.items) == 12 and all(i.variant_id is not None for i in big.items)
        assert {(i.size, i.colour) for i in big.items} >= {("XS", "Red"), ("XXL", "Navy")}
        assert big.total_cents == 12 * 12950 + 500 and big.shipping_cents == 500
        dana = session.scalar(select(Customer).where(Customer.email == "dana@example.com"))
        assert dana is not None and dana.marketing_opt_in and dana.external_id == gid("Customer", shop.dana["id"])
        lee = session.scalar(select(Customer).where(Customer.email == "lee@example.com"))
        assert lee is not None and (lee.city, lee.country, lee.marketing_opt_in) == ("Lyon", "FR", False)
        # a purchase per line of every order that was not cancelled
        assert session.scalar(select(func.count()).select_from(Interaction)) == 1 + 1 + 1 + 2 + 2 + 12
        cursors = {c.resource: c for c in session.scalars(select(SyncCursor))}
        assert set(cursors) == {"products", "customers", "orders"}


def test_an_incremental_sync_asks_only_for_changes(fake: FakeShopify, platform: ShopifyPlatform,
                                                   db_url: str) -> None:
    shop = seed(fake)
    with session_scope(db_url) as session:
        sync_platform(session, platform=platform, now=NOW)
    fake.seen.clear()
    fake.touch_product(shop.tent["id"], title="Trail Tent 2P (2027)")
    fake.set_stock(shop.tent["variant_ids"][0], 9)
    with session_scope(db_url) as session:
        changes = sync_platform(session, platform=platform, now=NOW + timedelta(hours=1))
    products_query = next(s for s in fake.seen if s.operation == "Products")
    assert str(products_query.variables["query"]).startswith("updated_at:>='2026-11-01T")
    assert len(changes.products) == 1
    with session_scope(db_url) as session:
        tent = session.scalar(select(Product).where(Product.external_id == gid("Product", shop.tent["id"])))
        assert tent is not None and tent.title == "Trail Tent 2P (2027)"
        assert {v.sku: v.stock for v in tent.variants}["TT-M-GRN"] == 9


def test_reading_past_shopifys_pagination_window_starts_afresh_without_losing_or_repeating(
        fake: FakeShopify) -> None:
    seed(fake, filler=26)  # 30 products
    same_second = datetime(2026, 11, 2, 8, 0, 0)
    ordered = sorted(fake.products.values(), key=lambda p: (p["updatedAt"], p["id"]))
    for product in ordered[16:24]:  # eight changed in one second, across the end of the first window
        product["updatedAt"] = same_second
    for n, product in enumerate(ordered[24:]):
        product["updatedAt"] = same_second + timedelta(seconds=1 + n)
    connector = make_platform(fake, window_objects=15)  # the first page (20) fills the window
    ids = [p.external_id for p in connector.iter_products()]
    assert len(ids) == 30 and len(set(ids)) == 30
    restarts = [s.variables.get("query") for s in fake.seen if s.operation == "Products" and s.variables.get("query")]
    assert restarts and restarts[0] == "updated_at:>='2026-11-02T08:00:00Z'"


def test_a_pagination_loop_is_refused(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    seed(fake, filler=30)
    fake.loop_cursors.add("products")
    with pytest.raises(PlatformUnavailable, match="looping"):
        list(platform.iter_products())
    assert [s.operation for s in fake.seen].count("Products") == 2


def test_429_with_retry_after_is_waited_out(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    seed(fake)
    fake.fail(429, times=2, retry_after="1.5")
    assert len(list(platform.iter_customers())) == 2
    assert fake.clock.slept[:2] == [1.5, 1.5]


def test_a_429_storm_beyond_the_retry_budget_leaves_nothing_half_written(fake: FakeShopify,
                                                                          platform: ShopifyPlatform,
                                                                          db_url: str) -> None:
    seed(fake, filler=30)
    fake.fail(429, times=1000, retry_after="2", path="graphql")
    with session_scope(db_url) as session:
        with pytest.raises(PlatformUnavailable, match="HTTP 429 after 4 tries"):
            sync_platform(session, platform=platform, now=NOW)
        session.rollback()
    assert count(db_url, Product) == 0 and count(db_url, SyncCursor) == 0


def test_a_failure_in_a_follow_up_page_never_hands_on_a_product_with_part_of_its_variants(
        fake: FakeShopify, platform: ShopifyPlatform) -> None:
    shop = seed(fake)
    original = fake._graphql

    def failing(path: str, token: str, document: str, variables: dict[str, Any]) -> Any:
        if "query ProductVariants" in document:
            return 503, b'{"errors": "Service unavailable"}', {}
        return original(path, token, document, variables)

    fake._graphql = failing  # type: ignore[method-assign]
    got = []
    with pytest.raises(PlatformUnavailable, match="503"):
        for record in platform.iter_products():
            got.append(record)
    assert gid("Product", shop.jacket["id"]) not in {p.external_id for p in got}


def test_graphql_throttling_waits_for_the_bucket(fake: FakeShopify, platform: ShopifyPlatform) -> None:
    seed(fake)
    fake.available = 0.0  # an empty bucket: the first query is THROTTLED (HTTP 200)
    assert len(list(platform.iter_customers())) == 2
    assert platform.graphql.throttled == 1
    assert fake.clock.slept == [pytest.approx(303 / 100)]  # requestedQueryCost / restoreRate


def test_throttling_that_never_lets_up_is_unavailable(fake: FakeShopify) -> None:
    seed(fake)
    fake.maximum = 500.0  # a bucket smaller than the query: it can never be paid
    fake.available = 0.0
    connector = make_platform(fake)
    with pytest.raises(PlatformUnavailable, match="throttling"):
        list(connector.iter_orders())
    assert connector.graphql.throttled == 5  # the first try and four retries
    fake.restore_rate, fake.available = 0.0, 0.0  # and a bucket that never refills gives up at once
    connector = make_platform(fake)
    with pytest.raises(PlatformUnavailable, match="throttling"):
        list(connector.iter_customers())
    assert connector.graphql.throttled == 1


# --- authentication ---------------------------------------------------------------------


def test_a_wrong_token_is_a_configuration_error(fake: FakeShopify) -> None:
    connector = make_platform(fake, token="shpat_" + "00" * 16)
    with pytest.raises(PlatformConfigError, match="401"):
        list(connector.iter_customers())


def test_a_dev_dashboard_app_gets_and_renews_its_token(fake: FakeShopify) -> None:
    seed(fake)
    fake.token_lifetime_s = 600
    connector = make_platform(fake, token="", client_id=CLIENT_ID)
    assert len(list(connector.iter_customers())) == 2
    assert len(fake.issued) == 1
    fake.revoke(fake.issued[0])  # Shopify stops honouring it: one 401, a new token, the same request again
    assert len(list(connector.iter_customers())) == 2
    assert len(fake.issued) == 2
    fake.clock.sleep(301)  # under five minutes left: renewed before use
    list(connector.iter_customers())
    assert len(fake.issued) == 3
    bad = make_platform(fake, token="", client_id=CLIENT_ID, webhook_secret="shpss_wrong-secret-0000")
    with pytest.raises(PlatformConfigError, match="client credentials"):
        list(bad.iter_customers())
