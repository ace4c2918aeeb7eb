"""A fake WooCommerce store for tests: a real HTTP server on 127.0.0.1 (a free port, in a
thread) speaking the documented REST API v3 and sending webhooks as WooCommerce does.

Implemented from the documentation, https://developer.woocommerce.com/docs/apis/rest-api/v3/
(products, product-variations, customers, orders, order-notes, order-refunds, webhooks)
and https://woocommerce.github.io/woocommerce-rest-api-docs/#pagination /#errors /#authentication,
and from ``WC_Webhook::deliver`` and ``WC_REST_CRUD_Controller::get_items`` in WooCommerce's source:

- ``/wp-json/wc/v3/products``, ``/products/{id}``, ``/products/{id}/variations``,
  ``/customers`` (``role``, default ``customer``), ``/orders``, ``/orders/{id}`` (GET,
  PUT), ``/orders/{id}/notes`` and ``/orders/{id}/refunds`` (GET, POST);
- ``per_page`` (1-100, default 10), ``page``, ``orderby`` (``id``/``date``), ``order``,
  ``modified_after`` with ``dates_are_gmt``; ``X-WP-Total``, ``X-WP-TotalPages`` and
  ``Link`` headers; an out-of-range page is an empty list;
- HTTP Basic or ``consumer_key``/``consumer_secret`` query authentication, a read-only
  key refused on writes; errors as ``{"code", "message", "data": {"status"}}``;
- the business rules WooCommerce itself applies: any core status may be set through the
  API (it refuses nothing else: the connector must check), cancelling restocks reduced
  stock, a refund over what is left or through a gateway without refunds is a 500
  ``woocommerce_rest_cannot_create_order_refund``, a full refund marks the order refunded;
- faults on demand (:meth:`FakeWooCommerce.fail`: 429 with ``Retry-After``, 5xx, HTML),
  a cache that ignores ``page`` (``ignore_page``) and absurd page counts (``claim_pages``);
- webhooks: :meth:`FakeWooCommerce.webhook` builds a delivery exactly as WooCommerce
  signs it (PHP ``json_encode`` body, base64 HMAC-SHA256, ``X-WC-Webhook-*`` headers);
  :meth:`deliver` and :meth:`ping` POST it; changes made through the API queue
  deliveries to :meth:`subscribe`-d URLs, sent by :meth:`flush_webhooks` (WooCommerce
  delivers in the background too).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

KEY = "ck_" + "a1" * 20
SECRET = "cs_" + "b2" * 20
WEBHOOK_SECRET = "whsec-fake-woo-0123456789"
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
API = "/wp-json/wc/v3/"


def php_json(value: Any) -> bytes:
    """``wp_json_encode`` output: no spaces, ``\\/`` and ``\\uXXXX`` escapes."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


@dataclass
class Fault:
    status: int
    times: int
    path: str = ""
    method: str = ""
    retry_after: str | None = None
    body: bytes | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth: str  # "basic", "query" or ""


