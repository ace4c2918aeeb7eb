"""WooCommerce behind :class:`~shop.commerce.platform.CommercePlatform`: the REST API v3
connector (:mod:`.woo_platform`), its settings (:mod:`.woo_config`), the JSON-to-record
mapping with the order-status table (:mod:`.woo_records`) and webhook verification
(:mod:`.woo_webhooks`)."""

from shop.commerce.woocommerce.woo_config import WooCommerceConfig
from shop.commerce.woocommerce.woo_platform import WooCommercePlatform

__all__ = ["WooCommerceConfig", "WooCommercePlatform"]
