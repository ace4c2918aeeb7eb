"""The semantic search backend behind :func:`shop.services.search.backends.get_search_backend`:
``"hybrid"`` (dense + keyword, RRF), ``"dense"`` or ``"keyword"``.

:class:`HybridProductSearch` implements the ``ProductSearch`` protocol. Per search:

1. open the catalog index once per process (cached; refused on a model mismatch),
   and every ``sync_interval_s`` check a cheap catalog signature, syncing added,
   changed and removed products incrementally when it moved;
2. a query without words lists the products matching the constraints, best rated
   first; otherwise :func:`shop.services.search.hybrid.rank` ranks them;
3. when nothing survives, relax constraints one at a time as
   :class:`~shop.services.search.sql.SqlProductSearch` does, in
   :data:`~shop.services.search.query.RELAX_ORDER` (use-case, colour, size, brand, price,
   gender); the category is never relaxed. The words (``"keywords"``) are dropped
   first when they match nothing in the catalog at all, else only as a last resort
   (so "purple tent" shows tents in other colours rather than anything purple).
   ``SearchResult.relaxed`` lists what was dropped, in order;
4. cards come from the database (``get_cards``), which skips inactive products, and
   every id was checked against the constraints in the database first: a deleted
   product is never returned, even before the index hears of it.

If the index is missing or refused, the backend logs why once and answers with
``SqlProductSearch`` (``fallback_to_sql=True``), so the assistant keeps working.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from retrieval.catalog_index import (
    CatalogIndex,
    IndexNotFoundError,
    IndexUnavailableError,
    SyncReport,
)
from retrieval.embeddings import EMBEDDING_DIM, Dtype, Embedder, get_embedder, model_id
from retrieval.index import IndexConfig, gpu_available
from shop.services.catalog import get_cards
from shop.services.search.categories import catalog_categories
from shop.services.search.filters import MatchingCache, browse
from shop.services.search.hybrid import MODES, RankerSettings, has_words, rank
from shop.services.search.needs import QueryHints, query_hints
from shop.services.search.query import RELAX_ORDER, SearchQuery, SearchResult
from shop.services.search.sql import SqlProductSearch
from shop.services.search.typos import correct_query, corrector_for
from shop.settings import get_settings

log = logging.getLogger(__name__)


class LazyEmbedder:
    """An :class:`Embedder` that loads the model on the first embedding, so a keyword-only
    search never imports torch. ``model_id``/``dim`` are known without loading."""

    def __init__(self, dtype: Dtype = "bf16") -> None:
        self.dtype = dtype
        self.model_id = model_id()
        self.dim = EMBEDDING_DIM

    def _real(self) -> Embedder:
        return get_embedder(self.dtype)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self._real().embed(texts, batch_size=batch_size, progress=progress)

    def embed_query(self, text: str) -> np.ndarray:
        return self._real().embed_query(text)


_OPEN: dict[tuple[str, str], CatalogIndex] = {}
_OPEN_LOCK = threading.Lock()


def open_catalog_index(directory: Path, *, embedder: Embedder, use_gpu: bool = False, mmap: bool = True,
                       faiss_threads: int | None = None) -> CatalogIndex:
    """The process-wide :class:`CatalogIndex` in ``directory`` (opened once).

    ``faiss_threads``: OpenMP threads FAISS uses (process-wide; 1 is fastest for single
    queries). Raises :class:`IndexUnavailableError` subclasses (see ``CatalogIndex.load``).
    """
    key = (str(Path(directory).resolve()), embedder.model_id)
    with _OPEN_LOCK:
        index = _OPEN.get(key)
        if index is None:
            if faiss_threads is not None:
                import faiss

                faiss.omp_set_num_threads(int(faiss_threads))
            index = CatalogIndex.load(Path(directory), embedder=embedder, mmap=mmap, use_gpu=use_gpu)
            _OPEN[key] = index
        return index


def forget_open_indexes() -> None:
    """Close and forget every cached index (tests; after an external rebuild)."""
    with _OPEN_LOCK:
        for index in _OPEN.values():
            index.close()
        _OPEN.clear()


class HybridProductSearch:
    """Semantic product search (see the module doc).

    Args:
        mode: ``"hybrid"``, ``"dense"`` or ``"keyword"``.
        index_dir: where the index lives (``python -m apps.cli index build`` writes it).
        embedder: the query/document embedder; default the packaged MiniLM in ``dtype``,
            loaded on first use.
        dtype: ``"bf16"`` or ``"fp32"`` for the default embedder.
        index_config: how to build when ``build_if_missing``.
        build_if_missing: build the index on first search when there is none (minutes
            for large catalogs; meant for tests and small shops).
        sync_interval_s: seconds between catalog-signature checks (0: every search).
        fallback_to_sql: answer with ``SqlProductSearch`` when the index is unavailable.
        use_gpu: search on a GPU copy when faiss sees a GPU.
        faiss_threads: OpenMP threads for FAISS (default 1).
        ranker: :class:`RankerSettings` (its ``mode`` is replaced by ``mode``).
        matching_cache_s: seconds an exact set of products matching a query's constraints
            is reused (:class:`~shop.services.search.filters.MatchingCache`); default
            ``sync_interval_s``, the freshness the index already has; 0: never reused.
    """

    def __init__(
        self, *, mode: str = "hybrid", index_dir: Path | str, embedder: Embedder | None = None,
        dtype: Dtype = "bf16", index_config: IndexConfig | None = None, build_if_missing: bool = False,
        sync_interval_s: float = 30.0, fallback_to_sql: bool = True, use_gpu: bool = False,
        faiss_threads: int | None = 1, ranker: RankerSettings | None = None,
        matching_cache_s: float | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if sync_interval_s < 0:
            raise ValueError("sync_interval_s must be 0 or more")
        self.mode = mode
        self.index_dir = Path(index_dir)
        self.embedder: Embedder = embedder if embedder is not None else LazyEmbedder(dtype)
        self.index_config = index_config or IndexConfig()
        self.build_if_missing = build_if_missing
        self.sync_interval_s = sync_interval_s
        self.fallback_to_sql = fallback_to_sql
        self.use_gpu = use_gpu
        self.faiss_threads = faiss_threads
        self.ranker = replace(ranker or RankerSettings(), mode=mode)
        self.matching = MatchingCache(ttl_s=sync_interval_s if matching_cache_s is None else matching_cache_s)
        self._last_sync = 0.0
        self._lock = threading.Lock()
        self._warned: str | None = None

    # ------------------------------------------------------------------ index

    def open_index(self, session: Session) -> CatalogIndex:
        """The index, opened (or built, with ``build_if_missing``) and synced with the
        catalog in ``session``. Raises :class:`IndexUnavailableError` subclasses."""
        try:
            index = open_catalog_index(self.index_dir, embedder=self.embedder, use_gpu=self.use_gpu,
                                       faiss_threads=self.faiss_threads)
        except IndexNotFoundError:
            if not self.build_if_missing:
                raise
            with _OPEN_LOCK:
                if not (self.index_dir / "index.json").exists():
                    CatalogIndex.build(session, directory=self.index_dir, embedder=self.embedder,
                                       config=self.index_config, use_gpu=self.use_gpu).close()
            index = open_catalog_index(self.index_dir, embedder=self.embedder, use_gpu=self.use_gpu,
                                       faiss_threads=self.faiss_threads)
        now = time.monotonic()
        with self._lock:
            due = index.signature is None or now - self._last_sync >= self.sync_interval_s
            if due:
                index.sync_if_changed(session)
                self._last_sync = now
        return index

    def warm_up(self, session: Session) -> None:
        """Open (and sync) the index and load the embedding model now, so the first
        search doesn't pay for it. Logs, rather than raises, when the index is missing."""
        try:
            index = self.open_index(session)
        except IndexUnavailableError as exc:
            self._warn_unavailable(exc)
            return
        corrector_for(index.keywords)
        if self.mode != "keyword":
            index.embedder.embed_query("warm up")

    def _warn_unavailable(self, exc: IndexUnavailableError) -> None:
        """Log why search falls back to SQL, once per distinct reason."""
        if self._warned != str(exc):
            log.warning("semantic search unavailable, using SQL search: %s", exc)
            self._warned = str(exc)

    def products_changed(self, session: Session, product_ids: Sequence[int]) -> SyncReport:
        """Tell the index these products were added, edited or deactivated: they are
        re-embedded (or removed) now."""
        return self.open_index(session).upsert_products(session, product_ids)

    def products_removed(self, session: Session, product_ids: Sequence[int]) -> SyncReport:
        """Tell the index these products are gone: they are removed now."""
        return self.open_index(session).remove_products(product_ids)

    # ------------------------------------------------------------------ search

    def search(self, session: Session, query: SearchQuery) -> SearchResult:
        try:
            index = self.open_index(session)
        except IndexUnavailableError as exc:
            if not self.fallback_to_sql:
                raise
            self._warn_unavailable(exc)
            return SqlProductSearch().search(session, query)
        relaxed: list[str] = []
        current = query
        vector: np.ndarray | None = None
        corrected: str | None = None
        hints: QueryHints | None = None
        if self.ranker.forgiving and has_words(query.text):
            fixed = correct_query(index.keywords, query.text)
            corrected = fixed.text if fixed.changed else None
            known = corrector_for(index.keywords).known
            hints = query_hints(corrected or query.text, catalog_categories(session), in_catalog=known.__contains__)
        while True:
            searched = replace(current, text=corrected) if corrected and current.text else current
            ids, total, unmatched = self._search_once(session, index, searched, vector, hints)
            if ids or total:
                break
            if unmatched:
                droppable = ["keywords"]
            else:
                droppable = [c for c in RELAX_ORDER if c != "keywords" and current.has(c)]
                if not droppable and has_words(current.text):
                    droppable = ["keywords"]  # last resort: what the constraints (category) allow
            if not droppable:
                return SearchResult([], 0, current, relaxed, corrected if current.text else None)
            relaxed.append(droppable[0])
            current = current.without(droppable[0])
        return SearchResult(get_cards(session, product_ids=ids), total, current, relaxed,
                            corrected if current.text else None)

    def _search_once(self, session: Session, index: CatalogIndex, query: SearchQuery,
                     vector: np.ndarray | None, hints: QueryHints | None = None) -> tuple[list[int], int, bool]:
        """``(ids of the page, total, words matched nothing)``."""
        if not has_words(query.text):
            page, total = browse(session, query)
            return page, total, False
        ranked = rank(session, index, query, self.ranker, query_vector=vector, matching=self.matching, hints=hints)
        page = ranked.ids[query.offset:query.offset + query.limit]
        return page, len(ranked.ids), ranked.unmatched


_BACKENDS: dict[tuple[Any, ...], HybridProductSearch] = {}
_BACKENDS_LOCK = threading.Lock()


def get_backend(mode: str = "hybrid", **kwargs: Any) -> HybridProductSearch:
    """A process-wide :class:`HybridProductSearch` per ``mode`` and arguments."""
    key = (mode, *sorted((k, str(v)) for k, v in kwargs.items()))
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            backend = _BACKENDS[key] = HybridProductSearch(mode=mode, **kwargs)
        return backend


def backend_from_settings(mode: str) -> HybridProductSearch:
    """The backend for ``mode`` configured from :func:`shop.settings.get_settings`."""

    s = get_settings()
    return get_backend(
        mode,
        index_dir=Path(s.search_index_dir),
        dtype=s.embedding_dtype,
        index_config=IndexConfig(kind=s.search_index_kind, exact_below=s.search_exact_below),
        sync_interval_s=s.search_index_sync_s,
        use_gpu=(not s.faiss_force_cpu) and gpu_available(),
        faiss_threads=s.faiss_threads,
    )