@dataclass
class FakeWooCommerce:
    consumer_key: str = KEY
    consumer_secret: str = SECRET
    read_only: bool = False
    ignore_page: bool = False
    claim_pages: int | None = None
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    subscriptions: list[tuple[str, str, str]] = field(default_factory=list)
    queued: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    clock: datetime = datetime(2026, 11, 1, 9, 0, 0)
    _next_id: int = 100
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeWooCommerce:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_PUT(self) -> None:
                fake._handle(self, "PUT")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- state helpers (what a merchant does in wp-admin) -----------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _tick(self) -> tuple[str, str]:
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat(), self.clock.isoformat()

    def add_product(self, name: str, price_cents: int, *, sku: str = "", manage_stock: bool = True,
                    stock: int | None = 5, stock_status: str = "instock", category: str = "Clothing",
                    tags: tuple[str, ...] = (), brand: str | None = None, status: str = "publish",
                    regular_cents: int | None = None, description: str = "<p>A fine thing.</p>",
                    variations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A simple product, or a variable one when ``variations`` (dicts with ``size``,
        ``color``, ``price_cents``, ``stock``, optional ``manage_stock``/``stock_status``) are given."""
        with self._lock:
            pid = self._id()
            stamp, _ = self._tick()
            product = {
                "id": pid, "name": name, "slug": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
                "permalink": f"{self.url}/product/{pid}/", "date_created_gmt": stamp, "date_modified_gmt": stamp,
                "type": "variable" if variations else "simple", "status": status, "catalog_visibility": "visible",
                "description": description, "short_description": "", "sku": sku, "price": money(price_cents),
                "regular_price": money(regular_cents or price_cents),
                "sale_price": money(price_cents) if regular_cents else "", "on_sale": bool(regular_cents),
                "manage_stock": manage_stock, "stock_quantity": stock if manage_stock else None,
                "stock_status": "outofstock" if manage_stock and not stock else stock_status,
                "categories": [{"id": 9, "name": category, "slug": category.lower()}],
                "tags": [{"id": 20 + i, "name": t, "slug": t} for i, t in enumerate(tags)],
                "brands": [{"id": 40, "name": brand, "slug": brand.lower()}] if brand else [],
                "images": [{"id": 7, "src": f"{self.url}/wp-content/uploads/{pid}.jpg", "name": name, "alt": ""}],
                "attributes": [], "variations": [], "meta_data": []}
            self.products[pid] = product
            self.variations[pid] = {}
            for spec in variations or []:
                vid = self._id()
                attrs = [{"id": 1, "name": "Size", "option": spec["size"]}] if spec.get("size") else []
                attrs += [{"id": 2, "name": "Color", "option": spec["color"]}] if spec.get("color") else []
                managed = spec.get("manage_stock", True)
                self.variations[pid][vid] = {
                    "id": vid, "date_modified_gmt": stamp, "sku": spec.get("sku", ""), "status": "publish",
                    "price": money(spec["price_cents"]), "regular_price": money(spec["price_cents"]),
                    "sale_price": "", "on_sale": False, "manage_stock": managed,
                    "stock_quantity": spec.get("stock") if managed else None,
                    "stock_status": spec.get("stock_status", "outofstock" if managed and not spec.get("stock")
                                             else "instock"), "attributes": attrs, "meta_data": []}
                product["variations"].append(vid)
            if variations:
                product["attributes"] = [
                    {"id": 1, "name": "Size", "variation": True,
                     "options": sorted({v["size"] for v in variations if v.get("size")})},
                    {"id": 2, "name": "Color", "variation": True,
                     "options": sorted({v["color"] for v in variations if v.get("color")})}]
            return product

    def add_customer(self, email: str, first: str, last: str, *, role: str = "customer",
                     city: str = "Portland", country: str = "US") -> dict[str, Any]:
        with self._lock:
            cid = self._id()
            stamp, _ = self._tick()
            address = {"first_name": first, "last_name": last, "company": "", "address_1": "1 Main St",
                       "address_2": "", "city": city, "state": "OR", "postcode": "97201", "country": country}
            self.customers[cid] = {
                "id": cid, "date_created_gmt": stamp, "date_modified_gmt": stamp, "email": email,
                "first_name": first, "last_name": last, "role": role, "username": email.split("@")[0],
                "billing": {**address, "email": email, "phone": "555-0100"}, "shipping": dict(address),
                "is_paying_customer": True, "meta_data": []}
            return self.customers[cid]

    def add_order(self, *, email: str, items: list[tuple[int, int, int]], status: str = "processing",
                  customer_id: int = 0, tracking: tuple[str, str] | None = None, shipping_cents: int = 500,
                  tax_rate_id: int = 0, payment_method: str = "bacs") -> dict[str, Any]:
        """``items``: ``(product id, variation id or 0, quantity)``. ``tracking``:
        ``(provider, number)`` stored as Shipment Tracking meta."""
        with self._lock:
            oid = self._id()
            stamp, _ = self._tick()
            lines, subtotal = [], 0
            for product_id, variation_id, quantity in items:
                product = self.products[product_id]
                source = self.variations[product_id][variation_id] if variation_id else product
                line_total = int(Decimal(source["price"]) * 100) * quantity
                subtotal += line_total
                tax = line_total // 10 if tax_rate_id else 0
                meta = [{"id": self._id(), "key": f"pa_{a['name'].lower()}", "value": a["option"].lower(),
                         "display_key": a["name"], "display_value": a["option"]}
                        for a in (source["attributes"] if variation_id else [])]
                lines.append({"id": self._id(), "name": product["name"], "product_id": product_id,
                              "variation_id": variation_id, "quantity": quantity, "subtotal": money(line_total),
                              "total": money(line_total), "total_tax": money(tax), "sku": source.get("sku", ""),
                              "taxes": ([{"id": tax_rate_id, "total": money(tax), "subtotal": money(tax)}]
                                        if tax else []),
                              "meta_data": meta, "price": line_total / quantity / 100})
            taxes = sum(int(Decimal(line["total_tax"]) * 100) for line in lines)
            first, _, last = email.split("@")[0].partition(".")
            address = {"first_name": first.title(), "last_name": last.title(), "company": "",
                       "address_1": "12 Harbour Road", "address_2": "", "city": "Portland", "state": "OR",
                       "postcode": "97201", "country": "US"}
            meta = [{"id": self._id(), "key": "_wc_shipment_tracking_items", "value": [
                {"tracking_provider": tracking[0], "custom_tracking_provider": "", "custom_tracking_link": "",
                 "tracking_number": tracking[1], "date_shipped": str(int(self.clock.replace(
                     tzinfo=timezone.utc).timestamp())), "tracking_id": "abc"}]}] if tracking else []
            self.orders[oid] = {
                "id": oid, "parent_id": 0, "number": str(oid), "status": status, "currency": "USD",
                "date_created_gmt": stamp, "date_modified_gmt": stamp,
                "date_completed_gmt": stamp if status == "completed" else None,
                "shipping_total": money(shipping_cents), "total_tax": money(taxes),
                "total": money(subtotal + shipping_cents + taxes), "customer_id": customer_id,
                "billing": {**address, "email": email, "phone": "555-0101"}, "shipping": dict(address),
                "payment_method": payment_method, "line_items": lines, "meta_data": meta, "refunds": [],
                "shipping_lines": [{"id": self._id(), "method_title": "Flat rate", "method_id": "flat_rate",
                                    "total": money(shipping_cents)}],
                "_stock_reduced": status in ("processing", "on-hold", "completed")}
            self.notes[oid], self.refunds[oid] = [], []
            return self.orders[oid]

    def touch(self, kind: str, resource_id: int, **changes: Any) -> None:
        """Change a product, variation (``kind="variation"``), customer or order as the
        admin would, moving its ``date_modified_gmt`` and queueing its webhook."""
        with self._lock:
            if kind == "variation":
                parent = next(p for p, vs in self.variations.items() if resource_id in vs)
                target = self.variations[parent][resource_id]
            else:
                target = {"product": self.products, "customer": self.customers, "order": self.orders}[kind][resource_id]
            target.update(changes)
            target["date_modified_gmt"], _ = self._tick()
        self._queue(f"{'product' if kind == 'variation' else kind}.updated", resource_id)

    # --- faults ------------------------------------------------------------------------

    def fail(self, status: int, *, times: int = 1, path: str = "", method: str = "", retry_after: str | None = None,
             body: bytes | None = None) -> None:
        """Answer the next ``times`` requests whose path starts with ``API + path`` (and
        method, if given) with ``status`` instead."""
        with self._lock:
            self.faults.append(Fault(status, times, API + path, method, retry_after, body))

    def writes(self) -> list[Seen]:
        return [s for s in self.seen if s.method != "GET"]

    # --- webhooks ----------------------------------------------------------------------

    def resource(self, kind: str, resource_id: int) -> dict[str, Any]:
        """What ``GET /{kind}s/{id}`` returns (a variation as ``/products/{id}`` shows it)."""
        if kind == "product" and resource_id not in self.products:
            parent = next(p for p, vs in self.variations.items() if resource_id in vs)
            return {**self.variations[parent][resource_id], "type": "variation", "parent_id": parent,
                    "name": self.products[parent]["name"]}
        stores = {"product": self.products, "customer": self.customers, "order": self.orders}
        return self._public(stores[kind][resource_id])

    def webhook(self, topic: str, resource_id: int, *, secret: str = WEBHOOK_SECRET, source: str | None = None,
                payload: Any = None, webhook_id: int = 7,
                delivery_id: str | None = None) -> tuple[dict[str, str], bytes]:
        """The headers and body WooCommerce sends for ``topic`` about ``resource_id``."""
        resource, event = topic.split(".", 1)
        if payload is None:
            payload = {"id": resource_id} if event == "deleted" else self.resource(resource, resource_id)
        body = php_json(payload)
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        headers = {
            "Content-Type": "application/json", "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
            "X-WC-Webhook-Source": source if source is not None else self.url + "/", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event, "X-WC-Webhook-Signature": signature,
            "X-WC-Webhook-ID": str(webhook_id),
            "X-WC-Webhook-Delivery-ID": delivery_id or hashlib.md5(  # noqa: S324 - as wp_hash, not for security
                f"{webhook_id}{self.clock.timestamp()}".encode()).hexdigest()}
        return headers, body

    @staticmethod
    def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def deliver(self, url: str, topic: str, resource_id: int, **kwargs: Any) -> tuple[int, str]:
        headers, body = self.webhook(topic, resource_id, **kwargs)
        return self.post(url, headers, body)

    def ping(self, url: str, webhook_id: int = 7) -> tuple[int, str]:
        """The test POST WooCommerce sends when a webhook is saved (``deliver_ping``)."""
        return self.post(url, {"Content-Type": "application/x-www-form-urlencoded",
                               "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)"},
                         f"webhook_id={webhook_id}".encode())

    def subscribe(self, topic: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
        self.subscriptions.append((topic, url, secret))

    def _queue(self, topic: str, resource_id: int) -> None:
        for wanted, url, secret in self.subscriptions:
            if wanted == topic:
                headers, body = self.webhook(topic, resource_id, secret=secret)
                self.queued.append((topic, url, body, headers))

    def flush_webhooks(self) -> list[tuple[str, int]]:
        """Send the queued deliveries; ``(topic, HTTP status)`` of each."""
        sent, self.queued = self.queued, []
        return [(topic, self.post(url, headers, body)[0]) for topic, url, body, headers in sent]

    # --- HTTP --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        auth = self._auth(handler.headers.get("Authorization", ""), query)
        with self._lock:
            self.seen.append(Seen(method, parts.path, query, body, auth or ""))
            fault = next((f for f in self.faults if f.times > 0 and parts.path.startswith(f.path)
                          and (not f.method or f.method == method)), None)
            if fault is not None:
                fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                default = {"code": "rest_error", "message": "Fault", "data": {"status": fault.status}}
                return self._send(handler, fault.status, fault.body or php_json(default), headers)
            if auth is None:
                return self._error(handler, 401, "woocommerce_rest_authentication_error",
                                   "Consumer secret is invalid.")
            if not auth:
                return self._error(handler, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
            if method != "GET" and self.read_only:
                return self._error(handler, 401, "woocommerce_rest_authentication_error",
                                   "The API key provided does not have write permissions.")
            if not parts.path.startswith(API):
                return self._error(handler, 404, "rest_no_route", "No route was found matching the URL.")
            status, payload, headers = self._route(method, parts.path[len(API):].strip("/"), query, body)
        self._send(handler, status, php_json(payload), headers)
        if method != "GET" and status < 300:
            self._after_write(parts.path[len(API):].strip("/"))

    def _auth(self, header: str, query: dict[str, str]) -> str | None:
        """``"basic"``/``"query"`` when the key is right, ``None`` when wrong, ``""`` when absent."""
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            ok = hmac.compare_digest(key, self.consumer_key) and hmac.compare_digest(secret, self.consumer_secret)
            return "basic" if ok else None
        if "consumer_key" in query:
            ok = query.get("consumer_key") == self.consumer_key and query.get("consumer_secret") == self.consumer_secret
            return "query" if ok else None
        return ""

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8" if body[:1] in b"[{" else "text/html")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _error(self, handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        self._send(handler, status, php_json({"code": code, "message": message, "data": {"status": status}}), {})

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in item.items() if not k.startswith("_")}

    def _list(self, path: str, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        try:
            per_page, page = int(query.get("per_page", "10")), int(query.get("page", "1"))
        except ValueError:
            return 400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page, page",
                         "data": {"status": 400}}, {}
        if not 1 <= per_page <= 100 or page < 1:
            return 400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
                         "data": {"status": 400, "params": {"per_page": "per_page must be between 1 (inclusive) "
                                                            "and 100 (inclusive)"}}}, {}
        if "modified_after" in query:
            after = query["modified_after"]  # the store's clock is GMT, so dates_are_gmt changes nothing here
            items = [i for i in items if str(i.get("date_modified_gmt")) > after]
        key = "id" if query.get("orderby") == "id" else "date_created_gmt"
        items = sorted(items, key=lambda i: (str(i.get(key, "")).zfill(20), i["id"]),
                       reverse=query.get("order", "desc") == "desc")
        total = len(items)
        pages = -(-total // per_page)
        shown = 1 if self.ignore_page else page
        chunk = [self._public(i) for i in items[(shown - 1) * per_page: shown * per_page]]
        link_base = f"{self.url}{API}{path}?"
        links = []
        if page > 1:
            links.append(f'<{link_base}{urlencode({**query, "page": page - 1})}>; rel="prev"')
        if pages > page:
            links.append(f'<{link_base}{urlencode({**query, "page": page + 1})}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(self.claim_pages or pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return 200, chunk, headers

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        segments = path.split("/")
        invalid = (404, {"code": "woocommerce_rest_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}, {})
        if segments[0] == "products" and method == "GET":
            if len(segments) == 1:
                return self._list(path, list(self.products.values()), query)
            pid = int(segments[1]) if segments[1].isdigit() else 0
            if len(segments) == 2:
                return (200, self.resource("product", pid), {}) if pid in self.products or any(
                    pid in v for v in self.variations.values()) else invalid
            if segments[2:] == ["variations"] and pid in self.products:
                return self._list(path, list(self.variations[pid].values()), query)
            return invalid
        if segments[0] == "customers" and method == "GET":
            if len(segments) == 1:
                role = query.get("role", "customer")
                return self._list(path, [c for c in self.customers.values() if role == "all" or c["role"] == role],
                                  query)
            cid = int(segments[1]) if segments[1].isdigit() else 0
            return (200, self._public(self.customers[cid]), {}) if cid in self.customers else invalid
        if segments[0] != "orders":
            return 404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
                         "data": {"status": 404}}, {}
        if len(segments) == 1 and method == "GET":
            return self._list(path, list(self.orders.values()), query)
        oid = int(segments[1]) if len(segments) > 1 and segments[1].isdigit() else 0
        if oid not in self.orders:
            code = "woocommerce_rest_shop_order_invalid_id"
            status = 400 if method == "PUT" else 404
            return status, {"code": code, "message": "Invalid ID.", "data": {"status": status}}, {}
        order = self.orders[oid]
        if len(segments) == 2 and method == "GET":
            return 200, self._public(order), {}
        if len(segments) == 2 and method == "PUT":
            return self._update_order(order, body if isinstance(body, dict) else {})
        if segments[2:] == ["notes"]:
            if method == "GET":
                return 200, self.notes[oid], {}
            if not isinstance(body, dict) or not str(body.get("note") or "").strip():
                return 400, {"code": "rest_missing_callback_param", "message": "Missing parameter(s): note",
                             "data": {"status": 400}}, {}
            note = {"id": self._id(), "date_created_gmt": self._tick()[0], "note": body["note"],
                    "customer_note": bool(body.get("customer_note")), "author": "WooCommerce"}
            self.notes[oid].append(note)
            return 201, note, {}
        if segments[2:] == ["refunds"]:
            if method == "GET":
                return self._list(path, self.refunds[oid], query)
            return self._refund(order, body if isinstance(body, dict) else {})
        return invalid

    def _update_order(self, order: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        status = body.get("status")
        if status is not None and status not in STATUSES:
            why = f"status is not one of {', '.join(STATUSES)}."
            return 400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): status",
                         "data": {"status": 400, "params": {"status": why}}}, {}
        if isinstance(body.get("shipping"), dict):
            order["shipping"].update({k: str(v) for k, v in body["shipping"].items()})
        if status is not None and status != order["status"]:
            if status == "cancelled" and order.pop("_stock_reduced", False):
                for line in order["line_items"]:  # wc_maybe_increase_stock_levels
                    source = (self.variations[line["product_id"]][line["variation_id"]] if line["variation_id"]
                              else self.products[line["product_id"]])
                    if source["manage_stock"] is True:
                        source["stock_quantity"] += line["quantity"]
            order["status"] = status
        order["date_modified_gmt"], _ = self._tick()
        return 200, self._public(order), {}

    def _refund(self, order: dict[str, Any], body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        def refused(message: str) -> tuple[int, Any, dict[str, str]]:
            return 500, {"code": "woocommerce_rest_cannot_create_order_refund", "message": message,
                         "data": {"status": 500}}, {}

        amount = int(Decimal(str(body.get("amount") or "0")) * 100)
        refunded = sum(int(Decimal(r["amount"]) * 100) for r in self.refunds[order["id"]])
        left = int(Decimal(order["total"]) * 100) - refunded
        if amount <= 0 or amount > left:
            return refused("Invalid refund amount.")
        if body.get("api_refund", True):
            return refused("The payment gateway for this order does not support automatic refunds.")
        lines = []
        for item in body.get("line_items") or []:
            line = next((li for li in order["line_items"] if li["id"] == item.get("id")), None)
            if line is None:
                continue
            lines.append({"id": self._id(), "name": line["name"], "product_id": line["product_id"],
                          "variation_id": line["variation_id"], "quantity": -int(item.get("quantity") or 0),
                          "total": money(-int(Decimal(str(item.get("refund_total") or 0)) * 100)),
                          "meta_data": [{"id": self._id(), "key": "_refunded_item_id", "value": str(line["id"]),
                                         "display_key": "_refunded_item_id", "display_value": str(line["id"])}]})
        refund = {"id": self._id(), "date_created_gmt": self._tick()[0], "amount": money(amount),
                  "reason": str(body.get("reason") or ""), "refunded_by": 1, "refunded_payment": False,
                  "line_items": lines, "meta_data": []}
        self.refunds[order["id"]].append(refund)
        order["refunds"].append({"id": refund["id"], "reason": refund["reason"], "total": money(-amount)})
        if amount == left:
            order["status"] = "refunded"
        order["date_modified_gmt"], _ = self._tick()
        return 201, refund, {}

    def _after_write(self, path: str) -> None:
        """``order.updated`` fires on ``woocommerce_update_order`` and ``woocommerce_order_refunded``
        (an order note is neither)."""
        segments = path.split("/")
        is_order = segments[0] == "orders" and len(segments) >= 2 and segments[1].isdigit()
        if is_order and segments[2:] in ([], ["refunds"]):
            self._queue("order.updated", int(segments[1]))
