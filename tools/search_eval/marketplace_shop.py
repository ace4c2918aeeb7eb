"""The invented marketplace (:mod:`tools.search_eval.marketplace`) in a cached SQLite
shop with its search index: generated once per seed, scale and loading path, the index
rebuilt only when the product texts change."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retrieval.catalog_index import CatalogIndex
from retrieval.documents import iter_product_texts
from retrieval.embeddings import get_embedder
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Product
from shop.importing.catalog_import import import_csv_file
from tools.search_eval.marketplace import (
    CACHE_ROOT,
    CREATED,
    GENERATOR_VERSION,
    Listing,
    LoadedCatalog,
    generate_listings,
    load_catalog,
    write_csv,
)


@dataclass(frozen=True)
class MarketplaceShop:
    """A generated marketplace in a shop database with its search index."""

    url: str
    index_dir: Path
    catalog: LoadedCatalog
    listings: int


def text_digest(session: Session) -> str:
    """SHA-256 of every indexed product text (changes when the text builder does)."""
    digest = hashlib.sha256()
    for batch in iter_product_texts(session, batch=2_000):
        for text in batch:
            digest.update(f"{text.product_id}\0{text.document}\0{text.keyword.title}\0{text.keyword.body}\0".encode())
    return digest.hexdigest()[:20]


VIAS = ("importer", "direct")


def prepare_shop(seed: int, *, scale: float = 1.0, with_parents: bool = False, root: Path | None = None,
                 departments: Sequence[str] | None = None, embedder: Any = None, via: str = "direct",
                 progress: bool = False) -> MarketplaceShop:
    """The marketplace for ``seed`` in a SQLite shop under ``root`` (default
    ``$TMPDIR/ridgeline-marketplace``), generated once, with an index rebuilt only when
    the product texts changed (``index.texts`` holds their digest).

    ``via="direct"`` writes the products with :func:`load_catalog`; ``via="importer"``
    writes the raw export (``export.csv``) and imports it with the shop's catalog importer
    and its built-in ``marketplace`` mapping, as a shop owner would (brands read from the
    titles, stock "available, quantity unknown"; ``with_parents`` does not apply)."""
    if via not in VIAS:
        raise ValueError(f"via must be one of {VIAS}, not {via!r}")
    tag = f"seed{seed}-scale{scale:g}-v{GENERATOR_VERSION}{'-parents' if with_parents else ''}"
    tag += "-imported" if via == "importer" else ""
    if departments is not None:
        tag += "-" + hashlib.sha256("|".join(sorted(departments)).encode()).hexdigest()[:8]
    folder = (root or CACHE_ROOT) / tag
    folder.mkdir(parents=True, exist_ok=True)
    listings = generate_listings(seed, scale=scale, departments=departments)
    db = folder / "shop.db"
    done = folder / "loaded"
    url = f"sqlite:///{db}"
    if not done.exists():
        get_engine(url).dispose()
        for stale in folder.glob("shop.db*"):
            stale.unlink()
        upgrade(url)
        if via == "importer":
            write_csv(listings, folder / "export.csv")
            with session_scope(url) as session:
                import_csv_file(session, path=folder / "export.csv", mapping="marketplace", now=CREATED)
            with session_scope(url) as session:
                catalog = _reread(session, listings)
        else:
            with session_scope(url) as session:
                catalog = load_catalog(session, listings, with_parents=with_parents)
        done.write_text("ok", encoding="utf-8")
    else:
        upgrade(url)  # a cached shop written before newer migrations
        with session_scope(url) as session:
            catalog = _reread(session, listings)
    index_dir = folder / "index"
    stamp = folder / "index.texts"
    with session_scope(url) as session:
        digest = text_digest(session)
        if not (index_dir / "index.json").exists() or not stamp.exists() or stamp.read_text() != digest:
            if embedder is None:
                embedder = get_embedder("bf16")
            CatalogIndex.build(session, directory=index_dir, embedder=embedder, progress=progress).close()
            stamp.write_text(digest, encoding="utf-8")
    return MarketplaceShop(url=url, index_dir=index_dir, catalog=catalog, listings=len(listings))


def _reread(session: Session, listings: Sequence[Listing]) -> LoadedCatalog:
    """The :class:`LoadedCatalog` of a database :func:`load_catalog` filled earlier."""
    by_url = {str((a or {}).get("url")): int(pid) for pid, a in session.execute(select(Product.id, Product.attributes))}
    listed: dict[int, list[str]] = {}
    for listing in listings:
        pid = by_url.get(listing.link)
        if pid is not None and listing.sub_category not in listed.setdefault(pid, []):
            listed[pid].append(listing.sub_category)
    subs = tuple(dict.fromkeys(listing.sub_category for listing in listings))
    return LoadedCatalog(len(by_url), {pid: frozenset(v) for pid, v in listed.items()}, subs)
