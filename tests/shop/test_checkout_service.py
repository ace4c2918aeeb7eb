"""The checkout service on a real database (SQLite and PostgreSQL): the chat's cart
becomes an order priced from the database, stock taken atomically (unknown stock stays
unknown), the order credited to the conversation, the recommendation and click that led
to it and the offer; promo codes through ``redeem_code`` (atomic, once); and the hostile
cases: another customer's code, expired/used/below-minimum codes, a replayed checkout,
two checkouts racing for the last unit, negative quantities, a client's price, another
customer's cart."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from shop.db.engine import session_scope
from shop.db.schema import (
    Cart,
    CartItem,
    Customer,
    Interaction,
    Offer,
    OfferCode,
    OfferEvent,
    Order,
    OrderAttribution,
    OrderLineAttribution,
    ProductVariant,
    RecommendationImpression,
)
from shop.promo.checkout_codes import PromoCodes
from shop.services.checkout import (
    Address,
    CheckoutInputError,
    CheckoutRequest,
    CheckoutResult,
    checkout,
    preview_checkout,
)
from shop.services.interactions import record_interaction, utc_now
from shop.services.recommendation_log import record_impressions
from shop.services.recommendations import recommend_products
from shop.services.search.query import SearchQuery
from tests.demo_shops import DemoShops
from tests.shop.checkout_shop import ALEX, DEMO_AS_OF, Ready, fill, ready_shop

HOME = Address(name="Alex Rivera", line1="1 Main St", city="Portland", postcode="97201", country="us")
CODES = PromoCodes()


@pytest.fixture
def shop(db_url: str, demo_shop: DemoShops) -> Ready:
    return ready_shop(demo_shop(seed=3, scale=0.02, as_of=DEMO_AS_OF, url=db_url))


def _request(session_id: str, key: str = "key-0000000000000001", **kw: object) -> CheckoutRequest:
    fields: dict[str, object] = {"session_id": session_id, "idempotency_key": key, "address": HOME,
                                 "customer_id": ALEX}
    fields.update(kw)
    return CheckoutRequest(**fields)  # type: ignore[arg-type]


def _checkout(shop: Ready, request: CheckoutRequest) -> CheckoutResult:
    with session_scope(shop.url) as s:
        return checkout(s, request=request, now=utc_now(), codes=CODES)


def _stock(shop: Ready, variant_id: int) -> int | None:
    with session_scope(shop.url) as s:
        return s.scalar(select(ProductVariant.stock).where(ProductVariant.id == variant_id))


def _count(shop: Ready, table: type) -> int:
    with session_scope(shop.url) as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_an_order_priced_from_the_database_with_stock_attribution_and_an_empty_cart(shop: Ready) -> None:
    sid = "sess-place-0001"
    with session_scope(shop.url) as s:  # the chat recommended the jacket, then the shopper clicked it
        shown = recommend_products(s, query=SearchQuery(category="jackets"), session_id=sid, k=50)
        assert shop.jacket_product in {r.card.id for r in shown.items}
        record_impressions(s, result=shown, source="chat", session_id=sid, customer_id=None, now=shop.now)
        click = record_interaction(s, product_id=shop.jacket_product, kind="click", session_id=sid, customer_id=ALEX)
        assert click is not None
        click_id = click.id
    fill(shop.url, sid, shop.jacket, quantity=2, customer_id=ALEX)
    fill(shop.url, sid, shop.untracked, customer_id=ALEX)
    with session_scope(shop.url) as s:
        prices = {v.id: v.price_cents if v.price_cents is not None else v.product.price_cents
                  for v in s.scalars(select(ProductVariant)
                                     .where(ProductVariant.id.in_([shop.jacket, shop.untracked])))}
    goods = 2 * prices[shop.jacket] + prices[shop.untracked]
    fee = 0 if goods >= 7500 else 595  # the demo's shipping_cost policy

    result = _checkout(shop, _request(sid))

    assert result.status == "placed", result
    assert result.order is not None and result.order.total_cents == goods + fee
    assert _stock(shop, shop.jacket) == 3 and _stock(shop, shop.untracked) is None  # unknown stays unknown
    with session_scope(shop.url) as s:
        order = s.scalar(select(Order).where(Order.number == result.order.number))
        assert order is not None and order.customer_id == ALEX and order.status == "pending"
        assert (order.subtotal_cents, order.shipping_cents, order.total_cents) == (goods, fee, goods + fee)
        assert [e.status for e in order.events] == ["pending"] and order.ship_country == "US"
        assert len(order.number) == 6 and order.number.isdigit()  # the chat's order lookup reads six digits
        assert s.scalar(select(func.count()).select_from(CartItem)) == 0  # the cart is empty
        attribution = s.scalar(select(OrderAttribution).where(OrderAttribution.order_id == order.id))
        assert attribution is not None and attribution.conversation_id == sid and attribution.offer_id is None
        lines = {a.product_id: a for a in s.scalars(select(OrderLineAttribution)
                                                   .where(OrderLineAttribution.order_id == order.id))}
        impression = s.get(RecommendationImpression, lines[shop.jacket_product].impression_id)
        assert impression is not None and impression.session_id == sid and impression.source == "chat"
        assert lines[shop.jacket_product].interaction_id in {click_id, s.scalar(
            select(func.max(Interaction.id)).where(Interaction.kind == "add_to_cart",
                                                   Interaction.product_id == shop.jacket_product))}
        assert lines[shop.jacket_product].revenue_cents == 2 * prices[shop.jacket]
        purchases = s.scalars(select(Interaction.product_id).where(Interaction.kind == "purchase",
                                                                   Interaction.session_id == sid)).all()
        assert sorted(purchases) == sorted([shop.jacket_product, shop.product_of(shop.untracked)])


def test_a_replayed_checkout_returns_the_same_order_and_takes_stock_once(shop: Ready) -> None:
    sid = "sess-replay-001"
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    before = _count(shop, Order)
    first = _checkout(shop, _request(sid, "double-click-key-0001"))
    again = _checkout(shop, _request(sid, "double-click-key-0001"))
    assert first.status == "placed" and again.status == "replayed"
    assert first.order is not None and again.order is not None and again.order.number == first.order.number
    assert again.order.total == first.order.total and _stock(shop, shop.jacket) == 4
    assert _count(shop, Order) == before + 1
    fill(shop.url, "sess-replay-002", shop.jacket, customer_id=ALEX)
    stolen = _checkout(shop, _request("sess-replay-002", "double-click-key-0001"))
    assert stolen.status == "key_reused" and stolen.order is None  # the key says nothing of the other order
    assert _stock(shop, shop.jacket) == 4


def test_a_double_click_racing_itself_places_one_order(shop: Ready) -> None:
    sid = "sess-race-self-1"
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    before = _count(shop, Order)
    results: list[CheckoutResult] = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(_checkout(shop, _request(sid, "same-key-racing-0001")))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status for r in results) == ["placed", "replayed"]
    assert _count(shop, Order) == before + 1 and _stock(shop, shop.jacket) == 4


def test_two_checkouts_race_for_the_last_unit_and_one_wins(shop: Ready) -> None:
    fill(shop.url, "sess-last-aaaa", shop.last_unit, customer_id=ALEX)
    fill(shop.url, "sess-last-bbbb", shop.last_unit, customer_id=shop.other)
    before = _count(shop, Order)
    results: list[CheckoutResult] = []
    barrier = threading.Barrier(2)

    def go(sid: str, customer: int) -> None:
        barrier.wait()
        results.append(_checkout(shop, _request(sid, f"last-unit-{sid}", customer_id=customer)))

    threads = [threading.Thread(target=go, args=a) for a in (("sess-last-aaaa", ALEX),
                                                             ("sess-last-bbbb", shop.other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.status for r in results) == ["out_of_stock", "placed"], results
    loser = next(r for r in results if r.status == "out_of_stock")
    assert "sold out" in loser.message
    assert _stock(shop, shop.last_unit) == 0 and _count(shop, Order) == before + 1


def test_own_code_is_redeemed_once_and_credited_to_the_offer(shop: Ready) -> None:
    sid = "sess-code-0001"
    code = shop.codes["alex_jackets"]
    with session_scope(shop.url) as s:
        code_id = s.scalar(select(OfferCode.id).where(OfferCode.code == code))
        s.add(OfferEvent(customer_id=ALEX, offer_id=None, arm="jackets15", policy="uplift", shown_at=shop.now,
                         code_id=code_id))
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    preview = None
    with session_scope(shop.url) as s:
        preview = preview_checkout(s, request=_request(sid, promo_code=code.lower()), now=shop.now, codes=CODES)
    assert preview.status == "preview" and preview.order is not None and preview.order.number == ""
    result = _checkout(shop, _request(sid, promo_code=f" {code.lower()} ",
                                      expected_total_cents=preview.order.total_cents))
    assert result.status == "placed", result
    assert result.order is not None and result.order.code == code and result.order.discount != "$0.00"
    with session_scope(shop.url) as s:
        row = s.scalar(select(OfferCode).where(OfferCode.code == code))
        assert row is not None and row.order_ref == result.order.number and row.redeemed_at is not None
        offer = s.scalar(select(Offer).where(Offer.key == "jackets15"))
        assert offer is not None and row.discount_cents and offer.spent_cents == row.discount_cents > 0
        order = s.scalar(select(Order).where(Order.number == result.order.number))
        assert order is not None
        assert order.total_cents == order.subtotal_cents + order.shipping_cents - offer.spent_cents
        attribution = s.scalar(select(OrderAttribution).where(OrderAttribution.order_id == order.id))
        assert attribution is not None and (attribution.offer_id, attribution.offer_code_id) == (offer.id, row.id)
        event = s.get(OfferEvent, attribution.offer_event_id)
        assert event is not None and event.code_id == row.id
        assert (event.converted, event.redeemed, event.revenue_cents) == (True, True, order.total_cents)
    fill(shop.url, "sess-code-0002", shop.jacket, customer_id=ALEX)
    reuse = _checkout(shop, _request("sess-code-0002", "key-0000000000000002", promo_code=code))
    assert reuse.status == "code_refused" and "already used" in reuse.message


def test_another_customers_code_is_refused_and_changes_nothing(shop: Ready) -> None:
    sid = "sess-theft-001"
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    result = _checkout(shop, _request(sid, promo_code=shop.codes["other_ten"]))
    assert result.status == "code_refused" and "another customer" in result.message and "$10" not in result.message
    assert _stock(shop, shop.jacket) == 5
    with session_scope(shop.url) as s:
        row = s.scalar(select(OfferCode).where(OfferCode.code == shop.codes["other_ten"]))
        assert row is not None and row.redeemed_at is None
        assert s.scalar(select(func.count()).select_from(CartItem)) == 1  # the cart is still there


@pytest.mark.parametrize(("code_name", "variant", "quantity", "words"), [
    ("alex_expired", "jacket", 1, "expired"),
    ("alex_socks", "sock", 2, "this cart has 2"),  # the bundle needs 3 pairs
    ("alex_jackets", "sock", 1, "nothing in this cart qualifies"),
    ("alex_ship", "jacket", 3, "ships free already"),  # three jackets are over the free-shipping threshold
])
def test_codes_that_cannot_apply_say_why_and_place_nothing(shop: Ready, code_name: str, variant: str,
                                                          quantity: int, words: str) -> None:
    sid = f"sess-{code_name}"
    fill(shop.url, sid, getattr(shop, variant), quantity=quantity, customer_id=ALEX)
    before = _count(shop, Order)
    result = _checkout(shop, _request(sid, promo_code=shop.codes[code_name]))
    assert result.status == "code_refused" and words in result.message, result.message
    assert _count(shop, Order) == before and _stock(shop, shop.jacket) == 5 and _stock(shop, shop.sock) == 10
    unknown = _checkout(shop, _request(sid, promo_code="RDG-ZZZZ-ZZZZ"))
    assert unknown.status == "code_refused" and "no code" in unknown.message


def test_bundle_and_free_shipping_codes_take_their_amounts_off(shop: Ready) -> None:
    fill(shop.url, "sess-bundle-01", shop.sock, quantity=3, customer_id=ALEX)
    bundle = _checkout(shop, _request("sess-bundle-01", "bundle-key-00000001", promo_code=shop.codes["alex_socks"]))
    assert bundle.status == "placed" and bundle.order is not None, bundle
    with session_scope(shop.url) as s:
        order = s.scalar(select(Order).where(Order.number == bundle.order.number))
        assert order is not None and order.subtotal_cents + order.shipping_cents - order.total_cents == \
            order.subtotal_cents * 20 // 100
    fill(shop.url, "sess-ship-0001", shop.sock, customer_id=ALEX)
    free = _checkout(shop, _request("sess-ship-0001", "ship-key-000000001", promo_code=shop.codes["alex_ship"]))
    assert free.status == "placed" and free.order is not None
    with session_scope(shop.url) as s:
        order = s.scalar(select(Order).where(Order.number == free.order.number))
        assert order is not None and order.shipping_cents == 595 and order.total_cents == order.subtotal_cents


def test_negative_unknown_and_too_large_quantities(shop: Ready) -> None:
    sid = "sess-qty-00001"
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    for bad in ({shop.jacket: -1}, {shop.jacket: 0}, {shop.jacket: 11}):
        with pytest.raises(CheckoutInputError, match="from 1 to 10"):
            _checkout(shop, _request(sid, quantities=bad))
    with pytest.raises(CheckoutInputError, match="not in this cart"):
        _checkout(shop, _request(sid, quantities={shop.sock: 1}))
    more = _checkout(shop, _request(sid, quantities={shop.jacket: 6}))  # 5 in stock
    assert more.status == "out_of_stock" and "Only 5" in more.message
    assert _stock(shop, shop.jacket) == 5
    fewer = _checkout(shop, _request(sid, quantities={shop.jacket: 2}))
    assert fewer.status == "placed" and _stock(shop, shop.jacket) == 3


def test_the_price_is_the_databases_and_a_changed_total_is_refused(shop: Ready) -> None:
    sid = "sess-price-001"
    fill(shop.url, sid, shop.jacket, customer_id=ALEX)
    shown = _checkout(shop, _request(sid, expected_total_cents=1))  # what a tampered page might claim
    assert shown.status == "price_changed" and shown.total_cents is not None and shown.total_cents > 1
    with session_scope(shop.url) as s:  # the shop raises the price after the cart was filled
        variant = s.get(ProductVariant, shop.jacket)
        assert variant is not None
        variant.price_cents = 12345
    placed = _checkout(shop, _request(sid))
    assert placed.status == "placed" and placed.order is not None
    assert placed.order.lines[0]["unit_price"] == "$123.45"


def test_carts_of_other_customers_and_other_sessions(shop: Ready) -> None:
    fill(shop.url, "sess-alex-cart", shop.jacket, customer_id=ALEX)
    other = _checkout(shop, _request("sess-alex-cart", customer_id=shop.other))
    assert other.status == "not_your_cart"
    guest = _checkout(shop, _request("sess-alex-cart", customer_id=None, email="guest@example.org"))
    assert guest.status == "needs_sign_in"
    gone = _checkout(shop, _request("sess-alex-cart", customer_id=999999))  # a signed id of no customer
    assert gone.status == "needs_sign_in"
    empty = _checkout(shop, _request("sess-nobody-here"))
    assert empty.status == "empty"
    assert _stock(shop, shop.jacket) == 5


def test_guests_order_with_an_email_and_cannot_use_codes(shop: Ready) -> None:
    fill(shop.url, "sess-guest-001", shop.sock)
    with_code = _checkout(shop, _request("sess-guest-001", customer_id=None, email="new.guest@example.org",
                                         promo_code=shop.codes["alex_socks"]))
    assert with_code.status == "code_refused" and "Sign in" in with_code.message
    placed = _checkout(shop, _request("sess-guest-001", customer_id=None, email=" New.Guest@Example.org "))
    assert placed.status == "placed" and placed.order is not None
    with session_scope(shop.url) as s:
        guest = s.scalar(select(Customer).where(Customer.email == "new.guest@example.org"))
        assert guest is not None and not guest.marketing_opt_in
        order = s.scalar(select(Order).where(Order.number == placed.order.number))
        assert order is not None and order.customer_id == guest.id
    with pytest.raises(CheckoutInputError, match="email"):
        _checkout(shop, _request("sess-guest-001", customer_id=None, email="not-an-email"))


def test_bad_requests_say_what_is_allowed(shop: Ready) -> None:
    base = _request("sess-bad-input")
    for request, words in ((replace(base, idempotency_key="short"), "idempotency_key"),
                           (replace(base, session_id="../../etc"), "session"),
                           (replace(base, address=replace(HOME, country="USA")), "two-letter"),
                           (replace(base, address=replace(HOME, name="  ")), "'name' is required"),
                           (replace(base, promo_code="<script>"), "promo_code"),
                           (replace(base, shipping_method="drone"), "standard, express")):
        with pytest.raises(CheckoutInputError, match=words):
            _checkout(shop, request)
    with session_scope(shop.url) as s:
        assert s.scalar(select(func.count()).select_from(Cart).where(Cart.session_id == "sess-bad-input")) == 0
