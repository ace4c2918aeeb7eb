"""Writing validated catalog products: brands and categories found or created by name,
products upserted by handle and variants by SKU (then by size and colour).

:func:`write_batch` writes many products with a handful of statements (one look-up of
handles, SKUs and existing variants for the whole batch, bulk inserts and updates);
:func:`write_product` writes one, for when the database refuses a batch and the
product to blame must be found. Both run inside the caller's savepoint and say what
they did in :class:`Written` records (refused rows included), so a rolled-back batch
or product leaves no trace in the import report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from shop.db.schema import Brand, Category, Product, ProductVariant
from shop.importing.rows import ParsedProduct, ParsedVariant
from shop.importing.values import MAX_LEN, fit_length, slugify

IN_CHUNK = 900  # values per IN (...) list: below SQLite's oldest parameter limit


@dataclass
class Written:
    """What was written for one product: whether it was created, variant counts and the
    rows refused as (line, reason, kind)."""

    created: bool = False
    variants_created: int = 0
    variants_updated: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return bool(self.variants_created or self.variants_updated)


class NameIds:
    """Brands and categories by name, found or created once per import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[str, str], int] = {}
        self.created: list[str] = []  # table names of rows created since the last take_created()

    @staticmethod
    def slug_for(model: type[Brand | Category], name: str) -> str:
        digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
        return fit_length(slugify(name) or f"{model.__tablename__[:-1]}-{digest}", 80)

    def prefetch(self, model: type[Brand | Category], names: Iterable[str]) -> None:
        """Find or create every name of ``names`` at once (a batch's brands or
        categories): by name (case-insensitive), then by slug, else inserted."""
        kind = model.__tablename__
        missing = {n.lower(): n for n in names if n and (kind, n.lower()) not in self.cache}
        if not missing:
            return
        for chunk in _chunks(list(missing)):
            rows = self.session.execute(select(model.id, func.lower(model.name)).where(
                func.lower(model.name).in_(chunk)).order_by(model.id.desc()))
            for found, lowered in rows:  # the lowest id wins, as in id_for
                self.cache[(kind, lowered)] = found
        left = {key: name for key, name in missing.items() if (kind, key) not in self.cache}
        slugs: dict[str, list[str]] = {}
        for key, name in left.items():
            slugs.setdefault(self.slug_for(model, name), []).append(key)
        known: dict[str, int] = {}
        for chunk in _chunks(list(slugs)):
            known.update((slug, found) for found, slug in self.session.execute(
                select(model.id, model.slug).where(model.slug.in_(chunk))))
        new = [{"slug": slug, "name": left[keys[0]]} for slug, keys in slugs.items() if slug not in known]
        if new:
            for found, slug in self.session.execute(insert(model).returning(model.id, model.slug), new):
                known[slug] = found
            self.created.extend([kind] * len(new))
        for slug, keys in slugs.items():
            for key in keys:
                self.cache[(kind, key)] = known[slug]

    def id_for(self, model: type[Brand | Category], name: str) -> int | None:
        if not name:
            return None
        kind = model.__tablename__
        key = (kind, name.lower())
        if key in self.cache:
            return self.cache[key]
        slug = self.slug_for(model, name)
        found = self.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()).order_by(model.id))
        if found is None:
            found = self.session.scalar(select(model.id).where(model.slug == slug))
        if found is None:
            obj = model(slug=slug, name=name)
            self.session.add(obj)
            self.session.flush()
            found = obj.id
            self.created.append(kind)
        self.cache[key] = found
        return found

    def take_created(self) -> tuple[int, int]:
        """(brands, categories) created since the last call."""
        made = self.created
        self.created = []
        return made.count(Brand.__tablename__), made.count(Category.__tablename__)

    def forget_new(self) -> None:
        """After a rolled-back savepoint, ids created inside it are gone."""
        self.cache.clear()
        self.created = []


def generated_sku(handle: str, size: str | None, colour: str | None) -> str:
    """A SKU for a variant row without one: handle, size and colour slugs, upper case."""
    parts = [handle, slugify(size or ""), slugify(colour or "")]
    return fit_length("-".join(p for p in parts if p).upper(), MAX_LEN["sku"])


def _variant_skus(parsed: ParsedProduct) -> dict[str, ParsedVariant]:
    skus: dict[str, ParsedVariant] = {}
    for v in parsed.variants:
        sku = v.sku or generated_sku(parsed.handle, v.size, v.colour)
        if sku in skus:  # two option spellings with the same slug ("M" and "m")
            sku = fit_length(f"{sku}-L{v.line}", MAX_LEN["sku"])
        skus[sku] = v
    return skus


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start:start + IN_CHUNK]


