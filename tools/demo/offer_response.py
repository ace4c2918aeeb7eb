"""Demo offers and a logged offer history with a hidden true uplift.

:func:`generate_offers` adds four offers (15% off jackets and fleece, $10 off,
free shipping, 20% off 3+ socks), a cost for every product (40-62% of its price), and
90 days of logged offer decisions: opted-in customers were shown one to three
random offers or, one time in five, nothing (control), and converted within 14 days with the
probability :func:`true_response` gives. The truth is a function of the hidden
customer profile (price level, activity, favourite categories), never stored: the
uplift model must learn it from the database alone, and the A/B simulation
(:mod:`tools.demo.offer_simulation`) draws outcomes from it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.db.schema import Customer, Offer, OfferEvent, Product
from tools.demo.profiles import CustomerProfile

HISTORY_DAYS = 90
CONTROL_SHARE = 0.2


@dataclass(frozen=True)
class DemoOffer:
    key: str
    name: str
    kind: str
    value: int
    categories: tuple[str, ...] = ()
    min_items: int = 1
    min_margin_pct: int = 10
    budget_cents: int = 2_000_000


DEMO_OFFERS = (
    DemoOffer("jackets15", "15% off jackets and fleece", "percent_off", 15, ("jackets", "fleece")),
    DemoOffer("ten_off", "$10 off your next order", "amount_off", 1_000),
    DemoOffer("free_ship", "Free shipping", "free_shipping", 0),
    DemoOffer("socks_bundle", "20% off 3 or more pairs of socks", "bundle", 20, ("socks",), min_items=3),
)

# how much each price level responds to each kind of offer (added conversion probability)
_LEVEL_UPLIFT = {
    "budget": {"percent_off": 0.10, "amount_off": 0.09, "free_shipping": 0.03, "bundle": 0.05},
    "mid": {"percent_off": 0.05, "amount_off": 0.05, "free_shipping": 0.04, "bundle": 0.03},
    "premium": {"percent_off": 0.01, "amount_off": 0.00, "free_shipping": 0.05, "bundle": 0.01},
}
_BASKET = {"budget": 6_000, "mid": 10_000, "premium": 16_000}


def true_response(profile: CustomerProfile, *, kind: str | None,
                  categories: tuple[str, ...] = ()) -> tuple[float, float]:
    """``(base, uplift)``: the chance this customer buys within 14 days with no offer,
    and what ``kind`` of offer (``None``: control) adds. Hidden: the demo's truth."""
    base = min(0.45, 0.03 + 0.05 * profile.activity)
    if kind is None:
        return base, 0.0
    uplift = _LEVEL_UPLIFT[profile.price_level][kind]
    if categories and set(categories) & set(profile.favourite_categories):
        uplift += 0.04
    if profile.activity > 2.0:  # would buy anyway
        uplift *= 0.4
    return base, min(uplift, 0.95 - base)


def basket_cents(profile: CustomerProfile, rng: random.Random) -> int:
    """A converted customer's order value in cents."""
    return int(_BASKET[profile.price_level] * rng.uniform(0.6, 1.6))


def generate_offers(session: Session, *, seed: int, as_of: datetime,
                    truth: dict[int, CustomerProfile]) -> dict[str, int]:
    """Add the demo offers, product costs and the logged history (see module docstring);
    returns row counts. Deterministic for a given ``seed`` and shop."""
    rng = random.Random(seed * 7919 + 17)
    for pid, price in session.execute(select(Product.id, Product.price_cents).order_by(Product.id)).all():
        session.execute(update(Product).where(Product.id == pid)
                        .values(cost_cents=int(price * rng.uniform(0.40, 0.62))))
    offers = []
    for spec in DEMO_OFFERS:
        offer = Offer(key=spec.key, name=spec.name, kind=spec.kind, value=spec.value, min_items=spec.min_items,
                      category_slugs=list(spec.categories), product_ids=[], min_margin_pct=spec.min_margin_pct,
                      budget_cents=spec.budget_cents, spent_cents=0, per_customer_limit=1,
                      starts_at=as_of - timedelta(days=HISTORY_DAYS), ends_at=as_of + timedelta(days=60), active=True)
        session.add(offer)
        offers.append((offer, spec))
    session.flush()
    customers = session.scalars(
        select(Customer.id).where(Customer.marketing_opt_in.is_(True)).order_by(Customer.id)
    ).all()
    events = []
    for cid in customers:
        profile = truth.get(cid)
        if profile is None:
            continue
        for _ in range(rng.choice((1, 2, 2, 3))):
            shown_at = as_of - timedelta(days=rng.uniform(15, HISTORY_DAYS))
            if rng.random() < CONTROL_SHARE:
                offer, spec = None, None
            else:
                offer, spec = offers[rng.randrange(len(offers))]
            base, uplift = true_response(profile, kind=spec.kind if spec else None,
                                         categories=spec.categories if spec else ())
            converted = rng.random() < base + uplift
            redeemed = bool(converted and offer is not None and rng.random() < 0.8)
            revenue = basket_cents(profile, rng) if converted else 0
            if redeemed and spec is not None and spec.kind in ("percent_off", "bundle"):
                revenue -= revenue * spec.value // 100
            elif redeemed and spec is not None and spec.kind == "amount_off":
                revenue = max(0, revenue - spec.value)
            events.append(OfferEvent(customer_id=cid, offer_id=offer.id if offer else None,
                                     arm=spec.key if spec else "control", policy="random", shown_at=shown_at,
                                     converted=converted, redeemed=redeemed, revenue_cents=revenue))
    session.add_all(events)
    session.flush()
    return {"offers": len(offers), "offer_events": len(events)}


SHIPPING_CENTS = 695
SOCK_PRICE_CENTS = 1_400


def expected_discount_cents(profile: CustomerProfile, *, kind: str, value: int, min_items: int = 1) -> float:
    """What an offer of ``kind``/``value`` costs the shop when this customer redeems it
    (their expected basket; free shipping: the standard rate)."""
    basket = _BASKET[profile.price_level] * 1.1  # mean of uniform(0.6, 1.6)
    if kind == "percent_off":
        return basket * value / 100
    if kind == "amount_off":
        return float(min(value, basket))
    if kind == "bundle":
        return SOCK_PRICE_CENTS * min_items * value / 100
    return float(SHIPPING_CENTS)
