"""Reading the catalog for indexing: product texts, and the catalog *state* the index
tracks for live updates.

The state of a catalog is, for every active product, its id and ``updated_at``
(microseconds since the epoch). Its digest is the *catalog version* recorded with an
index; comparing states tells which products were added, changed or removed since.
Inactive products are not in the state (they are never searchable). Stock and prices
are not indexed at all: they are checked in the database at query time, so a
restock or a price change needs no index update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from retrieval.keyword import KeywordDoc
from retrieval.product_text import product_document
from shop.db.schema import Product

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class ProductText:
    """What one product is indexed by: ``document`` for the embedding model, ``keyword``
    for BM25, and its ``stamp`` (``updated_at`` in microseconds)."""

    product_id: int
    stamp: int
    document: str
    keyword: KeywordDoc


@dataclass(frozen=True)
class CatalogState:
    """Active product ids (sorted, int64) and their ``updated_at`` stamps (int64 µs)."""

    ids: np.ndarray
    stamps: np.ndarray

    @property
    def version(self) -> str:
        """SHA-256 (first 20 hex digits) of the ids and stamps."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.ids, dtype="<i8").tobytes())
        digest.update(np.ascontiguousarray(self.stamps, dtype="<i8").tobytes())
        return digest.hexdigest()[:20]

    def as_dict(self) -> dict[int, int]:
        return dict(zip(self.ids.tolist(), self.stamps.tolist(), strict=True))

    @classmethod
    def from_dict(cls, state: dict[int, int]) -> CatalogState:
        ids = np.array(sorted(state), dtype=np.int64)
        return cls(ids=ids, stamps=np.array([state[int(i)] for i in ids], dtype=np.int64))


def stamp(value: datetime | None) -> int:
    """``updated_at`` as integer microseconds since the epoch (naive = UTC; ``None`` = 0)."""
    if value is None:
        return 0
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def catalog_state(session: Session) -> CatalogState:
    """The state of the catalog in ``session``'s database (active products only)."""
    rows = session.execute(
        select(Product.id, Product.updated_at).where(Product.is_active.is_(True)).order_by(Product.id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    stamps = np.fromiter((stamp(r[1]) for r in rows), dtype=np.int64, count=len(rows))
    return CatalogState(ids=ids, stamps=stamps)


def catalog_signature(session: Session) -> tuple[int, int, int]:
    """A cheap fingerprint of the catalog: (active products, latest ``updated_at`` stamp,
    sum of active ids). One aggregate query; it changes whenever a product is added,
    removed, deactivated or updated with a new ``updated_at``."""
    count, latest, id_sum = session.execute(
        select(func.count(Product.id), func.max(Product.updated_at), func.coalesce(func.sum(Product.id), 0))
        .where(Product.is_active.is_(True))
    ).one()
    if isinstance(latest, str):  # SQLite aggregates lose the DateTime type
        latest = datetime.fromisoformat(latest)
    return int(count or 0), stamp(latest), int(id_sum or 0)


def product_texts(session: Session, product_ids: Sequence[int]) -> list[ProductText]:
    """Texts of the *active* products among ``product_ids`` (others are skipped), by id."""
    out: list[ProductText] = []
    ids = sorted({int(i) for i in product_ids})
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows = session.scalars(
            select(Product)
            .where(Product.id.in_(chunk), Product.is_active.is_(True))
            .options(selectinload(Product.brand), selectinload(Product.category))
            .order_by(Product.id)
        ).all()
        out.extend(_text(p) for p in rows)
    return out


def iter_product_texts(session: Session, *, batch: int = 1_000) -> Iterator[list[ProductText]]:
    """Every active product's texts, ``batch`` products at a time, by id."""
    last = 0
    while True:
        rows = session.scalars(
            select(Product)
            .where(Product.is_active.is_(True), Product.id > last)
            .options(selectinload(Product.brand), selectinload(Product.category))
            .order_by(Product.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        yield [_text(p) for p in rows]


def _text(product: Product) -> ProductText:
    brand = product.brand.name if product.brand else None
    document = product_document(
        title=product.title, brand=brand, category=product.category.name if product.category else None,
        gender=product.gender, attributes=product.attributes or {}, description=product.description or "",
    )
    title = product.title if not brand or brand.lower() in product.title.lower() else f"{brand} {product.title}"
    return ProductText(
        product_id=product.id,
        stamp=stamp(product.updated_at),
        document=document,
        keyword=KeywordDoc(product_id=product.id, title=title, sku=product.sku or "", body=document),
    )
