"""The fake Shopify's mutations (``orderCancel``, ``orderUpdate``, ``returnRequest``), as
the Admin GraphQL API documents them (https://shopify.dev/docs/api/admin-graphql/2025-01/mutations/orderCancel,
``orderUpdate``, ``returnRequest``): argument checks per API version, the business
refusals as ``userErrors``, and the state changes. Mixed into
:class:`tests.fakes.shopify_server.FakeShopify`, whose state they change."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.fakes.mini_graphql import Conn, GraphQLError


class ShopifyMutations:
    """Mutation resolvers over the fake's state (``self.orders``, ``self.jobs``...)."""

    orders: dict[int, dict[str, Any]]
    variants: dict[int, dict[str, Any]]
    returns: dict[int, dict[str, Any]]
    jobs: dict[str, dict[str, Any]]
    api_version: str
    job_polls: int
    fail_cancel_jobs: bool
    location: int

    def _order_cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        new_style = self.api_version == "unstable" or self.api_version >= "2025-07"
        if new_style and "refund" in args:
            raise GraphQLError("Field 'orderCancel' doesn't accept argument 'refund'", "argumentNotAccepted")
        if not new_style and "refundMethod" in args:
            raise GraphQLError("Field 'orderCancel' doesn't accept argument 'refundMethod'", "argumentNotAccepted")
        needed = ["orderId", "reason", "restock", "refundMethod" if new_style else "refund"]
        missing = [a for a in needed if args.get(a) is None]
        if missing:
            raise GraphQLError(f"Field 'orderCancel' is missing required arguments: {', '.join(missing)}",
                               "missingRequiredArguments")
        if args["reason"] not in ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"):
            raise GraphQLError(f"Argument 'reason' has an invalid value ({args['reason']})",
                               "argumentLiteralsIncompatible")

        def refused(message: str, code: str = "INVALID") -> dict[str, Any]:
            return {"__typename": "OrderCancelPayload", "job": None, "userErrors": [],
                    "orderCancelUserErrors": [{"__typename": "OrderCancelUserError", "field": ["orderId"],
                                               "message": message, "code": code}]}

        order = self._by_gid(self.orders, "Order", args["orderId"])
        if order is None:
            return refused("Order does not exist", "NOT_FOUND")
        if order["cancelledAt"]:
            return refused("Order has already been cancelled")
        if self._shipped(order):
            return refused("Cannot cancel an order that has fulfillments")
        refund = args["refundMethod"].get("originalPaymentMethodsRefund") if new_style else args["refund"]
        job_id = f"gid://shopify/Job/{uuid.uuid4()}"
        state = {"id": job_id, "done": False, "polls": 0, "order_id": order["id"], "refund": bool(refund),
                 "restock": bool(args["restock"]), "reason": args["reason"], "note": args.get("staffNote"),
                 "notify": args.get("notifyCustomer")}
        self.jobs[job_id] = state
        if self.job_polls <= 0:
            self._finish_cancel(state)
        return {"__typename": "OrderCancelPayload", "job": {"__typename": "Job", "id": job_id, "done": state["done"]},
                "orderCancelUserErrors": [], "userErrors": []}

    def _finish_cancel(self, state: dict[str, Any]) -> None:
        state["done"] = True
        if self.fail_cancel_jobs:
            return
        order = self.orders[state["order_id"]]
        now = self.tick()
        order["cancelledAt"] = now
        order["cancelReason"] = state["reason"]
        order["updatedAt"] = now
        if state["refund"]:
            order["financial"] = "REFUNDED" if order["financial"] == "PAID" else "VOIDED"
        if state["restock"]:
            for item in order["lines"]:
                if item["variant_id"] in self.variants:
                    self.variants[item["variant_id"]]["levels"][self.location] += item["quantity"]

    def _order_update(self, args: dict[str, Any]) -> dict[str, Any]:
        data = args.get("input")
        if not isinstance(data, dict) or not data.get("id"):
            raise GraphQLError("Variable $input of type OrderInput! was provided invalid value for id "
                               "(Expected value to not be null)", "INVALID_VARIABLE")
        order = self._by_gid(self.orders, "Order", data["id"])
        if order is None:
            return {"__typename": "OrderUpdatePayload", "order": None,
                    "userErrors": [{"__typename": "UserError", "field": ["id"], "message": "Order does not exist"}]}
        address = data.get("shippingAddress")
        errors = []
        if isinstance(address, dict):
            if "country" in address or "province" in address:
                raise GraphQLError("MailingAddressInput: use countryCode/provinceCode", "argumentNotAccepted")
            for key, label in (("address1", "Address1"), ("city", "City"), ("zip", "Zip")):
                if not str(address.get(key) or "").strip():
                    errors.append({"__typename": "UserError", "field": ["shippingAddress", key],
                                   "message": f"{label} can't be blank"})
            code = str(address.get("countryCode") or "")
            if not re.fullmatch(r"[A-Z]{2}", code) or code in ("XX", "ZZ"):
                errors.append({"__typename": "UserError", "field": ["shippingAddress", "countryCode"],
                               "message": "Country is invalid"})
            if code == "US" and not re.fullmatch(r"\d{5}(-\d{4})?", str(address.get("zip") or "")):
                errors.append({"__typename": "UserError", "field": ["shippingAddress", "zip"],
                               "message": "Zip is invalid for United States"})
        if errors:
            return {"__typename": "OrderUpdatePayload", "order": None, "userErrors": errors}
        if isinstance(address, dict):
            name = " ".join(p for p in (address.get("firstName"), address.get("lastName")) if p)
            order["address"] = {"name": name, "firstName": address.get("firstName"),
                                "lastName": address.get("lastName"), "address1": address.get("address1"),
                                "address2": address.get("address2"), "city": address.get("city"),
                                "zip": address.get("zip"), "countryCodeV2": address.get("countryCode"),
                                "provinceCode": address.get("provinceCode")}
        order["updatedAt"] = self.tick()
        return {"__typename": "OrderUpdatePayload", "order": self._order_view(order), "userErrors": []}

    def _return_request(self, args: dict[str, Any]) -> dict[str, Any]:
        data = args.get("input") or {}

        def refused(message: str, code: str = "INVALID") -> dict[str, Any]:
            return {"__typename": "ReturnRequestPayload", "return": None,
                    "userErrors": [{"__typename": "ReturnUserError", "field": ["input"], "message": message,
                                    "code": code}]}

        order = self._by_gid(self.orders, "Order", data.get("orderId"))
        if order is None:
            return refused("Order does not exist", "NOT_FOUND")
        requested: dict[int, int] = {}
        for ret in self.returns.values():
            if ret["order_id"] == order["id"] and ret["status"] != "DECLINED":
                for line in ret["lines"]:
                    requested[line["fli"]] = requested.get(line["fli"], 0) + line["quantity"]
        by_fli = {line["id"]: line for f in order["fulfillments"] if f["status"] == "SUCCESS" for line in f["lines"]}
        lines = []
        for item in data.get("returnLineItems") or []:
            fli_id = self.num(item.get("fulfillmentLineItemId", "0"))
            if fli_id not in by_fli:
                return refused("Fulfillment line item does not exist", "NOT_FOUND")
            if item.get("returnReason") not in ("COLOR", "DEFECTIVE", "NOT_AS_DESCRIBED", "OTHER", "SIZE_TOO_LARGE",
                                                "SIZE_TOO_SMALL", "STYLE", "UNKNOWN", "UNWANTED", "WRONG_ITEM"):
                raise GraphQLError("Argument 'returnReason' has an invalid value", "argumentLiteralsIncompatible")
            quantity = int(item.get("quantity") or 0)
            if quantity < 1 or quantity > by_fli[fli_id]["quantity"] - requested.get(fli_id, 0):
                if requested.get(fli_id):
                    return refused("Quantity is greater than the returnable quantity: already requested")
                return refused("Quantity is greater than the returnable quantity")
            lines.append({"id": self._id(), "fli": fli_id, "quantity": quantity, "reason": item["returnReason"],
                          "note": item.get("customerNote")})
        if not lines:
            return refused("Return line items can't be blank")
        rid = self._id()
        ret = {"id": rid, "order_id": order["id"], "status": "REQUESTED", "lines": lines,
               "name": f"#{order['number']}-R{1 + sum(r['order_id'] == order['id'] for r in self.returns.values())}"}
        self.returns[rid] = ret
        order["updatedAt"] = self.tick()
        return {"__typename": "ReturnRequestPayload", "userErrors": [], "return": {
            "__typename": "Return", "id": self.gid("Return", rid), "name": ret["name"], "status": "REQUESTED",
            "order": {"__typename": "Order", "id": self.gid("Order", order["id"])},
            "returnLineItems": Conn([{"__typename": "ReturnLineItem", "id": self.gid("ReturnLineItem", line["id"]),
                                      "quantity": line["quantity"], "returnReason": line["reason"],
                                      "customerNote": line["note"]} for line in lines])}}

    def _mutation_root(self) -> dict[str, Any]:
        return {"__typename": "Mutation", "orderCancel": self._order_cancel, "orderUpdate": self._order_update,
                "returnRequest": self._return_request}