def _sku_owners(session: Session, skus: Sequence[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for chunk in _chunks(skus):
        rows = session.execute(
            select(ProductVariant.sku, Product.handle).join(Product, Product.id == ProductVariant.product_id)
            .where(ProductVariant.sku.in_(chunk)))
        owners.update((sku, handle) for sku, handle in rows)
    return owners


@dataclass
class _Plan:
    """One product ready to write: its fields, the variants it may write and the result."""

    parsed: ParsedProduct
    variants: list[tuple[str, ParsedVariant]]
    fields: dict[str, Any]
    attributes: dict[str, Any]
    done: Written


def _plan(parsed: ParsedProduct, owners: dict[str, str], names: NameIds, now: datetime) -> _Plan:
    """Which variants may be written (SKUs of other products refused) and the product's fields."""
    done = Written()
    variants: list[tuple[str, ParsedVariant]] = []
    for sku, v in _variant_skus(parsed).items():
        owner = owners.get(sku)
        if owner is not None and owner != parsed.handle:
            done.refused.append((v.line, f"SKU '{sku}' already belongs to product '{owner}'",
                                 "SKU belongs to another product"))
            continue
        variants.append((sku, v))
    if not variants:
        return _Plan(parsed, [], {}, {}, done)
    cheapest = min((v for _s, v in variants), key=lambda v: (v.price_cents, v.line))
    weight = next((v.weight_g for _s, v in variants if v.weight_g is not None), None)
    attributes: dict[str, Any] = {"tags": parsed.tags, "use_cases": parsed.use_cases, "source": "csv import"}
    if parsed.style:
        attributes["style"] = parsed.style
    if weight is not None:
        attributes["weight_g"] = weight
    if len(parsed.images) > 1:
        attributes["images"] = parsed.images
    if parsed.url:
        attributes["url"] = parsed.url
    fields: dict[str, Any] = {
        "title": parsed.title, "description": parsed.description, "brand_id": names.id_for(Brand, parsed.brand),
        "category_id": names.id_for(Category, parsed.category), "gender": parsed.gender,
        "price_cents": cheapest.price_cents, "compare_at_cents": cheapest.compare_at_cents,
        "currency": parsed.currency, "image_url": parsed.images[0] if parsed.images else None,
        "is_active": parsed.is_active, "updated_at": now,
    }
    if parsed.rating_avg is not None:
        fields["rating_avg"] = round(parsed.rating_avg, 2)
        fields["rating_count"] = parsed.rating_count or 0
    return _Plan(parsed, variants, fields, attributes, done)


def _variant_changes(plan: _Plan, product_id: int, existing: list[ProductVariant] | list[Any],
                     overwrite_missing_stock: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows to insert, rows to update by id) for a product's variants."""
    by_sku = {v.sku: v for v in existing}
    by_options = {(v.size, v.colour): v for v in existing}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for sku, v in plan.variants:
        row = by_sku.get(sku) or by_options.get((v.size, v.colour))
        if row is None:
            inserts.append({"product_id": product_id, "sku": sku, "size": v.size, "colour": v.colour,
                            "price_cents": v.price_cents, "stock": v.stock})
        else:
            change = {"id": row.id, "sku": sku, "size": v.size, "colour": v.colour, "price_cents": v.price_cents}
            if v.stock_given or overwrite_missing_stock:
                change["stock"] = v.stock
            updates.append(change)
    plan.done.variants_created += len(inserts)
    plan.done.variants_updated += len(updates)
    return inserts, updates


def _product_skus(session: Session, plans: list[_Plan]) -> dict[str, str]:
    """handle -> product SKU for new products: the handle (cut to fit), or handle-import
    when another product already has that SKU."""
    wanted = {p.parsed.handle: fit_length(p.parsed.handle, MAX_LEN["product_sku"]) for p in plans}
    taken: set[str] = set()
    for chunk in _chunks(list(wanted.values())):
        taken.update(session.scalars(select(Product.sku).where(Product.sku.in_(chunk))))
    return {h: (fit_length(f"{h}-import", MAX_LEN["product_sku"]) if sku in taken else sku)
            for h, sku in wanted.items()}


def write_batch(session: Session, batch: Sequence[ParsedProduct], *, now: datetime, names: NameIds,
                overwrite_missing_stock: bool = False) -> list[Written]:
    """Upsert validated products with few statements (inside the caller's savepoint);
    one :class:`Written` per product, in order. Same rules as :func:`write_product`."""
    owners = _sku_owners(session, [sku for parsed in batch for sku in _variant_skus(parsed)])
    names.prefetch(Brand, (p.brand for p in batch))
    names.prefetch(Category, (p.category for p in batch))
    plans = [_plan(parsed, owners, names, now) for parsed in batch]
    writing = [p for p in plans if p.variants]
    handles = [p.parsed.handle for p in writing]
    existing: dict[str, tuple[int, dict[str, Any]]] = {}
    for chunk in _chunks(handles):
        for pid, handle, attributes in session.execute(
                select(Product.id, Product.handle, Product.attributes).where(Product.handle.in_(chunk))):
            existing[handle] = (pid, attributes or {})
    new = [p for p in writing if p.parsed.handle not in existing]
    old = [p for p in writing if p.parsed.handle in existing]
    ids: dict[str, int] = {}
    if new:
        skus = _product_skus(session, new)
        rows = [{"handle": p.parsed.handle, "sku": skus[p.parsed.handle], "created_at": now,
                 "attributes": p.attributes, "rating_avg": None, "rating_count": 0, **p.fields} for p in new]
        # ids come back matched by handle, in no particular order: that lets every database batch the rows
        returned = session.execute(insert(Product).returning(Product.id, Product.handle), rows)
        ids.update((handle, pid) for pid, handle in returned)
        for p in new:
            p.done.created = True
    if old:
        session.execute(update(Product), [
            {"id": existing[p.parsed.handle][0], **p.fields,
             "attributes": {**existing[p.parsed.handle][1], **p.attributes}} for p in old])
        ids.update((p.parsed.handle, existing[p.parsed.handle][0]) for p in old)
    current: dict[int, list[Any]] = {}
    old_ids = [ids[p.parsed.handle] for p in old]
    for chunk in _chunks(old_ids):
        for row in session.execute(select(ProductVariant.id, ProductVariant.product_id, ProductVariant.sku,
                                          ProductVariant.size, ProductVariant.colour)
                                   .where(ProductVariant.product_id.in_(chunk))):
            current.setdefault(row.product_id, []).append(row)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for p in writing:
        pid = ids[p.parsed.handle]
        more, changed = _variant_changes(p, pid, current.get(pid, []), overwrite_missing_stock)
        inserts += more
        updates += changed
    if updates:
        # updated rows without a stock change and those with one take two statements (one key set each)
        for with_stock in (True, False):
            same = [u for u in updates if ("stock" in u) is with_stock]
            if same:
                session.execute(update(ProductVariant), same)
    if inserts:
        session.execute(insert(ProductVariant), inserts)
    return [p.done for p in plans]


def write_product(session: Session, parsed: ParsedProduct, *, now: datetime, names: NameIds,
                  overwrite_missing_stock: bool = False) -> Written:
    """Upsert one validated product and its variants (inside the caller's savepoint).

    A variant row without a stock value (``stock_given`` false) keeps an existing
    variant's stock unless ``overwrite_missing_stock`` (the merchant asked for a
    default explicitly); new variants get the parsed default.
    """
    plan = _plan(parsed, _sku_owners(session, list(_variant_skus(parsed))), names, now)
    if not plan.variants:
        return plan.done
    product = session.scalar(select(Product).where(Product.handle == parsed.handle))
    plan.done.created = product is None
    if product is None:
        sku = _product_skus(session, [plan])[parsed.handle]
        product = Product(handle=parsed.handle, sku=sku, created_at=now, attributes=plan.attributes,
                          **{"rating_count": 0, **plan.fields})
        session.add(product)
        session.flush()
        existing: list[ProductVariant] = []
    else:
        for key, value in plan.fields.items():
            setattr(product, key, value)
        product.attributes = {**(product.attributes or {}), **plan.attributes}
        existing = list(session.scalars(select(ProductVariant).where(ProductVariant.product_id == product.id)))
    inserts, updates = _variant_changes(plan, product.id, existing, overwrite_missing_stock)
    session.add_all(ProductVariant(**row) for row in inserts)
    by_id = {v.id: v for v in existing}
    for change in updates:
        variant = by_id[change.pop("id")]
        for key, value in change.items():
            setattr(variant, key, value)
    session.flush()
    return plan.done
