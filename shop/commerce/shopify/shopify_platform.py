"""The Shopify connector: :class:`ShopifyPlatform`, a
:class:`~shop.commerce.platform.CommercePlatform` over the Admin GraphQL API.

Reads: ``products``, ``customers`` and ``orders`` connections, cursor-paginated
(``pageInfo { hasNextPage endCursor }``), oldest change first, ``updated_since`` as a
search filter (:mod:`shop.commerce.shopify.shopify_queries`). Shopify serves at most 25,000
objects through one paginated query (https://shopify.dev/docs/api/usage/limits), so
after ``window_objects`` objects the next page is asked for afresh from the last
``updatedAt`` seen (objects of that very second already handed on are skipped).

Writes: ``orderCancel`` (reason ``CUSTOMER``, restock, refund as the shop chose; the
mutation queues a job, polled briefly), ``orderUpdate`` (shipping address) and
``returnRequest`` (a return the merchant approves; :mod:`~shop.commerce.shopify.shopify_queries`
says why not ``returnCreate``). Before cancelling or re-addressing, the order is read:
Shopify would happily re-address a shipped order, the shop's rules say no.

Webhooks: :meth:`ShopifyPlatform.parse_webhook` verifies and reads a delivery
(:mod:`~shop.commerce.shopify.shopify_webhooks`, :mod:`~shop.commerce.shopify.shopify_webhook_records`).
``inventory_levels/update`` names an inventory item at one location; the connector asks
Shopify for the item's variant and its total ``inventoryQuantity`` (one small query)
so the stock it reports is the variant's, as a full sync would have it. A delivery that
needs such a call while Shopify can't be reached is rejected with 503: Shopify retries it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from shop.commerce.errors import PlatformConfigError, PlatformRefused, PlatformUnavailable, WebhookRejected
from shop.commerce.http import PlatformHttp
from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderRecord,
    ProductRecord,
    ReturnRecord,
    WebhookEvent,
)
from shop.commerce.shopify import shopify_queries as queries
from shop.commerce.shopify import shopify_records as graphql_records
from shop.commerce.shopify import shopify_webhook_records as webhook_records
from shop.commerce.shopify.shopify_auth import AccessTokenAuth, ClientCredentialsToken, FixedToken, TokenSource
from shop.commerce.shopify.shopify_config import ShopifyConfig
from shop.commerce.shopify.shopify_graphql import ShopifyGraphQL
from shop.commerce.shopify.shopify_ids import gid
from shop.commerce.shopify.shopify_status import return_status
from shop.commerce.shopify.shopify_values import iso_z, obj
from shop.commerce.shopify.shopify_webhooks import TOPICS, read_delivery

log = logging.getLogger(__name__)

SOURCE = "shopify"
WINDOW_OBJECTS = 20_000
JOB_POLLS = 10
JOB_POLL_S = 0.5
MAX_RETURN_QUANTITY = 1000

#: the shop's return reasons (shop.services.returns.RETURN_REASONS) -> Shopify's ReturnReason
RETURN_REASONS = {"too small": "SIZE_TOO_SMALL", "too big": "SIZE_TOO_LARGE", "not as described": "NOT_AS_DESCRIBED",
                  "arrived damaged": "DEFECTIVE", "changed my mind": "UNWANTED"}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")

Node = dict[str, Any]


def build_http(config: ShopifyConfig, *, base_url: str | None = None, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic, max_attempts: int = 4, max_wait_s: float = 10.0,
               transport: httpx.BaseTransport | None = None) -> PlatformHttp:
    """The retrying client for ``config``'s shop with its access token on every request
    (a fixed token, or the client credentials grant). ``base_url`` overrides the
    config's (tests)."""
    root = (base_url or config.root).rstrip("/")
    tokens: TokenSource
    if config.token:
        tokens = FixedToken(config.token)
    else:
        token_http = PlatformHttp(base_url=root, timeout_s=config.timeout_s, max_attempts=max_attempts,
                                  max_wait_s=max_wait_s, sleep=sleep, transport=transport)
        tokens = ClientCredentialsToken(token_http, client_id=config.client_id, client_secret=config.webhook_secret,
                                        clock=clock)
    return PlatformHttp(base_url=root, headers={"Accept": "application/json"}, auth=AccessTokenAuth(tokens),
                        timeout_s=config.timeout_s, max_attempts=max_attempts, max_wait_s=max_wait_s, sleep=sleep,
                        transport=transport)


def _clean(text: str, limit: int) -> str:
    return " ".join(_CONTROL_RE.sub(" ", text).split())[:limit]


