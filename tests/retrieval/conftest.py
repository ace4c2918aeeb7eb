"""Fixtures for the retrieval tests: the real MiniLM model (loaded once), a small demo
shop (scale 0.02: ~100 products) with a built index, and copies of both for tests
that change the catalog."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from shop.db.engine import get_engine, session_scope
from tests.demo_shops import DemoShops

AS_OF = datetime(2026, 1, 1)
SCALE = 0.02


def clustered_vectors(n: int, dim: int = 384, *, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """``(n, dim)`` unit vectors around ``clusters`` random centres (like real embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.9, size=(n, dim))
    x = x.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embeddings import get_embedder

    return get_embedder("bf16")


@pytest.fixture(scope="session")
def built_shop(tmp_path_factory, embedder, demo_shop: DemoShops) -> Iterator[tuple[Path, Path]]:
    """(database file, index folder) of the small demo shop, built once."""
    from retrieval.catalog_index import CatalogIndex

    root = tmp_path_factory.mktemp("shop")
    url = demo_shop(seed=7, scale=SCALE, as_of=AS_OF, url=f"sqlite:///{root / 'shop.db'}")
    with session_scope(url) as session:
        CatalogIndex.build(session, directory=root / "index", embedder=embedder).close()
    get_engine(url).dispose()
    yield root / "shop.db", root / "index"


@pytest.fixture
def shop(built_shop, tmp_path) -> Iterator[tuple[str, Path]]:
    """A private copy of the small shop and its index: ``(database URL, index folder)``."""
    from shop.services.search.semantic import forget_open_indexes

    db, index = built_shop
    shutil.copy(db, tmp_path / "shop.db")
    shutil.copytree(index, tmp_path / "index")
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    yield url, tmp_path / "index"
    forget_open_indexes()
    get_engine(url).dispose()
