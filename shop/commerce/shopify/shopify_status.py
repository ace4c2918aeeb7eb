"""How a Shopify order's state becomes the shop's order status, and a return's state
the shop's return status. One function per table, used for GraphQL nodes and for
webhook (REST) bodies alike.

Order status, first match wins:

| Shopify                                                           | shop status   |
|-------------------------------------------------------------------|---------------|
| ``cancelledAt`` set (REST ``cancelled_at``)                       | ``cancelled`` |
| ``displayFulfillmentStatus`` ``FULFILLED`` (REST ``fulfilled``)   | ``delivered`` |
| and every fulfillment that did not fail delivered (``deliveredAt``|               |
| or ``displayStatus DELIVERED``; REST ``shipment_status``)         |               |
| ``FULFILLED`` otherwise                                           | ``shipped``   |
| ``displayFinancialStatus`` ``PENDING`` or ``EXPIRED`` (payment    | ``pending``   |
| not taken: manual methods, a lapsed authorisation)                |               |
| anything else: ``UNFULFILLED``, ``PARTIALLY_FULFILLED``,          | ``processing``|
| ``IN_PROGRESS``, ``ON_HOLD``, ``SCHEDULED``, ``OPEN``,            |               |
| ``PENDING_FULFILLMENT``, ``REQUEST_DECLINED``, ``RESTOCKED``      |               |

A partly fulfilled order stays ``processing`` (the rest is still being prepared); the
tracking of the part that left is kept on the order. The connector refuses to cancel or
re-address it (``already_shipped``) without asking Shopify, which would refuse the
cancellation too.

Return status: ``REQUESTED`` -> ``requested``; ``OPEN`` -> ``approved``; ``CLOSED`` ->
``received``; ``DECLINED`` and ``CANCELED`` -> ``rejected``.
"""

from __future__ import annotations

PENDING_PAYMENT = frozenset({"PENDING", "EXPIRED"})

_RETURN_STATUS = {"REQUESTED": "requested", "OPEN": "approved", "CLOSED": "received",
                  "DECLINED": "rejected", "CANCELED": "rejected"}


def order_status(*, cancelled: bool, fulfillment_status: str | None, financial_status: str | None,
                 all_delivered: bool) -> str:
    """The shop's status for an order (the table above). Statuses in GraphQL spelling
    (``FULFILLED``, ``PENDING``); REST values are upper-cased by the caller."""
    if cancelled:
        return "cancelled"
    if (fulfillment_status or "").upper() == "FULFILLED":
        return "delivered" if all_delivered else "shipped"
    if (financial_status or "").upper() in PENDING_PAYMENT:
        return "pending"
    return "processing"


def return_status(status: str | None) -> str:
    """The shop's status for a Shopify return (``requested`` when unknown)."""
    return _RETURN_STATUS.get((status or "").upper(), "requested")
