"""Forgiving search (issue 16, item 6): quality on the frozen query set and latency,
forgiving on vs off, plus spelling-correction time with a 100k-word vocabulary.

    python -m bench.search_forgiving [--db var/shop.db --index var/index] [--scale 0.02 --workdir var/bench/forgiving]

With ``--db``/``--index`` it reads an existing shop and index (``make db index``: the
demo shop, ~5,000 products); otherwise it builds the demo shop (seed 7, ``--scale``)
and its index in ``--workdir`` once. For each mode (keyword, hybrid) and setting
(``forgiving=False``, the reference, and ``True``), every query of
``tests/data/forgiving_queries.jsonl`` is searched (limit 5) and the share with an
expected category in the top 5 / first, empty results and p50/p95 latency are printed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from retrieval.catalog_index import CatalogIndex
from retrieval.embeddings import get_embedder
from retrieval.keyword import KeywordIndex
from retrieval.spelling import SpellingCorrector
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Category, Product
from shop.services.search.hybrid import RankerSettings
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch
from tools.demo.generate import generate_demo_shop

QUERIES = Path(__file__).resolve().parent.parent / "tests" / "data" / "forgiving_queries.jsonl"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def build(workdir: Path, scale: float) -> tuple[str, Path]:
    db, index = workdir / "shop.db", workdir / "index"
    url = f"sqlite:///{db}"
    if not (index / "index.json").exists():
        workdir.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        with session_scope(url) as s:
            generate_demo_shop(s, seed=7, as_of=datetime(2026, 1, 1), scale=scale, progress=False)
        with session_scope(url) as s:
            CatalogIndex.build(s, directory=index, embedder=get_embedder("bf16"), progress=True).close()
    return url, index


def run(url: str, index: Path, rows: list[dict]) -> None:
    embedder = get_embedder("bf16")
    with session_scope(url) as s:
        slug_of = {int(pid): str(slug) for pid, slug in s.execute(
            select(Product.id, Category.slug).join(Category, Category.id == Product.category_id)).all()}
        for mode in ("keyword", "hybrid"):
            for forgiving in (False, True):
                backend = HybridProductSearch(mode=mode, index_dir=index, embedder=embedder, sync_interval_s=3600,
                                              fallback_to_sql=False, ranker=RankerSettings(forgiving=forgiving))
                backend.warm_up(s)
                ms: list[float] = []
                hit = first = empty = 0
                for row in rows:
                    started = time.perf_counter()
                    result = backend.search(s, SearchQuery(text=row["text"], limit=5, **row.get("query", {})))
                    ms.append((time.perf_counter() - started) * 1000)
                    cats = [slug_of.get(c.id) for c in result.cards]
                    hit += bool(set(cats) & set(row["categories"]))
                    first += bool(cats) and cats[0] in row["categories"]
                    empty += not cats
                n = len(rows)
                print(f"{mode:8s} forgiving={str(forgiving):5s} top5 {hit / n:.3f} top1 {first / n:.3f} "
                      f"empty {empty:2d}  p50 {statistics.median(ms):6.1f} ms  p95 {_pct(ms, 0.95):6.1f} ms")


def spelling_time(index: Path) -> None:
    kw = KeywordIndex(index / "keyword.sqlite")
    vocab = kw.vocabulary()
    kw.close()
    rng = random.Random(1)
    real = len(vocab)
    while len(vocab) < 100_000:
        vocab["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 12)))] = rng.randint(1, 20)
    started = time.perf_counter()
    corrector = SpellingCorrector(vocab)
    built = time.perf_counter() - started
    rows = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows if r["kind"] == "typo"]
    started = time.perf_counter()
    for text in texts:
        corrector.correct(text)
    per = (time.perf_counter() - started) / len(texts) * 1000
    print(f"spelling: {real} catalog words + synthetic = {len(corrector)} words; build {built:.2f} s, "
          f"arrays {(corrector._keys.nbytes + corrector._ids.nbytes) / 1e6:.1f} MB; "
          f"{per:.2f} ms per typo query ({len(texts)} queries)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL or SQLite file of an existing shop")
    parser.add_argument("--index", type=Path, help="its index folder")
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--workdir", type=Path, default=Path("var/bench/forgiving"))
    args = parser.parse_args()
    if args.db and args.index:
        url = args.db if "://" in args.db else f"sqlite:///{args.db}"
        index = args.index
    else:
        url, index = build(args.workdir / f"scale-{args.scale:g}", args.scale)
    rows = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    run(url, index, rows)
    spelling_time(index)


if __name__ == "__main__":
    main()
