"""The search index of one catalog: vectors (FAISS), keywords (FTS5), and the JSON
sidecar saying which model and which catalog version built them.

Directory layout (``index_dir``, default ``var/index``)::

    index.json          sidecar: format, model id, dim, dtype, catalog version, kind, params...
    vectors.faiss       the FAISS index (master copy, CPU)
    slots.npy           HNSW only: slot -> product id
    keyword.sqlite      FTS5 keyword index
    catalog_state.npz   product ids and updated_at stamps the vectors were built from

Loading refuses an index built by another embedding model (:class:`IndexMismatchError`)
and, when syncing, one built from another catalog (:class:`CatalogMismatchError`: more
than ``max_change_fraction`` of the products differ). Smaller differences are live
catalog edits: :meth:`CatalogIndex.sync` applies them incrementally (embeds only the
added or changed products, removes the deleted ones), never a full rebuild.

Replicas: every action-server process holds its own copy in memory and syncs it from
the shared database (the catalog is the version they agree on). A rebuild
(``python -m apps.cli index build``) writes a new ``build_id`` in the sidecar; a process
whose index directory was rebuilt under it loads the new build at its next sync
(:meth:`CatalogIndex.reload_if_replaced`), so replicas sharing the directory move to it
together.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from retrieval.documents import (
    CatalogState,
    ProductText,
    catalog_signature,
    catalog_state,
    iter_product_texts,
    product_texts,
)
from retrieval.embeddings import Embedder
from retrieval.index import IndexConfig, VectorIndex, build_vector_index
from retrieval.keyword import KEYWORD_FILE, KeywordIndex

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST_FILE = "index.json"
STATE_FILE = "catalog_state.npz"
DEFAULT_MAX_CHANGE_FRACTION = 0.5


class IndexUnavailableError(RuntimeError):
    """The search index can't be used; the message says why and what to run."""


class IndexNotFoundError(IndexUnavailableError):
    """No index has been built in the directory."""


class IndexMismatchError(IndexUnavailableError):
    """The index was built by a different embedding model (or format)."""


class CatalogMismatchError(IndexUnavailableError):
    """The index was built from a different catalog than the database's."""


@dataclass(frozen=True)
class SyncReport:
    """What :meth:`CatalogIndex.sync` changed: product ids added, updated and removed."""

    added: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def _rebuild_hint(directory: Path) -> str:
    return f"rebuild it with `python -m apps.cli index build --index-dir {directory}`"


