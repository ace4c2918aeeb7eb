"""Every approximate index against exact brute-force search on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.index import (
    IndexConfig,
    VectorIndex,
    build_vector_index,
    choose_kind,
    default_nlist,
    exact_search,
    recall_at_k,
)
from tests.retrieval.conftest import clustered_vectors

N = 4_000


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    both = clustered_vectors(N + 100, seed=1)  # queries from the same distribution as the data
    x, queries = both[:N], both[N:]
    ids = np.arange(N, dtype=np.int64) * 7 + 3  # not 0..n-1: labels must be mapped back
    return x, ids, queries


@pytest.fixture(scope="module", params=["flat", "ivf", "hnsw"])
def built(request, data) -> VectorIndex:
    x, ids, _ = data
    return build_vector_index(x, ids, IndexConfig(kind=request.param, tune_queries=100))


def test_exact_search_is_brute_force(data) -> None:
    x, ids, q = data
    scores, labels = exact_search(x, ids, q, 5)
    sims = q @ x.T
    for row in range(len(q)):
        expected = ids[np.argsort(-sims[row], kind="stable")[:5]]
        assert list(labels[row]) == list(expected)
        assert np.allclose(scores[row], np.sort(sims[row])[::-1][:5], atol=1e-5)
    _, padded = exact_search(x[:3], ids[:3], q[:1], 5)
    assert list(padded[0][3:]) == [-1, -1]


def test_index_matches_exact_search(built, data) -> None:
    x, ids, q = data
    _, truth = exact_search(x, ids, q, 10)
    _, found = built.search(q, 10)
    recall = recall_at_k(found, truth, 10)
    if built.kind == "flat":
        assert recall == 1.0
    else:
        assert recall >= 0.95, f"{built.kind} recall@10 {recall:.3f} with {built.params}"
    assert set(found.ravel()) <= set(ids.tolist())


@pytest.mark.parametrize("subset", [5, 60, 1500])
def test_filtered_search_stays_inside_and_finds_the_exact_neighbours(built, data, subset) -> None:
    x, ids, q = data
    rng = np.random.default_rng(subset)
    pick = np.sort(rng.choice(N, size=subset, replace=False))
    allowed = ids[pick]
    _, truth = exact_search(x[pick], allowed, q[:20], 10)
    _, found = built.search(q[:20], 10, allowed=allowed)
    assert set(found[found >= 0].tolist()) <= set(allowed.tolist())
    want = min(10, subset)
    assert (found[:, :want] >= 0).all(), "a filter must never lose results"
    assert recall_at_k(found, truth, 10) >= (1.0 if built.kind == "flat" or subset <= 60 else 0.9)


def test_empty_allowed_set_returns_nothing(built, data) -> None:
    _, _, q = data
    scores, labels = built.search(q[:2], 4, allowed=np.array([], dtype=np.int64))
    assert (labels == -1).all() and np.isneginf(scores).all()


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_upsert_and_remove_are_immediate(kind, data) -> None:
    x, ids, q = data
    index = build_vector_index(x[:2000], ids[:2000], IndexConfig(kind=kind, tune_queries=50))
    target = q[0]
    index.upsert([999_999], target[None, :])
    _, found = index.search(target, 1)
    assert found[0, 0] == 999_999
    # replace an existing product's vector: it must move to where the new vector is
    moved = int(ids[5])
    index.upsert([moved], q[1][None, :])
    _, found = index.search(q[1], 1)
    assert found[0, 0] == moved
    _, near_old = index.search(x[5], 1)
    assert near_old[0, 0] != moved  # the old vector is gone
    assert index.remove([999_999, moved, 123_456_789]) == 2
    _, found = index.search(np.vstack([target, q[1]]), 5)
    assert 999_999 not in found and moved not in found
    assert index.ntotal == 1999
    assert set(index.ids().tolist()) == set(ids[:2000].tolist()) - {moved}
    if kind == "hnsw":
        assert index.tombstones == 3 and not index.needs_rebuild  # one replaced, two removed
        index.remove(ids[:600])
        assert index.needs_rebuild


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
@pytest.mark.parametrize("mmap", [True, False])
def test_saved_index_reloads_to_identical_results(kind, mmap, data, tmp_path) -> None:
    x, ids, q = data
    index = build_vector_index(x, ids, IndexConfig(kind=kind, tune_queries=50))
    index.remove(ids[:10])
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, kind=index.kind, dim=384, params=index.params, mmap=mmap)
    assert loaded.mmapped == (mmap and kind != "hnsw")
    for allowed in (None, ids[100:400]):
        s1, l1 = index.search(q, 10, allowed=allowed)
        s2, l2 = loaded.search(q, 10, allowed=allowed)
        assert np.array_equal(l1, l2)
        assert np.allclose(s1, s2)
    # a memory-mapped index is read-only: the first update copies it into memory
    loaded.upsert([5_000_000], q[3][None, :])
    assert not loaded.mmapped
    assert loaded.search(q[3], 1)[1][0, 0] == 5_000_000


def test_kind_follows_catalog_size_and_settings() -> None:
    config = IndexConfig(exact_below=50_000)
    assert choose_kind(49_999, config) == "flat"
    assert choose_kind(50_000, config) == "ivf"
    assert choose_kind(500, IndexConfig(exact_below=0)) == "flat"  # too small to train IVF
    assert choose_kind(10, IndexConfig(kind="hnsw")) == "hnsw"
    assert default_nlist(1_000_000) == 4000
    assert default_nlist(100) == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "annoy"}, "index kind"), ({"exact_below": -1}, "exact_below"),
    ({"target_recall": 1.5}, "target_recall"), ({"hnsw_m": 2}, "hnsw_m"),
])
def test_bad_config_is_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        IndexConfig(**kwargs)


def test_bad_inputs_are_refused(data) -> None:
    x, ids, q = data
    with pytest.raises(ValueError, match="ids for"):
        build_vector_index(x[:10], ids[:9])
    with pytest.raises(ValueError, match="unique"):
        build_vector_index(x[:2], np.array([1, 1]))
    index = build_vector_index(x[:10], ids[:10])
    with pytest.raises(ValueError, match=r"shape \(n, 384\)"):
        index.search(np.zeros((1, 12), dtype=np.float32), 3)
    with pytest.raises(ValueError, match="k must be"):
        index.search(q[0], 0)
    with pytest.raises(ValueError, match="non-negative"):
        index.upsert([-4], q[:1])


def test_gpu_is_used_only_when_faiss_sees_one(data, monkeypatch) -> None:
    import faiss

    from retrieval import index as index_module

    x, ids, q = data
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)
    assert not index_module.gpu_available()
    cpu_only = build_vector_index(x[:100], ids[:100], use_gpu=True)
    assert cpu_only.use_gpu is False and cpu_only.search(q[0], 3)[1].shape == (1, 3)


def test_stored_vectors_read_back_by_product_id(built, data) -> None:
    x, ids, _ = data
    picks = [int(ids[0]), int(ids[123]), -5 + int(ids.max()) * 10]  # the last is not in the index
    found = built.vectors_of(picks)
    assert sorted(found) == sorted(picks[:2])
    np.testing.assert_allclose(found[int(ids[123])], x[123], rtol=1e-6)
