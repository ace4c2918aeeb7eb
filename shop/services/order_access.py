"""Order checks that the dialogue needs while it collects an order number and email.

Small, serialisable results only (they cross from a worker thread into the action).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shop.services.orders import ADDRESS_CHANGEABLE, CANCELLABLE, verify_order
from shop.services.returns import ItemEligibility, item_eligibility


@dataclass(frozen=True)
class OrderAccess:
    """What the form needs to know about a verified order."""

    number: str
    status: str
    cancellable: bool
    address_changeable: bool
    item_count: int
    total_cents: int
    currency: str


def check_order_access(session: Session, *, order_number: str, email: str) -> OrderAccess | None:
    """``OrderAccess`` when the number and email belong together, else ``None``."""
    order = verify_order(session, order_number=order_number, email=email)
    if order is None:
        return None
    return OrderAccess(
        number=order.number,
        status=order.status,
        cancellable=order.status in CANCELLABLE,
        address_changeable=order.status in ADDRESS_CHANGEABLE,
        item_count=sum(i.quantity for i in order.items),
        total_cents=order.total_cents,
        currency=order.currency,
    )


def return_options(
    session: Session, *, order_number: str, email: str, now: datetime
) -> list[ItemEligibility] | None:
    """Eligibility of every item of a verified order, or ``None`` if not verified."""
    order = verify_order(session, order_number=order_number, email=email)
    if order is None:
        return None
    return item_eligibility(session, order=order, now=now)
