"""The commerce webhook receiver (FastAPI): Shopify and WooCommerce tell the assistant
about product, inventory, customer and order changes here (``apps.webhooks.webhook_app``)."""
