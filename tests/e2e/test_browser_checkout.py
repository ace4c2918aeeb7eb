"""The chat cart's checkout with a promo code and the widget's CSAT stars in a real
browser (``tests/browser/checkout.test.mjs``, Debian Chromium driven by playwright-core)
against the real stack and a storefront with checkout on (it checks the widget's
session tokens with the Rasa server's ``SHOP_SESSION_SECRET``).

Before: a customer of the e2e shop (opted in, not the demo persona, not the one the
other browser tests sign in as) is the storefront's demo sign-in; a jacket the demo
offer ``jackets15`` (15% off jackets and fleece) covers gets tracked stock; the customer
is issued a code of that offer, as the promo policy issues them. After the browser
test: the order is in the shop database with the discount, the code redeemed once for
it, the stock taken, the order attributed to the widget's conversation (and its line
to the add-to-cart), the second checkout with the same code placed nothing, and the
star tap is one ``csat_ratings`` row of that conversation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.db.attribution_tables import OrderAttribution, OrderLineAttribution
from shop.db.engine import session_scope
from shop.db.feedback_tables import CsatRating
from shop.db.schema import Category, Customer, Offer, OfferCode, Order, OrderItem, Product, ProductVariant
from shop.promo.offers import applies_to, issue_code
from tests.e2e.browser_support import Server, browser_missing, run_node
from tests.e2e.test_promo_conversations import _customers
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

CHECKOUT_STORE_PORT = 18002  # beside the browser tests' storefront (18000) and console (18001)
OFFER_KEY = "jackets15"
STOCK = 9


@dataclass(frozen=True)
class Seeded:
    customer_id: int
    code: str
    product_id: int
    title: str
    variant_ids: tuple[int, ...]


def _seed(url: str) -> Seeded:
    """A customer, a jacket the offer covers (stock :data:`STOCK` per variant) and the
    customer's code of the offer."""
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    eligible, _ = _customers(url)
    with session_scope(url) as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.marketing_opt_in.is_(True),
                                                         Customer.id.not_in((1, eligible))).order_by(Customer.id))
        assert customer_id is not None, "the e2e shop has another opted-in customer"
        offer = s.scalar(select(Offer).where(Offer.key == OFFER_KEY))
        assert offer is not None and offer.active and offer.starts_at <= now < offer.ends_at, \
            f"the demo offer {OFFER_KEY} is running"
        jackets = s.scalars(select(Product).join(Category, Category.id == Product.category_id)
                            .where(Category.slug.in_(offer.category_slugs), Product.is_active.is_(True))
                            .order_by(Product.id))
        product = next((p for p in jackets if applies_to(s, offer, p) and p.variants), None)
        assert product is not None, f"a product {OFFER_KEY} covers"
        for variant in product.variants:
            variant.stock = STOCK
        code = issue_code(s, offer=offer, customer_id=customer_id, now=now)
        assert code is not None
        return Seeded(int(customer_id), code.code, product.id, product.title,
                      tuple(v.id for v in product.variants))


@pytest.fixture(scope="module")
def seeded(stack: RunningStack, e2e_db_url: str) -> Seeded:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    return _seed(e2e_db_url)


@pytest.fixture(scope="module")
def checkout_store(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path, seeded: Seeded) -> Iterator[str]:
    """The demo storefront with checkout on, signing in as the seeded customer."""
    server = Server(["web"], port=CHECKOUT_STORE_PORT, log=e2e_workdir / "web-checkout.log",
                    env={"DATABASE_URL": e2e_db_url, "SHOP_IDENTITY_SECRET": "e2e-secret",
                         "SHOP_SESSION_SECRET": stack.session_secret,
                         "SHOP_WIDGET_SERVER_URL": f"http://127.0.0.1:{stack.rasa_port}",
                         "SHOP_DEMO_CUSTOMER_ID": str(seeded.customer_id)})
    try:
        yield server.wait().url
    finally:
        server.stop()


def test_chat_cart_checkout_with_a_code_and_csat_stars_in_chromium(
        stack: RunningStack, checkout_store: str, seeded: Seeded, e2e_db_url: str, tmp_path: Path) -> None:
    result_file = tmp_path / "result.json"
    run_node("checkout.test.mjs", stack=stack, tmp_path=tmp_path,
             env={"STORE_URL": checkout_store, "PROMO_CODE": seeded.code, "TARGET_TITLE": seeded.title,
                  "SEARCH_QUERY": f"show me the {seeded.title}", "RESULT_FILE": str(result_file)})
    result = json.loads(result_file.read_text(encoding="utf-8"))
    session_id, number = result["session"], result["order"]
    with session_scope(e2e_db_url) as s:
        order = s.scalar(select(Order).where(Order.number == number))
        assert order is not None and order.customer_id == seeded.customer_id
        items = list(s.scalars(select(OrderItem).where(OrderItem.order_id == order.id)))
        assert [(i.product_id, i.quantity) for i in items] == [(seeded.product_id, 1)]
        # the discount: 15% of the jacket, in the order's total and its attribution
        offer = s.scalar(select(Offer).where(Offer.key == OFFER_KEY))
        assert offer is not None
        discount = sum(i.unit_price_cents * i.quantity * offer.value // 100 for i in items)
        assert discount > 0
        assert order.total_cents == order.subtotal_cents + order.shipping_cents - discount
        attribution = s.scalar(select(OrderAttribution).where(OrderAttribution.order_id == order.id))
        assert attribution is not None
        assert attribution.conversation_id == session_id and attribution.source == "storefront"
        assert attribution.discount_cents == discount and attribution.offer_id == offer.id
        # the code: redeemed once, for this order; the second checkout placed nothing
        code = s.scalar(select(OfferCode).where(OfferCode.code == seeded.code))
        assert code is not None and attribution.offer_code_id == code.id
        assert code.redeemed_at is not None and code.order_ref == number and code.discount_cents == discount
        assert s.scalar(select(func.count()).select_from(OrderAttribution)
                        .where(OrderAttribution.offer_code_id == code.id)) == 1
        assert s.scalar(select(func.count()).select_from(OrderAttribution)
                        .where(OrderAttribution.conversation_id == session_id)) == 1
        # the stock: one taken from the variant ordered, none from the others
        rows = s.execute(select(ProductVariant.id, ProductVariant.stock)
                         .where(ProductVariant.id.in_(seeded.variant_ids))).all()
        stock = {variant_id: left for variant_id, left in rows}
        assert stock == {v: STOCK - 1 if v == items[0].variant_id else STOCK for v in seeded.variant_ids}
        # the line credited to the conversation's add-to-cart
        line = s.scalar(select(OrderLineAttribution).where(OrderLineAttribution.order_item_id == items[0].id))
        assert line is not None and line.interaction_id is not None
        # one rating, the star tapped; the forged and the second one stored nothing
        ratings = list(s.scalars(select(CsatRating).where(CsatRating.conversation == session_id)))
        assert [(r.score, r.trigger, r.handoff_id) for r in ratings] == [(4, "end_of_chat", None)]
    assert result["refusal"] == f"The code {seeded.code} was already used."
