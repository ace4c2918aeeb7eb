"""The WooCommerce connector's settings, checked when they are made.

``shop.settings`` reads them from the environment (``SHOP_WOOCOMMERCE_URL``,
``SHOP_WOOCOMMERCE_KEY``, ``SHOP_WOOCOMMERCE_SECRET``, ``SHOP_WOOCOMMERCE_WEBHOOK_SECRET``)
and builds a :class:`WooCommerceConfig`; anything malformed raises
:class:`~shop.commerce.errors.PlatformConfigError` with a message that says what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from shop.commerce.errors import PlatformConfigError

#: hosts a plain-HTTP store URL may name (tests and a store on this machine)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_KEY_RE = re.compile(r"^ck_[A-Za-z0-9]{20,64}$")
_SECRET_RE = re.compile(r"^cs_[A-Za-z0-9]{20,64}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MIN_WEBHOOK_SECRET_CHARS = 16


def normalise_store_url(url: str) -> str:
    """``scheme://host[:port][/path]`` in lower case (scheme and host), without a
    trailing slash: the form the store URL and ``X-WC-Webhook-Source`` are compared in.
    Raises :class:`PlatformConfigError` for anything else."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise PlatformConfigError(f"WooCommerce store URL {text!r} is not a URL: {exc}") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http") or not host:
        raise PlatformConfigError(
            f"WooCommerce store URL {text!r} must look like https://shop.example.com (the WordPress site address)")
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise PlatformConfigError(
            f"WooCommerce store URL {text!r} must use https: the API keys travel in every request "
            "(plain http is allowed only for 127.0.0.1 and localhost)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise PlatformConfigError(
            f"WooCommerce store URL {text!r} must have no user name, password, query or fragment: "
            "only the site address, e.g. https://shop.example.com or https://example.com/shop")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class WooCommerceConfig:
    """How to reach one WooCommerce store and how to read it.

    Attributes:
        store_url: the WordPress site address (``https://shop.example.com``; plain http
            only for 127.0.0.1/localhost); the API is at ``<store_url>/wp-json/wc/v3``.
        consumer_key: the REST API key (``ck_...``, Read/Write).
        consumer_secret: its secret (``cs_...``).
        webhook_secret: the secret every webhook was created with (at least 16 characters).
        currency: the store's currency (WooCommerce products carry no currency).
        allow_refunds: whether a return asked for in chat may record a manual refund on
            the order (see :meth:`WooCommercePlatform.request_return`); off: returns are
            refused as ``not_supported`` and the chat offers a person.
        completed_means_delivered: whether the store marks orders *completed* only once
            delivered (digital goods, or a store that works that way); off: *completed*
            reads as shipped.
        query_string_auth: send the key and secret as query parameters instead of HTTP
            Basic, for hosts whose web server drops the ``Authorization`` header.
        timeout_s: per-request timeout.
        max_pages: a listing that claims more pages than this is refused (a loop guard).
        max_webhook_bytes: larger webhook bodies are refused before anything is parsed.
        size_attributes / colour_attributes / brand_attributes: attribute names (lower
            case, without the ``pa_`` taxonomy prefix) read as a variant's size and colour
            and, when a product has no brand of its own, its brand.
    """

    store_url: str
    consumer_key: str
    consumer_secret: str
    webhook_secret: str
    currency: str = "USD"
    allow_refunds: bool = False
    completed_means_delivered: bool = False
    query_string_auth: bool = False
    timeout_s: float = 15.0
    max_pages: int = 10_000
    max_webhook_bytes: int = 2 * 1024 * 1024
    size_attributes: tuple[str, ...] = ("size",)
    colour_attributes: tuple[str, ...] = ("color", "colour")
    brand_attributes: tuple[str, ...] = ("brand",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "store_url", normalise_store_url(self.store_url))
        if not _KEY_RE.match(self.consumer_key or ""):
            raise PlatformConfigError(
                "WooCommerce consumer key must be the REST API key WooCommerce made: 'ck_' and 20-64 letters "
                "or digits (WooCommerce > Settings > Advanced > REST API)")
        if not _SECRET_RE.match(self.consumer_secret or ""):
            raise PlatformConfigError(
                "WooCommerce consumer secret must be the key's secret: 'cs_' and 20-64 letters or digits")
        if len(self.webhook_secret or "") < MIN_WEBHOOK_SECRET_CHARS:
            raise PlatformConfigError(
                f"WooCommerce webhook secret must have at least {MIN_WEBHOOK_SECRET_CHARS} characters: "
                "the Secret field of each webhook (WooCommerce > Settings > Advanced > Webhooks)")
        if not _CURRENCY_RE.match(self.currency or ""):
            raise PlatformConfigError(f"currency {self.currency!r} must be an ISO 4217 code such as USD or EUR")
        if not 0 < self.timeout_s <= 120:
            raise PlatformConfigError(f"timeout_s must be between 0 and 120 seconds, not {self.timeout_s}")
        if not 1 <= self.max_pages <= 1_000_000:
            raise PlatformConfigError(f"max_pages must be between 1 and 1,000,000, not {self.max_pages}")
        if not 1024 <= self.max_webhook_bytes <= 64 * 1024 * 1024:
            raise PlatformConfigError(
                f"max_webhook_bytes must be between 1 KiB and 64 MiB, not {self.max_webhook_bytes}")

    @property
    def api_url(self) -> str:
        return f"{self.store_url}/wp-json/wc/v3"

    def __repr__(self) -> str:  # never print the credentials
        return f"WooCommerceConfig(store_url={self.store_url!r}, consumer_key='ck_…', currency={self.currency!r})"
