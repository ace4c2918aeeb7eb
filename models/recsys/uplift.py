"""Offer effect prediction (uplift) from logged offers and outcomes.

:class:`UpliftModel` is a T-learner: one regularised logistic regression per arm
(each offer, and ``"control"``, the customers shown nothing) predicting conversion
from customer features; the uplift of an arm is its predicted conversion minus
control's. :meth:`UpliftModel.posterior` adds a standard error from the arm's and
control's sample sizes, which Thompson sampling (:mod:`shop.promo.policy`) draws from.

Shapes: ``X`` is ``(n, d)`` float features (:mod:`shop.promo.features`), ``arms`` a
length-``n`` sequence of arm names, ``converted`` a length-``n`` 0/1 array.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

CONTROL = "control"


class UpliftModel:
    """T-learner uplift model.

    Args:
        c: inverse L2 strength of each arm's logistic regression (default 0.5).
        min_events: arms with fewer logged events are left out (default 30).
    """

    def __init__(self, *, c: float = 0.5, min_events: int = 30) -> None:
        self.c = c
        self.min_events = min_events
        self.scaler: StandardScaler | None = None
        self.models: dict[str, LogisticRegression | float] = {}
        self.counts: dict[str, int] = {}

    @property
    def arms(self) -> list[str]:
        """Arms the model can score, control excluded."""
        return [a for a in self.models if a != CONTROL]

    def fit(self, X: np.ndarray, arms: Sequence[str], converted: np.ndarray) -> UpliftModel:
        """Fit one classifier per arm with at least ``min_events`` events (control is required).

        Raises:
            ValueError: without enough control events.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(converted, dtype=np.int64)
        arms_arr = np.asarray(list(arms))
        self.scaler = StandardScaler().fit(X)
        Z = self.scaler.transform(X)
        self.models, self.counts = {}, {}
        for arm in sorted(set(arms_arr.tolist())):
            mask = arms_arr == arm
            n = int(mask.sum())
            if n < self.min_events:
                continue
            self.counts[arm] = n
            if len(set(y[mask].tolist())) < 2:  # all converted or none: a constant rate
                self.models[arm] = float(y[mask].mean())
            else:
                self.models[arm] = LogisticRegression(C=self.c, max_iter=500).fit(Z[mask], y[mask])
        if CONTROL not in self.models:
            raise ValueError(f"need at least {self.min_events} control events to measure uplift")
        return self

    def _p(self, arm: str, Z: np.ndarray) -> np.ndarray:
        model = self.models[arm]
        if isinstance(model, float):
            return np.full(len(Z), model)
        return model.predict_proba(Z)[:, 1]

    def conversion(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted conversion probability of every arm, control included; each ``(n,)``."""
        if self.scaler is None:
            raise RuntimeError("UpliftModel is not fitted: call fit() first")
        Z = self.scaler.transform(np.asarray(X, dtype=np.float64))
        return {arm: self._p(arm, Z) for arm in self.models}

    def score(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted uplift of every offer arm over control; each ``(n,)``."""
        p = self.conversion(X)
        return {arm: p[arm] - p[CONTROL] for arm in self.arms}

    def posterior(self, X: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``arm -> (mean uplift, standard error)``, each ``(n,)``: the error of a
        difference of two rates from the arms' sample sizes."""
        p = self.conversion(X)
        p0, n0 = p[CONTROL], self.counts[CONTROL]
        out = {}
        for arm in self.arms:
            pa, na = p[arm], self.counts[arm]
            se = np.sqrt(pa * (1 - pa) / na + p0 * (1 - p0) / n0)
            out[arm] = (pa - p0, se)
        return out

    def recommend(self, X: np.ndarray, *, allowed: Sequence[str] | None = None) -> list[str | None]:
        """For each row, the allowed arm with the highest predicted uplift, or ``None``
        when no allowed arm's uplift is positive."""
        scores = self.score(X)
        names = [a for a in self.arms if allowed is None or a in allowed]
        picks: list[str | None] = []
        for i in range(len(np.asarray(X))):
            best = max(names, key=lambda a: scores[a][i], default=None)
            picks.append(best if best is not None and scores[best][i] > 0 else None)
        return picks
