"""Promo codes at the checkout: what a code takes off a cart, its redemption through
:func:`shop.promo.offers.redeem_code` (atomic, once), and the order credited to the
customer's offer decisions (``offer_events``).

:class:`PromoCodes` is the :class:`shop.services.checkout_pricing.CodeRedeemer` the
storefront hands to :func:`shop.services.checkout.checkout` (the promo layer sits above
the services, so the checkout takes it as an argument).

What a code takes off, from the offer's own terms (:func:`shop.promo.offers.applies_to`
decides which lines qualify, margin floor included): ``percent_off`` that percent of
each qualifying line; ``amount_off`` its amount, at most the qualifying goods;
``bundle`` its percent of the qualifying lines once they hold ``min_items``;
``free_shipping`` the shipping fee. Nothing qualifying, a bundle below its minimum, or
free shipping on an order that ships free: a sentence saying so, and no order.

The order's total is credited to every decision about this customer whose attribution
window (:data:`shop.promo.report.ATTRIBUTION_DAYS`) is open (control included, so the
A/B comparison stays fair): ``converted`` true, ``revenue_cents`` increased in SQL (two
simultaneous orders both count); the decision that issued the redeemed code also gets
``redeemed`` true.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from shop.db.schema import Offer, OfferCode, OfferEvent, Product
from shop.promo.offers import applies_to, redeem_code, terms_of
from shop.promo.report import ATTRIBUTION_DAYS
from shop.services.checkout_pricing import CodeQuote, PricedLine

REDEEM_REFUSALS = {
    "already_redeemed": "The code {code} was already used.",
    "not_found": "There is no code {code}: check it for typos.",
    "not_yours": "The code {code} was sent to another customer: a code works only for its own customer.",
    "expired": "The code {code} has expired.",
    "budget_spent": "The offer behind {code} has run out.",
}


def _refuse(code: str, status: str) -> CodeQuote:
    return CodeQuote(code, refusal=REDEEM_REFUSALS[status].format(code=code))


class PromoCodes:
    """The checkout's promo codes (see the module docstring)."""

    def quote(self, session: Session, *, code: str, customer_id: int, lines: Sequence[PricedLine],
              now: datetime) -> CodeQuote:
        row = session.scalar(select(OfferCode).where(OfferCode.code == code.strip().upper()[:32]))
        if row is None:
            return _refuse(code, "not_found")
        if row.customer_id != customer_id:  # nothing about the offer is shown to another customer
            return _refuse(code, "not_yours")
        if row.redeemed_at is not None:
            return _refuse(code, "already_redeemed")
        if row.expires_at <= now:
            return _refuse(code, "expired")
        offer = session.get(Offer, row.offer_id)
        if offer is None or not offer.active or offer.ends_at <= now:
            return CodeQuote(code, refusal=f"The offer behind {code} has ended.")
        if offer.spent_cents >= offer.budget_cents:
            return _refuse(code, "budget_spent")
        products = {p.id: p for p in session.scalars(select(Product).where(
            Product.id.in_({line.product_id for line in lines})))}
        eligible = [line for line in lines
                    if line.product_id in products and applies_to(session, offer, products[line.product_id])]
        terms = terms_of(session, offer)
        known = CodeQuote(code, offer_id=offer.id, code_id=row.id)
        if not eligible:
            return replace(known, refusal=f"{code} gives {terms.discount} on {terms.applies_to}: nothing in this "
                                          "cart qualifies.")
        if offer.kind == "free_shipping":
            return replace(known, free_shipping=True)
        qualifying = sum(line.total_cents for line in eligible)
        if offer.kind == "bundle":
            count = sum(line.quantity for line in eligible)
            if count < offer.min_items:
                return replace(known, refusal=f"{code} gives {terms.discount} on {terms.applies_to}; this cart "
                                              f"has {count} that qualif{'ies' if count == 1 else 'y'}.")
        if offer.kind == "amount_off":
            discount = min(offer.value, qualifying)
        else:  # percent_off, or a bundle at its minimum
            discount = sum(min(line.total_cents, line.total_cents * offer.value // 100) for line in eligible)
        if discount <= 0:
            return replace(known, refusal=f"{code} takes nothing off this cart.")
        return replace(known, goods_discount_cents=discount)

    def redeem(self, session: Session, *, quote: CodeQuote, customer_id: int, order_ref: str,
               discount_cents: int, now: datetime) -> str | None:
        result = redeem_code(session, code=quote.code, customer_id=customer_id, order_ref=order_ref,
                             discount=discount_cents, now=now)
        if result.status == "redeemed":
            return None
        return REDEEM_REFUSALS[result.status].format(code=quote.code)

    def attribute(self, session: Session, *, customer_id: int, quote: CodeQuote | None, revenue_cents: int,
                  now: datetime) -> int | None:
        open_window = (OfferEvent.customer_id == customer_id) & (OfferEvent.shown_at <= now) & (
            OfferEvent.shown_at > now - timedelta(days=ATTRIBUTION_DAYS))
        credited = or_(open_window, OfferEvent.code_id == quote.code_id) if quote and quote.code_id else open_window
        session.execute(update(OfferEvent).where(credited).values(
            converted=True, revenue_cents=func.coalesce(OfferEvent.revenue_cents, 0) + revenue_cents,
            redeemed=func.coalesce(OfferEvent.redeemed, False)).execution_options(synchronize_session=False))
        if quote is None or quote.code_id is None:
            return None
        session.execute(update(OfferEvent).where(OfferEvent.code_id == quote.code_id).values(redeemed=True)
                        .execution_options(synchronize_session=False))
        return session.scalar(select(OfferEvent.id).where(OfferEvent.code_id == quote.code_id)
                              .order_by(OfferEvent.shown_at.desc(), OfferEvent.id.desc()).limit(1))
