"""Writing validated catalog products: brands and categories found or created by name,
products upserted by handle and variants by SKU (then by size and colour)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Brand, Category, Product, ProductVariant
from tools.demo.vocab import STYLES, USE_CASES
from tools.importers.import_report import ImportReport
from tools.importers.rows import ParsedProduct, ParsedVariant
from tools.importers.values import MAX_LEN, fit_length, slugify


class NameIds:
    """Brands and categories by name, found or created once per import."""

    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report
        self.cache: dict[tuple[str, str], int] = {}

    def id_for(self, model: type[Brand | Category], name: str) -> int | None:
        if not name:
            return None
        kind = model.__tablename__
        key = (kind, name.lower())
        if key in self.cache:
            return self.cache[key]
        digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
        slug = slugify(name) or f"{kind[:-1]}-{digest}"
        slug = fit_length(slug, 80)
        found = self.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()).order_by(model.id))
        if found is None:
            found = self.session.scalar(select(model.id).where(model.slug == slug))
        if found is None:
            obj = model(slug=slug, name=name)
            self.session.add(obj)
            self.session.flush()
            found = obj.id
            if model is Brand:
                self.report.brands_created += 1
            else:
                self.report.categories_created += 1
        self.cache[key] = found
        return found

    def forget_new(self) -> None:
        """After a rolled-back savepoint, ids created inside it are gone."""
        self.cache.clear()


def generated_sku(handle: str, size: str | None, colour: str | None) -> str:
    """A SKU for a variant row without one: handle, size and colour slugs, upper case."""
    parts = [handle, slugify(size or ""), slugify(colour or "")]
    return fit_length("-".join(p for p in parts if p).upper(), MAX_LEN["sku"])


def write_product(session: Session, parsed: ParsedProduct, *, now: datetime, report: ImportReport,
                   names: NameIds) -> None:
    """Upsert one validated product and its variants (inside the caller's savepoint)."""
    # SKUs that belong to other products are rejected row by row.
    skus: dict[str, ParsedVariant] = {}
    for v in parsed.variants:
        sku = v.sku or generated_sku(parsed.handle, v.size, v.colour)
        if sku in skus:  # two option spellings with the same slug ("M" and "m")
            sku = fit_length(f"{sku}-L{v.line}", MAX_LEN["sku"])
        skus[sku] = v
    owners = dict(session.execute(
        select(ProductVariant.sku, Product.handle)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.sku.in_(list(skus)))
    ).all())
    variants: list[tuple[str, ParsedVariant]] = []
    for sku, v in skus.items():
        owner = owners.get(sku)
        if owner is not None and owner != parsed.handle:
            report.reject(v.line, parsed.handle, f"SKU '{sku}' already belongs to product '{owner}'")
            continue
        variants.append((sku, v))
    if not variants:
        return
    cheapest = min((v for _s, v in variants), key=lambda v: (v.price_cents, v.line))
    weight = next((v.weight_g for _s, v in variants if v.weight_g is not None), None)
    brand_id = names.id_for(Brand, parsed.brand)
    category_id = names.id_for(Category, parsed.category)
    attributes: dict[str, Any] = {
        "tags": parsed.tags,
        "use_cases": [t.lower() for t in parsed.tags if t.lower() in USE_CASES],
        "source": "csv import",
    }
    style = next((t.lower() for t in parsed.tags if t.lower() in STYLES), None)
    if style:
        attributes["style"] = style
    if weight is not None:
        attributes["weight_g"] = weight
    if len(parsed.images) > 1:
        attributes["images"] = parsed.images
    fields = {
        "title": parsed.title, "description": parsed.description, "brand_id": brand_id,
        "category_id": category_id, "gender": parsed.gender, "price_cents": cheapest.price_cents,
        "compare_at_cents": cheapest.compare_at_cents, "currency": parsed.currency,
        "image_url": parsed.images[0] if parsed.images else None, "is_active": parsed.is_active,
        "updated_at": now,
    }
    product = session.scalar(select(Product).where(Product.handle == parsed.handle))
    created = product is None
    if product is None:
        product_sku = fit_length(parsed.handle, MAX_LEN["product_sku"])
        if session.scalar(select(Product.id).where(Product.sku == product_sku)) is not None:
            product_sku = fit_length(f"{parsed.handle}-import", MAX_LEN["product_sku"])
        product = Product(handle=parsed.handle, sku=product_sku, created_at=now, rating_count=0,
                          attributes=attributes, **fields)
        session.add(product)
        session.flush()
    else:
        for key, value in fields.items():
            setattr(product, key, value)
        product.attributes = {**(product.attributes or {}), **attributes}
    existing = list(session.scalars(select(ProductVariant).where(ProductVariant.product_id == product.id)))
    by_sku = {v.sku: v for v in existing}
    by_options = {(v.size, v.colour): v for v in existing}
    v_created = v_updated = 0
    for sku, v in variants:
        row = by_sku.get(sku) or by_options.get((v.size, v.colour))
        if row is None:
            session.add(ProductVariant(product_id=product.id, sku=sku, size=v.size, colour=v.colour,
                                       price_cents=v.price_cents, stock=v.stock))
            v_created += 1
        else:
            row.sku, row.size, row.colour = sku, v.size, v.colour
            row.price_cents, row.stock = v.price_cents, v.stock
            v_updated += 1
    session.flush()
    report.products_created += int(created)
    report.products_updated += int(not created)
    report.variants_created += v_created
    report.variants_updated += v_updated

