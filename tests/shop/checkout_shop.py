"""A demo shop made ready for checkout tests (service and HTTP): known variants with set
stock (one tracked, one last unit, one not tracked), offers valid around the real clock
(the cart writes its interactions at the real time), and promo codes of two customers.

``ready_shop(url)`` -> :class:`Ready` with the ids the tests use; ``fill(url, ...)``
puts a variant in a conversation's cart through the real ``add_to_cart``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.db.engine import session_scope
from shop.db.schema import Category, Customer, Offer, Product, ProductVariant
from shop.promo.offers import issue_code
from shop.services.cart import add_to_cart
from shop.services.interactions import utc_now

DEMO_AS_OF = datetime(2026, 11, 1)
ALEX = 1  # the demo persona, opted in to marketing


@dataclass(frozen=True)
class Ready:
    url: str
    now: datetime
    other: int  # another opted-in customer
    jacket: int  # variant ids
    jacket_product: int
    sock: int
    last_unit: int
    untracked: int
    codes: dict[str, str]  # name -> code

    def product_of(self, variant_id: int) -> int:
        with session_scope(self.url) as s:
            product_id = s.scalar(select(ProductVariant.product_id).where(ProductVariant.id == variant_id))
            assert product_id is not None
            return int(product_id)


def _variant_in(s: Session, slug: str, *, skip: set[int]) -> ProductVariant:
    """A variant of an active product in category ``slug`` whose product is none of ``skip``."""
    rows = s.scalars(select(ProductVariant).join(Product, Product.id == ProductVariant.product_id)
                     .join(Category, Category.id == Product.category_id)
                     .where(Category.slug == slug, Product.is_active.is_(True), Product.id.not_in(skip or {0}))
                     .order_by(ProductVariant.id))
    variant = next(iter(rows), None)
    assert variant is not None, f"the demo shop has no {slug}"
    return variant


def ready_shop(url: str) -> Ready:
    """Set stock, move the offers around today, issue codes (see the module docstring)."""
    now = utc_now().replace(microsecond=0)
    with session_scope(url) as s:
        s.execute(update(Offer).values(starts_at=now - timedelta(days=30), ends_at=now + timedelta(days=60),
                                       spent_cents=0, active=True))
        other = s.scalar(select(Customer.id).where(Customer.marketing_opt_in.is_(True), Customer.id != ALEX)
                         .order_by(Customer.id))
        assert other is not None
        used: set[int] = set()
        picked = {}
        for name, slug, stock in (("jacket", "jackets", 5), ("sock", "socks", 10), ("last_unit", "fleece", 1),
                                  ("untracked", "tents", None)):
            variant = _variant_in(s, slug, skip=used)
            variant.stock = stock
            used.add(variant.product_id)
            picked[name] = variant
        s.flush()
        offers = {o.key: o for o in s.scalars(select(Offer))}
        codes = {}
        for name, key, customer, issued in (("alex_jackets", "jackets15", ALEX, now),
                                            ("alex_socks", "socks_bundle", ALEX, now),
                                            ("alex_ship", "free_ship", ALEX, now),
                                            ("alex_expired", "ten_off", ALEX, now - timedelta(days=20)),
                                            ("other_ten", "ten_off", other, now)):
            code = issue_code(s, offer=offers[key], customer_id=customer, now=issued)
            assert code is not None
            codes[name] = code.code
        return Ready(url, now, int(other), picked["jacket"].id, picked["jacket"].product_id, picked["sock"].id,
                     picked["last_unit"].id, picked["untracked"].id, codes)


def fill(url: str, session_id: str, variant_id: int, *, quantity: int = 1, customer_id: int | None = None) -> None:
    """Add ``quantity`` of the variant to the conversation's cart (the assistant's add to cart)."""
    with session_scope(url) as s:
        v = s.get(ProductVariant, variant_id)
        assert v is not None
        result = add_to_cart(s, session_id=session_id, product_id=v.product_id, size=v.size, colour=v.colour,
                             customer_id=customer_id, quantity=quantity)
        assert result.status == "added", result
