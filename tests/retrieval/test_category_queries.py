"""Sub-category-name queries on an invented marketplace (issue 17): the generator is
deterministic and varies with the seed, and on a small marketplace with a real index
(MiniLM + FTS5) every sub-category name finds its products first, in every backend,
whatever the query's casing, accents or possessives; a named category ranks first
but never filters.

The figures on the full-size catalogs (two seeds, ~10,000 listings each) come from
``python -m bench.search_marketplace`` (docs/search.md).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Category, Product, ProductVariant
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch, forget_open_indexes
from tools.search_eval.marketplace import (
    CSV_COLUMNS,
    LoadedCatalog,
    evaluate,
    generate_listings,
    load_catalog,
    precision_at,
    write_csv,
)
from tools.search_eval.marketplace_shop import prepare_shop

DEPARTMENTS = ("tv, audio & cameras", "men's shoes", "home & kitchen", "stores", "kids' fashion")
SEED, SCALE = 3, 0.15
MODES = ("hybrid", "dense", "keyword")


def test_generator_is_deterministic_and_seeds_differ(tmp_path) -> None:
    a = generate_listings(SEED, scale=SCALE, departments=DEPARTMENTS)
    assert a == generate_listings(SEED, scale=SCALE, departments=DEPARTMENTS)
    b = generate_listings(SEED + 1, scale=SCALE, departments=DEPARTMENTS)
    brands = {r.name.split()[0] for r in a}
    assert len(brands & {r.name.split()[0] for r in b}) < len(brands) / 2, "seeds invent their own brands"
    assert {r.main_category for r in a} == set(DEPARTMENTS)
    subs = {r.sub_category for r in a}
    assert len(subs) >= 25
    # the raw export's shape: rupee prices with Indian grouping, counts with commas, no stock or brand column
    path = tmp_path / "export.csv"
    assert write_csv(a, path) == len(a)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(r["actual_price"].startswith("₹") for r in rows)
    assert any("," in r["actual_price"] for r in rows)
    # listings shared by two sub-categories (same link) exist
    links = [r.link for r in a]
    assert len(set(links)) < len(links)


def test_generator_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_listings(1, scale=0)
    with pytest.raises(ValueError, match="unknown departments"):
        generate_listings(1, departments=["spaceships"])


def test_the_raw_export_goes_through_the_shops_importer_like_the_direct_load(tmp_path, embedder) -> None:
    """``via="importer"`` imports the CSV with the built-in marketplace mapping: the same
    products and sub-categories as the direct load, stock "unknown", and still found."""
    departments = ("men's shoes",)
    direct = prepare_shop(SEED, scale=0.05, departments=departments, root=tmp_path, embedder=embedder)
    imported = prepare_shop(SEED, scale=0.05, departments=departments, root=tmp_path, embedder=embedder,
                            via="importer")
    assert imported.catalog.products == direct.catalog.products
    assert set(imported.catalog.listed_in.values()) == set(direct.catalog.listed_in.values())
    with session_scope(imported.url) as session:
        assert session.scalar(select(func.count()).select_from(ProductVariant)
                              .where(ProductVariant.stock.is_(None))) == imported.catalog.products
        figures = evaluate({"hybrid": _backend(imported.index_dir, embedder)}, session,
                           sorted(set(imported.catalog.sub_categories)), imported.catalog.listed_in, k=3)
    assert not figures["hybrid"].empty and figures["hybrid"].mean_precision >= 0.9
    forget_open_indexes()
    for shop in (direct, imported):
        get_engine(shop.url).dispose()
    with pytest.raises(ValueError, match="via"):
        prepare_shop(SEED, scale=0.05, departments=departments, root=tmp_path, via="ftp")


def test_precision_counts_every_listing_of_a_product() -> None:
    listed = {1: frozenset({"Shoes", "Men's Shoes"}), 2: frozenset({"Shoes"}), 3: frozenset({"Running"})}
    assert precision_at([1, 2, 3], "Shoes", listed) == pytest.approx(0.2)
    assert precision_at([1], "Men's Shoes", listed, k=1) == 1.0
    assert precision_at([], "Shoes", listed) == 0.0


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory, embedder) -> Iterator[tuple[str, Path, LoadedCatalog]]:
    """A small marketplace (~35 sub-categories, ~450 products) with a real index."""
    from retrieval.catalog_index import CatalogIndex

    root = tmp_path_factory.mktemp("marketplace")
    url = f"sqlite:///{root / 'shop.db'}"
    upgrade(url)
    listings = generate_listings(SEED, scale=SCALE, departments=DEPARTMENTS)
    with session_scope(url) as session:
        catalog = load_catalog(session, listings)
    with session_scope(url) as session:
        CatalogIndex.build(session, directory=root / "index", embedder=embedder).close()
    yield url, root / "index", catalog
    forget_open_indexes()
    get_engine(url).dispose()


def _backend(index_dir: Path, embedder, mode: str = "hybrid") -> HybridProductSearch:
    return HybridProductSearch(mode=mode, index_dir=index_dir, embedder=embedder, sync_interval_s=3600,
                               fallback_to_sql=False)


def _categories(session, ids: list[int]) -> list[str]:
    names = dict(session.execute(select(Product.id, Category.name).join(Category, Category.id == Product.category_id)
                                 .where(Product.id.in_(ids))).all())
    return [names[i] for i in ids]


def test_every_sub_category_name_finds_its_products_in_every_backend(marketplace, embedder) -> None:
    url, index_dir, catalog = marketplace
    queries = sorted(set(catalog.sub_categories))
    with session_scope(url) as session:
        figures = evaluate({m: _backend(index_dir, embedder, m) for m in MODES}, session, queries,
                           catalog.listed_in, k=5)
    for mode, fig in figures.items():
        worst = sorted(fig.precision.items(), key=lambda kv: kv[1])[:5]
        print(f"{mode:8s} p@5 {fig.mean_precision:.3f} empty {len(fig.empty)} worst {worst}")
        assert not fig.empty, (mode, fig.empty)
        # before issue 17's category reading: dense 0.87, keyword 0.87, hybrid 0.88 ("Shoes",
        # "Sports Shoes", "Fashion Store" at 0.0, "Men's Shoes" at 0.2-0.4); after: 1.00 each
        assert fig.mean_precision >= 0.9, (mode, worst)


@pytest.mark.parametrize(("text", "name"), [
    ("mens shoes", "Men's Shoes"), ("MEN’S SHOES", "Men's Shoes"), ("home decor", "Home Décor"),
    ("Home Décor", "Home Décor"), ("kids fashion", "Kids' Fashion"), ("designer boutique", "The Designer Boutique"),
    ("camera accessories", "Camera Accessories"), ("Cameras", "Cameras"), ("security camera", "Security Cameras"),
])
def test_a_category_named_however_it_is_typed_ranks_first(marketplace, embedder, text, name) -> None:
    url, index_dir, _ = marketplace
    with session_scope(url) as session:
        if not session.scalar(select(Category.id).where(Category.name == name)):
            pytest.skip(f"{name} was left out of this seed's catalog")
        result = _backend(index_dir, embedder).search(session, SearchQuery(text=text, limit=5))
        assert result.cards
        assert _categories(session, [c.id for c in result.cards])[0] == name


def test_a_named_category_ranks_first_but_never_filters(marketplace, embedder) -> None:
    """Words beyond the name still count, and when the named category has nothing in
    stock the search still answers with other products."""
    url, index_dir, _ = marketplace
    with session_scope(url) as session:
        cameras = session.scalar(select(Category.id).where(Category.name == "Cameras"))
        if cameras is None:
            pytest.skip("Cameras was left out of this seed's catalog")
        backend = _backend(index_dir, embedder)
        ids = [c.id for c in backend.search(session, SearchQuery(text="cameras tripod", limit=10)).cards]
        assert "Cameras" in _categories(session, ids)
        members = list(session.scalars(select(Product.id).where(Product.category_id == cameras)))
        session.execute(update(ProductVariant).where(ProductVariant.product_id.in_(members)).values(stock=0))
        session.flush()
        result = backend.search(session, SearchQuery(text="Cameras", limit=10))
        assert result.cards and not set(c.id for c in result.cards) & set(members)
        session.rollback()


def test_hostile_category_names_and_queries(marketplace, embedder) -> None:
    """A category whose name looks like SQL, FTS5 syntax or markup is still found by its
    name; absurd queries answer quickly."""
    url, index_dir, _ = marketplace
    odd = "%' OR 1=1 -- NEAR(\"x\") <b>Zq Gadgets</b>"
    with session_scope(url) as session:
        cat_id = int(session.scalar(select(Category.id).order_by(Category.id.desc()).limit(1)) or 0) + 1
        session.execute(insert(Category), [{"id": cat_id, "slug": "odd-zq", "name": odd, "parent_id": None}])
        pid = int(session.scalar(select(Product.id).order_by(Product.id).limit(1)) or 0)
        session.execute(update(Product).where(Product.id == pid).values(category_id=cat_id))
    from shop.services.search import categories

    categories._CACHE.clear()
    try:
        backend = _backend(index_dir, embedder)
        with session_scope(url) as session:
            backend.products_changed(session, [pid])
            result = backend.search(session, SearchQuery(text=odd, limit=5))
            assert result.cards and result.cards[0].id == pid
            for text in ("Shoes " * 400, "& & & ,,, //", "The", "'; DROP TABLE products; --"):
                started = time.perf_counter()
                backend.search(session, SearchQuery(text=text, limit=10))
                assert time.perf_counter() - started < 5.0
            assert session.scalar(select(Product.id).limit(1)) is not None
    finally:
        categories._CACHE.clear()
