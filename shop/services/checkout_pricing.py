"""What a checkout charges, priced from the database only: the cart's lines at today's
prices, the shipping fee from the ``shipping_cost`` policy, and the seam through which a
promo code is quoted and redeemed (:class:`CodeRedeemer`, implemented in
:mod:`shop.promo.checkout_codes`: the promo layer sits above the services, so the
checkout takes it as an argument instead of importing it).

Nothing the shopper's browser sends is a price: a line's unit price is the variant's
own price when it has one, else the product's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import CartItem, Policy
from shop.services.money import format_money

ShippingMethod = Literal["standard", "express"]
SHIPPING_METHODS: tuple[ShippingMethod, ...] = ("standard", "express")


@dataclass(frozen=True)
class PricedLine:
    """One cart line at the database's price. ``stock``: the variant's stock when read
    (``None``: not tracked)."""

    variant_id: int
    product_id: int
    title: str
    size: str | None
    colour: str | None
    quantity: int
    unit_cents: int
    currency: str
    stock: int | None

    @property
    def total_cents(self) -> int:
        return self.unit_cents * self.quantity

    def as_dict(self) -> dict[str, object]:
        return {"product_id": self.product_id, "variant_id": self.variant_id, "title": self.title,
                "size": self.size, "colour": self.colour, "quantity": self.quantity,
                "unit_price": format_money(self.unit_cents, self.currency),
                "line_total": format_money(self.total_cents, self.currency)}


def priced_line(item: CartItem, quantity: int) -> PricedLine:
    """``item`` (loaded with its variant and product) for ``quantity`` at today's price."""
    variant, product = item.variant, item.product
    unit = variant.price_cents if variant.price_cents is not None else product.price_cents
    return PricedLine(variant.id, product.id, product.title, variant.size, variant.colour, quantity, int(unit),
                      product.currency, variant.stock)


def shipping_fee(session: Session, *, goods_cents: int, method: str) -> int:
    """The fee of ``method`` for goods worth ``goods_cents`` (after any discount), from the
    ``shipping_cost`` policy's ``standard_fee_cents`` (free from ``free_threshold_cents``)
    and ``express_fee_cents``; 0 when the shop has no such policy."""
    params = session.scalar(select(Policy.params).where(Policy.key == "shipping_cost")) or {}
    if method == "express":
        return int(params.get("express_fee_cents", params.get("standard_fee_cents", 0)))
    threshold = params.get("free_threshold_cents")
    if threshold is not None and goods_cents >= int(threshold):
        return 0
    return int(params.get("standard_fee_cents", 0))


@dataclass(frozen=True)
class CodeQuote:
    """What a promo code would take off a cart. ``refusal``: why it can't be used (a
    sentence for the shopper; nothing is taken off then). ``goods_discount_cents``: off
    the goods; ``free_shipping``: it waives the shipping fee instead. ``offer_id`` /
    ``code_id``: the offer and code, known once the code is the shopper's."""

    code: str
    refusal: str | None = None
    goods_discount_cents: int = 0
    free_shipping: bool = False
    offer_id: int | None = None
    code_id: int | None = None


class CodeRedeemer(Protocol):
    """Promo codes as the checkout uses them (``shop.promo.checkout_codes.PromoCodes``)."""

    def quote(self, session: Session, *, code: str, customer_id: int, lines: Sequence[PricedLine],
              now: datetime) -> CodeQuote:
        """What ``code`` takes off ``lines`` for this customer (reads only)."""
        ...

    def redeem(self, session: Session, *, quote: CodeQuote, customer_id: int, order_ref: str,
               discount_cents: int, now: datetime) -> str | None:
        """Redeem the quoted code for ``order_ref`` (atomic, once); the refusal sentence when
        it can't be (already used, expired, budget spent), else ``None``."""
        ...

    def attribute(self, session: Session, *, customer_id: int, quote: CodeQuote | None, revenue_cents: int,
                  now: datetime) -> int | None:
        """Credit the order to the customer's open offer decisions; the id of the decision
        that issued the redeemed code, if any."""
        ...
