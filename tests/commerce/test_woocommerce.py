"""The WooCommerce connector against the fake store (tests/fakes/woocommerce_server.py):
settings checks, a full and an incremental sync into a real database (SQLite and
PostgreSQL), pagination and its loop guards, retries on 429/5xx, WooCommerce's error
JSON, and write-back (cancel, address, returns as manual refunds) with the refusals
that must leave the store and the mirror untouched. Webhooks: test_woocommerce_webhooks.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop.commerce.errors import PlatformConfigError, PlatformRefused, PlatformUnavailable
from shop.commerce.mirror import upsert_order, upsert_return
from shop.commerce.platform import CommercePlatform
from shop.commerce.records import AddressRecord
from shop.commerce.sync import sync_platform
from shop.commerce.woocommerce import WooCommerceConfig, WooCommercePlatform
from shop.commerce.woocommerce.woo_records import order_status
from shop.db.engine import session_scope
from shop.db.schema import Customer, Interaction, Order, Product, ProductVariant, Return, SyncCursor
from tests.commerce.woo_store import NOW, Seeded, connector, seed
from tests.fakes.woocommerce_server import KEY, SECRET, WEBHOOK_SECRET, FakeWooCommerce

NEW_ADDRESS = AddressRecord(name="Dana Maria Ng", line1="8 Quay Street", line2="Flat 2", city="Dublin",
                            postcode="D02 XY45", country="ie")


@pytest.fixture
def store() -> Iterator[tuple[FakeWooCommerce, Seeded]]:
    with FakeWooCommerce() as fake:
        yield fake, seed(fake)


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("changes", "says"), [
    ({"store_url": "http://shop.example.com"}, "must use https"),
    ({"store_url": "https://user:pw@shop.example.com"}, "no user name"),
    ({"store_url": "https://shop.example.com/?x=1"}, "no user name, password, query"),
    ({"store_url": "ftp://shop.example.com"}, "https://shop.example.com"),
    ({"consumer_key": "cs_" + "a" * 40}, "'ck_'"),
    ({"consumer_secret": "secret"}, "'cs_'"),
    ({"webhook_secret": "short"}, "at least 16"),
    ({"currency": "dollars"}, "ISO 4217"),
])
def test_settings_that_cannot_work_are_refused_saying_what_is_allowed(changes: dict[str, str], says: str) -> None:
    values = {"store_url": "https://shop.example.com/", "consumer_key": KEY, "consumer_secret": SECRET,
              "webhook_secret": WEBHOOK_SECRET, **changes}
    with pytest.raises(PlatformConfigError, match=says):
        WooCommerceConfig(**values)


def test_settings_normalise_the_url_and_never_print_the_credentials() -> None:
    config = WooCommerceConfig(store_url="HTTPS://Shop.Example.com/store/", consumer_key=KEY,
                               consumer_secret=SECRET, webhook_secret=WEBHOOK_SECRET)
    assert config.api_url == "https://shop.example.com/store/wp-json/wc/v3"
    assert SECRET not in repr(config) and KEY not in repr(config) and WEBHOOK_SECRET not in repr(config)
    platform = WooCommercePlatform(config)
    assert isinstance(platform, CommercePlatform)
    assert (platform.name, platform.supports_returns) == ("woocommerce", False)
    platform.close()


TRACKED = [{"key": "_wc_shipment_tracking_items", "value": [{"tracking_provider": "dhl", "tracking_number": "JD0142",
                                                              "date_shipped": "1790000000"}]}]


@pytest.mark.parametrize(("status", "meta", "completed_means_delivered", "expected"), [
    ("pending", [], False, "pending"), ("on-hold", [], False, "pending"), ("processing", [], False, "processing"),
    ("processing", TRACKED, False, "shipped"), ("completed", [], False, "shipped"),
    ("completed", [], True, "delivered"), ("cancelled", [], False, "cancelled"), ("refunded", [], False, "cancelled"),
    ("failed", [], False, "cancelled"), ("wc-shipped", [], False, "shipped"), ("delivered", [], False, "delivered"),
    ("ready-to-pack", [], False, "processing")])
def test_the_documented_order_status_table(status: str, meta: list[object], completed_means_delivered: bool,
                                           expected: str) -> None:
    config = WooCommerceConfig(store_url="https://shop.example.com", consumer_key=KEY, consumer_secret=SECRET,
                               webhook_secret=WEBHOOK_SECRET, completed_means_delivered=completed_means_delivered)
    assert order_status({"status": status, "meta_data": meta}, config=config) == expected


# --- reading and syncing -----------------------------------------------------------------


def test_a_full_sync_mirrors_catalog_customers_and_orders(store: tuple[FakeWooCommerce, Seeded], db_url: str) -> None:
    fake, ids = store
    platform = WooCommercePlatform(WooCommerceConfig(store_url=fake.url, consumer_key=KEY, consumer_secret=SECRET,
                                                     webhook_secret=WEBHOOK_SECRET))  # the default client: Basic
    with session_scope(db_url) as session:
        changes = sync_platform(session, platform=platform, now=NOW)
    assert len(changes.products) == 6
    with session_scope(db_url) as session:
        products = {p.external_id: p for p in session.scalars(select(Product))}
        tee, jacket = products[str(ids.tee)], products[str(ids.jacket)]
        assert (tee.title, tee.price_cents, tee.brand.name if tee.brand else None) == ("Merino Tee", 3500, "Northway")
        assert tee.description == "Soft merino wool & no itch."
        assert [(v.external_id, v.sku, v.stock) for v in tee.variants] == [(str(ids.tee), "TEE-1", 12)]
        assert jacket.category is not None and jacket.category.name == "Jackets"
        assert sorted((v.size, v.colour, v.price_cents, v.stock) for v in jacket.variants) == [
            ("L", "Blue", 12000, 0), ("M", "Blue", 12000, 3), ("M", "Red", 12500, None)]
        assert products[str(ids.mug)].category is None  # "Uncategorized" is no category
        assert [v.stock for v in products[str(ids.mug)].variants] == [None]  # not tracked: available, unknown
        assert [v.stock for v in products[str(ids.socks)].variants] == [0]  # not tracked but out of stock
        assert not products[str(ids.draft)].is_active and products[str(ids.tee)].is_active
        assert (products[str(ids.sale)].price_cents, products[str(ids.sale)].compare_at_cents) == (2000, 2500)
        emails = set(session.scalars(select(Customer.email)))
        assert {"dana.ng@example.com", "lee.park@example.com", "sam.lee@example.com"} <= emails  # staff too
        orders = {o.external_id: o for o in session.scalars(select(Order))}
        assert str(ids.checkout_draft) not in orders
        assert {k: o.status for k, o in orders.items()} == {
            str(ids.processing): "processing", str(ids.on_hold): "pending", str(ids.completed): "shipped",
            str(ids.tracked): "shipped", str(ids.failed): "cancelled", str(ids.cancelled): "cancelled"}
        done = orders[str(ids.completed)]
        assert (done.carrier, done.tracking_number, done.shipped_at is not None) == ("usps", "9400111899223344556677",
                                                                                     True)
        first = orders[str(ids.processing)]
        assert first.customer.email == "dana.ng@example.com" and first.customer.external_id == str(ids.dana)
        lines = sorted((i.title, i.quantity, i.unit_price_cents, i.variant_id is not None, i.size) for i in first.items)
        assert lines == [("Merino Tee", 2, 3500, True, None), ("Rain Jacket", 1, 12000, True, "M")]
        assert session.scalar(select(func.count()).select_from(Interaction)) == 5  # lines of orders not cancelled
    lists = [s for s in fake.seen if s.path.endswith(("/products", "/customers", "/orders"))]
    assert all(s.auth == "basic" and s.query["per_page"] == "100" and s.query["orderby"] == "id" for s in lists)
    assert next(s for s in lists if s.path.endswith("/customers")).query["role"] == "all"


def test_an_incremental_sync_asks_only_for_what_changed(store: tuple[FakeWooCommerce, Seeded], db_url: str) -> None:
    fake, ids = store
    woo = connector(fake)
    with session_scope(db_url) as session:
        sync_platform(session, platform=woo.platform, now=NOW)
    fake.touch("product", ids.tee, price="29.00", name="Merino Tee II")
    fake.touch("customer", ids.manager, last_name="Park-Lin")
    fake.seen.clear()
    with session_scope(db_url) as session:
        changes = sync_platform(session, platform=woo.platform, now=NOW + timedelta(hours=1))
        tee = session.scalar(select(Product).where(Product.external_id == str(ids.tee)))
        assert tee is not None and (tee.title, tee.price_cents) == ("Merino Tee II", 2900)
        assert session.scalar(select(Customer.last_name).where(Customer.external_id == str(ids.manager))) == "Park-Lin"
        cursor = session.scalar(select(SyncCursor).where(SyncCursor.resource == "products"))
        assert cursor is not None and cursor.updated_since is not None
    products_call = next(s for s in fake.seen if s.path.endswith("/products"))
    assert products_call.query["dates_are_gmt"] == "true" and "modified_after" in products_call.query
    assert changes.products == {tee.id}
    # customers have no modified_after: every page is read, those not modified since are skipped
    assert [c.last_name for c in woo.platform.iter_customers(updated_since=fake.clock)] == ["Park-Lin"]


def test_listings_follow_x_wp_totalpages_and_yield_each_item_once(store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, _ = store
    for n in range(230):
        fake.add_product(f"Sticker {n}", 300)
    products = list(connector(fake).platform.iter_products())
    assert len(products) == 236 and len({p.external_id for p in products}) == 236
    pages = [s.query["page"] for s in fake.seen if s.path.endswith("/products")]
    assert pages == ["1", "2", "3"]


def test_a_cache_that_ignores_the_page_number_is_caught_not_looped(store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, _ = store
    for n in range(120):
        fake.add_product(f"Sticker {n}", 300)
    fake.ignore_page = True
    with pytest.raises(PlatformUnavailable, match="repeats earlier items"):
        list(connector(fake).platform.iter_products())
    fake.ignore_page, fake.claim_pages = False, 10**9
    with pytest.raises(PlatformUnavailable, match="more than 10000 pages"):
        list(connector(fake).platform.iter_customers())


def test_429_is_retried_after_retry_after_and_a_storm_ends_unavailable_with_nothing_written(
        store: tuple[FakeWooCommerce, Seeded], db_url: str) -> None:
    fake, ids = store
    woo = connector(fake)
    fake.fail(429, times=2, path="orders", retry_after="3")
    assert woo.platform.get_order(external_id=str(ids.processing)).status == "processing"
    assert woo.sleeps == [3.0, 3.0]
    fake.fail(429, times=50, path="products/", retry_after="1")  # the jacket's variations never answer
    with pytest.raises(PlatformUnavailable, match="429"), session_scope(db_url) as session:
        sync_platform(session, platform=woo.platform, now=NOW, batch=1000)
    with session_scope(db_url) as session:  # the failed sync rolled back: not the tee before it, no cursor
        assert session.scalar(select(func.count()).select_from(Product)) == 0
        assert session.scalar(select(func.count()).select_from(SyncCursor)) == 0
    fake.faults.clear()
    fake.fail(429, times=1, path="orders", retry_after="3600")  # longer than anyone should wait
    before = len(woo.sleeps)
    with pytest.raises(PlatformUnavailable, match="asked to wait"):
        woo.platform.get_order(external_id=str(ids.processing))
    assert len(woo.sleeps) == before


def test_5xx_pages_are_retried_and_errors_become_refusals(store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    woo = connector(fake)
    fake.fail(503, times=1, path="orders", body=b"<html>Service Unavailable</html>")
    assert woo.platform.get_order(external_id=str(ids.on_hold)).status == "pending"
    with pytest.raises(PlatformRefused) as missing:
        woo.platform.get_order(external_id="999999")
    assert missing.value.reason == "not_found" and "woocommerce_rest_shop_order_invalid_id" in missing.value.detail
    fake.fail(404, times=1, path="orders", body=b'{"code":"rest_no_route","message":"No route","data":{"status":404}}')
    with pytest.raises(PlatformUnavailable, match="Permalinks"):
        woo.platform.get_order(external_id=str(ids.on_hold))
    fake.fail(200, times=1, path="orders", body=b"<html>Down for maintenance</html>")
    with pytest.raises(PlatformUnavailable, match="not JSON"):
        woo.platform.get_order(external_id=str(ids.on_hold))
    seen = len(fake.seen)
    for hostile in ("../products", "12/notes", "-3", "0", "1e3", ""):
        with pytest.raises(PlatformRefused) as bad:
            woo.platform.get_order(external_id=hostile)
        assert bad.value.reason == "invalid"
    assert len(fake.seen) == seen  # refused before any request


def test_wrong_or_read_only_keys_are_reported_as_unavailable_and_change_nothing(
        store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    with pytest.raises(PlatformUnavailable, match="Read/Write"):
        connector(fake, consumer_secret="cs_" + "0" * 40).platform.get_order(external_id=str(ids.processing))
    fake.read_only = True
    with pytest.raises(PlatformUnavailable, match="write permissions"):
        connector(fake).platform.cancel_order(external_id=str(ids.processing), reason="x")
    assert fake.orders[ids.processing]["status"] == "processing"


def test_query_string_authentication_for_hosts_that_drop_the_authorization_header(
        store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    woo = connector(fake, query_string_auth=True)
    assert woo.platform.get_order(external_id=str(ids.processing)).number == str(ids.processing)
    assert fake.seen[-1].auth == "query"


# --- write-back --------------------------------------------------------------------------


def test_cancel_puts_cancelled_restocks_and_notes_the_reason(store: tuple[FakeWooCommerce, Seeded],
                                                              db_url: str) -> None:
    fake, ids = store
    woo = connector(fake)
    record = woo.platform.cancel_order(external_id=str(ids.processing), reason="ordered the wrong size\x07")
    assert record.status == "cancelled"
    put = [s for s in fake.writes() if s.method == "PUT"]
    assert [(s.path, s.body) for s in put] == [(f"/wp-json/wc/v3/orders/{ids.processing}", {"status": "cancelled"})]
    assert fake.products[ids.tee]["stock_quantity"] == 14  # WooCommerce put the 2 tees back
    assert fake.variations[ids.jacket][ids.jacket_m_blue]["stock_quantity"] == 4
    assert "ordered the wrong size" in fake.notes[ids.processing][-1]["note"]
    assert "\x07" not in fake.notes[ids.processing][-1]["note"]
    with session_scope(db_url) as session:  # what the order service does with the answer
        upsert_order(session, source=woo.platform.name, record=record, now=NOW)
        assert session.scalar(select(Order.status).where(Order.external_id == str(ids.processing))) == "cancelled"


@pytest.mark.parametrize(("which", "reason"), [
    ("completed", "already_shipped"), ("tracked", "already_shipped"), ("cancelled", "already_cancelled"),
    ("failed", "already_cancelled"), ("checkout_draft", "not_found")])
def test_cancel_is_refused_before_any_write_when_the_order_has_moved_on(
        store: tuple[FakeWooCommerce, Seeded], which: str, reason: str) -> None:
    fake, ids = store
    order_id = getattr(ids, which)
    status = fake.orders[order_id]["status"]
    with pytest.raises(PlatformRefused) as refused:
        connector(fake).platform.cancel_order(external_id=str(order_id), reason="too late?")
    assert refused.value.reason == reason
    assert fake.writes() == [] and fake.orders[order_id]["status"] == status


def test_an_address_change_writes_the_shipping_address(store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    woo = connector(fake)
    record = woo.platform.change_shipping_address(external_id=str(ids.on_hold), address=NEW_ADDRESS)
    shipping = fake.orders[ids.on_hold]["shipping"]
    assert (shipping["first_name"], shipping["last_name"], shipping["address_2"]) == ("Dana Maria", "Ng", "Flat 2")
    assert (shipping["country"], shipping["state"]) == ("IE", "")  # the Oregon state went with the country
    assert record.shipping_address is not None and record.shipping_address.city == "Dublin"
    with pytest.raises(PlatformRefused) as shipped:
        woo.platform.change_shipping_address(external_id=str(ids.completed), address=NEW_ADDRESS)
    assert shipped.value.reason == "already_shipped"
    writes = len(fake.writes())
    for bad in (AddressRecord(name="X", line1="1 A St", city="C", postcode="1", country="Ireland"),
                AddressRecord(name="X", line1=" ", city="C", postcode="1", country="IE")):
        with pytest.raises(PlatformRefused) as invalid:
            woo.platform.change_shipping_address(external_id=str(ids.on_hold), address=bad)
        assert invalid.value.reason == "invalid"
    assert len(fake.writes()) == writes


def test_returns_are_refused_as_not_supported_unless_the_shop_allows_refunds(
        store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    woo = connector(fake)
    line = fake.orders[ids.completed]["line_items"][0]["id"]
    with pytest.raises(PlatformRefused) as refused:
        woo.platform.request_return(order_external_id=str(ids.completed), line_external_id=str(line), quantity=1,
                                    reason="too small")
    assert refused.value.reason == "not_supported" and fake.writes() == []


def test_a_return_records_a_manual_refund_once_per_item(store: tuple[FakeWooCommerce, Seeded], db_url: str) -> None:
    fake, ids = store
    woo = connector(fake, allow_refunds=True)
    assert woo.platform.supports_returns
    line = fake.orders[ids.completed]["line_items"][0]["id"]
    ret = woo.platform.request_return(order_external_id=str(ids.completed), line_external_id=str(line), quantity=1,
                                      reason="too small")
    assert (ret.status, ret.quantity, ret.refund_cents) == ("approved", 1, 3850)  # 35.00 + 10% tax
    posted = next(s for s in fake.writes() if s.path.endswith("/refunds"))
    assert (posted.body["api_refund"], posted.body["api_restock"], posted.body["amount"]) == (False, False, "38.50")
    assert posted.body["line_items"] == [{"id": line, "quantity": 1, "refund_total": 35.0,
                                          "refund_tax": [{"id": 3, "refund_total": 3.5}]}]
    assert "pay it back" in fake.notes[ids.completed][-1]["note"]
    with pytest.raises(PlatformRefused, match="0 item"):  # the one tee is already being returned
        woo.platform.request_return(order_external_id=str(ids.completed), line_external_id=str(line), quantity=1,
                                    reason="again")
    with session_scope(db_url) as session:
        upsert_order(session, source="woocommerce", record=woo.platform.get_order(external_id=str(ids.completed)),
                     now=NOW)
        assert upsert_return(session, source="woocommerce", record=ret, now=NOW) is not None
        assert session.scalar(select(Return.status)) == "approved"


def test_a_return_is_refused_for_unshipped_orders_other_lines_and_bad_quantities(
        store: tuple[FakeWooCommerce, Seeded]) -> None:
    fake, ids = store
    woo = connector(fake, allow_refunds=True)
    line = fake.orders[ids.processing]["line_items"][0]["id"]
    other_line = fake.orders[ids.completed]["line_items"][0]["id"]
    cases = [(ids.processing, line, 1, "invalid"),  # not shipped yet
             (ids.completed, line, 1, "not_found"),  # another order's line
             (ids.completed, other_line, 0, "invalid"), (ids.completed, other_line, 5, "invalid")]
    for order_id, line_id, quantity, reason in cases:
        with pytest.raises(PlatformRefused) as refused:
            woo.platform.request_return(order_external_id=str(order_id), line_external_id=str(line_id),
                                        quantity=quantity, reason="no")
        assert refused.value.reason == reason
    assert fake.writes() == []


def test_the_mirror_counts_only_what_the_store_has(store: tuple[FakeWooCommerce, Seeded], db_url: str) -> None:
    """A second full sync changes nothing: every upsert is keyed by WooCommerce's ids."""
    fake, _ = store
    woo = connector(fake)
    with session_scope(db_url) as session:
        sync_platform(session, platform=woo.platform, now=NOW)
    with session_scope(db_url) as session:
        again = sync_platform(session, platform=woo.platform, now=NOW, full=True)
        assert again.products == set() and again.interactions == 0
        assert session.scalar(select(func.count()).select_from(ProductVariant)) == 8


def test_a_guest_order_with_a_registered_customers_email_syncs(store: tuple[FakeWooCommerce, Seeded],
                                                               db_url: str) -> None:
    fake, ids = store
    guest = fake.add_order(email="Dana.Ng@example.com", items=[(ids.tee, 0, 1)])
    with session_scope(db_url) as session:
        sync_platform(session, platform=connector(fake).platform, now=NOW)
    with session_scope(db_url) as session:
        owner = session.scalar(select(Customer.email).join(Order, Order.customer_id == Customer.id)
                               .where(Order.external_id == str(guest["id"])))
        assert owner == "dana.ng@example.com"
