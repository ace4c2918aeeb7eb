"""Sizes and shop-wide weights of the generated demo shop: row counts at ``scale=1.0``, the
history window, the demo persona, shipping fees and the demand shares of categories,
colours and styles."""

from __future__ import annotations

# --------------------------------------------------------------------------- sizes
BASE_PRODUCTS = 5_200
BASE_CUSTOMERS = 2_200
BASE_ORDERS = 10_600
BASE_BROWSE_SESSIONS = 8_000
MIN_PRODUCTS_PER_CATEGORY = 3
MIN_CUSTOMERS = 20
MIN_ORDERS = 30
MIN_BROWSE_SESSIONS = 20
HISTORY_DAYS = 730
INSERT_CHUNK = 5_000

PERSONA_CUSTOMER_ID = 1
PERSONA_EMAIL = "alex.rivera@example.com"
PERSONA_ORDER_KEYS = ("returnable", "expired", "processing", "shipped")

FREE_SHIPPING_THRESHOLD_CENTS = 7_500
STANDARD_SHIPPING_CENTS = 595
EXPRESS_SHIPPING_CENTS = 1_995

# Share of the catalog (and of demand) per category slug.
CATEGORY_WEIGHTS: dict[str, float] = {
    "jackets": 9, "fleece": 6, "t-shirts": 9, "shirts": 5, "hoodies": 5, "pants": 7,
    "shorts": 5, "base-layers": 4, "hiking-boots": 6, "trail-shoes": 5, "sneakers": 5,
    "sandals": 3, "socks": 6, "hats": 4, "gloves": 3, "backpacks": 6, "tents": 3,
    "sleeping-bags": 3,
}
APPAREL = frozenset({"jackets", "fleece", "t-shirts", "shirts", "hoodies", "pants", "shorts",
                     "base-layers", "gloves"})
FOOTWEAR = frozenset({"hiking-boots", "trail-shoes", "sneakers", "sandals"})

COLOUR_WEIGHTS: dict[str, float] = {
    "black": 10, "navy": 7, "blue": 6, "red": 4, "green": 5, "olive": 4, "grey": 7, "white": 4,
    "beige": 3, "orange": 3, "yellow": 2, "purple": 2, "pink": 2, "brown": 3, "teal": 3,
}
STYLE_WEIGHTS = (0.35, 0.30, 0.15, 0.20)  # aligned with vocab.STYLES
