"""The WooCommerce connector: REST API v3 (https://developer.woocommerce.com/docs/apis/rest-api/v3/).

Reads ``/wp-json/wc/v3/products`` (and ``/products/{id}/variations`` for variable
products), ``/customers`` and ``/orders`` 100 to a page (``per_page=100&page=N``, in id
order so new items append rather than shift the pages), up to the ``X-WP-TotalPages``
the store announces; an incremental sync asks for ``modified_after`` (with
``dates_are_gmt=true``, a few seconds of overlap; upserts are idempotent). Customers
have no ``modified_after`` filter: every page is read and those not modified since are
skipped. Authentication is HTTP Basic with the consumer key and secret (HTTPS only),
or the same as query parameters where the host drops the ``Authorization`` header.

Errors: 429 (honouring ``Retry-After``), 5xx and network errors are retried by
:class:`~shop.commerce.http.PlatformHttp` and end as ``PlatformUnavailable``;
WooCommerce's error JSON ``{"code": "woocommerce_rest_...", "message": ..., "data":
{"status": 400}}`` becomes ``PlatformRefused`` (``not_found`` for a 404 or an
``..._invalid_id`` code, else ``invalid``); a key without Read/Write access (401/403),
a redirect or a page that is not JSON become ``PlatformUnavailable`` with what to fix.

Write-back:

- cancel: ``PUT /orders/{id} {"status": "cancelled"}`` (WooCommerce restocks the items)
  only while the order is ``pending``, ``processing`` or ``on-hold`` and has no
  Shipment Tracking parcel; ``completed`` (or tracked) -> ``already_shipped``,
  ``cancelled``/``refunded``/``failed`` -> ``already_cancelled``. The REST API has no
  conditional update, so a change in the admin between the check and the PUT is not
  detected. An order note records the reason.
- address: ``PUT /orders/{id} {"shipping": {...}}`` under the same conditions (the
  state is cleared when the country changes; WooCommerce keeps it apart).
- returns: WooCommerce core has none. With ``allow_refunds`` a return of a shipped
  order's line records a *manual* refund, ``POST /orders/{id}/refunds`` with
  ``api_refund: false`` (no money moves through the payment gateway) and
  ``api_restock: false`` (nothing is back yet), for the line's price after discounts
  plus its taxes, and an order note tells the shop to pay it and arrange the return;
  the return is mirrored as ``approved``. Without it (the default) every return is
  refused as ``not_supported``, ``supports_returns`` is false and the chat offers a person.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from shop.commerce.errors import PlatformError, PlatformRefused, PlatformUnavailable
from shop.commerce.http import PlatformHttp
from shop.commerce.records import (
    AddressRecord,
    CustomerRecord,
    OrderRecord,
    ProductRecord,
    ReturnRecord,
    WebhookEvent,
)
from shop.commerce.woocommerce.woo_config import WooCommerceConfig
from shop.commerce.woocommerce.woo_records import (
    MalformedRecord,
    customer_record,
    is_cancellable,
    order_record,
    order_status,
    product_record,
    split_name,
)
from shop.commerce.woocommerce.woo_values import as_gmt_param, from_minor, gmt, meta_value, positive_int, to_minor
from shop.commerce.woocommerce.woo_webhooks import SOURCE, parse_delivery

log = logging.getLogger(__name__)

PER_PAGE = 100
SYNC_OVERLAP = timedelta(seconds=5)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_COUNTRY_RE = re.compile(r"\A[A-Z]{2}\Z")
_CANCELLED = frozenset({"cancelled", "refunded", "failed"})


def _clean(text: str, limit: int) -> str:
    return _CONTROL_RE.sub(" ", text or "").strip()[:limit]


def _order_id(value: str, what: str = "order") -> str:
    number = positive_int(value.strip() if isinstance(value, str) else value)
    if number is None:
        raise PlatformRefused("invalid", f"a WooCommerce {what} id is a positive whole number, not {str(value)[:40]!r}")
    return str(number)


class WooCommercePlatform:
    """:class:`~shop.commerce.platform.CommercePlatform` over a WooCommerce store's REST API v3.

    ``http`` is the retrying client to use (tests pass one with a fake ``sleep``);
    by default one is made for ``config.api_url`` with the key and secret.
    """

    name = SOURCE

    def __init__(self, config: WooCommerceConfig, *, http: PlatformHttp | None = None) -> None:
        self.config = config
        self.supports_returns = config.allow_refunds
        self._auth_params: dict[str, str] = {}
        if config.query_string_auth:
            self._auth_params = {"consumer_key": config.consumer_key, "consumer_secret": config.consumer_secret}
        self._http = http or PlatformHttp(
            base_url=config.api_url, headers={"Accept": "application/json"},
            auth=None if config.query_string_auth else (config.consumer_key, config.consumer_secret),
            timeout_s=config.timeout_s)

    def close(self) -> None:
        self._http.close()

    # --- HTTP ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              json: Any = None) -> tuple[Any, httpx.Headers]:
        merged = {**self._auth_params, **(params or {})}
        response = self._http.request(method, path, params=merged or None, json=json)
        where = f"WooCommerce {method} /{path.split('?')[0]}"
        if 300 <= response.status_code < 400:
            raise PlatformUnavailable(
                f"{where}: redirected to {response.headers.get('location', '?')[:200]}; set the store URL to the "
                "address WordPress answers on (Settings > General > Site Address)")
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            raise self._refusal(where, response.status_code, body)
        if body is None:
            raise PlatformUnavailable(f"{where}: HTTP {response.status_code} but not JSON "
                                      "(a maintenance page, a security plugin or a cache in front of the API?)")
        return body, response.headers

    @staticmethod
    def _refusal(where: str, status: int, body: Any) -> PlatformError:
        error = body if isinstance(body, dict) else {}
        code = str(error.get("code") or "")[:80]
        message = str(error.get("message") or "")[:300]
        detail = f"{where}: HTTP {status} {code} {message}".strip()
        if status in (401, 403):
            log.warning("%s: the API key was refused; it needs Read/Write access", detail)
            return PlatformUnavailable(f"{detail} (check the REST API key and that it has Read/Write access)")
        if code == "rest_no_route" or (status == 404 and not code):
            return PlatformUnavailable(f"{detail} (no WooCommerce REST API there: is WooCommerce active, the URL "
                                       "the Site Address and Settings > Permalinks anything but Plain?)")
        if status == 404 or code.endswith("_invalid_id"):
            return PlatformRefused("not_found", detail)
        if not code:
            return PlatformUnavailable(detail)
        return PlatformRefused("invalid", detail)

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a listing, page by page, each id once. A server that repeats a
        page or claims more than ``max_pages`` pages ends the listing with ``PlatformUnavailable``."""
        seen: set[int] = set()
        page = 1
        while True:
            items, headers = self._call("GET", path, params={**params, "per_page": PER_PAGE, "page": page})
            if not isinstance(items, list):
                raise PlatformUnavailable(f"WooCommerce GET /{path}: page {page} is not a JSON list")
            try:
                total_pages: int | None = int(headers.get("x-wp-totalpages", ""))
            except ValueError:
                total_pages = None
            if total_pages is not None and total_pages > self.config.max_pages or page > self.config.max_pages:
                raise PlatformUnavailable(f"WooCommerce GET /{path}: more than {self.config.max_pages} pages")
            fresh = 0
            for item in items:
                item_id = positive_int(item.get("id")) if isinstance(item, dict) else None
                if item_id is None or item_id in seen:
                    continue
                seen.add(item_id)
                fresh += 1
                yield item
            if not items:
                return
            if fresh == 0:
                raise PlatformUnavailable(
                    f"WooCommerce GET /{path}: page {page} only repeats earlier items (is 'page' ignored by a cache?)")
            if (total_pages is not None and page >= total_pages) or (total_pages is None and len(items) < PER_PAGE):
                return
            page += 1

    def _since(self, updated_since: datetime | None) -> dict[str, str]:
        if updated_since is None:
            return {}
        return {"modified_after": as_gmt_param(updated_since - SYNC_OVERLAP), "dates_are_gmt": "true"}

    # --- reading ------------------------------------------------------------------------

    def iter_products(self, *, updated_since: datetime | None = None) -> Iterator[ProductRecord]:
        for data in self._pages("products", {"orderby": "id", "order": "asc", **self._since(updated_since)}):
            variations: list[dict[str, Any]] | None = None
            try:
                if data.get("type") == "variable":
                    product_id = _order_id(str(data.get("id")), "product")
                    variations = list(self._pages(f"products/{product_id}/variations",
                                                  {"orderby": "id", "order": "asc"}))
                yield product_record(data, config=self.config, variations=variations)
            except MalformedRecord as exc:
                log.warning("WooCommerce product skipped: %s", exc)

    def get_product(self, *, external_id: str) -> ProductRecord:
        """One product as the store has it now, with all its variations: what a webhook
        marked ``extra["variants_incomplete"]`` needs (see :mod:`.woo_webhooks`)."""
        product_id = _order_id(external_id, "product")
        data, _ = self._call("GET", f"products/{product_id}")
        if not isinstance(data, dict) or data.get("type") == "variation":
            raise PlatformRefused("not_found", f"WooCommerce product {product_id} is not a product")
        variations = None
        if data.get("type") == "variable":
            variations = list(self._pages(f"products/{product_id}/variations", {"orderby": "id", "order": "asc"}))
        try:
            return product_record(data, config=self.config, variations=variations)
        except MalformedRecord as exc:
            raise PlatformUnavailable(f"WooCommerce product: {exc}") from exc

    def iter_customers(self, *, updated_since: datetime | None = None) -> Iterator[CustomerRecord]:
        since = updated_since - SYNC_OVERLAP if updated_since else None
        for data in self._pages("customers", {"orderby": "id", "order": "asc", "role": "all"}):
            modified = gmt(data.get("date_modified_gmt")) or gmt(data.get("date_created_gmt"))
            if since is not None and modified is not None and modified < since:
                continue
            try:
                yield customer_record(data)
            except MalformedRecord as exc:
                log.warning("WooCommerce customer skipped: %s", exc)

    def iter_orders(self, *, updated_since: datetime | None = None) -> Iterator[OrderRecord]:
        for data in self._pages("orders", {"orderby": "id", "order": "asc", **self._since(updated_since)}):
            try:
                record = order_record(data, config=self.config)
            except MalformedRecord as exc:
                log.warning("WooCommerce order skipped: %s", exc)
                continue
            if record is not None:
                yield record

    def _order_data(self, order_id: str) -> dict[str, Any]:
        data, _ = self._call("GET", f"orders/{order_id}")
        if not isinstance(data, dict) or positive_int(data.get("id")) is None:
            raise PlatformUnavailable(f"WooCommerce GET /orders/{order_id}: not an order")
        return data

    def _record(self, data: dict[str, Any]) -> OrderRecord:
        try:
            record = order_record(data, config=self.config)
        except MalformedRecord as exc:
            raise PlatformUnavailable(f"WooCommerce order: {exc}") from exc
        if record is None:
            raise PlatformRefused("not_found", f"WooCommerce order {data.get('id')} is a draft or in the trash")
        return record

    def get_order(self, *, external_id: str) -> OrderRecord:
        return self._record(self._order_data(_order_id(external_id)))

    # --- writing ------------------------------------------------------------------------

    def _check_changeable(self, data: dict[str, Any]) -> None:
        status = str(data.get("status") or "")
        if status in _CANCELLED:
            raise PlatformRefused("already_cancelled", f"WooCommerce order {data.get('id')} is {status}")
        if order_record(data, config=self.config) is None:
            raise PlatformRefused("not_found", f"WooCommerce order {data.get('id')} is a draft or in the trash")
        if not is_cancellable(data):
            ours = order_status(data, config=self.config)
            raise PlatformRefused("already_shipped", f"WooCommerce order {data.get('id')} is {status} ({ours})")

    def _note(self, order_id: str, note: str) -> None:
        """Add a private order note; a failure is logged, never raised (the change it
        describes has been made)."""
        try:
            self._call("POST", f"orders/{order_id}/notes", json={"note": note[:2000], "customer_note": False})
        except PlatformError as exc:
            log.warning("WooCommerce order %s: note not added: %s", order_id, exc)

    def cancel_order(self, *, external_id: str, reason: str) -> OrderRecord:
        order_id = _order_id(external_id)
        self._check_changeable(self._order_data(order_id))
        updated, _ = self._call("PUT", f"orders/{order_id}", json={"status": "cancelled"})
        record = self._record(updated)
        why = _clean(reason, 500) or "-"
        self._note(order_id, f"Cancelled by the customer in the shop assistant chat. Reason: {why}")
        return record

    def change_shipping_address(self, *, external_id: str, address: AddressRecord) -> OrderRecord:
        order_id = _order_id(external_id)
        country = _clean(address.country, 60).upper()
        if not _COUNTRY_RE.match(country):
            raise PlatformRefused("invalid",
                                  f"country must be a two-letter ISO code such as US or DE, not {address.country!r}")
        fields = {"name": _clean(address.name, 200), "line1": _clean(address.line1, 200),
                  "city": _clean(address.city, 100), "postcode": _clean(address.postcode, 20)}
        missing = [k for k, v in fields.items() if not v]
        if missing:
            raise PlatformRefused("invalid", f"the new address needs {', '.join(missing)}")
        data = self._order_data(order_id)
        self._check_changeable(data)
        first, last = split_name(fields["name"])
        shipping: dict[str, str] = {"first_name": first, "last_name": last, "address_1": fields["line1"],
                                    "address_2": _clean(address.line2 or "", 200), "city": fields["city"],
                                    "postcode": fields["postcode"], "country": country}
        current = data.get("shipping")
        if not isinstance(current, dict) or str(current.get("country") or "").upper() != country:
            shipping["state"] = ""
        updated, _ = self._call("PUT", f"orders/{order_id}", json={"shipping": shipping})
        record = self._record(updated)
        self._note(order_id, "Shipping address changed by the customer in the shop assistant chat.")
        return record

    def request_return(self, *, order_external_id: str, line_external_id: str, quantity: int,
                       reason: str) -> ReturnRecord:
        if not self.config.allow_refunds:
            raise PlatformRefused("not_supported", "WooCommerce has no returns, and this shop does not let the "
                                                   "assistant record refunds: a person will handle it")
        order_id = _order_id(order_external_id)
        line_id = _order_id(line_external_id, "order line")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
            raise PlatformRefused("invalid", f"quantity must be a whole number from 1 to 1000, not {quantity!r}")
        data = self._order_data(order_id)
        if order_status(data, config=self.config) not in ("shipped", "delivered"):
            raise PlatformRefused("invalid", f"WooCommerce order {order_id} is {data.get('status')}: "
                                             "only a shipped order can be returned")
        currency = str(data.get("currency") or self.config.currency)
        line = next((item for item in data.get("line_items") or []
                     if isinstance(item, dict) and str(item.get("id")) == line_id), None)
        if line is None:
            raise PlatformRefused("not_found", f"WooCommerce order {order_id} has no line {line_id}")
        bought = positive_int(line.get("quantity")) or 0
        left = bought - self._refunded_quantity(order_id, line)
        if quantity > left:
            raise PlatformRefused("invalid",
                                  f"line {line_id} has {max(0, left)} item(s) left to return, not {quantity}")
        unit = Decimal(to_minor(line.get("total"), currency) or 0) / bought
        refund_total = int((unit * quantity).to_integral_value())
        taxes = []
        for tax in line.get("taxes") or []:
            rate = positive_int(tax.get("id")) if isinstance(tax, dict) else None
            amount = to_minor(tax.get("total"), currency) if rate else None
            if rate and amount:
                taxes.append({"id": rate, "refund_total": float(from_minor(
                    int((Decimal(amount) / bought * quantity).to_integral_value()), currency))})
        amount = refund_total + sum(to_minor(t["refund_total"], currency) or 0 for t in taxes)
        if amount <= 0:
            raise PlatformRefused("invalid",
                                  f"line {line_id} of WooCommerce order {order_id} was free: nothing to refund")
        why = _clean(reason, 500) or "return asked for in chat"
        refund, _ = self._call("POST", f"orders/{order_id}/refunds", json={
            "amount": from_minor(amount, currency), "reason": f"Return: {why}", "api_refund": False,
            "api_restock": False,
            "line_items": [{"id": int(line_id), "quantity": quantity,
                            "refund_total": float(from_minor(refund_total, currency)), "refund_tax": taxes}]})
        refund_id = positive_int(refund.get("id")) if isinstance(refund, dict) else None
        if refund_id is None:
            raise PlatformUnavailable(f"WooCommerce POST /orders/{order_id}/refunds: no refund id in the answer")
        title = str(line.get("name"))[:200]
        self._note(order_id, (f"Return asked for in the shop assistant chat: {quantity} x {title}. "
                              f"Reason: {why}. Refund #{refund_id} of {from_minor(amount, currency)} {currency} was "
                              "recorded without moving money: pay it back and arrange the return."))
        return ReturnRecord(external_id=str(refund_id), order_external_id=order_id, line_external_id=line_id,
                            quantity=quantity, status="approved", refund_cents=amount)

    def _refunded_quantity(self, order_id: str, line: Mapping[str, Any]) -> int:
        """Items of ``line`` refunded before: refund lines name the order line in
        ``_refunded_item_id``; without it, the same product and variation count."""
        done = 0
        for refund in self._pages(f"orders/{order_id}/refunds", {}):
            for item in refund.get("line_items") or []:
                if not isinstance(item, dict):
                    continue
                origin = meta_value(item.get("meta_data"), "_refunded_item_id")
                same = (str(origin) == str(line.get("id")) if origin is not None else
                        (item.get("product_id"), item.get("variation_id")) ==
                        (line.get("product_id"), line.get("variation_id")))
                if same:
                    done += abs(int(item.get("quantity") or 0))
        return done

    # --- webhooks -----------------------------------------------------------------------

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        return parse_delivery(headers=headers, body=body, config=self.config)
