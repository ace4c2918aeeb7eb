"""The demo storefront: a small product listing from the shop database with the chat
widget on every page, a cart panel that shows the chat session's real cart, and the
built widget bundle at ``/widget/shop-assistant.js``. Run with ``python -m apps.cli web``."""
