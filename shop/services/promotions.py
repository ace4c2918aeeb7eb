"""Promotions available to every shopper today: products on sale.

Personal offers and codes arrive with the promo engine (LLM issue); this module
only reports what the catalog itself says (``compare_at_cents`` above the price).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Product
from shop.services.catalog import ProductCard, get_cards


def sale_products(session: Session, *, limit: int = 5) -> list[ProductCard]:
    """Up to ``limit`` active products with the deepest markdowns, deepest first."""
    discount = (Product.compare_at_cents - Product.price_cents) * 1.0 / Product.compare_at_cents
    ids = list(session.scalars(
        select(Product.id)
        .where(Product.is_active.is_(True), Product.compare_at_cents > Product.price_cents)
        .order_by(discount.desc(), Product.id)
        .limit(limit)
    ))
    return get_cards(session, product_ids=ids)
