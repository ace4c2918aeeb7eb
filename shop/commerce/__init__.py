"""Commerce platforms behind one interface: the shop's own database, Shopify (Admin
GraphQL API) and WooCommerce (REST API v3).

The assistant always reads the shop's own tables; a platform is mirrored into them
(:mod:`shop.commerce.mirror`) by a full sync and by its webhooks
(:mod:`shop.commerce.webhooks`), and changes a shopper makes in chat (cancel, address,
return) are written to the platform first (:class:`shop.commerce.platform.CommercePlatform`).
"""
