"""Shopify through the Admin GraphQL API: :class:`ShopifyConfig`, :class:`ShopifyPlatform`
and :func:`build_http` (the retrying client with the shop's access token).

Modules: ``shopify_config`` (settings, checked), ``shopify_auth`` (access token, client
credentials grant), ``shopify_graphql`` (one request: throttling, errors),
``shopify_queries`` (the documents and page sizes), ``shopify_records`` and
``shopify_webhook_records`` (GraphQL nodes and webhook bodies -> records),
``shopify_status`` (Shopify states -> the shop's), ``shopify_values`` (money, times,
HTML, options), ``shopify_ids`` (one id form), ``shopify_webhooks`` (signature and
headers of a delivery), ``shopify_platform`` (the connector).
"""

from shop.commerce.shopify.shopify_config import ShopifyConfig
from shop.commerce.shopify.shopify_platform import ShopifyPlatform, build_http

__all__ = ["ShopifyConfig", "ShopifyPlatform", "build_http"]