def _messages(errors: list[Any]) -> str:
    return "; ".join(str(e.get("message", ""))[:200] for e in errors if isinstance(e, dict))[:600]


def _codes(errors: list[Any]) -> set[str]:
    return {str(e.get("code") or "").upper() for e in errors if isinstance(e, dict)}


def _cancel_refusal(errors: list[Any]) -> str:
    text = _messages(errors).lower()
    if "NOT_FOUND" in _codes(errors):
        return "not_found"
    if "fulfil" in text or "fulfill" in text:
        return "already_shipped"
    if "cancel" in text and ("already" in text or "has been" in text):
        return "already_cancelled"
    return "invalid"


def _return_refusal(errors: list[Any]) -> str:
    text = _messages(errors).lower()
    if "NOT_FOUND" in _codes(errors) or "not found" in text or "does not exist" in text:
        return "not_found"
    if "already" in text:
        return "already_returned"
    if "unfulfilled" in text or "not fulfilled" in text or "not been fulfilled" in text:
        return "not_delivered"
    if "window" in text or "expired" in text:
        return "outside_window"
    if "final sale" in text:
        return "final_sale"
    return "invalid"


def _nodes(connection: object, what: str) -> tuple[list[Node], dict[str, Any]]:
    if not isinstance(connection, dict) or not isinstance(connection.get("nodes"), list):
        raise PlatformUnavailable(f"Shopify answered {what} without a list of nodes")
    info = obj(connection.get("pageInfo"))
    return [n for n in connection["nodes"] if isinstance(n, dict)], info


class _Vanished(Exception):
    """A product or order deleted on Shopify while its follow-up pages were read."""


