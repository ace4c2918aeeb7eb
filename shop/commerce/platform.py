"""The one interface every commerce backend implements.

The built-in backend (:class:`shop.commerce.builtin.BuiltinPlatform`) is the shop's own
database: nothing to sync and nothing to write back. Shopify and WooCommerce connectors
read through their APIs (paginated iterators, retried on 429 with ``Retry-After``) and
write a shopper's changes back before the mirror is updated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderRecord,
    ProductRecord,
    ReturnRecord,
    WebhookEvent,
)


@runtime_checkable
class CommercePlatform(Protocol):
    """A shop's system of record for catalog, inventory, customers and orders.

    Every method raises :class:`~shop.commerce.errors.PlatformUnavailable` when the
    platform can't be reached and :class:`~shop.commerce.errors.PlatformRefused` when it
    answers no. ``name`` is stored as ``external_source`` on mirrored rows.
    """

    name: str
    #: whether :meth:`request_return` can create a return/refund on this platform
    supports_returns: bool

    def iter_products(self, *, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        """Every product (active or not), page by page."""
        ...

    def iter_customers(self, *, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        """Every customer, page by page."""
        ...

    def iter_orders(self, *, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        """Every order, page by page, newest changes included."""
        ...

    def get_order(self, *, external_id: str) -> OrderRecord:
        """One order as the platform has it now."""
        ...

    def cancel_order(self, *, external_id: str, reason: str) -> OrderRecord:
        """Cancel an unfulfilled order (restocking its items) and return it as it is now."""
        ...

    def change_shipping_address(self, *, external_id: str, address: AddressRecord) -> OrderRecord:
        """Point an unfulfilled order at a new shipping address; return it as it is now."""
        ...

    def request_return(self, *, order_external_id: str, line_external_id: str, quantity: int,
                       reason: str) -> ReturnRecord:
        """Open a return (or, where the platform has no returns, a refund request) for one line."""
        ...

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a webhook delivery's signature over the raw ``body`` and parse it.

        Raises :class:`~shop.commerce.errors.WebhookRejected` for a missing or wrong
        signature, an unknown topic or a malformed body."""
        ...
