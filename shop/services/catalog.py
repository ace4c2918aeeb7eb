"""Catalog reads: product cards, product details and the shop's vocabulary.

A *card* is the compact dict the widget renders (and the REST channel passes on as a
custom payload); its keys are a public contract:
``id, title, brand, price, price_cents, currency, image_url, rating, rating_count,
in_stock_sizes, colours, url``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shop.db.schema import Brand, Category, Product, ProductVariant, Review
from shop.services.money import format_money

SIZE_ORDER = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")


def size_sort_key(size: str) -> tuple[int, float, str]:
    if size in SIZE_ORDER:
        return (0, SIZE_ORDER.index(size), size)
    try:
        return (1, float(size), size)
    except ValueError:
        return (2, 0.0, size)


@dataclass(frozen=True)
class ProductCard:
    """What a shopper sees of a product in a list."""

    id: int
    title: str
    brand: str | None
    price: str
    price_cents: int
    currency: str
    image_url: str | None
    rating: float | None
    rating_count: int
    in_stock_sizes: list[str]
    colours: list[str]
    url: str

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    def one_line(self) -> str:
        rating = f", {self.rating:.1f}★" if self.rating else ""
        brand = f"{self.brand} " if self.brand and not self.title.startswith(self.brand) else ""
        return f"{brand}{self.title} — {self.price}{rating}"


def product_card(product: Product) -> ProductCard:
    """A card from a product loaded with its brand and variants."""
    sizes = sorted({v.size for v in product.variants if v.in_stock and v.size}, key=size_sort_key)
    colours = sorted({v.colour for v in product.variants if v.in_stock and v.colour})
    return ProductCard(
        id=product.id,
        title=product.title,
        brand=product.brand.name if product.brand else None,
        price=format_money(product.price_cents, product.currency),
        price_cents=product.price_cents,
        currency=product.currency,
        image_url=product.image_url,
        rating=round(product.rating_avg, 2) if product.rating_avg is not None else None,
        rating_count=product.rating_count,
        in_stock_sizes=sizes,
        colours=colours,
        url=f"/products/{product.handle}",
    )


def load_products(session: Session, *, product_ids: list[int]) -> list[Product]:
    """Active products with brand, category and variants, in the order of ``product_ids``."""
    if not product_ids:
        return []
    rows = session.scalars(
        select(Product)
        .where(Product.id.in_(product_ids), Product.is_active.is_(True))
        .options(selectinload(Product.brand), selectinload(Product.category), selectinload(Product.variants))
    ).all()
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in product_ids if i in by_id]


def get_cards(session: Session, *, product_ids: list[int]) -> list[ProductCard]:
    """Cards for ``product_ids`` (missing or inactive ones are skipped), in order."""
    return [product_card(p) for p in load_products(session, product_ids=product_ids)]


@dataclass(frozen=True)
class ProductDetails:
    """Everything factual about one product, for a detail answer."""

    card: ProductCard
    category: str | None
    gender: str
    description: str
    attributes: dict[str, Any]
    stock: list[tuple[str | None, str | None, int | None]]  # (size, colour, units); None: in stock, count unknown
    reviews: list[tuple[int, str, str]]
    compare_at: str | None


def product_details(session: Session, *, product_id: int, max_reviews: int = 3) -> ProductDetails | None:
    """Details of one active product with up to ``max_reviews`` recent reviews, or ``None``."""
    products = load_products(session, product_ids=[product_id])
    if not products:
        return None
    product = products[0]
    reviews = session.execute(
        select(Review.rating, Review.title, Review.body)
        .where(Review.product_id == product_id)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .limit(max_reviews)
    ).all()
    stock = sorted(((v.size, v.colour, v.stock) for v in product.variants),
                   key=lambda t: (size_sort_key(t[0] or ""), t[1] or ""))
    return ProductDetails(
        card=product_card(product),
        category=product.category.name if product.category else None,
        gender=product.gender,
        description=product.description,
        attributes=dict(product.attributes or {}),
        stock=stock,
        reviews=[(int(r[0]), str(r[1]), str(r[2])) for r in reviews],
        compare_at=format_money(product.compare_at_cents, product.currency) if product.compare_at_cents else None,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def resolve_category(session: Session, *, value: str | None) -> Category | None:
    """The category named by a slug or a name, case-insensitively (``"Jackets"``,
    ``"jackets"``, ``"hiking-boots"``), or ``None``."""
    if not value:
        return None
    slug = _slug(str(value)[:100])
    return session.scalar(select(Category).where(Category.slug == slug)) or session.scalar(
        select(Category).where(Category.name.ilike(str(value)[:100]))
    )


def resolve_brand(session: Session, *, value: str | None) -> Brand | None:
    """The brand named by a slug or a name, case-insensitively, or ``None``."""
    if not value:
        return None
    slug = _slug(str(value)[:100])
    return session.scalar(select(Brand).where(Brand.slug == slug)) or session.scalar(
        select(Brand).where(Brand.name.ilike(str(value)[:100]))
    )


def find_brand_in_text(session: Session, *, text: str) -> Brand | None:
    """A brand whose name occurs in ``text`` as whole words (longest name wins)."""
    lowered = f" {' '.join(re.findall(r'[a-z0-9&]+', text.lower()[:2000]))} "
    brands = sorted(session.scalars(select(Brand)), key=lambda b: -len(b.name))
    for brand in brands:
        name = " ".join(re.findall(r"[a-z0-9&]+", brand.name.lower()))
        if name and f" {name} " in lowered:
            return brand
    return None


def list_categories(session: Session) -> list[tuple[str, str, int]]:
    """``(slug, name, active product count)`` of categories that have active products,
    by name."""
    rows = session.execute(
        select(Category.slug, Category.name, func.count(Product.id))
        .join(Product, Product.category_id == Category.id)
        .where(Product.is_active.is_(True))
        .group_by(Category.id)
        .order_by(Category.name)
    ).all()
    return [(slug, name, int(n)) for slug, name, n in rows]


def browse_cards(session: Session, *, category: str | None = None, limit: int = 24,
                 offset: int = 0) -> list[ProductCard]:
    """Cards of active products, best rated first (then by id), optionally in one
    category (slug); ``limit`` at most 100."""
    query = select(Product.id).where(Product.is_active.is_(True))
    if category:
        query = query.join(Category, Product.category_id == Category.id).where(Category.slug == category)
    query = (query.order_by(Product.rating_count.desc(), Product.id)
             .limit(max(1, min(limit, 100))).offset(max(0, offset)))
    return get_cards(session, product_ids=list(session.scalars(query)))


def product_id_by_handle(session: Session, *, handle: str) -> int | None:
    """The id of the active product with this URL handle, or ``None``."""
    return session.scalar(select(Product.id).where(Product.handle == handle[:200], Product.is_active.is_(True)))


def known_colour(session: Session, *, value: str | None) -> str | None:
    """``value`` lower-cased when some in-stock variant has that colour (through the
    partial colour index), else ``None``."""
    if not value or len(value) > 40:
        return None
    colour = value.strip().lower()
    found = session.scalar(select(ProductVariant.product_id).where(
        func.lower(ProductVariant.colour) == colour, ProductVariant.in_stock).limit(1))
    return colour if found is not None else None
