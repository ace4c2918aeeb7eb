"""Metric functions against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.recsys.metrics import (
    auc,
    catalog_coverage,
    hit_rate_at_k,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)


def test_hit_rate() -> None:
    assert hit_rate_at_k([1, 2, 3], {3}, k=3) == 1.0
    assert hit_rate_at_k([1, 2, 3], {3}, k=2) == 0.0
    assert hit_rate_at_k([], {1}) == 0.0


def test_recall() -> None:
    assert recall_at_k([1, 2, 3, 4], {2, 4, 9}, k=4) == pytest.approx(2 / 3)
    assert recall_at_k([1], set()) == 0.0


def test_ndcg_hand_computed() -> None:
    # hits at ranks 1 and 3 of 2 relevant: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 1 / 2) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([5, 6, 7], {5, 7}, k=3) == pytest.approx(expected)
    assert ndcg_at_k([5, 7], {5, 7}, k=10) == pytest.approx(1.0)
    assert ndcg_at_k([1, 2], {3}) == 0.0


def test_reciprocal_rank() -> None:
    assert reciprocal_rank([4, 5, 6], {6}) == pytest.approx(1 / 3)
    assert reciprocal_rank([4], {6}) == 0.0


def test_bad_k() -> None:
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k([1], {1}, k=0)


def test_auc_hand_computed() -> None:
    # positives 0.9 and 0.4, negatives 0.8, 0.4, 0.1: 0.9 beats all three (3); 0.4 beats 0.1 (1),
    # ties 0.4 (0.5) and loses to 0.8: 4.5 of 6 pairs
    scores = np.array([0.9, 0.8, 0.4, 0.4, 0.1])
    positive = np.array([True, False, True, False, False])
    assert auc(scores, positive) == pytest.approx(4.5 / 6)
    assert auc(np.array([1.0, 0.0]), np.array([True, False])) == 1.0
    assert auc(np.array([0.0, 1.0]), np.array([True, False])) == 0.0
    assert auc(np.array([1.0, 2.0]), np.array([False, False])) == 0.5
    with pytest.raises(ValueError, match="shape"):
        auc(np.zeros(3), np.zeros(2, dtype=bool))


def test_catalog_coverage() -> None:
    assert catalog_coverage([[1, 2, 3], [3, 4]], catalog_size=10, k=2) == pytest.approx(4 / 10)
    assert catalog_coverage([], catalog_size=5) == 0.0
    with pytest.raises(ValueError, match="catalog_size"):
        catalog_coverage([[1]], catalog_size=0)
