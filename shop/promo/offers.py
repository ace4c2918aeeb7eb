"""Offers: who may get one, what it takes off, and codes that are unique, single-use,
tied to one customer and one offer, and redeemed atomically.

Issuing (:func:`issue_code`) gives each code a place (``slot``, 1 up to the offer's
``per_customer_limit``) that the database keeps unique per offer and customer, so two
simultaneous issues cannot give a customer more codes than the limit.

Redemption (:func:`redeem_code`) is one conditional ``UPDATE ... WHERE redeemed_at IS
NULL`` on the code and one conditional ``UPDATE ... WHERE spent + d <= budget`` on the
offer, in one transaction: two simultaneous redemptions of a code succeed at most
once, and an offer never spends past its budget. Redeeming again for the same order
returns the first result (idempotent).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.db.engine import rows_changed
from shop.db.schema import Category, Customer, Offer, OfferCode, Product
from shop.services.money import format_money

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_PREFIX = "RDG"


@dataclass(frozen=True)
class Terms:
    """An offer's terms in words and numbers, all from the database.

    ``discount``: "15% off", "$10 off", "free shipping", "20% off 2 or more";
    ``applies_to``: "jackets and fleece" or "everything"."""

    key: str
    kind: str
    discount: str
    applies_to: str
    ends_at: datetime


def terms_of(session: Session, offer: Offer) -> Terms:
    """The :class:`Terms` of ``offer``."""
    if offer.kind == "percent_off":
        discount = f"{offer.value}% off"
    elif offer.kind == "amount_off":
        discount = f"{format_money(offer.value, 'USD')} off"
    elif offer.kind == "bundle":
        discount = f"{offer.value}% off {offer.min_items} or more"
    else:
        discount = "free shipping"
    names: list[str] = []
    if offer.category_slugs:
        categories = session.scalars(select(Category).where(Category.slug.in_(offer.category_slugs)))
        names = [c.name.lower() for c in categories]
    if offer.product_ids:
        names += [p.title for p in session.scalars(select(Product).where(Product.id.in_(offer.product_ids)))]
    return Terms(offer.key, offer.kind, discount, " and ".join(names) if names else "everything", offer.ends_at)


def discount_cents(offer: Offer, product: Product, *, quantity: int = 1) -> int:
    """What ``offer`` takes off ``quantity`` of ``product`` (0 for free shipping, or a
    bundle below its minimum), never more than the price."""
    price = product.price_cents * quantity
    if offer.kind == "percent_off" or (offer.kind == "bundle" and quantity >= offer.min_items):
        return min(price, price * offer.value // 100)
    if offer.kind == "amount_off":
        return min(price, offer.value)
    return 0


def applies_to(session: Session, offer: Offer, product: Product) -> bool:
    """Whether ``offer`` covers ``product`` (its categories/products, and its margin floor)."""
    if offer.product_ids and product.id in offer.product_ids:
        covered = True
    elif offer.category_slugs:
        slug = session.scalar(select(Category.slug).where(Category.id == product.category_id))
        covered = slug in offer.category_slugs
    else:
        covered = not offer.product_ids
    if not covered:
        return False
    if product.cost_cents is None or offer.min_margin_pct <= 0:
        return True
    quantity = max(1, offer.min_items)
    left = product.price_cents * quantity - discount_cents(offer, product, quantity=quantity)
    return left >= product.cost_cents * quantity * (100 + offer.min_margin_pct) / 100


def codes_held(session: Session, *, offer_id: int, customer_id: int) -> int:
    """How many codes of ``offer_id`` the customer was ever issued."""
    return int(session.scalar(select(func.count()).select_from(OfferCode).where(
        OfferCode.offer_id == offer_id, OfferCode.customer_id == customer_id)) or 0)


def eligible_offers(session: Session, *, customer_id: int, now: datetime) -> list[Offer]:
    """Offers this customer may be issued now: active, within dates, budget left (at
    least one average discount), under the per-customer limit; customers must have
    opted in to marketing. Ordered by id."""
    customer = session.get(Customer, customer_id)
    if customer is None or not customer.marketing_opt_in:
        return []
    offers = session.scalars(select(Offer).where(
        Offer.active.is_(True), Offer.starts_at <= now, Offer.ends_at > now, Offer.spent_cents < Offer.budget_cents,
    ).order_by(Offer.id)).all()
    return [o for o in offers if codes_held(session, offer_id=o.id, customer_id=customer_id) < o.per_customer_limit]


def new_code(rng: secrets.SystemRandom | None = None) -> str:
    """``RDG-XXXX-XXXX`` from a 32-letter alphabet (40 bits of randomness)."""
    pick = (rng or secrets.SystemRandom()).choice
    body = "".join(pick(CODE_ALPHABET) for _ in range(8))
    return f"{CODE_PREFIX}-{body[:4]}-{body[4:]}"


def issue_code(session: Session, *, offer: Offer, customer_id: int, now: datetime,
               valid_days: int = 7) -> OfferCode | None:
    """A new unique code of ``offer`` for the customer, expiring after ``valid_days``
    or when the offer ends; ``None`` when the customer already holds the limit.

    The code takes the customer's next place (``slot`` = codes held + 1, never above the
    limit), which the database keeps unique per offer and customer: when a simultaneous
    issue for the same customer took that place first, this returns the code it issued
    instead of a second one."""
    held = codes_held(session, offer_id=offer.id, customer_id=customer_id)
    if held >= offer.per_customer_limit:
        return None
    slot = held + 1  # places are 1..limit: a stale count can only collide, never go past the limit
    expires = min(now + timedelta(days=valid_days), offer.ends_at)
    for _ in range(5):
        code = OfferCode(code=new_code(), offer_id=offer.id, customer_id=customer_id, slot=slot, issued_at=now,
                         expires_at=expires)
        try:
            with session.begin_nested():
                session.add(code)
                session.flush()
            return code
        except IntegrityError:
            taken = session.scalar(select(OfferCode).where(
                OfferCode.offer_id == offer.id, OfferCode.customer_id == customer_id, OfferCode.slot == slot))
            if taken is not None:  # a simultaneous issue won this place: the customer holds that code
                return taken
            continue  # the same code drawn twice: draw again
    raise RuntimeError("could not draw a unique code in 5 tries")


RedeemStatus = Literal["redeemed", "already_redeemed", "not_found", "not_yours", "expired", "budget_spent"]


@dataclass(frozen=True)
class Redemption:
    """The outcome of :func:`redeem_code`; ``discount_cents`` when it applied."""

    status: RedeemStatus
    discount_cents: int = 0


def redeem_code(session: Session, *, code: str, customer_id: int, order_ref: str, discount: int,
                now: datetime) -> Redemption:
    """Redeem ``code`` for ``order_ref`` taking ``discount`` cents off; atomic and
    idempotent (see the module docstring). The caller commits."""
    row = session.scalar(select(OfferCode).where(OfferCode.code == code.strip().upper()[:32]))
    if row is None:
        return Redemption("not_found")
    if row.customer_id != customer_id:
        return Redemption("not_yours")
    if row.redeemed_at is not None:
        if row.order_ref == order_ref:
            return Redemption("redeemed", row.discount_cents or 0)
        return Redemption("already_redeemed")
    if row.expires_at <= now:
        return Redemption("expired")
    spent = rows_changed(session.execute(
        update(Offer).where(Offer.id == row.offer_id, Offer.spent_cents + discount <= Offer.budget_cents)
        .values(spent_cents=Offer.spent_cents + discount)
    ))
    if spent != 1:
        return Redemption("budget_spent")
    claimed = rows_changed(session.execute(
        update(OfferCode).where(OfferCode.id == row.id, OfferCode.redeemed_at.is_(None))
        .values(redeemed_at=now, order_ref=order_ref, discount_cents=discount)
    ))
    if claimed != 1:  # another redemption won the race: give the budget back
        session.execute(update(Offer).where(Offer.id == row.offer_id).values(spent_cents=Offer.spent_cents - discount))
        session.expire(row)
        again = session.scalar(select(OfferCode).where(OfferCode.id == row.id))
        if again is not None and again.order_ref == order_ref:
            return Redemption("redeemed", again.discount_cents or 0)
        return Redemption("already_redeemed")
    return Redemption("redeemed", discount)
