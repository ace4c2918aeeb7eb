"""Orders: identity-checked lookup, status summaries, cancellation, address changes.

Every function that reveals or changes an order takes the order number *and* the
email on the order. A wrong pair, an unknown number and another customer's number
all give the same answer (``None`` / ``"not_found"``), so nothing leaks. The status
summary includes the order's returns (RMA number, status and refund), so "where is my
refund?" is answered from the same verified lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from shop.commerce.platform import CommercePlatform
from shop.commerce.write_back import shipping_address, write_order_change
from shop.db.engine import rows_changed
from shop.db.schema import Order, OrderItem, OrderStatusEvent, ProductVariant, Return
from shop.services.money import format_money
from shop.services.text_parse import Address

CANCELLABLE = frozenset({"pending", "processing"})
ADDRESS_CHANGEABLE = frozenset({"pending", "processing"})


@dataclass(frozen=True)
class OrderLine:
    """One line of an order as shown to its owner."""

    item_id: int
    title: str
    size: str | None
    colour: str | None
    quantity: int
    unit_price: str


@dataclass(frozen=True)
class ReturnLine:
    """One return of an order as shown to its owner: ``status`` is the ``returns.status``
    (requested, approved, received, refunded, rejected), ``refund`` the amount as money."""

    rma_number: str
    item_title: str
    quantity: int
    status: str
    refund: str
    requested_on: str

    def sentence(self) -> str:
        """One plain sentence about the return and its refund."""
        what = f"Return {self.rma_number} for {self.item_title}"
        if self.quantity > 1:
            what += f" (× {self.quantity})"
        if self.status == "refunded":
            return f"{what}: refunded, {self.refund}."
        if self.status == "received":
            return f"{what}: we've received it; refund of {self.refund} pending."
        if self.status == "approved":
            return f"{what}: approved, refund of {self.refund} pending."
        if self.status == "rejected":
            return f"{what}: not accepted, so there is no refund."
        return f"{what}: requested on {self.requested_on}; refund of {self.refund} once it's approved and received."


@dataclass(frozen=True)
class OrderSummary:
    """What the owner of an order may see about it."""

    number: str
    status: str
    placed_on: str
    total: str
    lines: list[OrderLine]
    shipping_method: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_on: str | None = None
    delivered_on: str | None = None
    estimated_delivery: str | None = None
    ship_to: str = ""
    history: list[tuple[str, str]] = field(default_factory=list)
    returns: list[ReturnLine] = field(default_factory=list)

    def status_sentence(self) -> str:
        """One plain sentence about where the order is."""
        n = f"Order #{self.number}"
        if self.status == "delivered":
            return f"{n} was delivered on {self.delivered_on}."
        if self.status == "shipped":
            track = f" with {self.carrier}, tracking number {self.tracking_number}" if self.tracking_number else ""
            eta = f" It should arrive by {self.estimated_delivery}." if self.estimated_delivery else ""
            return f"{n} shipped on {self.shipped_on}{track}.{eta}"
        if self.status == "cancelled":
            return f"{n} was cancelled."
        return f"{n} was placed on {self.placed_on} and is being prepared ({self.status}); it hasn't shipped yet."


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def verify_order(session: Session, *, order_number: str, email: str) -> Order | None:
    """The order with this number whose customer has this email, or ``None``.

    ``None`` for an unknown number, a wrong email and another customer's order alike.
    """
    if not order_number or not email:
        return None
    order = session.scalar(
        select(Order)
        .where(Order.number == order_number.strip().lstrip("#"))
        .options(selectinload(Order.customer), selectinload(Order.items), selectinload(Order.events))
    )
    if order is None or _normalise_email(order.customer.email) != _normalise_email(email):
        return None
    return order


def _day(value: datetime | None) -> str | None:
    return value.strftime("%B %-d, %Y") if value else None


def order_returns(session: Session, *, order: Order) -> list[ReturnLine]:
    """The returns of a verified ``order`` (its own customer's only), oldest first."""
    rows = session.execute(
        select(Return, OrderItem.title)
        .join(OrderItem, OrderItem.id == Return.order_item_id)
        .where(Return.order_id == order.id, Return.customer_id == order.customer_id, OrderItem.order_id == order.id)
        .order_by(Return.requested_at, Return.id)
    )
    return [
        ReturnLine(ret.rma_number, title, ret.quantity, ret.status, format_money(ret.refund_cents, order.currency),
                   _day(ret.requested_at) or "")
        for ret, title in rows
    ]


def summarize_order(order: Order, *, transit_days: int = 5, returns: list[ReturnLine] | None = None) -> OrderSummary:
    """An :class:`OrderSummary` of a verified order (with ``returns``, when given)."""
    eta = None
    if order.status == "shipped" and order.shipped_at:
        eta = _day(order.shipped_at + timedelta(days=transit_days))
    lines = [
        OrderLine(i.id, i.title, i.size, i.colour, i.quantity, format_money(i.unit_price_cents, order.currency))
        for i in order.items
    ]
    return OrderSummary(
        number=order.number,
        status=order.status,
        placed_on=_day(order.placed_at) or "",
        total=format_money(order.total_cents, order.currency),
        lines=lines,
        shipping_method=order.shipping_method,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_on=_day(order.shipped_at),
        delivered_on=_day(order.delivered_at),
        estimated_delivery=eta,
        ship_to=f"{order.ship_line1}, {order.ship_city} {order.ship_postcode}",
        history=[(e.status, _day(e.at) or "") for e in order.events],
        returns=list(returns or []),
    )


def lookup_order(session: Session, *, order_number: str, email: str) -> OrderSummary | None:
    """The summary of the order, with its returns, if the number and email match, else ``None``."""
    order = verify_order(session, order_number=order_number, email=email)
    return summarize_order(order, returns=order_returns(session, order=order)) if order else None


@dataclass(frozen=True)
class ChangeResult:
    """Outcome of a cancel or address change. ``reason`` is one of ``"ok"``,
    ``"not_found"``, ``"already_shipped"``, ``"already_cancelled"``, ``"delivered"``;
    for an order on a commerce platform also ``"platform_unavailable"`` (not reachable
    or not configured: nothing changed) and ``"refused"`` (the platform said no for
    another reason)."""

    ok: bool
    reason: str
    order_number: str | None = None
    detail: str = ""


def _blocked_reason(order: Order) -> str:
    if order.status == "cancelled":
        return "already_cancelled"
    if order.status == "delivered":
        return "delivered"
    return "already_shipped"


def cancel_order(session: Session, *, order_number: str, email: str, now: datetime,
                 platform: CommercePlatform | None = None) -> ChangeResult:
    """Cancel a verified order that has not shipped, record the status change and put
    the items back in stock. Safe against a concurrent status change: the update only
    applies while the order is still cancellable.

    An order on a commerce platform (``external_source``) is cancelled there first,
    through ``platform`` (which restocks), and mirrored as the platform returns it
    (``shop.commerce.write_back``)."""
    order = verify_order(session, order_number=order_number, email=email)
    if order is None:
        return ChangeResult(False, "not_found")
    if order.status not in CANCELLABLE:
        return ChangeResult(False, _blocked_reason(order), order.number)
    if order.external_source is not None:
        written = write_order_change(session, order=order, platform=platform, now=now, what="cancel",
                                     change=lambda target, ext: target.cancel_order(external_id=ext,
                                                                                    reason="customer"))
        if written.order is None:
            return ChangeResult(False, written.reason, order.number)
        return ChangeResult(True, "ok", order.number,
                            detail=format_money(written.order.total_cents, written.order.currency))
    updated = rows_changed(session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status.in_(CANCELLABLE))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    ))
    if updated != 1:
        session.refresh(order)
        return ChangeResult(False, _blocked_reason(order), order.number)
    session.add(OrderStatusEvent(order_id=order.id, status="cancelled", at=now, note="cancelled by customer in chat"))
    for item in order.items:
        if item.variant_id is not None:
            session.execute(
                update(ProductVariant)
                .where(ProductVariant.id == item.variant_id, ProductVariant.stock.is_not(None))  # unknown stays unknown
                .values(stock=ProductVariant.stock + item.quantity)
            )
    session.flush()
    refund = format_money(order.total_cents, order.currency)
    return ChangeResult(True, "ok", order.number, detail=refund)


