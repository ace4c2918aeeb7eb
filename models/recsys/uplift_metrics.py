"""How well an uplift model ranks customers by the effect of an offer: the Qini
coefficient on held-out decisions.

The Qini curve of one offer arm orders the held-out decisions of that arm and of
control by predicted uplift (highest first) and, after the first ``k``, counts the
treated conversions minus the control conversions scaled to the treated share:
``Q(k) = Yt(k) - Yc(k) * Nt(k) / Nc(k)``. Tied scores are taken as one group (the
curve is straight across them). The **Qini coefficient** is the area between that
curve and the straight line of random targeting, divided by the same area of the
perfect ranking (treated converters first, control converters last): 0 is random
targeting, 1 the best ranking possible of these decisions, below 0 worse than random.
It is undefined (``None``) with no conversion at all among them or no control or no
treated decision.

:func:`qini_by_arm` does it for each offer arm with its own predicted uplift and
averages the arms' coefficients weighted by their treated decisions, the figure the
promotion gate compares (:mod:`models.recsys.uplift_artifact`). An arm the model cannot
score (an offer it never saw enough of) counts as random targeting, 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from models.recsys.uplift import CONTROL


def qini_curve(converted: np.ndarray, treated: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x, q)``: decisions taken (0 first) and the Qini value after them; tied
    scores are one step."""
    y = np.asarray(converted, dtype=np.float64)
    t = np.asarray(treated, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    y, t, s = y[order], t[order], s[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1] if len(s) else np.array([], dtype=np.int64)
    n_treated = np.cumsum(t)[ends]
    y_treated = np.cumsum(y * t)[ends]
    y_control = np.cumsum(y * (1 - t))[ends]
    n_all = ends + 1.0
    n_control = n_all - n_treated
    ratio = np.divide(n_treated, n_control, out=np.zeros_like(n_treated), where=n_control > 0)
    return np.r_[0.0, n_all], np.r_[0.0, y_treated - y_control * ratio]


def _area(x: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum((x[1:] - x[:-1]) * (q[1:] + q[:-1]) / 2.0))


def qini_coefficient(converted: np.ndarray, treated: np.ndarray, score: np.ndarray) -> float | None:
    """The Qini coefficient (see the module doc) of ``score`` on these decisions, or
    ``None`` where it is undefined."""
    y = np.asarray(converted, dtype=np.float64)
    t = np.asarray(treated, dtype=np.float64)
    if not len(y) or t.sum() == 0 or t.sum() == len(t) or y.sum() == 0:
        return None
    x, q = qini_curve(y, t, score)
    baseline = x[-1] * q[-1] / 2.0
    px, pq = qini_curve(y, t, y * t - y * (1 - t))
    perfect = _area(px, pq) - baseline
    if perfect <= 0:
        return None
    return float((_area(x, q) - baseline) / perfect)


def qini_by_arm(arms: Sequence[str], converted: np.ndarray,
                uplift: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Qini figures of one model on held-out decisions: ``qini`` (the arms' coefficients
    weighted by their treated decisions; absent when no arm's is defined) and
    ``qini:<arm>`` for each offer arm. ``uplift``: arm -> the model's predicted uplift of
    every decision ``(n,)``; an arm missing from it scores 0 (random targeting)."""
    arms_arr = np.asarray(list(arms))
    y = np.asarray(converted, dtype=np.float64)
    control = arms_arr == CONTROL
    out: dict[str, float] = {}
    total = weight = 0.0
    for arm in sorted(set(arms_arr.tolist()) - {CONTROL}):
        rows = (arms_arr == arm) | control
        score = np.asarray(uplift[arm])[rows] if arm in uplift else np.zeros(int(rows.sum()))
        figure = qini_coefficient(y[rows], (arms_arr == arm)[rows], score)
        if figure is None:
            continue
        n = float((arms_arr == arm).sum())
        out[f"qini:{arm}"] = float(figure)
        total += figure * n
        weight += n
    if weight:
        out["qini"] = total / weight
    return out
