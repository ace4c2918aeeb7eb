"""A fake Shopify shop for tests: a real HTTP server on 127.0.0.1 (a free port, in a
thread) speaking the documented Admin GraphQL API and sending webhooks as Shopify does.
This module holds the server, the shop's state and the bucket; GraphQL itself is
:mod:`tests.fakes.mini_graphql`, the objects :mod:`tests.fakes.shopify_views`, the
mutations :mod:`tests.fakes.shopify_mutations`, the webhooks
:mod:`tests.fakes.shopify_webhook_bodies`.

Implemented from the documentation:

- the endpoint and auth: ``POST /admin/api/<version>/graphql.json`` with
  ``X-Shopify-Access-Token`` (https://shopify.dev/docs/api/admin-graphql); 401 with
  ``{"errors": "[API] Invalid API key or access token ..."}``; the client credentials
  grant, ``POST /admin/oauth/access_token`` -> ``{"access_token", "scope", "expires_in"}``
  (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant);
- GraphQL itself: the query text is parsed (operations, aliases, arguments with
  variables, nested selections; fragments are not supported) and the answer holds exactly
  the fields asked for; a field the fake's objects lack is an ``undefinedField`` error,
  as an unknown field is on Shopify; connections take ``first`` (1-250, required) and
  ``after``, answer ``nodes``, ``edges { cursor node }`` and ``pageInfo``; top-level
  ones take ``query: "updated_at:>='...'"`` and ``sortKey: ID|UPDATED_AT``;
- cost and throttling (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
  the requested cost by the documented rule (object 1, connection 2 + first x node,
  mutation 10), over 1,000 refused with ``MAX_COST_EXCEEDED``; a leaky bucket
  (``maximumAvailable`` 2000, ``restoreRate`` 100/s on a :class:`FakeClock`); a query
  the bucket can't pay is answered HTTP 200 ``{"errors": [{"message": "Throttled",
  "extensions": {"code": "THROTTLED"}}], "extensions": {"cost": {..., "throttleStatus"}}}``;
- objects and mutations: ``Product``/``ProductVariant`` (options, inventory items tracked
  or not, stock per location), ``Customer``, ``Order`` (display statuses computed from
  fulfillments and payment, ``MoneyBag`` totals, fulfillments with tracking and
  ``FulfillmentLineItem``\\s), ``orderCancel`` (2025-01: ``refund: Boolean!``; from
  2025-07 ``refundMethod``; a background ``Job`` done after ``job_polls`` polls; refused
  for a cancelled or fulfilled order), ``orderUpdate`` (``shippingAddress``,
  ``MailingAddressInput`` with ``countryCode``), ``returnRequest`` (fulfilled lines only,
  not more than shipped minus already requested);
- webhooks (https://shopify.dev/docs/apps/build/webhooks/delivery-structure): REST-format
  bodies (numeric ids, ``admin_graphql_api_id``, snake_case, times with the shop's UTC
  offset) from :meth:`FakeShopify.rest_product` / ``rest_order`` / ``rest_customer`` /
  ``rest_inventory_level``, signed base64(HMAC-SHA256(client secret, body)) with the
  ``X-Shopify-*`` headers by :meth:`FakeShopify.send_webhook`;
- faults on demand: HTTP errors with ``Retry-After`` (:meth:`FakeShopify.fail`),
  pagination that hands back the same cursor forever (``loop_cursors``), a bucket that
  never refills (``restore_rate = 0``).
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.mini_graphql import (
    GraphQLError,
    Parser,
    bind_fields,
    count_objects,
    requested_cost,
    select,
)
from tests.fakes.shopify_mutations import ShopifyMutations
from tests.fakes.shopify_views import ShopifyViews
from tests.fakes.shopify_webhook_bodies import ShopifyWebhookBodies

DOMAIN = "ridgeline-test.myshopify.com"
TOKEN = "shpat_" + "0f" * 16
CLIENT_ID = "client-id-" + "7a" * 8
CLIENT_SECRET = "shpss_" + "5c" * 16  # the app's client secret: signs webhooks
API_VERSION = "2025-01"
LOCATION = 6401
MAX_COST = 1000


class FakeClock:
    """Seconds that pass only when a test says so: pass :meth:`sleep` to the connector,
    and the fake's bucket refills by what it slept."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += max(0.0, seconds)


