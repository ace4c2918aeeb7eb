"""What the fake Shopify answers GraphQL queries with: its state seen as the Admin GraphQL
API's objects (https://shopify.dev/docs/api/admin-graphql/2025-01/objects/Product,
``ProductVariant``, ``Customer``, ``Order``, ``LineItem``, ``Fulfillment``, ``MoneyBag``),
with display statuses computed as Shopify computes them, and the query root
(``products``/``customers``/``orders`` connections with ``query: "updated_at:..."`` and
``sortKey``, ``product``/``customer``/``order`` by id, ``shop``, ``inventoryItem``,
``job``). Mixed into :class:`tests.fakes.shopify_server.FakeShopify`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tests.fakes.mini_graphql import Conn, GraphQLError
from tests.fakes.shopify_webhook_bodies import amount, z


class ShopifyViews:
    """GraphQL objects of the fake's state, and the query root."""

    products: dict[int, dict[str, Any]]
    variants: dict[int, dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    orders: dict[int, dict[str, Any]]
    jobs: dict[str, dict[str, Any]]
    currency: str
    domain: str
    loop_cursors: set[str]
    job_polls: int

    def _money(self, value: Decimal) -> dict[str, Any]:
        money = {"amount": amount(value), "currencyCode": self.currency}
        return {"__typename": "MoneyBag", "shopMoney": {"__typename": "MoneyV2", **money},
                "presentmentMoney": {"__typename": "MoneyV2", **money}}

    def _variant_view(self, variant: dict[str, Any]) -> dict[str, Any]:
        product = self.products[variant["product_id"]]
        names = product["options"]
        return {"__typename": "ProductVariant", "id": self.gid("ProductVariant", variant["id"]), "sku": variant["sku"],
                "price": variant["price"], "compareAtPrice": variant["compareAtPrice"],
                "title": " / ".join(variant["options"]), "inventoryQuantity": sum(variant["levels"].values()),
                "selectedOptions": [{"__typename": "SelectedOption", "name": n, "value": v}
                                    for n, v in zip(names, variant["options"], strict=False)],
                "inventoryItem": {"__typename": "InventoryItem",
                                  "id": self.gid("InventoryItem", variant["inventory_item_id"]),
                                  "tracked": variant["tracked"]},
                "product": {"__typename": "Product", "id": self.gid("Product", product["id"])}}

    def _product_view(self, product: dict[str, Any]) -> dict[str, Any]:
        return {"__typename": "Product", "id": self.gid("Product", product["id"]), "handle": product["handle"],
                "title": product["title"], "descriptionHtml": product["descriptionHtml"],
                "description": re.sub(r"<[^>]+>", "", product["descriptionHtml"]), "vendor": product["vendor"],
                "productType": product["productType"], "tags": product["tags"], "status": product["status"],
                "createdAt": z(product["createdAt"]), "updatedAt": z(product["updatedAt"]),
                "featuredImage": {"__typename": "Image", "url": product["image"]} if product["image"] else None,
                "variants": Conn([self._variant_view(self.variants[v]) for v in product["variant_ids"]])}

    def _customer_view(self, customer: dict[str, Any]) -> dict[str, Any]:
        return {"__typename": "Customer", "id": self.gid("Customer", customer["id"]), "email": customer["email"],
                "firstName": customer["firstName"], "lastName": customer["lastName"], "phone": customer["phone"],
                "createdAt": z(customer["createdAt"]), "updatedAt": z(customer["updatedAt"]),
                "defaultAddress": {"__typename": "MailingAddress", "city": customer["city"],
                                   "countryCodeV2": customer["country"]},
                "emailMarketingConsent": {"__typename": "CustomerEmailMarketingConsentState",
                                          "marketingState": "SUBSCRIBED" if customer["subscribed"]
                                          else "NOT_SUBSCRIBED"}}

    def _fulfillment_status(self, order: dict[str, Any]) -> str:
        shipped = self._shipped(order)
        total = sum(item["quantity"] for item in order["lines"])
        sent = sum(min(shipped.get(item["id"], 0), item["quantity"]) for item in order["lines"])
        return "FULFILLED" if total and sent >= total else ("PARTIALLY_FULFILLED" if sent else "UNFULFILLED")

    def _totals(self, order: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
        subtotal = sum((Decimal(item["price"]) * item["quantity"] for item in order["lines"]), Decimal(0))
        shipping = Decimal(order["shipping"])
        return subtotal, shipping, subtotal + shipping

    def _line_view(self, item: dict[str, Any]) -> dict[str, Any]:
        variant = self.variants.get(item["variant_id"])
        return {"__typename": "LineItem", "id": self.gid("LineItem", item["id"]), "title": item["title"],
                "name": f"{item['title']} - {item['variantTitle']}" if item["variantTitle"] else item["title"],
                "variantTitle": item["variantTitle"], "quantity": item["quantity"], "sku": item["sku"],
                "originalUnitPriceSet": self._money(Decimal(item["price"])),
                "variant": self._variant_view(variant) if variant else None,
                "product": {"__typename": "Product", "id": self.gid("Product", item["product_id"])}}

    def _fulfillment_view(self, fulfillment: dict[str, Any]) -> dict[str, Any]:
        display = "DELIVERED" if fulfillment["deliveredAt"] else (
            "CANCELED" if fulfillment["status"] == "CANCELLED" else "IN_TRANSIT")
        return {"__typename": "Fulfillment", "id": self.gid("Fulfillment", fulfillment["id"]),
                "status": fulfillment["status"], "displayStatus": display,
                "createdAt": z(fulfillment["createdAt"]), "inTransitAt": z(fulfillment["inTransitAt"]),
                "deliveredAt": z(fulfillment["deliveredAt"]), "updatedAt": z(fulfillment["updatedAt"]),
                "trackingInfo": [{"__typename": "FulfillmentTrackingInfo", "company": fulfillment["company"],
                                  "number": fulfillment["number"], "url": None}] if fulfillment["number"] else [],
                "fulfillmentLineItems": Conn([
                    {"__typename": "FulfillmentLineItem", "id": self.gid("FulfillmentLineItem", line["id"]),
                     "quantity": line["quantity"],
                     "lineItem": {"__typename": "LineItem", "id": self.gid("LineItem", line["line_id"])}}
                    for line in fulfillment["lines"]])}

    def _order_view(self, order: dict[str, Any]) -> dict[str, Any]:
        subtotal, shipping, total = self._totals(order)
        customer = self.customers.get(order["customer_id"]) if order["customer_id"] else None
        return {"__typename": "Order", "id": self.gid("Order", order["id"]), "name": f"#{order['number']}",
                "email": order["email"] or None, "createdAt": z(order["createdAt"]),
                "processedAt": z(order["processedAt"]), "updatedAt": z(order["updatedAt"]),
                "cancelledAt": z(order["cancelledAt"]), "cancelReason": order["cancelReason"],
                "displayFinancialStatus": order["financial"],
                "displayFulfillmentStatus": self._fulfillment_status(order), "currencyCode": self.currency,
                "totalPriceSet": self._money(total), "subtotalPriceSet": self._money(subtotal),
                "totalShippingPriceSet": self._money(shipping),
                "shippingLine": {"__typename": "ShippingLine", "title": order["shippingTitle"]},
                "customer": self._customer_view(customer) if customer else None,
                "shippingAddress": {"__typename": "MailingAddress", **order["address"]},
                "fulfillments": [self._fulfillment_view(f) for f in order["fulfillments"]],
                "lineItems": Conn([self._line_view(item) for item in order["lines"]])}

    # --- top-level fields ---

    @staticmethod
    def _filtered(items: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        query = args.get("query")
        if query:
            match = re.fullmatch(r"\s*updated_at:(>=|>|<=|<)'?([0-9T:\-.Z+]+)'?\s*", str(query))
            if not match:
                raise GraphQLError(f"the fake understands only updated_at filters, not {query!r}", "BAD_REQUEST")
            op, text = match.groups()
            when = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
            compare: Callable[[datetime], bool] = {
                ">=": lambda t: t >= when, ">": lambda t: t > when, "<=": lambda t: t <= when,
                "<": lambda t: t < when}[op]
            items = [i for i in items if compare(i["updatedAt"])]
        sort_key = args.get("sortKey") or "ID"
        if sort_key == "UPDATED_AT":
            items = sorted(items, key=lambda i: (i["updatedAt"], i["id"]))
        elif sort_key == "ID":
            items = sorted(items, key=lambda i: i["id"])
        else:
            raise GraphQLError(f"the fake sorts by ID or UPDATED_AT, not {sort_key!r}", "BAD_REQUEST")
        if args.get("reverse"):
            items.reverse()
        return items

    def _top_conn(self, name: str, items: list[dict[str, Any]], view: Callable[[dict[str, Any]], dict[str, Any]],
                  args: dict[str, Any]) -> Conn:
        chosen = self._filtered(items, args)
        return Conn([view(i) for i in chosen], loop=name in self.loop_cursors)

    def _by_gid(self, table: dict[int, dict[str, Any]], kind: str, value: Any) -> dict[str, Any] | None:
        text = str(value or "")
        if not text.startswith(f"gid://shopify/{kind}/"):
            raise GraphQLError(f"Invalid global id '{text[:60]}'", "BAD_REQUEST")
        return table.get(self.num(text))

    def _query_root(self) -> dict[str, Any]:
        def one(table: dict[int, dict[str, Any]], kind: str, view: Callable[[dict[str, Any]], dict[str, Any]]):
            def resolve(args: dict[str, Any]) -> dict[str, Any] | None:
                found = self._by_gid(table, kind, args.get("id"))
                return view(found) if found else None
            return resolve

        def inventory_item(args: dict[str, Any]) -> dict[str, Any] | None:
            number = self.num(str(args.get("id")))
            for variant in self.variants.values():
                if variant["inventory_item_id"] == number:
                    return {"__typename": "InventoryItem", "id": self.gid("InventoryItem", number),
                            "tracked": variant["tracked"], "variant": self._variant_view(variant)}
            return None

        def job(args: dict[str, Any]) -> dict[str, Any] | None:
            state = self.jobs.get(str(args.get("id")))
            if state is None:
                return None
            state["polls"] += 1
            if not state["done"] and state["polls"] >= self.job_polls:
                self._finish_cancel(state)
            return {"__typename": "Job", "id": state["id"], "done": state["done"]}

        return {
            "__typename": "QueryRoot",
            "shop": {"__typename": "Shop", "name": "Ridgeline Test", "currencyCode": self.currency,
                     "myshopifyDomain": self.domain},
            "products": lambda a: self._top_conn("products", list(self.products.values()), self._product_view, a),
            "customers": lambda a: self._top_conn("customers", list(self.customers.values()), self._customer_view, a),
            "orders": lambda a: self._top_conn("orders", list(self.orders.values()), self._order_view, a),
            "product": one(self.products, "Product", self._product_view),
            "customer": one(self.customers, "Customer", self._customer_view),
            "order": one(self.orders, "Order", self._order_view),
            "inventoryItem": inventory_item,
            "job": job,
        }
