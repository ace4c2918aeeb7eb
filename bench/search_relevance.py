"""Relevance of semantic search on the demo shop: nDCG@10 and recall@50 for the dense,
keyword and hybrid backends over the labelled queries in ``tools/search_eval/queries.json``.

    python -m bench.search_relevance [--workdir var/bench/relevance] [--dtype bf16] [--compare-fp32]

Builds (once, cached in ``--workdir``) the demo shop the labels were made from
(seed 7, scale 1.0, as of 2026-01-01) and its search index, then runs every query as
text only (no hard constraints) with ``limit=50``.

- nDCG@10: gains ``2**grade - 1``; the ideal ranking is over every product's grade.
- recall@50: products with the query's top grade (3: every asked aspect holds, or the
  exact product) found in the top 50, divided by ``min(50, how many there are)``.

``--compare-fp32`` also embeds the catalog in fp32 and reports the mean top-10
overlap of bf16 vs fp32 dense results.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from retrieval.catalog_index import CatalogIndex
from retrieval.embeddings import get_embedder
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch
from tools.demo.generate import generate_demo_shop, shop_product_count
from tools.search_eval.labels import ProductFacts, grade, load_facts, read_queries


def ndcg_at(ranked: list[int], grades: dict[int, int], ideal: list[int], k: int = 10) -> float:
    dcg = sum((2 ** grades.get(pid, 0) - 1) / math.log2(i + 2) for i, pid in enumerate(ranked[:k]))
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal[:k]))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[int], grades: dict[int, int], k: int = 50) -> float:
    top = max(grades.values(), default=0)
    relevant = {pid for pid, g in grades.items() if g == top and g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / min(k, len(relevant))


def prepare(workdir: Path, catalog: dict, *, dtype: str) -> str:
    """The demo shop's URL in ``workdir`` (generated once) with a built index."""

    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'shop.db'}"
    upgrade(url)
    with session_scope(url) as session:
        if not shop_product_count(session):
            generate_demo_shop(session, seed=catalog["seed"], scale=catalog["scale"],
                               as_of=datetime.fromisoformat(catalog["as_of"]), progress=False)
    return url


def ensure_index(url: str, directory: Path, *, dtype: str) -> float | None:
    """Build the index in ``directory`` unless it is there; returns build seconds or None."""

    if (directory / "index.json").exists():
        return None
    started = time.perf_counter()
    with session_scope(url) as session:
        CatalogIndex.build(session, directory=directory, embedder=get_embedder(dtype), progress=True).close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("var/bench/relevance"))
    parser.add_argument("--dtype", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--compare-fp32", action="store_true")
    args = parser.parse_args()


    labels = read_queries()
    queries = labels["queries"]
    url = prepare(args.workdir, labels["catalog"], dtype=args.dtype)
    index_dir = args.workdir / f"index-{args.dtype}"
    built = ensure_index(url, index_dir, dtype=args.dtype)
    if built is not None:
        print(f"built the index in {built:.1f} s")
    with session_scope(url) as session:
        facts: list[ProductFacts] = load_facts(session)
    embedder = get_embedder(args.dtype)
    print(f"{len(queries)} queries, {len(facts)} products, embeddings {args.dtype}\n")

    results: dict[str, dict[str, list[float]]] = {}
    runs: dict[str, dict[str, list[int]]] = {}
    for mode in ("dense", "keyword", "hybrid"):
        backend = HybridProductSearch(mode=mode, index_dir=index_dir, embedder=embedder, fallback_to_sql=False)
        per: dict[str, list[float]] = defaultdict(list)
        runs[mode] = {}
        with session_scope(url) as session:
            backend.search(session, SearchQuery(text="warm up"))
            for q in queries:
                grades = {p.id: grade(q["spec"], p) for p in facts}
                grades = {pid: g for pid, g in grades.items() if g > 0}
                ideal = sorted(grades.values(), reverse=True)
                t0 = time.perf_counter()
                result = backend.search(session, SearchQuery(text=q["text"], limit=50))
                per["latency_ms"].append((time.perf_counter() - t0) * 1000)
                ranked = [c.id for c in result.cards]
                runs[mode][q["id"]] = ranked
                n, r = ndcg_at(ranked, grades, ideal), recall_at(ranked, grades)
                per["ndcg"].append(n)
                per["recall"].append(r)
                per[f"ndcg:{q['type']}"].append(n)
        results[mode] = per

    print(f"{'backend':<10} {'nDCG@10':>8} {'recall@50':>10} {'p50 ms':>8} {'p95 ms':>8}")
    for mode, per in results.items():
        lat = sorted(per["latency_ms"])
        print(f"{mode:<10} {statistics.mean(per['ndcg']):>8.3f} {statistics.mean(per['recall']):>10.3f} "
              f"{statistics.median(lat):>8.1f} {lat[int(0.95 * (len(lat) - 1))]:>8.1f}")
    types = sorted({q["type"] for q in queries})
    print(f"\nnDCG@10 by query type\n{'type':<22} {'n':>3} " + " ".join(f"{m:>8}" for m in results))
    for t in types:
        n = sum(1 for q in queries if q["type"] == t)
        print(f"{t:<22} {n:>3} " + " ".join(f"{statistics.mean(results[m]['ndcg:' + t]):>8.3f}" for m in results))

    if args.compare_fp32 and args.dtype == "bf16":
        fp_dir = args.workdir / "index-fp32"
        built = ensure_index(url, fp_dir, dtype="fp32")
        if built is not None:
            print(f"\nbuilt the fp32 index in {built:.1f} s")
        fp = HybridProductSearch(mode="dense", index_dir=fp_dir, embedder=get_embedder("fp32"),
                                 fallback_to_sql=False)
        overlaps = []
        with session_scope(url) as session:
            for q in queries:
                a = runs["dense"][q["id"]][:10]
                b = [c.id for c in fp.search(session, SearchQuery(text=q["text"], limit=10)).cards]
                if a or b:
                    overlaps.append(len(set(a) & set(b)) / max(len(a), len(b)))
        print(f"\nbf16 vs fp32 dense top-10 overlap: {statistics.mean(overlaps):.3f}")


if __name__ == "__main__":
    main()
