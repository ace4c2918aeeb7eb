"""Sub-category-name queries on an invented marketplace catalog (issue 17's search goal):
precision@10 per backend (dense, keyword, hybrid), queries with no results, and query
latency p50/p95.

    python -m bench.search_marketplace [--seeds 11 29] [--scale 1.0] [--via direct|importer] [--parents]
                                       [--reference] [--no-forms]
                                       [--root /tmp/ridgeline-marketplace] [--worst 10] [--repeat 1]

Each seed's catalog (~10,000 listings, :mod:`tools.search_eval.marketplace`) is generated,
loaded into a SQLite shop (directly, or as a CSV through the shop's catalog importer with
``--via importer``) and indexed once, cached under ``--root`` (the index is rebuilt
only when the product texts change). Every sub-category name is a text-only query, limit
10; a result is relevant when the product is listed in that sub-category. Each name is
also typed the way shoppers type it ("typed": "mens shoe", "home decor", "coffee tea
beverage") and with a typo ("typo": "hedaphone"). The first seed is the one the ranking
was tuned on, the others are held out. ``--reference`` also runs
``RankerSettings(forgiving=False)`` (words as typed, fixed weights, no category hints).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.stats import percentile
from retrieval.embeddings import get_embedder
from shop.db.engine import session_scope
from shop.services.search.hybrid import RankerSettings
from shop.services.search.semantic import HybridProductSearch, forget_open_indexes
from tools.search_eval.marketplace import CACHE_ROOT, evaluate, typed_form, typo_form
from tools.search_eval.marketplace_shop import prepare_shop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 29])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--parents", action="store_true", help="departments as parent categories (direct only)")
    parser.add_argument("--via", choices=("direct", "importer"), default="direct",
                        help="write products directly, or import the raw CSV with the shop's importer")
    parser.add_argument("--reference", action="store_true", help="also run forgiving=False")
    parser.add_argument("--root", type=Path, default=CACHE_ROOT)
    parser.add_argument("--worst", type=int, default=10, help="print this many worst queries per seed")
    parser.add_argument("--repeat", type=int, default=1, help="runs per query; latency is the best")
    parser.add_argument("--no-forms", dest="forms", action="store_false",
                        help="only the names as written (not also typed in lower case, and with a typo)")
    args = parser.parse_args()

    embedder = get_embedder("bf16")
    settings = {"": RankerSettings()}
    if args.reference:
        settings["ref "] = RankerSettings(forgiving=False)
    for n, seed in enumerate(args.seeds):
        started = time.perf_counter()
        shop = prepare_shop(seed, scale=args.scale, with_parents=args.parents, root=args.root, embedder=embedder,
                            via=args.via, progress=True)
        queries = sorted(set(shop.catalog.sub_categories))
        role = "tuned on" if n == 0 else "held out"
        print(f"\nseed {seed} ({role}): {shop.listings} listings, {shop.catalog.products} products, "
              f"{len(queries)} sub-category queries (ready in {time.perf_counter() - started:.0f} s)")
        print(f"{'backend':<19} {'p@10':>6} {'min':>5} {'<0.8':>5} {'empty':>6} {'p50 ms':>8} {'p95 ms':>8}")
        for tag, ranker in settings.items():
            backends = {mode: HybridProductSearch(mode=mode, index_dir=shop.index_dir, embedder=embedder,
                                                  sync_interval_s=3600, fallback_to_sql=False, ranker=ranker)
                        for mode in ("dense", "keyword", "hybrid")}
            forms = {"": None, "typed ": {q: typed_form(q) for q in queries},
                     "typo ": {q: typo_form(q, seed) for q in queries}}
            for form, texts in forms.items():
                if form and not args.forms:
                    continue
                with session_scope(shop.url) as session:
                    figures = evaluate(backends, session, queries, shop.catalog.listed_in, repeat=args.repeat,
                                       texts=texts)
                for mode, fig in figures.items():
                    values = list(fig.precision.values())
                    print(f"{tag + form + mode:<19} {fig.mean_precision:>6.3f} {min(values):>5.2f} "
                          f"{sum(v < 0.8 for v in values):>5d} {len(fig.empty):>6d} "
                          f"{statistics.median(fig.latency_ms):>8.1f} {percentile(fig.latency_ms, 0.95):>8.1f}")
                if args.worst:
                    hybrid = figures["hybrid"].precision
                    worst = [(q, p) for q, p in sorted(hybrid.items(), key=lambda kv: (kv[1], kv[0])) if p < 1.0]
                    shown = "; ".join(f"{(texts or {}).get(q, q)!r} {p:.1f}" for q, p in worst[:args.worst])
                    print(f"  below 1.0 ({tag + form}hybrid): {shown or 'none'}")
            forget_open_indexes()


if __name__ == "__main__":
    main()
