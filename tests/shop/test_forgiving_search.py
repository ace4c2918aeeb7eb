"""Search that forgives (issue 16, item 6): typos, vague needs, long descriptions and
category words, scored on the frozen query set ``tests/data/forgiving_queries.jsonl``
(written before any tuning; each query lists the category slugs that answer it) against
a real index (MiniLM + FTS5) built on a small demo shop, plus hostile queries.

Run with ``-s`` to see the figures per kind of query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.db.engine import get_engine, session_scope
from shop.db.schema import Product
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch, forget_open_indexes
from tests.demo_shops import DemoShops
from tests.paths import DATA

QUERIES = DATA / "forgiving_queries.jsonl"
AS_OF = datetime(2026, 1, 1)


def load_queries(path: Path = QUERIES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def forgiving_shop(tmp_path_factory, demo_shop: DemoShops) -> Iterator[tuple[str, HybridProductSearch]]:
    """A small demo shop (~100 products, every demo category) with a real index, and
    the hybrid backend over it."""
    from retrieval.catalog_index import CatalogIndex
    from retrieval.embeddings import get_embedder

    root = tmp_path_factory.mktemp("forgiving")
    url = demo_shop(seed=7, scale=0.02, as_of=AS_OF, url=f"sqlite:///{root / 'shop.db'}")
    embedder = get_embedder("bf16")
    with session_scope(url) as session:
        CatalogIndex.build(session, directory=root / "index", embedder=embedder).close()
    backend = HybridProductSearch(mode="hybrid", index_dir=root / "index", embedder=embedder, sync_interval_s=0,
                                  fallback_to_sql=False)
    yield url, backend
    forget_open_indexes()
    get_engine(url).dispose()


def score(session, backend: HybridProductSearch, rows: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    """Per query: the top-``k`` categories, whether one expected category is among them,
    whether the expected attribute is, and the time taken."""
    out = []
    for row in rows:
        query = SearchQuery(text=row["text"], limit=k, **row.get("query", {}))
        started = time.perf_counter()
        result = backend.search(session, query)
        ms = (time.perf_counter() - started) * 1000
        products = session.scalars(select(Product).where(Product.id.in_([c.id for c in result.cards]))
                                   .options(selectinload(Product.category))).all()
        by_id = {p.id: p for p in products}
        cats = [by_id[c.id].category.slug for c in result.cards if c.id in by_id]
        attrs = [" ".join(str(v).lower() for key in ("features", "use_cases")
                          for v in (by_id[c.id].attributes or {}).get(key, [])) for c in result.cards if c.id in by_id]
        out.append({**row, "top": cats, "hit": bool(set(cats) & set(row["categories"])),
                    "first": bool(cats) and cats[0] in row["categories"],
                    "attr_hit": row.get("attribute") is None or any(row["attribute"] in a for a in attrs),
                    "empty": not result.cards, "ms": ms,
                    "corrected": getattr(result, "corrected_text", None)})
    return {"rows": out, "hit": sum(r["hit"] for r in out) / len(out)}


def test_frozen_query_set_is_well_formed() -> None:
    from tools.demo import vocab

    rows = load_queries()
    slugs = {c.slug for c in vocab.CATEGORIES}
    assert len(rows) >= 80 and len({r["id"] for r in rows}) == len(rows)
    assert {r["kind"] for r in rows} == {"typo", "vague", "descriptive", "category"}
    for row in rows:
        assert row["categories"] and set(row["categories"]) <= slugs, row


def test_forgiving_queries_find_the_expected_category(forgiving_shop) -> None:
    url, backend = forgiving_shop
    rows = load_queries()
    with session_scope(url) as s:
        backend.search(s, SearchQuery(text="warm up"))
        result = score(s, backend, rows)
    out = result["rows"]
    for kind in ("typo", "vague", "descriptive", "category"):
        mine = [r for r in out if r["kind"] == kind]
        print(f"{kind:12s} n={len(mine):3d} top5 hit {sum(r['hit'] for r in mine) / len(mine):.2f} "
              f"top1 {sum(r['first'] for r in mine) / len(mine):.2f} empty {sum(r['empty'] for r in mine)}")
    attr = [r for r in out if r.get("attribute")]
    print(f"all          n={len(out)} top5 hit {result['hit']:.2f} top1 {sum(r['first'] for r in out) / len(out):.2f} "
          f"attribute hit {sum(r['attr_hit'] for r in attr)}/{len(attr)}")
    for r in out:
        if not r["hit"]:
            print("  miss", r["id"], repr(r["text"]), r["categories"], "->", r["top"], r["corrected"])
    assert not [r["text"] for r in out if r["kind"] == "typo" and r["empty"]]
    # before this work (words as typed, fixed weights): 0.90 overall, typos 0.82 (top 5)
    assert result["hit"] >= 0.93
    typos = [r for r in out if r["kind"] == "typo"]
    assert sum(r["hit"] for r in typos) >= 0.95 * len(typos)
    category = [r for r in out if r["kind"] == "category"]
    assert sum(r["first"] for r in category) / len(category) >= 0.90, "a named category ranks first"
    assert sum(r["attr_hit"] for r in attr) >= 0.8 * len(attr)


def test_corrected_words_are_reported_and_relaxation_still_works(forgiving_shop) -> None:
    url, backend = forgiving_shop
    with session_scope(url) as s:
        result = backend.search(s, SearchQuery(text="waterprof hikng bots", size="10"))
        assert result.corrected_text == "waterproof hiking boots" and result.cards
        assert result.query.text == "waterprof hikng bots"  # the shopper's words are kept for refining
        assert backend.search(s, SearchQuery(text="hiking boots")).corrected_text is None
        relaxed = backend.search(s, SearchQuery(text="sleping bag", colour="pink", price_max_cents=1))
        assert relaxed.cards and relaxed.relaxed and relaxed.relaxed[0] != "keywords"


def test_category_named_loosely_by_the_nlu_still_constrains(forgiving_shop) -> None:
    """"jacket", "bots" or "sleeping bag" as the category entity name a real category;
    a category the shop does not have still finds nothing."""
    url, backend = forgiving_shop
    with session_scope(url) as s:
        for value, slug in (("jacket", "jackets"), ("bots", "hiking-boots"), ("sleeping bag", "sleeping-bags"),
                            ("Jakets", "jackets")):
            result = backend.search(s, SearchQuery(text="something for the rain", category=value))
            assert result.cards, value
            cats = {p.category.slug for p in s.scalars(select(Product).where(Product.id.in_(
                [c.id for c in result.cards])).options(selectinload(Product.category)))}
            assert cats == {slug}, (value, cats)
        assert backend.search(s, SearchQuery(text="jacket", category="spaceships")).cards == []


@pytest.mark.parametrize("text", ["x" * 10_000, "!!! ??? ...", "🧥🥾☃️🌧️", "'; DROP TABLE products; --",
                                  "jacket\" OR 1=1 --", " ".join(f"zq{i}xv" for i in range(50)),
                                  "waterprof " * 400, "%_\\ NEAR(a b) AND OR NOT *"])
def test_hostile_queries_answer_without_error_in_bounded_time(forgiving_shop, text) -> None:
    url, backend = forgiving_shop
    with session_scope(url) as s:
        started = time.perf_counter()
        result = backend.search(s, SearchQuery(text=text))
        assert time.perf_counter() - started < 5.0
        assert len(result.cards) <= 5
        assert s.scalar(select(Product.id).limit(1)) is not None  # the catalog is still there
