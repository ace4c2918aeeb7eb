"""Hard constraints, applied exactly in the shop database, never by vector similarity.

The same rules as :class:`shop.services.search.sql.SqlProductSearch`: a product matches
when it is active, has at least one variant in stock (stock above 0 or unknown, see
``ProductVariant.in_stock``; of the asked size and/or colour,
compared case-insensitively, when given), is in the category (slug or name, forgivingly:
"jacket", "sleeping bag", "jakets" name theirs, see
:func:`~shop.services.search.categories.resolve_category_forgiving`) and brand (slug or name), is for
the gender or unisex, is within the price range (cents, inclusive), and lists the
use-case among its ``attributes["use_cases"]``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, exists, func, select
from sqlalchemy.orm import Session

from shop.db.schema import Product, ProductVariant
from shop.services.catalog import resolve_brand
from shop.services.search.categories import resolve_category_forgiving
from shop.services.search.query import SearchQuery

_IN_CHUNK = 900


def _clauses(session: Session, query: SearchQuery, *, scan: bool) -> list[Any] | None:
    """WHERE clauses for ``query``'s constraints; ``None`` when a named category or
    brand does not exist (nothing can match). ``scan``: the clauses select from the
    whole catalog (else they check a short list of given ids)."""
    clauses: list[Any] = [Product.is_active.is_(True)]
    if query.category:
        category = resolve_category_forgiving(session, value=query.category)
        if category is None:
            return None
        clauses.append(Product.category_id == category.id)
    if query.brand:
        brand = resolve_brand(session, value=query.brand)
        if brand is None:
            return None
        clauses.append(Product.brand_id == brand.id)
    if query.gender:
        clauses.append(Product.gender.in_([query.gender.lower(), "unisex"]))
    if query.price_min_cents is not None:
        clauses.append(Product.price_cents >= query.price_min_cents)
    if query.price_max_cents is not None:
        clauses.append(Product.price_cents <= query.price_max_cents)
    # In-stock variants of the size/colour, compared lower-cased (the form the partial
    # expression indexes ix_product_variants_{size,colour}_in_stock hold). Checking
    # given ids, or scanning a category or brand, the products side is narrow: look at
    # each product's variants (EXISTS). Scanning the catalog for a size or colour,
    # start from the variant index (IN): 10-20x cheaper at 100k products.
    variant: list[Any] = [ProductVariant.in_stock]
    if query.size:
        variant.append(func.lower(ProductVariant.size) == query.size.lower())
    if query.colour:
        variant.append(func.lower(ProductVariant.colour) == query.colour.lower())
    if scan and (query.size or query.colour) and not (query.category or query.brand):
        clauses.append(Product.id.in_(select(ProductVariant.product_id).where(*variant)))
    else:
        clauses.append(exists().where(ProductVariant.product_id == Product.id, *variant))
    if query.use_case:
        # a cheap superset in SQL; the exact list membership is checked in Python
        clauses.append(cast(Product.attributes, String).ilike(f"%{_escape(query.use_case)}%", escape="\\"))
    return clauses


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _use_case_ok(attributes: Any, use_case: str) -> bool:
    values = (attributes or {}).get("use_cases", []) if isinstance(attributes, dict) else []
    return use_case.lower() in [str(v).lower() for v in values] if isinstance(values, list) else False


def matching_ids(session: Session, query: SearchQuery, ids: Sequence[int] | None = None) -> list[int]:
    """Product ids matching every hard constraint of ``query``.

    ``ids``: check only these and return the matching ones *in the given order*;
    ``None``: every matching product in the catalog, by id.
    """
    clauses = _clauses(session, query, scan=ids is None)
    if clauses is None:
        return []
    columns: list[Any] = [Product.id] + ([Product.attributes] if query.use_case else [])
    if ids is None:
        rows = session.execute(select(*columns).where(*clauses).order_by(Product.id)).all()
        return [r[0] for r in rows if not query.use_case or _use_case_ok(r[1], query.use_case)]
    wanted = list(dict.fromkeys(int(i) for i in ids))
    ok: set[int] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        rows = session.execute(select(*columns).where(Product.id.in_(chunk), *clauses)).all()
        ok.update(r[0] for r in rows if not query.use_case or _use_case_ok(r[1], query.use_case))
    return [i for i in wanted if i in ok]


class MatchingCache:
    """Exact sets of matching product ids (:func:`matching_ids` over the whole catalog),
    kept ``ttl_s`` seconds per set of constraints, at most ``max_entries`` sets.

    Computing such a set costs a scan (~0.1 s for 60k matching products of 100k on
    SQLite); popular constraints ("size M", "black") repeat. A set that is up to
    ``ttl_s`` old is only used to choose candidates: every result is checked against
    the database again, so a stale set can't show a product that went out of stock;
    it can delay one that came back into stock by up to ``ttl_s`` (as the index
    delays new products by its sync interval). ``ttl_s=0`` turns caching off.
    """

    def __init__(self, *, ttl_s: float, max_entries: int = 64) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError("ttl_s must be 0 or more and max_entries 1 or more")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._sets: OrderedDict[tuple[Any, ...], tuple[float, list[int]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(query: SearchQuery) -> tuple[Any, ...]:
        def low(value: str | None) -> str | None:
            return value.strip().lower() if value else None

        return (low(query.category), low(query.brand), low(query.colour), low(query.size), low(query.gender),
                low(query.use_case), query.price_min_cents, query.price_max_cents)

    def matching_ids(self, session: Session, query: SearchQuery) -> list[int]:
        """``matching_ids(session, query)``, from the cache when fresh enough."""
        if self.ttl_s == 0:
            return matching_ids(session, query)
        key = self.key(query)
        now = time.monotonic()
        with self._lock:
            entry = self._sets.get(key)
            if entry is not None and now - entry[0] <= self.ttl_s:
                self._sets.move_to_end(key)
                self.hits += 1
                return entry[1]
            self.misses += 1
        ids = matching_ids(session, query)
        with self._lock:
            self._sets[key] = (now, ids)
            self._sets.move_to_end(key)
            while len(self._sets) > self.max_entries:
                self._sets.popitem(last=False)
        return ids

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


def browse(session: Session, query: SearchQuery) -> tuple[list[int], int]:
    """Products matching ``query``'s constraints, best rated first (ties: most ratings,
    then id), for a query without words: ``(ids of the requested page, total)``."""
    clauses = _clauses(session, query, scan=True)
    if clauses is None:
        return [], 0
    order = (Product.rating_avg.desc().nulls_last(), Product.rating_count.desc(), Product.id)
    if query.use_case:
        rows = session.execute(select(Product.id, Product.attributes).where(*clauses).order_by(*order)).all()
        ranked = [r[0] for r in rows if _use_case_ok(r[1], query.use_case)]
        return ranked[query.offset:query.offset + query.limit], len(ranked)
    total = int(session.scalar(select(func.count()).select_from(Product).where(*clauses)) or 0)
    page = list(session.scalars(
        select(Product.id).where(*clauses).order_by(*order).offset(query.offset).limit(query.limit)
    ))
    return page, total


def sku_matches(session: Session, text: str) -> list[int]:
    """Active products whose SKU, or one of whose variants' SKU, is a word of ``text``
    (case-insensitive), in the order the SKUs appear."""
    words = [w.strip(".,;:!?()[]{}\"'") for w in (text or "").split()]
    candidates = [w.upper() for w in words if any(c.isdigit() for c in w) and "-" in w and 4 <= len(w) <= 80]
    if not candidates:
        return []
    found: dict[str, int] = {}
    for sku, pid in session.execute(
        select(Product.sku, Product.id).where(Product.sku.in_(candidates), Product.is_active.is_(True))
    ).all():
        found[sku.upper()] = pid
    for sku, pid in session.execute(
        select(ProductVariant.sku, ProductVariant.product_id)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.sku.in_(candidates), Product.is_active.is_(True))
    ).all():
        found.setdefault(sku.upper(), pid)
    return list(dict.fromkeys(found[c] for c in candidates if c in found))
