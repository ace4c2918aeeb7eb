"""End-to-end search latency (embed the query, FAISS + FTS5, fuse, filter in SQL,
fetch the cards) on the demo shop and on a ~100k-product catalog, and the time to
embed and index the 5k demo catalog from scratch.

    python -m bench.search_e2e [--workdir var/bench/e2e] [--scales 1 20] [--modes hybrid dense keyword]

- Catalogs: ``generate_demo_shop(seed=7, scale=S)`` in SQLite (scale 1: 5,202 products,
  scale 20: ~104,000 products with ~1.26M variants), generated once into ``--workdir``.
- Index: scale 1 is embedded from full product documents (and timed: goal <= 60 s on
  2 cores). For larger scales ``--full-docs`` embeds full documents too (slow on
  2 cores: ~20 min at 100k); by default they embed titles only (~8x fewer tokens):
  real MiniLM vectors of the same products, so search cost is unchanged.
- Queries: the labelled query texts (``tools/search_eval/queries.json``); every third one
  also carries a hard constraint (its category, a price ceiling, a colour or a size
  its category comes in), so the filter paths are timed too. ``--mismatched`` adds a
  workload where every search carries a constraint drawn regardless of the query
  (sizes of other categories...), which exercises the exact step (search inside the
  set of matching products). The first 10 searches of each run warm up, uncounted.
  That set is cached briefly (``shop.services.search.filters.MatchingCache``, as in the action
  server); ``--cold`` repeats every run with the cache off. Reported: p50/p95/max ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from retrieval.catalog_index import CatalogIndex
from retrieval.embeddings import get_embedder
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.services.search.hybrid import RankerSettings
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch
from tools.demo import vocab
from tools.demo.generate import generate_demo_shop, shop_product_count
from tools.search_eval.labels import read_queries


class TitleEmbedder:
    """The real model, fed only the title part of each product document."""

    def __init__(self, inner) -> None:
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.dtype = getattr(inner, "dtype", None)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self.inner.embed([t.split(". Brand:")[0] for t in texts], batch_size=batch_size, progress=progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def make_catalog(workdir: Path, scale: float) -> str:

    workdir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / f'shop-{scale:g}.db'}"
    upgrade(url)
    with session_scope(url) as session:
        if not shop_product_count(session):
            t0 = time.perf_counter()
            generate_demo_shop(session, seed=7, as_of=datetime(2026, 1, 1), scale=scale, progress=True)
            print(f"generated the scale-{scale:g} demo shop in {time.perf_counter() - t0:.0f} s", flush=True)
    return url


def constrained_queries(queries: list[dict], seed: int = 3, *, mismatched: bool = False) -> list:
    """Searches for the labelled queries; every third one also gets one hard constraint
    a shopper could plausibly add: the query's own category, a price ceiling, a colour,
    or a size that category comes in. ``mismatched``: the constraint is drawn without
    regard to the query (sizes of another category...), the slow path of ``rank``."""

    rng = random.Random(seed)
    out = []
    for i, q in enumerate(queries):
        fields: dict = {"text": q["text"], "limit": 5}
        category = vocab.CATEGORY_BY_SLUG[q["spec"]["category"]]
        if i % 3 == 2 or mismatched:
            pick = rng.choice(("category", "price", "colour", "size"))
            if pick == "category":
                fields["category"] = rng.choice(vocab.CATEGORIES).slug if mismatched else category.slug
            elif pick == "price":
                fields["price_max_cents"] = rng.choice((3_000, 8_000, 15_000))
            elif pick == "colour":
                fields["colour"] = rng.choice(vocab.COLOURS)
            else:
                sizes = ("S", "M", "L", "9", "10") if mismatched else category.sizes
                fields["size"] = rng.choice(sizes)
        out.append(SearchQuery(**fields))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("var/bench/e2e"))
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 20.0])
    parser.add_argument("--modes", nargs="+", default=["hybrid", "dense", "keyword"])
    parser.add_argument("--dtype", choices=("bf16", "fp32"), default="bf16")
    parser.add_argument("--full-docs", action="store_true", help="embed full documents at every scale")
    parser.add_argument("--rebuild", action="store_true", help="rebuild indexes even when present")
    parser.add_argument("--widen", nargs="+", default=None, metavar="F,F",
                        help="compare pool-widening schedules before the exact step, e.g. 5,25 5 none "
                             "(default: the ranker's own)")
    parser.add_argument("--cold", action="store_true",
                        help="also time every workload with the matching-set cache off (each exact step scans)")
    parser.add_argument("--mismatched", action="store_true",
                        help="also time searches whose constraints ignore the query (every one constrained)")
    args = parser.parse_args()


    t0 = time.perf_counter()
    embedder = get_embedder(args.dtype)
    print(f"model loaded in {time.perf_counter() - t0:.1f} s ({args.dtype})", flush=True)
    labelled = read_queries()["queries"]
    workloads = {"realistic": constrained_queries(labelled)}
    if args.mismatched:
        workloads["mismatched"] = constrained_queries(labelled, mismatched=True)
    for scale in args.scales:
        url = make_catalog(args.workdir, scale)
        index_dir = args.workdir / f"index-{scale:g}"
        if args.rebuild or not (index_dir / "index.json").exists():
            full = scale <= 1.0 or args.full_docs
            with session_scope(url) as session:
                t0 = time.perf_counter()
                index = CatalogIndex.build(session, directory=index_dir, progress=True,
                                           embedder=embedder if full else TitleEmbedder(embedder))
                took = time.perf_counter() - t0
            m = index.manifest
            index.close()
            print(f"scale {scale:g}: embedded and indexed {m['products']} products "
                  f"({'full documents' if full else 'titles only'}) from scratch in {took:.1f} s "
                  f"-> {m['kind']} {m['params']}", flush=True)
        schedules = [None] if args.widen is None else [
            () if w == "none" else tuple(int(f) for f in w.split(",")) for w in args.widen]
        caches = [None, 0.0] if args.cold else [None]
        runs = ((w, m, sch, c) for w in workloads.items() for m in args.modes for sch in schedules for c in caches)
        for (workload, queries), mode, schedule, cache_s in runs:
            ranker = RankerSettings() if schedule is None else RankerSettings(widen=schedule)
            backend = HybridProductSearch(mode=mode, index_dir=index_dir, embedder=embedder, fallback_to_sql=False,
                                          sync_interval_s=30, ranker=ranker, matching_cache_s=cache_s)
            times: list[float] = []
            with session_scope(url) as session:
                for q in queries[:10]:
                    backend.search(session, q)
                for q in queries:
                    t1 = time.perf_counter()
                    backend.search(session, q)
                    times.append((time.perf_counter() - t1) * 1000)
            times.sort()
            label = "" if schedule is None else f" widen={','.join(map(str, schedule)) or 'none':<5}"
            label += " cache off" if cache_s == 0 else ""
            print(f"scale {scale:g} {workload:<10} {mode:<8}{label} {len(times)} searches: "
                  f"p50 {statistics.median(times):6.1f} ms"
                  f"  p95 {times[int(0.95 * (len(times) - 1))]:6.1f} ms  max {times[-1]:6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
