"""The Shopify connector's settings, checked when made (:class:`ShopifyConfig`).

Two ways to authenticate, both documented by Shopify
(https://shopify.dev/docs/apps/build/authentication-authorization):

- an Admin API access token (``shpat_...``) of a custom app made in the Shopify admin
  (no new ones since 1 January 2026; existing ones keep working): ``token``;
- an app made in the Dev Dashboard and installed on the shop: its client id in
  ``client_id`` and no ``token``; the connector asks for a token with the client
  credentials grant (``POST /admin/oauth/access_token``, valid about 24 hours) and asks
  again before it runs out or when Shopify answers 401.

Either way ``webhook_secret`` is the app's client secret ("API secret key"): Shopify signs
webhooks with it, and the client credentials grant sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from shop.commerce.errors import PlatformConfigError

_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
_VERSION_RE = re.compile(r"^(20\d\d-(01|04|07|10)|unstable)$")
_TOKEN_RE = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable ASCII, no spaces

#: the first Admin API version whose ``orderCancel`` takes ``refundMethod`` instead of ``refund``
REFUND_METHOD_SINCE = "2025-07"


@dataclass(frozen=True)
class ShopifyConfig:
    """How to reach one Shopify shop.

    Args:
        domain: the shop's permanent ``<name>.myshopify.com`` domain (not a custom domain);
            webhooks must name the same shop in ``X-Shopify-Shop-Domain``.
        token: the Admin API access token; empty when ``client_id`` is set.
        api_version: the Admin API version in the URL, ``YYYY-01|04|07|10`` or ``unstable``.
        webhook_secret: the app's client secret (webhook HMAC key; client credentials).
        client_id: the Dev Dashboard app's client id, for the client credentials grant.
        base_url: where the API lives, for tests (``http://127.0.0.1:PORT``); default
            ``https://<domain>``.
        refund_on_cancel: refund the payment when a shopper cancels in chat (the shop's
            choice; default yes).
        notify_customer: let Shopify e-mail the shopper about a cancellation.
        currency: the shop's currency; default: asked once (``shop { currencyCode }``).
        timeout_s: per-request timeout.
    """

    domain: str
    token: str = ""
    api_version: str = "2025-01"
    webhook_secret: str = ""
    client_id: str = ""
    base_url: str | None = None
    refund_on_cancel: bool = True
    notify_customer: bool = True
    currency: str | None = None
    timeout_s: float = 15.0

    def __post_init__(self) -> None:
        domain = self.domain.strip().lower()
        if not _DOMAIN_RE.match(domain):
            raise PlatformConfigError(
                f"Shopify domain {self.domain[:80]!r} is not a shop's permanent domain: "
                "use <name>.myshopify.com (letters, digits and '-'; no https://, no custom domain)")
        object.__setattr__(self, "domain", domain)
        if not _VERSION_RE.match(self.api_version):
            raise PlatformConfigError(
                f"Shopify API version {self.api_version[:20]!r} is not one: use YYYY-01, -04, -07 or -10 "
                "(e.g. 2025-01) or 'unstable'")
        if not self.webhook_secret or not _TOKEN_RE.match(self.webhook_secret):
            raise PlatformConfigError("the Shopify webhook secret (the app's client secret) is missing or not "
                                      "8 to 512 printable characters without spaces")
        if self.token and not _TOKEN_RE.match(self.token):
            raise PlatformConfigError("the Shopify access token must be 8 to 512 printable characters "
                                      "without spaces")
        if self.client_id and not _TOKEN_RE.match(self.client_id):
            raise PlatformConfigError("the Shopify client id must be 8 to 512 printable characters without spaces")
        if not self.token and not self.client_id:
            raise PlatformConfigError("Shopify needs an Admin API access token, or a client id (Dev Dashboard "
                                      "app) to get one with the client credentials grant")
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") \
                    or parts.query or parts.fragment:
                raise PlatformConfigError("the Shopify base URL must be http(s)://host[:port] with no path")
        if self.currency is not None and not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise PlatformConfigError("the Shopify currency must be a 3-letter ISO 4217 code such as USD")
        if not 1.0 <= self.timeout_s <= 120.0:
            raise PlatformConfigError("the Shopify timeout must be between 1 and 120 seconds")

    @property
    def root(self) -> str:
        """The shop's address, where ``/admin/...`` lives."""
        return (self.base_url or f"https://{self.domain}").rstrip("/")

    @property
    def graphql_path(self) -> str:
        return f"/admin/api/{self.api_version}/graphql.json"

    @property
    def uses_refund_method(self) -> bool:
        """Whether this API version's ``orderCancel`` wants ``refundMethod`` (2025-07 on)."""
        return self.api_version == "unstable" or self.api_version >= REFUND_METHOD_SINCE

    def __repr__(self) -> str:  # never print the secrets
        return (f"ShopifyConfig(domain={self.domain!r}, api_version={self.api_version!r}, "
                f"auth={'token' if self.token else 'client credentials'}, base_url={self.base_url!r})")
