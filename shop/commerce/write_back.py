"""Changes a shopper makes in chat to an order that lives on a commerce platform
(Shopify, WooCommerce): written to the platform first, mirrored locally only after it
said yes. ``shop.services.orders`` and ``shop.services.returns`` call these for orders
with an ``external_source``.

An order with an ``external_source`` is the platform's: :func:`write_order_change` calls
the configured platform and, on success, mirrors the order as the platform returned it
(:func:`shop.commerce.mirror.upsert_order`); :func:`write_return` does the same for a
return (:func:`shop.commerce.mirror.upsert_return`). When the platform is not the
order's, is not configured, or can't be reached, the answer is
:data:`PLATFORM_UNAVAILABLE` and nothing changes locally; a refusal comes back as one of
the shop's own reasons (``already_shipped``...), anything else as ``"refused"``. The
platform's own message goes to the log only: it can name internal states and ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shop.commerce.errors import PlatformConfigError, PlatformRefused, PlatformUnavailable
from shop.commerce.mirror import upsert_order, upsert_return
from shop.commerce.platform import CommercePlatform
from shop.commerce.records import AddressRecord, OrderRecord, ReturnRecord
from shop.db.schema import Order

log = logging.getLogger(__name__)

PLATFORM_UNAVAILABLE = "platform_unavailable"
#: refusal reasons an order change passes on as they are; others become "refused"
ORDER_REFUSALS = frozenset({"already_shipped", "already_cancelled", "delivered", "not_found", "invalid"})
#: refusal reasons a return passes on as they are; others become "refused"
RETURN_REFUSALS = frozenset({"not_found", "not_delivered", "outside_window", "final_sale", "already_returned",
                             "not_supported"})


@dataclass(frozen=True)
class WriteOutcome:
    """``reason``: ``"ok"``, :data:`PLATFORM_UNAVAILABLE`, a passed-on refusal or
    ``"refused"``. ``order`` / ``ret``: what the platform returned (mirrored), on success."""

    ok: bool
    reason: str
    order: OrderRecord | None = None
    ret: ReturnRecord | None = None
    return_id: int | None = None


def platform_for(order: Order, platform: CommercePlatform | None) -> CommercePlatform | None:
    """``platform`` when it is the one ``order`` lives on, else ``None`` (not configured,
    or configured for another platform: the order can't be changed from here now)."""
    if platform is None or order.external_source is None or platform.name != order.external_source:
        if order.external_source is not None:
            log.warning("order %s lives on %s but the configured commerce backend is %s: not changed",
                        order.id, order.external_source, getattr(platform, "name", "builtin"))
        return None
    return platform


def _refusal(exc: PlatformRefused, allowed: frozenset[str], *, what: str, order_id: int) -> str:
    log.info("%s of order %s refused by the platform: %s (%s)", what, order_id, exc.reason, exc.detail[:300])
    return exc.reason if exc.reason in allowed else "refused"


def write_order_change(
    session: Session, *, order: Order, platform: CommercePlatform | None, now: datetime, what: str,
    change: Callable[[CommercePlatform, str], OrderRecord],
) -> WriteOutcome:
    """Run ``change(platform, order.external_id)`` on the order's platform and mirror the
    order it returns. ``what`` names the change in logs (``"cancel"``, ``"address change"``)."""
    target = platform_for(order, platform)
    if target is None or not order.external_id:
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    try:
        record = change(target, order.external_id)
    except PlatformRefused as exc:
        return WriteOutcome(False, _refusal(exc, ORDER_REFUSALS, what=what, order_id=order.id))
    except PlatformUnavailable as exc:
        log.warning("%s of order %s: %s unavailable: %s", what, order.id, target.name, exc)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    except PlatformConfigError as exc:
        log.error("%s of order %s: %s is misconfigured: %s", what, order.id, target.name, exc)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    if record.external_id != order.external_id:
        # the change may have happened, but to what? Leave the mirror alone; the
        # platform's webhook (or the next sync) brings the truth.
        log.error("%s of order %s: %s answered with order %s instead of %s", what, order.id, target.name,
                  record.external_id, order.external_id)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    upsert_order(session, source=target.name, record=record, now=now)
    session.refresh(order)
    return WriteOutcome(True, "ok", order=record)


def shipping_address(order: Order, *, line1: str, line2: str | None, city: str, postcode: str,
                     country: str) -> AddressRecord:
    """The new shipping address for the platform, keeping the name on the order."""
    return AddressRecord(name=order.ship_name, line1=line1, line2=line2, city=city, postcode=postcode,
                         country=country)


def write_return(
    session: Session, *, order: Order, line_external_id: str | None, quantity: int, reason: str,
    platform: CommercePlatform | None, now: datetime,
) -> WriteOutcome:
    """Open a return for one line of ``order`` on its platform and mirror it.

    ``"not_supported"`` when the platform can't take returns (or the line has no id
    there): the shopper is offered a person instead."""
    target = platform_for(order, platform)
    if target is None or not order.external_id:
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    if not target.supports_returns or not line_external_id:
        return WriteOutcome(False, "not_supported")
    try:
        record = target.request_return(order_external_id=order.external_id, line_external_id=line_external_id,
                                       quantity=quantity, reason=reason)
    except PlatformRefused as exc:
        return WriteOutcome(False, _refusal(exc, RETURN_REFUSALS, what="return", order_id=order.id))
    except PlatformUnavailable as exc:
        log.warning("return on order %s: %s unavailable: %s", order.id, target.name, exc)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    except PlatformConfigError as exc:
        log.error("return on order %s: %s is misconfigured: %s", order.id, target.name, exc)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    if record.order_external_id != order.external_id or record.line_external_id != line_external_id:
        log.error("return on order %s: %s answered for order %s line %s", order.id, target.name,
                  record.order_external_id, record.line_external_id)
        return WriteOutcome(False, PLATFORM_UNAVAILABLE)
    return_id = upsert_return(session, source=target.name, record=record, now=now)
    return WriteOutcome(True, "ok", ret=record, return_id=return_id)
