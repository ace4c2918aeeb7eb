"""Sending one Admin GraphQL request and reading the answer, in the connector's terms.

HTTP 429 (with ``Retry-After``), 502/503/504 and network errors are retried by
:class:`~shop.commerce.http.PlatformHttp` for queries; a mutation is sent again only when
it surely did not arrive (429, a refused connection), never after a 5xx or a dropped
answer, so a cancellation or a return is not made twice.

GraphQL's own throttling arrives as HTTP 200 with ``errors[].extensions.code ==
"THROTTLED"`` and the bucket in ``extensions.cost.throttleStatus`` (``currentlyAvailable``,
``restoreRate``): nothing ran, so the client waits until the bucket holds the query's
``requestedQueryCost`` and sends it again (mutations too), a bounded number of times (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).

Other answers:

| answer                                                   | raises                 |
|----------------------------------------------------------|------------------------|
| 401 (after one new token, when there can be one), 403    | ``PlatformConfigError`` |
| 404 (no such shop or API version)                        | ``PlatformConfigError`` |
| ``ACCESS_DENIED`` (a missing access scope)               | ``PlatformConfigError`` |
| the API version rejects the query (``undefinedField``...)| ``PlatformConfigError`` |
| 402 (shop frozen), 423 (shop locked), other 4xx, non-JSON | ``PlatformUnavailable`` |
| other GraphQL errors, throttled past the budget          | ``PlatformUnavailable`` |
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shop.commerce.errors import PlatformConfigError, PlatformUnavailable
from shop.commerce.http import PlatformHttp
from shop.commerce.shopify.shopify_values import obj

log = logging.getLogger(__name__)

SCHEMA_CODES = frozenset({"undefinedField", "undefinedType", "argumentNotAccepted", "missingRequiredArguments",
                          "variableMismatch", "variableNotDefined", "undefinedVariable", "selectionMismatch",
                          "parseError"})


@dataclass(frozen=True)
class Cost:
    """``extensions.cost`` of the last answer (``None`` fields when Shopify sent none)."""

    requested: float | None = None
    actual: float | None = None
    available: float | None = None
    maximum: float | None = None
    restore_rate: float | None = None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_cost(payload: Mapping[str, Any]) -> Cost:
    extensions = payload.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict):
        return Cost()
    status = obj(cost.get("throttleStatus"))
    return Cost(requested=_number(cost.get("requestedQueryCost")), actual=_number(cost.get("actualQueryCost")),
                available=_number(status.get("currentlyAvailable")), maximum=_number(status.get("maximumAvailable")),
                restore_rate=_number(status.get("restoreRate")))


def throttle_wait_s(cost: Cost, *, floor_s: float = 0.25) -> float:
    """Seconds until the bucket holds the query's requested cost again (``inf`` when
    Shopify says nothing refills it)."""
    if cost.restore_rate is None or cost.restore_rate <= 0:
        return float("inf")
    missing = (cost.requested or 0.0) - (cost.available or 0.0)
    return max(floor_s, missing / cost.restore_rate)


def _messages(errors: list[Any]) -> str:
    return "; ".join(str(e.get("message", ""))[:200] for e in errors if isinstance(e, dict))[:600]


class ShopifyGraphQL:
    """POSTs documents to ``/admin/api/<version>/graphql.json`` through ``http``.

    Args:
        http: the retrying client, with the access token auth.
        path: the GraphQL endpoint path.
        api_version: for error messages.
        sleep: injectable for tests.
        max_throttle_retries: how many THROTTLED answers a request may get before giving up.
        max_throttle_wait_s: the longest single wait for the bucket; a longer one gives up at once.
    """

    def __init__(self, http: PlatformHttp, *, path: str, api_version: str, sleep: Callable[[float], None] = time.sleep,
                 max_throttle_retries: int = 4, max_throttle_wait_s: float = 20.0) -> None:
        self._http = http
        self._path = path
        self._api_version = api_version
        self._sleep = sleep
        self._max_retries = max(0, max_throttle_retries)
        self._max_wait_s = max_throttle_wait_s
        self.last_cost = Cost()
        self.throttled = 0  # THROTTLED answers seen (tests, logs)

    def run(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of the answer. Raises as the module's table says."""
        body = {"query": document, "variables": dict(variables or {})}
        # a query may be sent again after a 5xx or a dropped connection; a mutation only
        # when it surely did not arrive (429, a refused connection) or was THROTTLED
        idempotent = not document.lstrip().startswith("mutation")
        attempt = 0
        while True:
            response = self._http.request("POST", self._path, json=body, idempotent=idempotent)
            status = response.status_code
            if status in (401, 403):
                raise PlatformConfigError(
                    f"Shopify refused the app's access (HTTP {status}): check the access token, the app's "
                    "installation and its access scopes")
            if status == 404:
                raise PlatformConfigError(
                    f"Shopify answered 404 for the Admin API: check the shop domain and API version "
                    f"{self._api_version!r}")
            if status != 200:
                raise PlatformUnavailable(f"Shopify Admin API answered HTTP {status}")
            try:
                payload = response.json()
            except ValueError:
                raise PlatformUnavailable("Shopify Admin API answered something other than JSON") from None
            if not isinstance(payload, dict):
                raise PlatformUnavailable("Shopify Admin API answered JSON that is not an object")
            self.last_cost = read_cost(payload)
            errors = payload.get("errors")
            if errors:
                if not isinstance(errors, list):  # REST-style {"errors": "..."}
                    raise PlatformUnavailable(f"Shopify Admin API error: {str(errors)[:300]}")
                codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
                if "THROTTLED" in codes:
                    self.throttled += 1
                    wait = throttle_wait_s(self.last_cost)
                    if attempt >= self._max_retries or wait > self._max_wait_s:
                        raise PlatformUnavailable(
                            f"Shopify kept throttling the query ({attempt + 1} tries; bucket "
                            f"{self.last_cost.available}/{self.last_cost.maximum}, restores "
                            f"{self.last_cost.restore_rate}/s)")
                    attempt += 1
                    log.info("shopify: throttled, waiting %.1f s for the bucket (try %d)", wait, attempt)
                    self._sleep(wait)
                    continue
                if "ACCESS_DENIED" in codes:
                    raise PlatformConfigError(f"the Shopify app lacks an access scope: {_messages(errors)}")
                if codes & SCHEMA_CODES:
                    raise PlatformConfigError(
                        f"Shopify API version {self._api_version!r} does not accept the connector's query: "
                        f"{_messages(errors)}")
                raise PlatformUnavailable(f"Shopify GraphQL errors: {_messages(errors)}")
            data = payload.get("data")
            if not isinstance(data, dict):
                raise PlatformUnavailable("Shopify Admin API answered without data")
            return data
