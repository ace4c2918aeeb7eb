"""Shopper sentiment for the handoff trigger: VADER's compound score per message and
the "sustained negative" rule over the last few messages."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score(text: str) -> float:
    """VADER compound score of ``text``, -1 (very negative) .. 1 (very positive);
    0.0 for empty text. Text beyond 2,000 characters is not read."""
    if not text or not text.strip():
        return 0.0
    return float(_analyzer().polarity_scores(text[:2000])["compound"])


def sustained_negative(scores: Sequence[float], *, window: int, min_negative: int, threshold: float) -> bool:
    """Whether at least ``min_negative`` of the last ``window`` ``scores`` (oldest
    first) are at or below ``threshold``, the latest among them."""
    recent = list(scores)[-window:]
    if not recent or recent[-1] > threshold:
        return False
    return sum(1 for s in recent if s <= threshold) >= min_negative
