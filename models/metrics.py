"""Ranking metrics as plain functions.

``ranked`` is a list of item ids, best first; ``relevant`` the set of ids that count
as hits (binary relevance). Each returns a float in [0, 1]; an empty ``relevant``
gives 0.0.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


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


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be 1 or more, got {k}")