# --- the shop ---------------------------------------------------------------------------


@dataclass
class Fault:
    status: int
    times: int
    retry_after: str | None = None
    path: str = ""
    body_contains: str = ""


@dataclass
class Seen:
    path: str
    operation: str
    variables: dict[str, Any]
    token: str | None
    cost: int = 0


class FakeShopify(ShopifyViews, ShopifyMutations, ShopifyWebhookBodies):
    """The fake shop: ``with FakeShopify() as shop: shop.url ...``.

    State is plain dicts, changed by the helpers (:meth:`add_product`, :meth:`add_customer`,
    :meth:`add_order`, :meth:`fulfill`, :meth:`set_stock`) and by the API's mutations.
    """

    def __init__(self, *, domain: str = DOMAIN, api_version: str = API_VERSION, currency: str = "USD",
                 clock: FakeClock | None = None, token: str = TOKEN, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET) -> None:
        self.domain = domain
        self.location = LOCATION
        self.api_version = api_version
        self.currency = currency
        self.clock = clock or FakeClock()
        self.tokens = {token}
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime_s = 86_399
        self.issued: list[str] = []
        self.lock = threading.RLock()
        self.products: dict[int, dict[str, Any]] = {}
        self.variants: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.returns: dict[int, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_polls = 1  # job queries before a cancellation job is done
        self.fail_cancel_jobs = False
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.loop_cursors: set[str] = set()  # top-level connections that hand back the same cursor forever
        self.maximum = 2000.0
        self.restore_rate = 100.0
        self.available = self.maximum
        self._refilled_at = self.clock()
        self._next = 1000
        self._now = datetime(2026, 11, 1, 9, 0, 0)
        self._server: ThreadingHTTPServer | None = None

    # --- server ---

    def __enter__(self) -> FakeShopify:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body, headers = fake.handle("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                                    raw)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.do_POST()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-shopify", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- ids and time ---

    def _id(self) -> int:
        with self.lock:
            self._next += 1
            return self._next

    def tick(self, seconds: int = 1) -> datetime:
        """The shop's "now", moved on (every change gets a later ``updatedAt``)."""
        with self.lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    @staticmethod
    def gid(kind: str, number: int) -> str:
        return f"gid://shopify/{kind}/{number}"

    @staticmethod
    def num(gid: str) -> int:
        return int(str(gid).rsplit("/", 1)[-1].split("?")[0])

    # --- state helpers ---

    def add_product(self, title: str, *, variants: list[dict[str, Any]] | None = None, vendor: str = "Northway",
                    product_type: str = "Tents", tags: list[str] | None = None, status: str = "ACTIVE",
                    options: list[str] | None = None, description_html: str = "<p>A fine thing.</p>",
                    image: str | None = "https://cdn.shopify.com/s/files/1/0001/tent.jpg") -> dict[str, Any]:
        """A product; ``variants``: dicts with ``price`` ("19.99"), optional ``sku``,
        ``options`` (values in ``options`` order), ``stock``, ``tracked``, ``compare_at``."""
        with self.lock:
            pid = self._id()
            now = self.tick()
            product = {"id": pid, "title": title, "handle": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
                       "descriptionHtml": description_html, "vendor": vendor, "productType": product_type,
                       "tags": list(tags or []), "status": status, "createdAt": now, "updatedAt": now,
                       "image": image, "options": list(options or ["Title"]), "variant_ids": []}
            self.products[pid] = product
            for spec in variants or [{"price": "10.00", "options": ["Default Title"]}]:
                vid = self._id()
                self.variants[vid] = {"id": vid, "product_id": pid, "sku": spec.get("sku", f"SKU-{vid}"),
                                      "price": spec["price"], "compareAtPrice": spec.get("compare_at"),
                                      "options": list(spec.get("options") or ["Default Title"]),
                                      "inventory_item_id": self._id(), "tracked": spec.get("tracked", True),
                                      "levels": {LOCATION: int(spec.get("stock", 5))}}
                product["variant_ids"].append(vid)
            return product

    def variant_gids(self, product: dict[str, Any]) -> list[str]:
        return [self.gid("ProductVariant", v) for v in product["variant_ids"]]

    def touch_product(self, pid: int, **changes: Any) -> None:
        with self.lock:
            self.products[pid].update(changes)
            self.products[pid]["updatedAt"] = self.tick()

    def set_stock(self, variant_id: int, quantity: int, *, location: int = LOCATION) -> None:
        with self.lock:
            variant = self.variants[variant_id]
            variant["levels"][location] = quantity
            self.products[variant["product_id"]]["updatedAt"] = self.tick()

    def add_customer(self, email: str, first: str, last: str, *, city: str = "Springfield", country: str = "US",
                     subscribed: bool = False, phone: str | None = None) -> dict[str, Any]:
        with self.lock:
            cid = self._id()
            now = self.tick()
            customer = {"id": cid, "email": email, "firstName": first, "lastName": last, "phone": phone,
                        "createdAt": now, "updatedAt": now, "city": city, "country": country,
                        "subscribed": subscribed}
            self.customers[cid] = customer
            return customer

    def add_order(self, customer: dict[str, Any] | None, lines: list[tuple[int, int]], *,
                  financial: str = "PAID", shipping: str = "5.00", email: str | None = None,
                  address: dict[str, Any] | None = None) -> dict[str, Any]:
        """An order for ``lines`` of ``(variant id, quantity)``; ``financial`` a
        ``displayFinancialStatus`` (``PAID``, ``PENDING``...)."""
        with self.lock:
            oid = self._id()
            now = self.tick()
            items = []
            for variant_id, quantity in lines:
                variant = self.variants[variant_id]
                product = self.products[variant["product_id"]]
                values = [v for v in variant["options"] if v != "Default Title"]
                items.append({"id": self._id(), "variant_id": variant_id, "product_id": product["id"],
                              "title": product["title"], "variantTitle": " / ".join(values) or None,
                              "quantity": quantity, "price": variant["price"], "sku": variant["sku"]})
                variant["levels"][self.location] -= quantity
            number = 1000 + len(self.orders) + 1
            name = f"{customer['firstName']} {customer['lastName']}" if customer else "Guest Shopper"
            order = {"id": oid, "number": number, "email": email or (customer or {}).get("email", ""),
                     "createdAt": now, "processedAt": now, "updatedAt": now, "cancelledAt": None,
                     "cancelReason": None, "financial": financial, "customer_id": customer["id"] if customer else None,
                     "address": address or {"name": name, "firstName": name.split()[0], "lastName": name.split()[-1],
                                            "address1": "1 Main St", "address2": None, "city": "Springfield",
                                            "zip": "12345", "countryCodeV2": "US", "provinceCode": "IL"},
                     "lines": items, "fulfillments": [], "shipping": shipping, "shippingTitle": "Standard"}
            self.orders[oid] = order
            return order

    def fulfill(self, order: dict[str, Any], *, lines: list[tuple[int, int]] | None = None, company: str = "UPS",
                number: str = "1Z999AA10123456784", delivered: bool = False) -> dict[str, Any]:
        """Ship ``lines`` (line id, quantity; default everything not yet shipped)."""
        with self.lock:
            now = self.tick()
            if lines is None:
                shipped = self._shipped(order)
                lines = [(item["id"], item["quantity"] - shipped.get(item["id"], 0)) for item in order["lines"]
                         if item["quantity"] > shipped.get(item["id"], 0)]
            fulfillment = {"id": self._id(), "status": "SUCCESS", "createdAt": now, "inTransitAt": now,
                           "deliveredAt": None, "updatedAt": now, "company": company, "number": number,
                           "lines": [{"id": self._id(), "line_id": lid, "quantity": q} for lid, q in lines]}
            order["fulfillments"].append(fulfillment)
            order["updatedAt"] = now
            if delivered:
                self.deliver(order, fulfillment)
            return fulfillment

    def deliver(self, order: dict[str, Any], fulfillment: dict[str, Any] | None = None) -> None:
        with self.lock:
            now = self.tick()
            for f in [fulfillment] if fulfillment else order["fulfillments"]:
                f["deliveredAt"] = now
                f["updatedAt"] = now
            order["updatedAt"] = now

    @staticmethod
    def _shipped(order: dict[str, Any]) -> dict[int, int]:
        shipped: dict[int, int] = {}
        for f in order["fulfillments"]:
            if f["status"] == "SUCCESS":
                for line in f["lines"]:
                    shipped[line["line_id"]] = shipped.get(line["line_id"], 0) + line["quantity"]
        return shipped

    def fail(self, status: int, *, times: int = 1, retry_after: str | None = None, path: str = "",
             body_contains: str = "") -> Fault:
        """The next ``times`` requests (to ``path``, with ``body_contains`` in the body,
        when given) get ``status``; the fault counts down in ``times``."""
        with self.lock:
            fault = Fault(status, times, retry_after, path, body_contains)
            self.faults.append(fault)
            return fault

    # --- the bucket ---

    def _refill(self) -> None:
        now = self.clock()
        refilled = self.available + (now - self._refilled_at) * self.restore_rate
        self.available = round(min(self.maximum, refilled), 3)
        self._refilled_at = now

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": {"maximumAvailable": self.maximum,
                                            "currentlyAvailable": round(self.available, 1),
                                            "restoreRate": self.restore_rate}}}

    # --- requests ---

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (not fault.path or fault.path in path) \
                        and fault.body_contains.encode() in raw:
                    fault.times -= 1
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    body = {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                                      "uninterrupted service."} if fault.status == 429 else {"errors": "Bad gateway"}
                    return fault.status, json.dumps(body).encode(), extra
            if method == "POST" and path == "/admin/oauth/access_token":
                return self._token(headers, raw)
            if method != "POST" or path != f"/admin/api/{self.api_version}/graphql.json":
                return 404, json.dumps({"errors": "Not Found"}).encode(), {}
            token = headers.get("x-shopify-access-token")
            if token not in self.tokens:
                body = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
                self.seen.append(Seen(path, "", {}, token))
                return 401, json.dumps(body).encode(), {}
            try:
                request = json.loads(raw or b"{}")
                document, variables = request["query"], request.get("variables") or {}
            except (ValueError, KeyError, TypeError):
                return 400, json.dumps({"errors": {"query": "Required parameter missing or invalid"}}).encode(), {}
            return self._graphql(path, token, document, variables)

    def _token(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        try:
            if headers.get("content-type", "").startswith("application/json"):
                form = json.loads(raw)
            else:
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        except ValueError:
            form = {}
        if form.get("grant_type") != "client_credentials":
            return 400, json.dumps({"error": "unsupported_grant_type"}).encode(), {}
        if form.get("client_id") != self.client_id or not hmac.compare_digest(str(form.get("client_secret", "")),
                                                                               self.client_secret):
            return 401, json.dumps({"error": "invalid_client"}).encode(), {}
        token = "shpat_" + uuid.uuid4().hex
        self.tokens.add(token)
        self.issued.append(token)
        return 200, json.dumps({"access_token": token, "scope": "read_products,read_orders,write_orders",
                                "expires_in": self.token_lifetime_s}).encode(), {}

    def revoke(self, token: str) -> None:
        with self.lock:
            self.tokens.discard(token)

    def _graphql(self, path: str, token: str, document: str, variables: dict[str, Any]
                 ) -> tuple[int, bytes, dict[str, str]]:
        seen = Seen(path, "", dict(variables), token)
        self.seen.append(seen)

        def error(exc: GraphQLError, extensions: dict[str, Any] | None = None) -> tuple[int, bytes, dict[str, str]]:
            body: dict[str, Any] = {"errors": [{"message": str(exc), "extensions": {"code": exc.code,
                                                                                      **exc.extensions}}]}
            if extensions:
                body["extensions"] = extensions
            return 200, json.dumps(body).encode(), {}

        try:
            kind, name, selections = Parser(document).document()
        except GraphQLError as exc:
            return error(exc)
        seen.operation = name
        bind_fields(selections, variables)
        requested = requested_cost(selections, mutation=kind == "mutation")
        seen.cost = requested
        if requested > MAX_COST:
            return error(GraphQLError(f"Query cost is {requested}, which exceeds the single query max cost limit "
                                      f"({MAX_COST}).", "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_COST))
        self._refill()
        if self.available < requested:
            return error(GraphQLError("Throttled", "THROTTLED",
                                      documentation="https://shopify.dev/api/usage/rate-limits"),
                         self._cost(requested, None))
        self.available -= requested
        root = self._mutation_root() if kind == "mutation" else self._query_root()
        try:
            data = select(root, selections)
        except GraphQLError as exc:
            self.available += requested
            return error(exc)
        actual = min(requested, count_objects(data))
        self.available = min(self.maximum, self.available + requested - actual)
        return 200, json.dumps({"data": data, "extensions": self._cost(requested, actual)}).encode(), {}
