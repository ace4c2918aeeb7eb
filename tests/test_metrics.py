"""Metric functions against hand-computed values."""

from __future__ import annotations

import math

import pytest

from models.metrics import hit_rate_at_k, ndcg_at_k, recall_at_k, reciprocal_rank


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
