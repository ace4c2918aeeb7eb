"""FAISS vector index over product vectors: exact, IVFFlat or HNSW, inner product on
L2-normalised vectors (= cosine similarity), labelled with product ids.

Which kind (:func:`choose_kind`): ``"flat"`` (exact ``IndexIDMap2(IndexFlatIP)``) below
``IndexConfig.exact_below`` vectors (default 100,000: about 6 ms a query on one core at
100k), ``"ivf"`` (``IndexIVFFlat``, ``nlist ~ 4*sqrt(n)``, ``nprobe`` tuned at build time
for recall@10 >= ``target_recall`` against exact search) above it. ``"hnsw"``
(``IndexHNSWFlat``, M=32, ``efSearch`` tuned the same way) can be asked for.

Exact brute force (:func:`exact_search`) is the reference every approximate index is
measured and tested against.

Updates: flat and IVF add and remove ids natively (labels are product ids). HNSW has
no ``remove_ids``: its labels are *slots*, a slot->product table maps them back, a
removed or replaced vector's slot is a tombstone excluded by an ID selector, and
:attr:`VectorIndex.needs_rebuild` turns true once tombstones pass 20%.

Filtered search: ``allowed`` (product ids) becomes a FAISS ID selector. IVF and HNSW
may find fewer than ``k`` allowed neighbours in the lists/graph they visit; the search
then repeats exactly over the allowed ids (IVF with ``nprobe = nlist``; HNSW by brute
force over the allowed slots), so a filter never loses results.

On disk: ``vectors.faiss`` (+ ``slots.npy`` for HNSW). Loading memory-maps where the
type allows (``IO_FLAG_MMAP`` for IVF, ``IO_FLAG_MMAP_IFC`` for flat); mmapped indexes
are read-only, so the first update re-reads the file into memory (copy on write).

GPU: with ``use_gpu=True`` and ``faiss.get_num_gpus() > 0`` (a GPU build of faiss and a
visible device), unfiltered searches run on a GPU copy made with
``index_cpu_to_gpu``; the CPU index stays the master that is updated and saved, and
the GPU copy is refreshed after updates.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Kind = Literal["flat", "ivf", "hnsw"]
KINDS: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw")
INDEX_FILE = "vectors.faiss"
SLOTS_FILE = "slots.npy"
NPROBE_CANDIDATES = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512)
EF_CANDIDATES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
TOMBSTONE_REBUILD_FRACTION = 0.2


def _faiss() -> Any:
    import faiss

    return faiss


@dataclass(frozen=True)
class IndexConfig:
    """How to build a :class:`VectorIndex`.

    Attributes:
        kind: ``"auto"`` (flat below ``exact_below`` vectors, else IVF), ``"flat"``,
            ``"ivf"`` or ``"hnsw"``.
        exact_below: catalog size (vectors) from which ``"auto"`` stops using exact search.
        nlist: IVF lists; ``None``: ``round(4 * sqrt(n))`` clipped to ``[1, n // 39]``.
        nprobe: IVF lists visited a query; ``None``: tuned at build time.
        hnsw_m: HNSW neighbours per node (32).
        ef_construction: HNSW build breadth (80).
        ef_search: HNSW search breadth; ``None``: tuned at build time.
        target_recall: recall@10 against exact search that tuning must reach (0.97,
            a margin over the 0.95 goal).
        tune_queries: queries used for tuning (200), drawn from the data with noise.
        seed: random seed for training samples and tuning queries.
    """

    kind: str = "auto"
    exact_below: int = 100_000
    nlist: int | None = None
    nprobe: int | None = None
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int | None = None
    target_recall: float = 0.97
    tune_queries: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"index kind must be one of {KINDS}, not {self.kind!r}")
        if self.exact_below < 0:
            raise ValueError("exact_below must be 0 or more")
        if not 0.0 < self.target_recall <= 1.0:
            raise ValueError("target_recall must be in (0, 1]")
        if self.hnsw_m < 4:
            raise ValueError("hnsw_m must be 4 or more")


def choose_kind(n: int, config: IndexConfig) -> Kind:
    """The index kind for ``n`` vectors under ``config`` (``"auto"`` picks by size; IVF
    needs at least 1,000 vectors to train on, so tiny catalogs stay exact)."""
    if config.kind != "auto":
        return config.kind  # type: ignore[return-value]
    return "flat" if n < max(config.exact_below, 1_000) else "ivf"


def default_nlist(n: int) -> int:
    """``round(4 * sqrt(n))``, at most ``n // 39`` (FAISS wants 39 training points a list), at least 1."""
    return max(1, min(round(4 * math.sqrt(max(n, 1))), max(1, n // 39)))


def exact_search(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force inner-product top-``k``: the reference for every approximate index.

    ``vectors``: ``(n, d)`` float32; ``ids``: ``(n,)`` int64; ``queries``: ``(q, d)``.
    Returns ``(scores (q, k) float32, ids (q, k) int64)``, best first, padded with
    ``-inf``/``-1`` when ``k > n``.
    """
    q = np.atleast_2d(queries).astype(np.float32, copy=False)
    n = vectors.shape[0]
    scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
    labels = np.full((q.shape[0], k), -1, dtype=np.int64)
    if n == 0 or k <= 0:
        return scores, labels
    kk = min(k, n)
    for start in range(0, q.shape[0], 256):
        sims = q[start:start + 256] @ vectors.T
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        top_scores = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        scores[start:start + 256, :kk] = np.take_along_axis(sims, top, axis=1)
        labels[start:start + 256, :kk] = ids[top]
    return scores, labels


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean over queries of ``|found[:k] & truth[:k]| / |truth[:k]|`` (``-1`` padding ignored)."""
    hits, total = 0, 0
    for f, t in zip(found[:, :k], truth[:, :k], strict=True):
        t_set = {int(x) for x in t if x >= 0}
        hits += len(t_set & {int(x) for x in f if x >= 0})
        total += len(t_set)
    return hits / total if total else 1.0


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}), got {tuple(np.shape(vectors))}")
    return x


def _as_ids(ids: Any) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if arr.size and arr.min() < 0:
        raise ValueError("ids must be non-negative")
    return arr


@dataclass
class VectorIndex:
    """A FAISS index of product vectors; build with :func:`build_vector_index` or
    :meth:`load`. Thread-safe: searches and updates take one lock.

    ``params`` holds the tuned parameters (``nlist``, ``nprobe``, ``hnsw_m``,
    ``ef_search``) and is saved with the index.
    """

    kind: Kind
    dim: int
    index: Any
    params: dict[str, Any] = field(default_factory=dict)
    use_gpu: bool = False
    path: Path | None = None
    mmapped: bool = False
    slot_pids: np.ndarray | None = None  # hnsw only: slot -> product id (-1 = tombstone)
    _pid_slot: dict[int, int] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _gpu_index: Any = field(default=None, repr=False)
    _gpu_stale: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        if self.kind == "hnsw":
            if self.slot_pids is None:
                self.slot_pids = np.zeros(0, dtype=np.int64)
            self._pid_slot = {int(p): s for s, p in enumerate(self.slot_pids) if p >= 0}

    # ------------------------------------------------------------------ facts

    @property
    def ntotal(self) -> int:
        """Live vectors (tombstones excluded)."""
        if self.kind == "hnsw":
            return len(self._pid_slot)
        return int(self.index.ntotal)

    @property
    def tombstones(self) -> int:
        """Dead HNSW slots (always 0 for flat and IVF)."""
        return int(self.index.ntotal) - len(self._pid_slot) if self.kind == "hnsw" else 0

    @property
    def needs_rebuild(self) -> bool:
        """True when tombstones exceed 20% of an HNSW index: rebuild to reclaim them."""
        total = int(self.index.ntotal)
        return self.kind == "hnsw" and total > 0 and self.tombstones / total > TOMBSTONE_REBUILD_FRACTION

    def ids(self) -> np.ndarray:
        """Product ids in the index, sorted, int64."""
        with self._lock:
            if self.kind == "hnsw":
                return np.array(sorted(self._pid_slot), dtype=np.int64)
            faiss = _faiss()
            return np.sort(faiss.vector_to_array(self.index.id_map).astype(np.int64)) if self.kind == "flat" \
                else np.sort(self._ivf_ids())

    def _ivf_ids(self) -> np.ndarray:
        faiss = _faiss()
        invlists = self.index.invlists
        parts = []
        for list_no in range(self.index.nlist):
            size = invlists.list_size(list_no)
            if size:
                parts.append(faiss.rev_swig_ptr(invlists.get_ids(list_no), size).copy())
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def vectors_of(self, ids: Any) -> dict[int, np.ndarray]:
        """product id -> its stored vector (float32 ``(dim,)``), for the ids present."""
        faiss = _faiss()
        out: dict[int, np.ndarray] = {}
        with self._lock:
            present = set(self.ids().tolist())
            wanted = [int(p) for p in _as_ids(ids) if int(p) in present]
            if self.kind == "hnsw":
                storage = faiss.downcast_index(self.index.storage)
                return {p: storage.reconstruct(int(self._pid_slot[p])) for p in wanted}
            if self.kind == "ivf" and self.index.direct_map.type != faiss.DirectMap.Hashtable:
                if self.mmapped:
                    raise ValueError("vectors of a memory-mapped IVF index can't be read back; load it without mmap")
                self.index.set_direct_map_type(faiss.DirectMap.Hashtable)
            for p in wanted:
                out[p] = self.index.reconstruct(p)
        return out

    # ------------------------------------------------------------------ search

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` product ids by inner product for each query.

        ``queries``: ``(q, dim)`` or ``(dim,)`` float32, normalised. ``allowed``: product
        ids the results must come from (``None``: all). Returns ``(scores (q, k), ids
        (q, k))``, best first, padded with ``-inf``/``-1``.
        """
        if k < 1:
            raise ValueError("k must be 1 or more")
        q = _as_matrix(queries, self.dim)
        with self._lock:
            if allowed is None:
                return self._search_all(q, k)
            allowed_ids = _as_ids(allowed)
            if allowed_ids.size == 0:
                return (np.full((q.shape[0], k), -np.inf, dtype=np.float32),
                        np.full((q.shape[0], k), -1, dtype=np.int64))
            return self._search_allowed(q, k, allowed_ids)

    def _search_all(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(int(self.params.get("ef_search", 64)), k))
            if self.tombstones and self.slot_pids is not None:
                dead = np.flatnonzero(self.slot_pids < 0).astype(np.int64)
                params.sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(dead))
            scores, slots = self.index.search(q, k, params=params)
            return self._slots_to_pids(scores, slots)
        gpu = self._gpu()
        if gpu is not None:
            return gpu.search(q, k)
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=int(self.params["nprobe"]))
            return self.index.search(q, k, params=params)
        return self.index.search(q, k)

    def _search_allowed(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        want = min(k, allowed.size)
        if self.kind == "flat":
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            return self.index.search(q, k, params=params)
        if self.kind == "ivf":
            sel = faiss.IDSelectorBatch(allowed)
            params = faiss.SearchParametersIVF(nprobe=int(self.params["nprobe"]), sel=sel)
            scores, labels = self.index.search(q, k, params=params)
            if (labels[:, :want] >= 0).all():
                return scores, labels
            params = faiss.SearchParametersIVF(nprobe=int(self.index.nlist), sel=sel)
            return self.index.search(q, k, params=params)
        slots = np.array([self._pid_slot[int(p)] for p in allowed if int(p) in self._pid_slot], dtype=np.int64)
        if slots.size == 0:
            return (np.full((q.shape[0], k), -np.inf, dtype=np.float32),
                    np.full((q.shape[0], k), -1, dtype=np.int64))
        params = faiss.SearchParametersHNSW(efSearch=max(int(self.params.get("ef_search", 64)), k),
                                            sel=faiss.IDSelectorBatch(slots))
        scores, labels = self.index.search(q, k, params=params)
        if not (labels[:, :min(k, slots.size)] >= 0).all():
            storage = faiss.downcast_index(self.index.storage)
            vectors = np.vstack([storage.reconstruct(int(s)) for s in slots])
            scores, labels = exact_search(vectors, slots, q, k)
        return self._slots_to_pids(scores, labels)

    def _slot_map(self) -> np.ndarray:
        """``slot_pids`` of an HNSW index (set by ``__post_init__``; flat and IVF have none)."""
        if self.slot_pids is None:
            raise RuntimeError(f"a {self.kind} index has no slot -> product id map")
        return self.slot_pids

    def _slots_to_pids(self, scores: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pids = np.where(slots >= 0, self._slot_map()[np.clip(slots, 0, None)], -1)
        scores = np.where(pids >= 0, scores, -np.inf).astype(np.float32)
        return scores, pids.astype(np.int64)

    def _gpu(self) -> Any:
        if not self.use_gpu:
            return None
        if self._gpu_index is None or self._gpu_stale:
            faiss = _faiss()
            if not hasattr(self, "_gpu_resources"):
                self._gpu_resources = faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_resources, 0, self.index)
            if self.kind == "ivf":
                self._gpu_index.nprobe = int(self.params["nprobe"])
            self._gpu_stale = False
        return self._gpu_index

    # ------------------------------------------------------------------ updates

    def _writable(self) -> None:
        """Re-read a memory-mapped index into memory before its first update."""
        if self.mmapped and self.path is not None:
            self.index = _faiss().read_index(str(self.path / INDEX_FILE))
            self.mmapped = False

    def upsert(self, ids: Any, vectors: np.ndarray) -> None:
        """Add vectors for ``ids``, replacing any vectors those ids already have."""
        pid = _as_ids(ids)
        x = _as_matrix(vectors, self.dim)
        if pid.size != x.shape[0]:
            raise ValueError(f"{pid.size} ids for {x.shape[0]} vectors")
        if np.unique(pid).size != pid.size:
            raise ValueError("ids must be unique")
        if pid.size == 0:
            return
        with self._lock:
            self._writable()
            self._remove_locked(pid)
            if self.kind == "hnsw":
                slot_pids = self._slot_map()
                start = int(self.index.ntotal)
                self.index.add(x)
                self.slot_pids = np.concatenate([slot_pids, pid])
                for offset, p in enumerate(pid):
                    self._pid_slot[int(p)] = start + offset
            else:
                self.index.add_with_ids(x, pid)
            self._gpu_stale = True

    def remove(self, ids: Any) -> int:
        """Remove ``ids`` (unknown ids are ignored); returns how many were removed."""
        pid = _as_ids(ids)
        if pid.size == 0:
            return 0
        with self._lock:
            self._writable()
            removed = self._remove_locked(pid)
            self._gpu_stale = True
            return removed

    def _remove_locked(self, pid: np.ndarray) -> int:
        if self.kind == "hnsw":
            slot_pids = self._slot_map()
            removed = 0
            for p in pid:
                slot = self._pid_slot.pop(int(p), None)
                if slot is not None:
                    slot_pids[slot] = -1
                    removed += 1
            return removed
        return int(self.index.remove_ids(_faiss().IDSelectorBatch(pid)))

    # ------------------------------------------------------------------ disk

    def save(self, directory: Path) -> None:
        """Write ``vectors.faiss`` (and ``slots.npy`` for HNSW) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            _faiss().write_index(self.index, str(directory / INDEX_FILE))
            if self.kind == "hnsw":
                np.save(directory / SLOTS_FILE, self._slot_map())

    @classmethod
    def load(
        cls, directory: Path, *, kind: Kind, dim: int, params: dict[str, Any], mmap: bool = True,
        use_gpu: bool = False,
    ) -> VectorIndex:
        """Read an index saved by :meth:`save`; memory-mapped when ``mmap`` and the kind allows."""
        faiss = _faiss()
        path = directory / INDEX_FILE
        if not path.exists():
            raise FileNotFoundError(f"no vector index at {path}")
        flags = 0
        if mmap and kind == "ivf":
            flags = faiss.IO_FLAG_MMAP
        elif mmap and kind == "flat":
            flags = faiss.IO_FLAG_MMAP_IFC
        index = faiss.read_index(str(path), flags)
        if index.d != dim:
            raise ValueError(f"{path} holds {index.d}-d vectors, expected {dim}")
        slot_pids = np.load(directory / SLOTS_FILE) if kind == "hnsw" else None
        return cls(kind=kind, dim=dim, index=index, params=dict(params), use_gpu=use_gpu and gpu_available(),
                   path=directory, mmapped=bool(flags), slot_pids=slot_pids)


def gpu_available() -> bool:
    """True only when this faiss build sees a GPU (``faiss.get_num_gpus() > 0``)."""
    faiss = _faiss()
    get = getattr(faiss, "get_num_gpus", None)
    return bool(get is not None and get() > 0)


def _tuning_queries(vectors: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Data vectors plus noise of the same norm, renormalised (cosine ~0.7 to the vector
    they came from): queries near the data but not on it, as real queries are."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(vectors.shape[0], size=min(count, vectors.shape[0]), replace=False)
    q = vectors[picks] + rng.normal(0, 1.0 / math.sqrt(vectors.shape[1]), (picks.size, vectors.shape[1]))
    q = q.astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q


def build_vector_index(
    vectors: np.ndarray, ids: Any, config: IndexConfig | None = None, *, use_gpu: bool = False
) -> VectorIndex:
    """Build the index :func:`choose_kind` picks for these vectors.

    ``vectors``: ``(n, d)`` float32, L2-normalised; ``ids``: ``(n,)`` unique non-negative
    product ids. IVF ``nprobe`` / HNSW ``efSearch`` are tuned (unless given) to the
    smallest value reaching ``config.target_recall`` recall@10 against exact search on
    ``config.tune_queries`` queries.
    """
    faiss = _faiss()
    config = config or IndexConfig()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be 2-d (n, d), got shape {x.shape}")
    dim = x.shape[1]
    pid = _as_ids(ids)
    if pid.size != x.shape[0]:
        raise ValueError(f"{pid.size} ids for {x.shape[0]} vectors")
    if np.unique(pid).size != pid.size:
        raise ValueError("ids must be unique")
    n = x.shape[0]
    kind = choose_kind(n, config)
    params: dict[str, Any] = {}
    if kind == "flat":
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        index.add_with_ids(x, pid)
        return VectorIndex(kind="flat", dim=dim, index=index, params=params, use_gpu=use_gpu and gpu_available())
    if n < 2:
        raise ValueError(f"an {kind} index needs at least 2 vectors, got {n}")
    if kind == "ivf":
        nlist = config.nlist or default_nlist(n)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(config.seed)
        train_n = min(n, max(nlist * 64, 10_000))
        train = x[rng.choice(n, size=train_n, replace=False)] if train_n < n else x
        index.train(train)
        index.add_with_ids(x, pid)
        params = {"nlist": int(nlist)}
        built = VectorIndex(kind="ivf", dim=dim, index=index, params=params, use_gpu=use_gpu and gpu_available())
        params["nprobe"] = int(config.nprobe or _tune(built, x, pid, config, "nprobe", NPROBE_CANDIDATES, nlist))
        return built
    index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.ef_construction
    index.add(x)
    params = {"hnsw_m": config.hnsw_m, "ef_construction": config.ef_construction}
    built = VectorIndex(kind="hnsw", dim=dim, index=index, params=params, slot_pids=pid.copy())
    params["ef_search"] = int(config.ef_search or _tune(built, x, pid, config, "ef_search", EF_CANDIDATES, None))
    return built


def _tune(index: VectorIndex, x: np.ndarray, pid: np.ndarray, config: IndexConfig, name: str,
          candidates: tuple[int, ...], upper: int | None) -> int:
    queries = _tuning_queries(x, config.tune_queries, config.seed + 1)
    _, truth = exact_search(x, pid, queries, 10)
    best = candidates[-1] if upper is None else upper
    for value in candidates:
        if upper is not None and value >= upper:
            return upper
        index.params[name] = value
        _, found = index.search(queries, 10)
        if recall_at_k(found, truth, 10) >= config.target_recall:
            return value
    return best