class ShopifyPlatform:
    """Shopify behind :class:`~shop.commerce.platform.CommercePlatform`.

    Args:
        config: the shop and credentials (:class:`ShopifyConfig`).
        http: a ready client carrying the access token (:func:`build_http`); default one
            made from ``config``.
        sleep: waits between throttled tries and job polls (injectable for tests).
        max_throttle_retries / max_throttle_wait_s: the GraphQL throttling budget.
        window_objects: objects read through one paginated query before starting afresh.
    """

    name = SOURCE
    supports_returns = True

    def __init__(self, config: ShopifyConfig, *, http: PlatformHttp | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_throttle_retries: int = 4,
                 max_throttle_wait_s: float = 20.0, window_objects: int = WINDOW_OBJECTS) -> None:
        self.config = config
        self._http = http if http is not None else build_http(config, sleep=sleep)
        self._gql = ShopifyGraphQL(self._http, path=config.graphql_path, api_version=config.api_version, sleep=sleep,
                                   max_throttle_retries=max_throttle_retries,
                                   max_throttle_wait_s=max_throttle_wait_s)
        self._sleep = sleep
        self._currency = config.currency
        self._window = max(1, window_objects)
        self.skipped = 0  # unreadable records left out of the last iterations (logged)

    def __repr__(self) -> str:
        return f"ShopifyPlatform({self.config!r})"

    def close(self) -> None:
        self._http.close()

    @property
    def graphql(self) -> ShopifyGraphQL:
        """The GraphQL client (its ``last_cost`` and ``throttled`` counters)."""
        return self._gql

    # --- reading -------------------------------------------------------------------------

    def shop_currency(self) -> str:
        """The shop's currency (``shop { currencyCode }``, asked once), unless configured."""
        if self._currency is None:
            shop = self._gql.run(queries.SHOP_CURRENCY).get("shop")
            code = shop.get("currencyCode") if isinstance(shop, dict) else None
            if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
                raise PlatformUnavailable("Shopify did not say the shop's currency")
            self._currency = code
        return self._currency

    def _pages(self, document: str, root: str, *, since: datetime | None, first: int) -> Iterator[Node]:
        """Every node of a top-level connection, page by page, in windows (module doc)."""
        window_since = iso_z(since) if since else None
        tail_time: str | None = None
        tail_ids: set[str] = set()
        skip_time, skip_ids = None, frozenset[str]()
        while True:
            query = f"updated_at:>='{window_since}'" if window_since else None
            after: str | None = None
            cursors: set[str] = set()
            in_window = 0
            restart = False
            while True:
                data = self._gql.run(document, {"first": first, "after": after, "query": query})
                nodes, info = _nodes(data.get(root), root)
                for node in nodes:
                    node_id, node_time = str(node.get("id")), node.get("updatedAt")
                    if node_time == skip_time and node_id in skip_ids:
                        continue
                    if node_time != tail_time:
                        tail_time, tail_ids = node_time, set()
                    tail_ids.add(node_id)
                    yield node
                in_window += len(nodes)
                if not info.get("hasNextPage"):
                    return
                cursor = info.get("endCursor")
                if not isinstance(cursor, str) or not cursor or cursor in cursors or not nodes:
                    raise PlatformUnavailable(f"Shopify's {root} pagination is looping (cursor {str(cursor)[:40]!r})")
                cursors.add(cursor)
                after = cursor
                if in_window >= self._window and isinstance(tail_time, str):
                    if tail_time == window_since:
                        raise PlatformUnavailable(f"more than {self._window} {root} changed in the same second")
                    restart = True
                    break
            if restart:
                window_since, skip_time, skip_ids = tail_time, tail_time, frozenset(tail_ids)
                log.info("shopify %s: %d read in this window, continuing from %s", root, in_window, window_since)

    def _rest_of(self, node: Node, field: str, document: str, root: str) -> list[Node]:
        """All nodes of ``node``'s nested connection ``field``, asking for the pages its
        first page did not hold."""
        items, info = _nodes(node.get(field), f"{root} {field}")
        cursor = info.get("endCursor")
        seen: set[str] = set()
        while info.get("hasNextPage"):
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                raise PlatformUnavailable(f"Shopify's {root} {field} pagination is looping")
            seen.add(cursor)
            data = self._gql.run(document, {"id": node["id"], "first": queries.FOLLOW_UP_PAGE, "after": cursor})
            parent = data.get(root)
            if not isinstance(parent, dict):
                raise _Vanished(str(node.get("id")))
            more, info = _nodes(parent.get(field), f"{root} {field}")
            items.extend(more)
            cursor = info.get("endCursor")
        return items

    def _skip(self, what: str, node: Node, exc: Exception) -> None:
        self.skipped += 1
        log.warning("shopify: left out unreadable %s %s: %s", what, str(node.get("id"))[:60], exc)

    def iter_products(self, *, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        currency = self.shop_currency()
        for node in self._pages(queries.PRODUCTS, "products", since=updated_since, first=queries.PRODUCTS_PAGE):
            try:
                variants = self._rest_of(node, "variants", queries.PRODUCT_VARIANTS, "product")
            except _Vanished:
                continue
            try:
                record = graphql_records.product_record(node, currency=currency, variants=variants)
            except (ValueError, KeyError, TypeError) as exc:
                self._skip("product", node, exc)
                continue
            yield record

    def iter_customers(self, *, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        for node in self._pages(queries.CUSTOMERS, "customers", since=updated_since, first=queries.CUSTOMERS_PAGE):
            try:
                record = graphql_records.customer_record(node)
            except (ValueError, KeyError, TypeError) as exc:
                self._skip("customer", node, exc)
                continue
            yield record

    def _order(self, node: Node) -> OrderRecord:
        lines = self._rest_of(node, "lineItems", queries.ORDER_LINE_ITEMS, "order")
        return graphql_records.order_record(node, lines=lines)

    def iter_orders(self, *, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        for node in self._pages(queries.ORDERS, "orders", since=updated_since, first=queries.ORDERS_PAGE):
            try:
                record = self._order(node)
            except _Vanished:
                continue
            except (ValueError, KeyError, TypeError) as exc:
                self._skip("order", node, exc)
                continue
            yield record

    def _order_gid(self, external_id: str) -> str:
        try:
            return gid("Order", external_id)
        except ValueError as exc:
            raise PlatformRefused("not_found", str(exc)) from None

    def get_order(self, *, external_id: str) -> OrderRecord:
        order_id = self._order_gid(external_id)
        node = self._gql.run(queries.ORDER, {"id": order_id}).get("order")
        if not isinstance(node, dict):
            raise PlatformRefused("not_found", f"Shopify has no order {order_id}")
        try:
            return self._order(node)
        except _Vanished:
            raise PlatformRefused("not_found", f"Shopify order {order_id} was deleted") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise PlatformUnavailable(f"Shopify order {order_id} could not be read: {exc}") from None

    # --- writing -------------------------------------------------------------------------

    @staticmethod
    def _still_changeable(order: OrderRecord) -> None:
        if order.status == "cancelled":
            raise PlatformRefused("already_cancelled", f"order {order.number} is cancelled")
        if order.status == "delivered":
            raise PlatformRefused("delivered", f"order {order.number} was delivered")
        if order.status == "shipped" or order.shipped_at is not None:
            raise PlatformRefused("already_shipped", f"order {order.number} has (partly) shipped")

    def _job_done(self, job: object) -> bool:
        if not isinstance(job, dict):
            return False
        if job.get("done") is True:
            return True
        job_id = job.get("id")
        if not isinstance(job_id, str):
            return False
        for _ in range(JOB_POLLS):
            self._sleep(JOB_POLL_S)
            state = self._gql.run(queries.JOB, {"id": job_id}).get("job")
            if isinstance(state, dict) and state.get("done") is True:
                return True
        return False

    def cancel_order(self, *, external_id: str, reason: str) -> OrderRecord:
        """Cancel on Shopify (reason ``CUSTOMER``, restocked, refunded per
        ``config.refund_on_cancel``). When the background job is still running after
        the polls, Shopify has accepted the cancellation: the order comes back as
        ``cancelled`` and the ``orders/cancelled`` webhook confirms it."""
        order = self.get_order(external_id=external_id)
        self._still_changeable(order)
        variables: dict[str, Any] = {
            "orderId": order.external_id, "reason": "CUSTOMER", "restock": True,
            "notifyCustomer": self.config.notify_customer,
            "staffNote": _clean(f"Cancelled by the shopper in chat. {reason}", 255)}
        if self.config.uses_refund_method:
            document = queries.ORDER_CANCEL_REFUND_METHOD
            variables["refundMethod"] = {"originalPaymentMethodsRefund": self.config.refund_on_cancel}
        else:
            document = queries.ORDER_CANCEL_REFUND
            variables["refund"] = self.config.refund_on_cancel
        payload = self._gql.run(document, variables).get("orderCancel")
        if not isinstance(payload, dict):
            raise PlatformUnavailable("Shopify answered orderCancel without a payload")
        errors = payload.get("orderCancelUserErrors") or payload.get("userErrors") or []
        if errors:
            raise PlatformRefused(_cancel_refusal(errors), _messages(errors))
        done = self._job_done(payload.get("job"))
        after = self.get_order(external_id=order.external_id)
        if after.status == "cancelled":
            return after
        if done:
            raise PlatformRefused("invalid", "Shopify's cancellation job finished without cancelling the order")
        log.info("shopify: cancellation of %s queued, not finished yet", order.external_id)
        return replace(after, status="cancelled")

    def change_shipping_address(self, *, external_id: str, address: AddressRecord) -> OrderRecord:
        country = (address.country or "").strip().upper()
        problems = [label for label, value in (("street", address.line1), ("city", address.city),
                                               ("postcode", address.postcode)) if not (value or "").strip()]
        if problems:
            raise PlatformRefused("invalid", f"the new address needs a {', '.join(problems)}")
        if not _COUNTRY_RE.match(country):
            raise PlatformRefused("invalid", "the country must be a two-letter ISO 3166 code such as US")
        order = self.get_order(external_id=external_id)
        self._still_changeable(order)
        first, _, last = _clean(address.name, 200).rpartition(" ")
        if not first:
            first, last = last, ""
        shipping = {"firstName": first[:100], "lastName": last[:100], "address1": _clean(address.line1, 200),
                    "address2": _clean(address.line2 or "", 200) or None, "city": _clean(address.city, 100),
                    "zip": _clean(address.postcode, 20), "countryCode": country}
        payload = self._gql.run(queries.ORDER_UPDATE, {"input": {"id": order.external_id,
                                                                 "shippingAddress": shipping}}).get("orderUpdate")
        if not isinstance(payload, dict):
            raise PlatformUnavailable("Shopify answered orderUpdate without a payload")
        errors = payload.get("userErrors") or []
        if errors:
            text = _messages(errors)
            reason = "not_found" if "not exist" in text.lower() or "not found" in text.lower() else "invalid"
            raise PlatformRefused(reason, text)
        return self.get_order(external_id=order.external_id)

    def request_return(self, *, order_external_id: str, line_external_id: str, quantity: int,
                       reason: str) -> ReturnRecord:
        """A return request (``returnRequest``) for ``quantity`` of one line, from the
        fulfillments that shipped it; Shopify's ``REQUESTED`` is the shop's ``requested``."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_RETURN_QUANTITY:
            raise PlatformRefused("invalid", f"the quantity to return must be 1 to {MAX_RETURN_QUANTITY}")
        order_id = self._order_gid(order_external_id)
        try:
            line_id = gid("LineItem", line_external_id)
        except ValueError as exc:
            raise PlatformRefused("not_found", str(exc)) from None
        node = self._gql.run(queries.ORDER_FULFILLMENT_LINES, {"id": order_id}).get("order")
        if not isinstance(node, dict):
            raise PlatformRefused("not_found", f"Shopify has no order {order_id}")
        if node.get("cancelledAt"):
            raise PlatformRefused("not_delivered", "the order was cancelled")
        shipped: list[tuple[str, int]] = []
        truncated = False
        for fulfillment in node.get("fulfillments") or []:
            if not isinstance(fulfillment, dict) or str(fulfillment.get("status") or "").upper() != "SUCCESS":
                continue
            items, info = _nodes(fulfillment.get("fulfillmentLineItems"), "fulfillment line items")
            truncated = truncated or bool(info.get("hasNextPage"))
            for item in items:
                line = obj(item.get("lineItem"))
                if line.get("id") == line_id and isinstance(item.get("quantity"), int) and item["quantity"] > 0:
                    shipped.append((str(item["id"]), item["quantity"]))
        if not shipped:
            if truncated:
                raise PlatformRefused("not_supported", "the line is not among the first fulfilled items read")
            raise PlatformRefused("not_delivered", "that line has not been fulfilled")
        if sum(q for _, q in shipped) < quantity:
            raise PlatformRefused("invalid", f"only {sum(q for _, q in shipped)} of that line were fulfilled")
        wanted = quantity
        lines = []
        text = _clean(reason, 300)
        return_reason = RETURN_REASONS.get(text.lower(), "OTHER")
        for item_id, fulfilled in shipped:
            take = min(wanted, fulfilled)
            lines.append({"fulfillmentLineItemId": item_id, "quantity": take, "returnReason": return_reason,
                          "customerNote": text})
            wanted -= take
            if wanted == 0:
                break
        payload = self._gql.run(queries.RETURN_REQUEST, {"input": {"orderId": order_id,
                                                                   "returnLineItems": lines}}).get("returnRequest")
        if not isinstance(payload, dict):
            raise PlatformUnavailable("Shopify answered returnRequest without a payload")
        errors = payload.get("userErrors") or []
        if errors:
            raise PlatformRefused(_return_refusal(errors), _messages(errors))
        ret = payload.get("return")
        if not isinstance(ret, dict) or not ret.get("id"):
            raise PlatformUnavailable("Shopify answered returnRequest without the return")
        try:
            return_id = gid("Return", ret["id"])
        except ValueError as exc:
            raise PlatformUnavailable(f"Shopify answered an unreadable return id: {exc}") from None
        return ReturnRecord(external_id=return_id, order_external_id=order_id, line_external_id=line_id,
                            quantity=quantity, status=return_status(ret.get("status")), refund_cents=0)

    # --- webhooks ------------------------------------------------------------------------

    def _inventory(self, payload: Mapping[str, Any]) -> tuple[tuple[str, int | None], ...]:
        item_id = gid("InventoryItem", payload["inventory_item_id"])
        item = self._gql.run(queries.INVENTORY_ITEM_VARIANT, {"id": item_id}).get("inventoryItem")
        variant = item.get("variant") if isinstance(item, dict) else None
        if not isinstance(item, dict) or not isinstance(variant, dict):
            return ()  # the item (or its variant) is gone: nothing to change
        quantity = variant.get("inventoryQuantity")
        stock = max(0, quantity) if item.get("tracked") is True and isinstance(quantity, int) \
            and not isinstance(quantity, bool) else None
        return ((gid("ProductVariant", variant["id"]), stock),)

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        delivery = read_delivery(headers, body, secret=self.config.webhook_secret, shop_domain=self.config.domain)
        topic, payload = TOPICS[delivery.topic], delivery.payload
        event = WebhookEvent(source=SOURCE, topic=topic, delivery_id=delivery.delivery_id, raw_topic=delivery.topic,
                             extra=delivery.extra)
        try:
            if topic == "product.updated":
                return replace(event, products=(webhook_records.product_record(payload,
                                                                               currency=self.shop_currency()),))
            if topic == "product.deleted":
                return replace(event, deleted_product_ids=(gid("Product", payload["id"]),))
            if topic == "inventory.updated":
                return replace(event, inventory=self._inventory(payload))
            if topic == "order.updated":
                return replace(event, orders=(webhook_records.order_record(payload),))
            return replace(event, customers=(webhook_records.customer_record(payload),))
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected(f"malformed {delivery.topic} body: {str(exc)[:200]}", status=400) from None
        except (PlatformUnavailable, PlatformConfigError, PlatformRefused) as exc:
            raise WebhookRejected(f"{delivery.topic}: Shopify could not be asked now ({str(exc)[:200]})",
                                  status=503) from None
