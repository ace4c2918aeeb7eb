"""The search index commands (``python -m apps.cli index ...``).

    python -m apps.cli index build [--url URL] [--index-dir DIR] [--kind auto|flat|ivf|hnsw] [--dtype bf16|fp32]
    python -m apps.cli index sync [--url URL] [--index-dir DIR]
    python -m apps.cli index info [--index-dir DIR]
    python -m apps.cli index search TEXT [--url URL] [--index-dir DIR] [--mode hybrid|dense|keyword] [--limit 5]

Defaults come from ``shop.settings`` (``DATABASE_URL``, ``SHOP_SEARCH_INDEX_DIR``,
``SHOP_EMBEDDING_DTYPE``, ``SHOP_SEARCH_INDEX_KIND``, ``SHOP_SEARCH_EXACT_BELOW``).
``build`` embeds the whole catalog from scratch (tqdm progress bar) and swaps
the new index in at the end; ``sync`` applies catalog changes incrementally and
saves. Exit status: 0 on success, 1 when the index is missing or refused, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from retrieval.catalog_index import CatalogIndex, IndexUnavailableError
from retrieval.embeddings import get_embedder
from retrieval.index import IndexConfig, gpu_available
from shop.db.engine import session_scope
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch, LazyEmbedder
from shop.settings import get_settings


def _common(parser: argparse.ArgumentParser, *, url: bool = True) -> None:

    s = get_settings()
    if url:
        parser.add_argument("--url", default=s.database_url, help="shop database URL (default: DATABASE_URL)")
    parser.add_argument("--index-dir", type=Path, default=Path(s.search_index_dir),
                        help=f"index folder (default: {s.search_index_dir})")


def _cmd_build(args: argparse.Namespace) -> int:

    settings = get_settings()
    config = IndexConfig(kind=args.kind or settings.search_index_kind, exact_below=settings.search_exact_below)
    started = time.perf_counter()
    embedder = get_embedder(args.dtype or settings.embedding_dtype)
    loaded = time.perf_counter() - started
    with session_scope(args.url) as session:
        index = CatalogIndex.build(
            session, directory=args.index_dir, embedder=embedder, config=config, batch_size=args.batch_size,
            progress=True, use_gpu=(not settings.faiss_force_cpu) and gpu_available(),
        )
    m = index.manifest
    index.close()
    print(f"Built a {m['kind']} index of {m['products']} products at {args.index_dir} in "
          f"{time.perf_counter() - started:.1f} s (model load {loaded:.1f} s; params {m['params']}; "
          f"catalog version {m['catalog_version']}).")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:

    try:
        index = CatalogIndex.load(args.index_dir, embedder=LazyEmbedder(get_settings().embedding_dtype), mmap=False)
        with session_scope(args.url) as session:
            report = index.sync(session)
    except IndexUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    if report.changed:
        index.save()
    index.close()
    print(f"Synced {args.index_dir}: {len(report.added)} added, {len(report.updated)} updated, "
          f"{len(report.removed)} removed.")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    path = args.index_dir / "index.json"
    if not path.exists():
        print(f"no search index at {args.index_dir}", file=sys.stderr)
        return 1
    print(json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:

    backend = HybridProductSearch(mode=args.mode, index_dir=args.index_dir, dtype=get_settings().embedding_dtype,
                                  fallback_to_sql=False)
    try:
        with session_scope(args.url) as session:
            started = time.perf_counter()
            result = backend.search(session, SearchQuery(text=args.text, limit=args.limit))
            elapsed = time.perf_counter() - started
    except IndexUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    relaxed = f", relaxed: {', '.join(result.relaxed)}" if result.relaxed else ""
    print(f"{result.total} matches in {elapsed * 1000:.0f} ms{relaxed}")
    for i, card in enumerate(result.cards, start=1):
        print(f"{i}. [{card.id}] {card.one_line()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.cli index", description="Semantic search index tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="embed the catalog and build the search index from scratch")
    _common(build)
    build.add_argument("--kind", choices=("auto", "flat", "ivf", "hnsw"), help="index type (default: settings)")
    build.add_argument("--dtype", choices=("bf16", "fp32"), help="embedding precision (default: settings)")
    build.add_argument("--batch-size", type=int, default=32, help="texts per model batch (default 32)")
    build.set_defaults(func=_cmd_build)
    sync = commands.add_parser("sync", help="apply catalog changes to the index incrementally and save it")
    _common(sync)
    sync.set_defaults(func=_cmd_sync)
    info = commands.add_parser("info", help="print the index sidecar")
    _common(info, url=False)
    info.set_defaults(func=_cmd_info)
    search = commands.add_parser("search", help="run one search")
    _common(search)
    search.add_argument("text")
    search.add_argument("--mode", choices=("hybrid", "dense", "keyword"), default="hybrid")
    search.add_argument("--limit", type=int, default=5, choices=range(1, 51), metavar="1..50")
    search.set_defaults(func=_cmd_search)
    args = parser.parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        parser.error("--batch-size must be 1 or more")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