def change_shipping_address(
    session: Session, *, order_number: str, email: str, address: Address, now: datetime,
    platform: CommercePlatform | None = None,
) -> ChangeResult:
    """Point a verified, not yet shipped order at a new address and record it (on the
    order's commerce platform first, through ``platform``, as :func:`cancel_order`)."""
    order = verify_order(session, order_number=order_number, email=email)
    if order is None:
        return ChangeResult(False, "not_found")
    if order.status not in ADDRESS_CHANGEABLE:
        return ChangeResult(False, _blocked_reason(order), order.number)
    if order.external_source is not None:
        new = shipping_address(order, line1=address.line1, line2=address.line2, city=address.city,
                               postcode=address.postcode, country=address.country)
        written = write_order_change(
            session, order=order, platform=platform, now=now, what="address change",
            change=lambda target, ext: target.change_shipping_address(external_id=ext, address=new))
        if not written.ok:
            return ChangeResult(False, written.reason, order.number)
        session.add(OrderStatusEvent(order_id=order.id, status=order.status, at=now,
                                     note="shipping address changed by customer in chat"))
        session.flush()
        return ChangeResult(True, "ok", order.number, detail=address.one_line())
    order.ship_line1 = address.line1
    order.ship_line2 = address.line2
    order.ship_city = address.city
    order.ship_postcode = address.postcode
    order.ship_country = address.country
    session.add(OrderStatusEvent(order_id=order.id, status=order.status, at=now,
                                 note="shipping address changed by customer in chat"))
    session.flush()
    return ChangeResult(True, "ok", order.number, detail=address.one_line())