class CatalogIndex:
    """Vectors + keywords + state for one catalog. Build with :meth:`build`, open with
    :meth:`load`. All updates go through one lock; searches on the parts are
    thread-safe on their own."""

    def __init__(
        self, *, directory: Path, vectors: VectorIndex, keywords: KeywordIndex, embedder: Embedder,
        manifest: dict[str, Any], state: dict[int, int],
    ) -> None:
        self.directory = directory
        self.vectors = vectors
        self.keywords = keywords
        self.embedder = embedder
        self.manifest = manifest
        self.state = state
        self.signature: tuple[int, int, int] | None = None
        self.load_options: dict[str, bool] = {"mmap": True, "use_gpu": False}
        self.reloads = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ build

    @classmethod
    def build(
        cls, session: Session, *, directory: Path, embedder: Embedder, config: IndexConfig | None = None,
        batch_size: int = 32, progress: bool = False, use_gpu: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> CatalogIndex:
        """Embed every active product and write a fresh index to ``directory``.

        The index is built in a sibling temporary folder and swapped in at the end, so a
        running server keeps reading the old one until then. ``progress`` shows a tqdm
        bar (products embedded); ``on_batch(n)`` is called after each batch of ``n``.
        """
        started = time.perf_counter()
        config = config or IndexConfig()
        signature = catalog_signature(session)
        state = catalog_state(session)
        total = int(state.ids.size)
        directory = Path(directory)
        tmp = directory.with_name(f"{directory.name}.building")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        keywords = KeywordIndex(tmp / KEYWORD_FILE)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="embed products", unit="product")
        ids: list[np.ndarray] = []
        chunks: list[np.ndarray] = []
        stamps: dict[int, int] = {}
        for texts in iter_product_texts(session, batch=max(batch_size * 16, 256)):
            chunks.append(embedder.embed([t.document for t in texts], batch_size=batch_size))
            ids.append(np.array([t.product_id for t in texts], dtype=np.int64))
            keywords.upsert(t.keyword for t in texts)
            stamps.update((t.product_id, t.stamp) for t in texts)
            if bar is not None:
                bar.update(len(texts))
            if on_batch is not None:
                on_batch(len(texts))
        if bar is not None:
            bar.close()
        all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        all_vectors = np.vstack(chunks) if chunks else np.zeros((0, embedder.dim), dtype=np.float32)
        vectors = build_vector_index(all_vectors, all_ids, config, use_gpu=use_gpu)
        built_state = CatalogState.from_dict(stamps)
        manifest = _manifest(embedder, vectors, built_state, seconds=time.perf_counter() - started)
        vectors.save(tmp)
        keywords.close()
        _write_state(tmp, built_state)
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap(tmp, directory)
        index = cls.load(directory, embedder=embedder, mmap=False, use_gpu=use_gpu)
        index.signature = signature
        log.info("built %s index of %d products in %.1f s at %s", vectors.kind, total,
                 manifest["build_seconds"], directory)
        return index

    # ------------------------------------------------------------------ load / save

    @classmethod
    def load(
        cls, directory: Path, *, embedder: Embedder, mmap: bool = True, use_gpu: bool = False,
    ) -> CatalogIndex:
        """Open the index in ``directory``.

        Raises:
            IndexNotFoundError: nothing built there.
            IndexMismatchError: built by another embedding model, dimension or format.
        """
        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        if not manifest_path.exists():
            raise IndexNotFoundError(f"no search index at {directory}: build one with "
                                     f"`python -m apps.cli index build --index-dir {directory}`")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        check_manifest(manifest, embedder=embedder, directory=directory)
        vectors = VectorIndex.load(directory, kind=manifest["kind"], dim=int(manifest["dim"]),
                                   params=manifest.get("params", {}), mmap=mmap, use_gpu=use_gpu)
        keywords = KeywordIndex(directory / KEYWORD_FILE)
        state = _read_state(directory).as_dict()
        index = cls(directory=directory, vectors=vectors, keywords=keywords, embedder=embedder,
                    manifest=manifest, state=state)
        index.load_options = {"mmap": mmap, "use_gpu": use_gpu}
        return index

    def replaced_on_disk(self) -> bool:
        """Whether :attr:`directory` now holds another build than the one loaded (its
        sidecar's ``build_id``, or ``built_at`` for builds older than ``build_id``)."""
        try:
            on_disk = json.loads((self.directory / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False  # being swapped or gone: keep what is loaded
        return isinstance(on_disk, dict) and _build_of(on_disk) != _build_of(self.manifest)

    def reload_if_replaced(self) -> bool:
        """Load the directory's new build in place of the loaded one when it was rebuilt
        (see :meth:`replaced_on_disk`); searches under way finish on the old parts. The
        next :meth:`sync_if_changed` then brings it up to date. Whether it reloaded; a
        new build that cannot be loaded is logged and the loaded one kept."""
        if not self.replaced_on_disk():
            return False
        try:
            fresh = CatalogIndex.load(self.directory, embedder=self.embedder, **self.load_options)
        except (IndexUnavailableError, OSError, ValueError, KeyError) as exc:
            log.error("search index at %s was rebuilt but can't be loaded (%s); the loaded build stays",
                      self.directory, exc)
            return False
        with self._lock:  # the old parts close when the last search holding them lets go
            self.vectors, self.keywords = fresh.vectors, fresh.keywords
            self.manifest, self.state = fresh.manifest, fresh.state
            self.signature = None
            self.reloads += 1
        log.info("search index at %s reloaded: build %s (catalog version %s)", self.directory,
                 _build_of(self.manifest), self.manifest.get("catalog_version"))
        return True

    def save(self) -> None:
        """Write the vectors, state and sidecar back to :attr:`directory` (the keyword
        file is always current). Call after syncing many changes, so the next start
        has less to catch up."""
        with self._lock:
            current = CatalogState.from_dict(self.state)
            self.vectors.save(self.directory)
            _write_state(self.directory, current)
            self.manifest.update(catalog_version=current.version, products=int(current.ids.size),
                                 saved_at=_now())
            (self.directory / MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")

    def close(self) -> None:
        self.keywords.close()

    # ------------------------------------------------------------------ live updates

    def upsert_products(self, session: Session, product_ids: Sequence[int]) -> SyncReport:
        """Re-index these products now: embed and (re)insert the active ones, remove the
        inactive or missing ones. Call after adding or editing products."""
        wanted = sorted({int(i) for i in product_ids})
        texts = product_texts(session, wanted)
        present = {t.product_id for t in texts}
        with self._lock:
            added = [t.product_id for t in texts if t.product_id not in self.state]
            updated = [t.product_id for t in texts if t.product_id in self.state]
            removed = [i for i in wanted if i not in present and i in self.state]
            self._apply(texts, removed)
        return SyncReport(added=added, updated=updated, removed=removed)

    def remove_products(self, product_ids: Sequence[int]) -> SyncReport:
        """Drop these products from the index now (deleted or deactivated)."""
        ids = sorted({int(i) for i in product_ids})
        with self._lock:
            removed = [i for i in ids if i in self.state]
            self._apply([], ids)
        return SyncReport(removed=removed)

    def _apply(self, texts: list[ProductText], removed: Sequence[int]) -> None:
        if removed:
            self.vectors.remove(removed)
            self.keywords.remove(removed)
            for i in removed:
                self.state.pop(int(i), None)
        if texts:
            vectors = self.embedder.embed([t.document for t in texts])
            self.vectors.upsert([t.product_id for t in texts], vectors)
            self.keywords.upsert(t.keyword for t in texts)
            self.state.update((t.product_id, t.stamp) for t in texts)

    def diff(self, session: Session) -> SyncReport:
        """Products added, changed (new ``updated_at``) and removed in the database since
        the index last saw them."""
        live = catalog_state(session).as_dict()
        with self._lock:
            known = dict(self.state)
        added = sorted(i for i in live if i not in known)
        updated = sorted(i for i, s in live.items() if i in known and known[i] != s)
        removed = sorted(i for i in known if i not in live)
        return SyncReport(added=added, updated=updated, removed=removed)

    def sync(self, session: Session, *, max_change_fraction: float = DEFAULT_MAX_CHANGE_FRACTION) -> SyncReport:
        """Bring the index up to date with the database incrementally.

        Raises:
            CatalogMismatchError: more than ``max_change_fraction`` of the indexed products
                differ: this index belongs to another catalog.
        """
        signature = catalog_signature(session)
        report = self.diff(session)
        changes = len(report.added) + len(report.updated) + len(report.removed)
        base = max(len(self.state), 1)
        if self.state and changes / base > max_change_fraction:
            raise CatalogMismatchError(
                f"the search index at {self.directory} was built from another catalog "
                f"(catalog version {self.manifest.get('catalog_version')}; {changes} of {base} products differ "
                f"from the database); {_rebuild_hint(self.directory)}"
            )
        if report.changed:
            texts = product_texts(session, report.added + report.updated)
            with self._lock:
                self._apply(texts, report.removed)
            log.info("search index synced: %d added, %d updated, %d removed",
                     len(report.added), len(report.updated), len(report.removed))
        self.signature = signature
        return report

    def sync_if_changed(self, session: Session, **kwargs: Any) -> SyncReport:
        """:meth:`sync`, but only when the cheap catalog signature changed since the last
        sync; first, a rebuilt directory is reloaded (:meth:`reload_if_replaced`)."""
        self.reload_if_replaced()
        if self.signature is not None and catalog_signature(session) == self.signature:
            return SyncReport()
        return self.sync(session, **kwargs)

    @property
    def catalog_version(self) -> str:
        """Version of the catalog as the index has it now (after live updates)."""
        with self._lock:
            return CatalogState.from_dict(self.state).version


def check_manifest(manifest: dict[str, Any], *, embedder: Embedder, directory: Path) -> None:
    """Refuse a sidecar written by another format, model or dimension."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the search index at {directory} has format {manifest.get('format')!r}, this code reads "
            f"format {FORMAT_VERSION}; {_rebuild_hint(directory)}"
        )
    if manifest.get("model") != embedder.model_id or int(manifest.get("dim", -1)) != embedder.dim:
        raise IndexMismatchError(
            f"the search index at {directory} was built with embedding model {manifest.get('model')!r} "
            f"({manifest.get('dim')}-d), but this process embeds queries with {embedder.model_id!r} "
            f"({embedder.dim}-d); vectors from different models can't be compared: {_rebuild_hint(directory)}"
        )


def _manifest(embedder: Embedder, vectors: VectorIndex, state: CatalogState, *, seconds: float) -> dict[str, Any]:
    import faiss

    return {
        "format": FORMAT_VERSION,
        "model": embedder.model_id,
        "dim": embedder.dim,
        "embedding_dtype": getattr(embedder, "dtype", None),
        "catalog_version": state.version,
        "build_id": uuid.uuid4().hex,
        "products": int(state.ids.size),
        "kind": vectors.kind,
        "params": vectors.params,
        "faiss": faiss.__version__,
        "built_at": _now(),
        "build_seconds": round(seconds, 2),
    }


def _build_of(manifest: dict[str, Any]) -> str | None:
    """Which build a sidecar describes (``build_id``; ``built_at`` before there was one)."""
    value = manifest.get("build_id") or manifest.get("built_at")
    return str(value) if value is not None else None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_state(directory: Path, state: CatalogState) -> None:
    with open(directory / STATE_FILE, "wb") as fh:
        np.savez(fh, ids=state.ids, stamps=state.stamps)


def _read_state(directory: Path) -> CatalogState:
    with np.load(directory / STATE_FILE) as data:
        return CatalogState(ids=data["ids"].astype(np.int64), stamps=data["stamps"].astype(np.int64))


def _swap(tmp: Path, directory: Path) -> None:
    """Replace ``directory`` by ``tmp`` (old one renamed away first, then deleted)."""
    old = directory.with_name(f"{directory.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
