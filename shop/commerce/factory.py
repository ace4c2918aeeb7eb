"""The commerce platform a shop is configured with, built from explicit values.

:func:`build_platform` takes the backend's name and its connection values (no settings
are read here: the action server, the webhook receiver and the CLI pass what
``shop.settings`` read); :func:`platform_from_settings` does that from any object with
the settings' commerce fields. ``"builtin"`` (the shop's own database) gives ``None``:
its rows have no ``external_source``, there is nothing to sync and nothing to write back.
Building a connector checks its values and opens no connection.

A :class:`RequestBudget` bounds how long one call may take: the action server builds
its platform with :data:`CHAT_BUDGET` (a shopper is waiting; fewer, shorter tries), the
sync and the webhook receiver with the connectors' own defaults (more patience).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from pydantic import SecretStr

from shop.commerce.errors import PlatformConfigError
from shop.commerce.http import PlatformHttp
from shop.commerce.platform import CommercePlatform
from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform, build_http
from shop.commerce.woocommerce import WooCommerceConfig, WooCommercePlatform

BACKENDS = ("builtin", "shopify", "woocommerce")


@dataclass(frozen=True)
class RequestBudget:
    """Per request: ``timeout_s`` (each try), ``max_attempts`` (tries, the first
    included) and ``max_wait_s`` (the longest wait between tries; a longer
    ``Retry-After`` gives up at once)."""

    timeout_s: float
    max_attempts: int
    max_wait_s: float

    def worst_case_s(self) -> float:
        """The longest one request can take."""
        return self.timeout_s * self.max_attempts + self.max_wait_s * (self.max_attempts - 1)


#: for write-backs while a shopper waits: at most 5 + 2 + 5 = 12 s a request
CHAT_BUDGET = RequestBudget(timeout_s=5.0, max_attempts=2, max_wait_s=2.0)


def _required(values: dict[str, str], backend: str) -> None:
    missing = [name for name, value in values.items() if not value.strip()]
    if missing:
        raise PlatformConfigError(f"the {backend} backend needs {', '.join(missing)}")


def build_platform(
    *, backend: str, shopify_domain: str = "", shopify_token: str = "", shopify_client_id: str = "",
    shopify_api_version: str = "2025-01", shopify_webhook_secret: str = "", woocommerce_url: str = "",
    woocommerce_key: str = "", woocommerce_secret: str = "", woocommerce_webhook_secret: str = "",
    woocommerce_currency: str = "USD", woocommerce_allow_refunds: bool = False,
    woocommerce_completed_means_delivered: bool = False, woocommerce_query_auth: bool = False,
    budget: RequestBudget | None = None, http: PlatformHttp | None = None,
) -> CommercePlatform | None:
    """The platform for ``backend`` (one of :data:`BACKENDS`), or ``None`` for ``"builtin"``.

    ``budget``: bounds each request (default: the connector's own); ``http``: a ready
    client (tests point it at a fake server; it brings its own budget).

    Raises:
        PlatformConfigError: an unknown backend, or a value the backend needs is empty
            or malformed (the message names it; secrets are never included).
    """
    if backend == "builtin":
        return None
    if backend == "shopify":
        _required({"shopify_domain": shopify_domain, "shopify_token or shopify_client_id":
                   shopify_token or shopify_client_id, "shopify_webhook_secret": shopify_webhook_secret}, backend)
        shopify = ShopifyConfig(domain=shopify_domain.strip(), token=shopify_token.strip(),
                                client_id=shopify_client_id.strip(), api_version=shopify_api_version.strip(),
                                webhook_secret=shopify_webhook_secret.strip())
        if http is None and budget is not None:
            shopify = replace(shopify, timeout_s=budget.timeout_s)
            http = build_http(shopify, max_attempts=budget.max_attempts, max_wait_s=budget.max_wait_s)
        return ShopifyPlatform(shopify, http=http)
    if backend == "woocommerce":
        _required({"woocommerce_url": woocommerce_url, "woocommerce_key": woocommerce_key,
                   "woocommerce_secret": woocommerce_secret,
                   "woocommerce_webhook_secret": woocommerce_webhook_secret}, backend)
        woo = WooCommerceConfig(store_url=woocommerce_url.strip(), consumer_key=woocommerce_key.strip(),
                                consumer_secret=woocommerce_secret.strip(),
                                webhook_secret=woocommerce_webhook_secret.strip(), currency=woocommerce_currency,
                                allow_refunds=woocommerce_allow_refunds,
                                completed_means_delivered=woocommerce_completed_means_delivered,
                                query_string_auth=woocommerce_query_auth)
        if http is None and budget is not None:
            woo = replace(woo, timeout_s=budget.timeout_s)
            # the client WooCommercePlatform makes itself, with fewer tries (with query_string_auth
            # the platform adds the key and secret to every request's parameters itself)
            http = PlatformHttp(base_url=woo.api_url, headers={"Accept": "application/json"},
                                auth=None if woo.query_string_auth else (woo.consumer_key, woo.consumer_secret),
                                timeout_s=woo.timeout_s,
                                max_attempts=budget.max_attempts, max_wait_s=budget.max_wait_s)
        return WooCommercePlatform(woo, http=http)
    raise PlatformConfigError(f"unknown commerce backend {backend!r}; use one of {', '.join(BACKENDS)}")


class CommerceSettings(Protocol):
    """The commerce fields of ``shop.settings.Settings`` (read-only here)."""

    @property
    def commerce_backend(self) -> str: ...
    @property
    def shopify_domain(self) -> str: ...
    @property
    def shopify_token(self) -> SecretStr: ...
    @property
    def shopify_client_id(self) -> str: ...
    @property
    def shopify_api_version(self) -> str: ...
    @property
    def shopify_webhook_secret(self) -> SecretStr: ...
    @property
    def woocommerce_url(self) -> str: ...
    @property
    def woocommerce_key(self) -> SecretStr: ...
    @property
    def woocommerce_secret(self) -> SecretStr: ...
    @property
    def woocommerce_webhook_secret(self) -> SecretStr: ...
    @property
    def woocommerce_currency(self) -> str: ...
    @property
    def woocommerce_allow_refunds(self) -> bool: ...
    @property
    def woocommerce_completed_means_delivered(self) -> bool: ...
    @property
    def woocommerce_query_auth(self) -> bool: ...


def platform_from_settings(settings: CommerceSettings, *, budget: RequestBudget | None = None,
                           http: PlatformHttp | None = None) -> CommercePlatform | None:
    """:func:`build_platform` with the values of ``settings`` (``shop.settings.get_settings()``)."""
    return build_platform(
        backend=settings.commerce_backend,
        shopify_domain=settings.shopify_domain, shopify_token=settings.shopify_token.get_secret_value(),
        shopify_client_id=settings.shopify_client_id, shopify_api_version=settings.shopify_api_version,
        shopify_webhook_secret=settings.shopify_webhook_secret.get_secret_value(),
        woocommerce_url=settings.woocommerce_url, woocommerce_key=settings.woocommerce_key.get_secret_value(),
        woocommerce_secret=settings.woocommerce_secret.get_secret_value(),
        woocommerce_webhook_secret=settings.woocommerce_webhook_secret.get_secret_value(),
        woocommerce_currency=settings.woocommerce_currency,
        woocommerce_allow_refunds=settings.woocommerce_allow_refunds,
        woocommerce_completed_means_delivered=settings.woocommerce_completed_means_delivered,
        woocommerce_query_auth=settings.woocommerce_query_auth,
        budget=budget, http=http,
    )
