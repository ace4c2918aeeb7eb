"""The search backends by name: ``"sql"`` (:class:`SqlProductSearch`) and the semantic
backends over the retrieval index, ``"hybrid"`` (dense + keyword), ``"dense"`` and
``"keyword"`` (:mod:`shop.services.search.semantic`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shop.services.search.query import ProductSearch
from shop.services.search.semantic import backend_from_settings
from shop.services.search.sql import SqlProductSearch


def warm_up(session: Session, *, name: str) -> None:
    """Load what backend ``name`` needs before the first shopper waits for it (the
    semantic backends open their index and load the embedding model: seconds)."""
    backend = get_search_backend(name)
    warm = getattr(backend, "warm_up", None)
    if warm is not None:
        warm(session)


def get_search_backend(name: str = "sql") -> ProductSearch:
    """The search backend called ``name``. Known: ``"sql"``, and the semantic backends
    ``"hybrid"`` (dense + keyword), ``"dense"`` and ``"keyword"`` (``shop.services.search.semantic``,
    imported only when asked for, configured by ``shop.settings``; they need an index
    built by ``python -m retrieval build-index`` and fall back to SQL search without one)."""
    if name == "sql":
        return SqlProductSearch()
    if name in ("hybrid", "dense", "keyword"):
        return backend_from_settings(name)
    raise ValueError(f"unknown search backend {name!r}; known backends: 'sql', 'hybrid', 'dense', 'keyword'")
