"""The hybrid/dense/keyword backends on a small demo shop with the real MiniLM model."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from retrieval.catalog_index import (
    CatalogIndex,
    CatalogMismatchError,
    IndexMismatchError,
    IndexNotFoundError,
)
from shop.db.engine import session_scope
from shop.db.schema import Brand, Category, Product, ProductVariant
from shop.services.search.backends import get_search_backend
from shop.services.search.hybrid import RankerSettings
from shop.services.search.query import RELAX_ORDER, SearchQuery
from shop.services.search.semantic import HybridProductSearch, forget_open_indexes
from tests.retrieval.conftest import AS_OF, SCALE
from tools.demo import vocab

MODES = ("hybrid", "dense", "keyword")


def backend(index_dir, mode="hybrid", embedder=None, **kwargs) -> HybridProductSearch:
    return HybridProductSearch(mode=mode, index_dir=index_dir, embedder=embedder, sync_interval_s=0,
                               fallback_to_sql=False, **kwargs)


def violations(session, product_id: int, q: SearchQuery) -> list[str]:
    """Which hard constraints of ``q`` product ``product_id`` breaks (checked independently)."""
    p = session.scalar(select(Product).where(Product.id == product_id)
                       .options(selectinload(Product.variants), selectinload(Product.brand),
                                selectinload(Product.category)))
    bad = []
    if p is None or not p.is_active:
        return ["inactive"]
    if q.category and q.category.lower() not in (p.category.slug, p.category.name.lower()):
        bad.append("category")
    if q.brand and q.brand.lower() not in (p.brand.slug, p.brand.name.lower()):
        bad.append("brand")
    if q.gender and p.gender not in (q.gender.lower(), "unisex"):
        bad.append("gender")
    if q.price_min_cents is not None and p.price_cents < q.price_min_cents:
        bad.append("price")
    if q.price_max_cents is not None and p.price_cents > q.price_max_cents:
        bad.append("price")
    if q.use_case and q.use_case.lower() not in [u.lower() for u in p.attributes.get("use_cases", [])]:
        bad.append("use_case")
    stocked = [v for v in p.variants if v.stock > 0
               and (not q.size or (v.size or "").lower() == q.size.lower())
               and (not q.colour or (v.colour or "").lower() == q.colour.lower())]
    if not stocked:
        bad.append("stock")
    return bad


# --------------------------------------------------------------------------- relevance basics


@pytest.fixture(scope="module")
def read_only(built_shop, embedder):
    db, index = built_shop
    url = f"sqlite:///{db}"
    backends = {m: backend(index, m, embedder) for m in MODES}
    # no pool widening: a constrained query that the first pool can't fill searches
    # inside the exact set of matching products at once
    backends["hybrid-exact"] = backend(index, "hybrid", embedder, ranker=RankerSettings(widen=()))
    yield url, backends
    forget_open_indexes()


def test_semantic_query_finds_the_right_kind_of_product(read_only) -> None:
    url, backends = read_only
    with session_scope(url) as s:
        result = backends["hybrid"].search(s, SearchQuery(text="waterproof jacket for rain", limit=5))
        assert result.cards and not result.relaxed
        cats = {p.category.slug for p in s.scalars(select(Product).where(Product.id.in_([c.id for c in result.cards]))
                                                   .options(selectinload(Product.category)))}
        assert cats <= {"jackets", "pants"}, cats
        dense = backends["dense"].search(s, SearchQuery(text="something warm to sleep in outdoors", limit=3))
        assert any("Sleeping Bag" in c.title or "Quilt" in c.title or "Mummy" in c.title for c in dense.cards)


@pytest.mark.parametrize("mode", ["hybrid", "keyword"])
def test_exact_titles_skus_and_brand_words_win(read_only, mode) -> None:
    url, backends = read_only
    with session_scope(url) as s:
        products = s.scalars(select(Product).options(selectinload(Product.variants)).order_by(Product.id)).all()
        for p in products[::17]:
            if not any(v.stock > 0 for v in p.variants):
                continue
            assert backends[mode].search(s, SearchQuery(text=p.title.lower())).cards[0].id == p.id
            assert backends[mode].search(s, SearchQuery(text=p.sku)).cards[0].id == p.id
            variant = next(v for v in p.variants if v.stock > 0)
            assert backends[mode].search(s, SearchQuery(text=f"do you have {variant.sku}?")).cards[0].id == p.id
        brand = s.scalar(select(Brand).where(Brand.slug == "kestrel"))
        in_stock = backends[mode].search(s, SearchQuery(brand=brand.slug, limit=50)).total
        top = backends[mode].search(s, SearchQuery(text=f"{brand.name} gear", limit=50)).cards
        assert in_stock >= 3 and [c.brand for c in top[:in_stock]] == [brand.name] * in_stock


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("text", ["", "   ", "!!!", "qwertyuiop asdfghjkl", "zzzzzz " * 80, "\x00\x01 ☃ 🧥",
                                  'AND OR NOT ( "* NEAR', "'; DROP TABLE products; --", "12345", "x"])
def test_empty_and_absurd_queries_get_a_helpful_answer(read_only, mode, text) -> None:
    url, backends = read_only
    with session_scope(url) as s:
        result = backends[mode].search(s, SearchQuery(text=text, limit=3))
        assert result.cards, "something to show: the best rated products"
        assert result.relaxed in ([], ["keywords"])
        if result.relaxed:
            assert result.query.text == ""
        far = backends[mode].search(s, SearchQuery(text=text, offset=10_000, limit=3))
        assert far.cards == [] and not far.has_more


# --------------------------------------------------------------------------- hard constraints

WORDS = ["jacket", "waterproof", "boots", "warm", "merino", "tent", "hiking", "running", "socks", "kestrel",
         "backpack", "summer", "rain", "cheap", "lightweight", "xqzv"]
CATEGORIES = [c.slug for c in vocab.CATEGORIES] + [vocab.CATEGORIES[0].name, "spaceships"]
BRANDS = [b.name for b in vocab.BRANDS[:6]] + ["kestrel", "acme"]
SIZES = ["S", "M", "L", "xl", "9", "10", "One Size", "2-person", "Long", "99"]


@st.composite
def queries(draw) -> SearchQuery:
    low = draw(st.none() | st.integers(0, 30_000))
    high = draw(st.none() | st.integers(0, 60_000))
    return SearchQuery(
        text=" ".join(draw(st.lists(st.sampled_from(WORDS), max_size=4))),
        category=draw(st.none() | st.sampled_from(CATEGORIES)),
        brand=draw(st.none() | st.sampled_from(BRANDS)),
        colour=draw(st.none() | st.sampled_from(list(vocab.COLOURS))),
        size=draw(st.none() | st.sampled_from(SIZES)),
        gender=draw(st.none() | st.sampled_from(["men", "women", "Women"])),
        use_case=draw(st.none() | st.sampled_from(list(vocab.USE_CASES))),
        price_min_cents=low, price_max_cents=high,
        offset=draw(st.sampled_from([0, 0, 3])), limit=draw(st.integers(1, 8)),
    )


@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=queries(), mode=st.sampled_from((*MODES, "hybrid-exact")))
def test_filters_are_never_violated(read_only, q, mode) -> None:
    url, backends = read_only
    with session_scope(url) as s:
        result = backends[mode].search(s, q)
        assert len(result.cards) <= q.limit
        assert "category" not in result.relaxed
        constraints = [c for c in result.relaxed if c != "keywords"]
        assert constraints == sorted(set(constraints), key=RELAX_ORDER.index)
        assert result.relaxed.count("keywords") <= 1
        assert "keywords" not in result.relaxed[1:-1]  # first (words unknown) or last resort
        expected = q
        for constraint in result.relaxed:
            expected = expected.without(constraint)
        assert result.query == expected
        for card in result.cards:
            assert violations(s, card.id, result.query) == [], (card.title, result.query)
        if not result.cards and q.offset == 0:
            # nothing at all: only when even the category alone matches nothing in stock
            assert q.category and not backends[mode].search(s, SearchQuery(category=q.category)).cards


def test_constraints_restrict_and_relax_like_sql_search(read_only) -> None:
    url, backends = read_only
    with session_scope(url) as s:
        r = backends["hybrid"].search(s, SearchQuery(text="tent", category="tents", colour="purple", limit=5))
        if r.relaxed:
            assert r.relaxed == ["colour"]
        r = backends["hybrid"].search(s, SearchQuery(text="jacket", brand="acme"))
        assert r.relaxed == ["brand"] and r.cards
        r = backends["hybrid"].search(s, SearchQuery(text="jacket", category="spaceships"))
        assert r.cards == [] and r.relaxed == ["keywords"]  # as SqlProductSearch: words dropped, still nothing
        r = backends["hybrid"].search(s, SearchQuery(text="jacket", price_max_cents=1))
        assert r.relaxed == ["price"] and r.cards


# --------------------------------------------------------------------------- live catalog updates


def _add_product(s, title: str, *, stock: int = 5) -> int:
    brand = s.scalar(select(Brand).where(Brand.slug == "kestrel"))
    cat = s.scalar(select(Category).where(Category.slug == "jackets"))
    now = AS_OF + timedelta(days=1)
    p = Product(sku="K-JAC-99999", handle="kestrel-zorblax", title=title,
                description="A jacket made for glacier travel.",
                brand_id=brand.id, category_id=cat.id, gender="unisex", price_cents=12_345, currency="USD",
                attributes={"features": ["waterproof"], "use_cases": ["skiing"], "material": "nylon"},
                rating_count=0, is_active=True, created_at=now, updated_at=now)
    s.add(p)
    s.flush()
    s.add(ProductVariant(product_id=p.id, sku="K-JAC-99999-M-BLACK", size="M", colour="black", stock=stock))
    s.flush()
    return p.id


@pytest.mark.parametrize("mode", MODES)
def test_add_change_delete_and_restock_are_reflected_immediately(shop, embedder, mode) -> None:
    url, index_dir = shop
    b = backend(index_dir, mode, embedder, )
    b.sync_interval_s = 3600  # only explicit notifications and DB checks may make changes visible
    with session_scope(url) as s:
        b.search(s, SearchQuery(text="warm up"))
        pid = _add_product(s, "Kestrel Zorblax Expedition Jacket")
        b.products_changed(s, [pid])
        assert b.search(s, SearchQuery(text="zorblax expedition jacket")).cards[0].id == pid
        # change: the new words find it, the old ones no longer do
        s.execute(update(Product).where(Product.id == pid).values(title="Kestrel Quintessa Summit Parka",
                                                                 updated_at=AS_OF + timedelta(days=2)))
        b.products_changed(s, [pid])
        assert b.search(s, SearchQuery(text="quintessa summit parka")).cards[0].id == pid
        if mode != "dense":
            assert pid not in [c.id for c in b.search(s, SearchQuery(text="zorblax", limit=50)).cards]
        # out of stock: gone at once, no index update needed; restock: back at once
        s.execute(update(ProductVariant).where(ProductVariant.product_id == pid).values(stock=0))
        assert pid not in [c.id for c in b.search(s, SearchQuery(text="quintessa summit parka", limit=50)).cards]
        s.execute(update(ProductVariant).where(ProductVariant.product_id == pid).values(stock=3))
        assert b.search(s, SearchQuery(text="quintessa summit parka")).cards[0].id == pid
        # delete: never returned, even before the index hears of it
        s.execute(update(Product).where(Product.id == pid).values(is_active=False))
        assert pid not in [c.id for c in b.search(s, SearchQuery(text="quintessa summit parka", limit=50)).cards]
        report = b.products_removed(s, [pid])
        assert report.removed == [pid]
        index = b.open_index(s)
        assert pid not in index.vectors.ids() and pid not in index.state


def test_catalog_changes_are_synced_incrementally(shop, embedder) -> None:
    url, index_dir = shop
    b = backend(index_dir, "hybrid", embedder)
    with session_scope(url) as s:
        index = b.open_index(s)
        before = dict(index.state)
        pid = _add_product(s, "Kestrel Vorpalith Storm Shell")
        victim = min(before)
        s.execute(update(Product).where(Product.id == victim).values(is_active=False))
        s.commit()
        assert b.search(s, SearchQuery(text="vorpalith storm shell")).cards[0].id == pid  # synced on search
        assert pid in index.state and victim not in index.state
        assert len(index.state) == len(before)
        assert index.diff(s).changed is False
        index.save()
    forget_open_indexes()
    with session_scope(url) as s:
        reloaded = CatalogIndex.load(index_dir, embedder=embedder)
        assert reloaded.diff(s).changed is False and pid in reloaded.state
        reloaded.close()


def test_saved_index_reloads_to_identical_results(shop, embedder) -> None:
    url, index_dir = shop
    texts = ["waterproof hiking boots", "merino base layer for skiing", "tent", "Kestrel fleece"]
    with session_scope(url) as s:
        first = [[c.id for c in backend(index_dir, m, embedder).search(s, SearchQuery(text=t, limit=10)).cards]
                 for m in MODES for t in texts]
        forget_open_indexes()
        for mmap in (True, False):
            index = CatalogIndex.load(index_dir, embedder=embedder, mmap=mmap)
            assert index.vectors.mmapped == mmap
            index.close()
        again = [[c.id for c in backend(index_dir, m, embedder).search(s, SearchQuery(text=t, limit=10)).cards]
                 for m in MODES for t in texts]
    assert first == again


# --------------------------------------------------------------------------- refusing mismatches


class OtherModel:
    model_id = "someone/else-v2 (other 1.0)"
    dim = 384


def test_model_mismatch_is_refused(shop, embedder) -> None:
    _url, index_dir = shop
    with pytest.raises(IndexMismatchError, match="else-v2.*rebuild it with `python -m apps.cli index build"):
        CatalogIndex.load(index_dir, embedder=OtherModel())
    manifest = json.loads((index_dir / "index.json").read_text())
    (index_dir / "index.json").write_text(json.dumps({**manifest, "dim": 768}))
    with pytest.raises(IndexMismatchError, match="768"):
        CatalogIndex.load(index_dir, embedder=embedder)
    (index_dir / "index.json").write_text(json.dumps({**manifest, "format": 99}))
    with pytest.raises(IndexMismatchError, match="format"):
        CatalogIndex.load(index_dir, embedder=embedder)


def test_catalog_mismatch_is_refused_and_search_falls_back(shop, embedder, demo_shop) -> None:
    _, index_dir = shop
    other = demo_shop(seed=8, scale=SCALE, as_of=AS_OF)
    with session_scope(other) as s:
        index = CatalogIndex.load(index_dir, embedder=embedder)
        with pytest.raises(CatalogMismatchError, match="another catalog.*index build"):
            index.sync(s)
        index.close()
        with pytest.raises(CatalogMismatchError):
            backend(index_dir, "hybrid", embedder).search(s, SearchQuery(text="jacket"))
        forget_open_indexes()
        lenient = HybridProductSearch(mode="hybrid", index_dir=index_dir, embedder=embedder)
        assert lenient.search(s, SearchQuery(text="jacket")).cards  # SQL search answers instead


def test_missing_index_is_reported_or_built(shop, embedder, tmp_path) -> None:
    url, _ = shop
    with session_scope(url) as s:
        with pytest.raises(IndexNotFoundError, match="index build"):
            backend(tmp_path / "none", "hybrid", embedder).search(s, SearchQuery(text="jacket"))
        assert HybridProductSearch(index_dir=tmp_path / "none", embedder=embedder).search(
            s, SearchQuery(text="jacket")).cards
        built = backend(tmp_path / "auto", "hybrid", embedder, build_if_missing=True)
        assert built.search(s, SearchQuery(text="jacket")).cards
        assert (tmp_path / "auto" / "index.json").exists()


# --------------------------------------------------------------------------- wiring


def test_shop_imports_nothing_heavy() -> None:
    code = ("import sys, shop.services.search.query, shop.settings; "
            "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'shop.services.search.semantic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_registered_in_get_search_backend(shop, monkeypatch) -> None:
    from shop.settings import get_settings

    url, index_dir = shop
    monkeypatch.setenv("SHOP_SEARCH_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("SHOP_SEARCH_INDEX_SYNC_S", "0")
    get_settings.cache_clear()
    try:
        for name in MODES:
            b = get_search_backend(name)
            assert isinstance(b, HybridProductSearch) and b.mode == name and b.index_dir == index_dir
            with session_scope(url) as s:
                assert b.search(s, SearchQuery(text="rain jacket")).cards
        with pytest.raises(ValueError, match="'hybrid'"):
            get_search_backend("vector")
    finally:
        get_settings.cache_clear()


def test_cli_builds_syncs_and_searches(shop, embedder, tmp_path, capsys) -> None:
    from apps.cli.index_commands import main

    url, _ = shop
    target = tmp_path / "cli-index"
    assert main(["build", "--url", url, "--index-dir", str(target), "--kind", "flat"]) == 0
    assert "Built a flat index" in capsys.readouterr().out
    assert main(["sync", "--url", url, "--index-dir", str(target)]) == 0
    assert "0 added, 0 updated, 0 removed" in capsys.readouterr().out
    assert main(["search", "rain jacket", "--url", url, "--index-dir", str(target), "--limit", "2"]) == 0
    assert "1. [" in capsys.readouterr().out
    assert main(["info", "--index-dir", str(target)]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "flat"
    assert main(["info", "--index-dir", str(tmp_path / "nothing")]) == 1


def test_filters_hold_on_every_database(db_url, embedder, tmp_path, demo_shop) -> None:
    """The same constrained searches on SQLite and PostgreSQL (skipped without a server)."""
    demo_shop(seed=7, scale=0.02, as_of=AS_OF, url=db_url)
    with session_scope(db_url) as s:
        CatalogIndex.build(s, directory=tmp_path / "idx", embedder=embedder).close()
        b = backend(tmp_path / "idx", "hybrid", embedder)
        for q in (SearchQuery(text="warm jacket", gender="women", colour="Black", price_max_cents=30_000),
                  SearchQuery(text="boots", size="9", use_case="hiking"),
                  SearchQuery(text="pack", brand="Kestrel", category="backpacks")):
            result = b.search(s, q)
            for card in result.cards:
                assert violations(s, card.id, result.query) == []
    forget_open_indexes()


def test_search_query_fields_survive_relaxation() -> None:
    q = SearchQuery(text="x", colour="red", size="M", limit=7, offset=2)
    assert replace(q.without("colour"), colour="red") == q


def test_concurrent_searches_and_updates(shop, embedder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from shop.db.engine import get_sessionmaker

    url, index_dir = shop
    b = backend(index_dir, "hybrid", embedder)
    texts = ["rain jacket", "warm socks", "tent for two", "trail shoes", "merino"] * 4

    def one(text: str) -> int:
        session = get_sessionmaker(url)()
        try:
            return len(b.search(session, SearchQuery(text=text, limit=5)).cards)
        finally:
            session.close()

    with session_scope(url) as s:
        b.open_index(s)
        ids = [p for p in s.scalars(select(Product.id).limit(10))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(one, t) for t in texts]
        with session_scope(url) as s:
            b.products_changed(s, ids)
        assert all(f.result() > 0 for f in futures)


def test_matching_sets_are_reused_but_results_stay_exact(shop, embedder) -> None:
    url, index = shop
    # a tiny pool, no widening: "warm jacket" in shoe size 9 must search inside the exact set
    b = backend(index, "hybrid", embedder, ranker=RankerSettings(pool=10, widen=()), matching_cache_s=3600)
    q = SearchQuery(text="warm jacket", size="9", limit=3)
    with session_scope(url) as s:
        first = b.search(s, q)
        assert first.cards and b.matching.misses == 1
        shown = [c.id for c in first.cards]
        s.execute(update(ProductVariant).where(ProductVariant.product_id.in_(shown)).values(stock=0))
        second = b.search(s, q)  # the cached set still lists them; the database check drops them
        assert b.matching.hits >= 1
        assert second.cards and not {c.id for c in second.cards} & set(shown)
        for card in second.cards:
            assert violations(s, card.id, second.query) == []
    off = backend(index, "hybrid", embedder, ranker=RankerSettings(pool=10, widen=()), matching_cache_s=0)
    with session_scope(url) as s:
        off.search(s, q)
        off.search(s, q)
    assert off.matching.hits == 0


def test_warm_up_opens_the_index_or_says_why(shop, embedder, tmp_path, caplog) -> None:
    from shop.services.search.backends import warm_up

    url, index = shop
    with session_scope(url) as s:
        backend(index, "hybrid", embedder).warm_up(s)
        missing = HybridProductSearch(mode="hybrid", index_dir=tmp_path / "nothing-here", embedder=embedder)
        with caplog.at_level("WARNING", logger="shop.services.search.semantic"):
            missing.warm_up(s)  # logs, never raises: search falls back to SQL
        warm_up(s, name="sql")  # nothing to load
    assert "semantic search unavailable" in caplog.text and "index build" in caplog.text
