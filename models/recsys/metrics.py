"""Ranking metrics as plain functions.

``ranked`` is a list of item ids, best first; ``relevant`` the set of ids that count
as hits (binary relevance). Each returns a float in [0, 1]; an empty ``relevant``
gives 0.0. :func:`auc` takes scores over a whole candidate set instead, and
:func:`catalog_coverage` looks at every user's list at once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

import numpy as np


def hit_rate_at_k(ranked: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """1.0 if any of the top ``k`` is relevant, else 0.0."""
    _check_k(k)
    return 1.0 if any(item in relevant for item in ranked[:k]) else 0.0


def recall_at_k(ranked: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """Share of the relevant items found in the top ``k``."""
    _check_k(k)
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def ndcg_at_k(ranked: Sequence[int], relevant: Collection[int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` (gain 1 per hit,
    discount ``1 / log2(rank + 1)``)."""
    _check_k(k)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(set(relevant)))))
    return dcg / ideal


def reciprocal_rank(ranked: Sequence[int], relevant: Collection[int]) -> float:
    """1 / rank of the first relevant item (0.0 if none); its mean over users is MRR."""
    for i, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (i + 1)
    return 0.0


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of one user's ``scores`` (``(n,)`` over the candidates)
    against ``positive`` (``(n,)`` bool): the chance that a random positive outscores a
    random negative, ties counting half. 0.5 when either class is empty."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if scores.shape != positive.shape:
        raise ValueError(f"scores {scores.shape} and positive {positive.shape} differ in shape")
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    ranks = (first + (counts + 1) / 2.0)[inverse]  # 1-based, ties averaged
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def catalog_coverage(lists: Iterable[Sequence[int]], catalog_size: int, k: int = 10) -> float:
    """Share of the catalog that appears in at least one user's top ``k``."""
    _check_k(k)
    if catalog_size < 1:
        raise ValueError("catalog_size must be 1 or more")
    seen: set[int] = set()
    for ranked in lists:
        seen.update(ranked[:k])
    return len(seen) / catalog_size


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be 1 or more, got {k}")
