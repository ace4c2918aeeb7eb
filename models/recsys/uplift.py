"""Offer effect prediction (uplift) from logged offers and outcomes.

:class:`UpliftModel` is a T-learner: one regularised logistic regression per arm
(each offer, and ``"control"``, the customers shown nothing) predicting conversion
from customer features; the uplift of an arm is its predicted conversion minus
control's. :meth:`UpliftModel.posterior` adds a standard error from the arm's and
control's sample sizes, which Thompson sampling (:mod:`shop.promo.policy`) draws from.

Shapes: ``X`` is ``(n, d)`` float features (:mod:`shop.promo.features`), ``arms`` a
length-``n`` sequence of arm names, ``converted`` a length-``n`` 0/1 array.

A fitted model keeps only numbers (the scaler's mean and scale, each arm's
coefficients and intercept, or its constant rate when the arm's outcomes were all
the same), so :meth:`UpliftModel.save` writes an ``.npz`` and a JSON file, no pickle,
and :meth:`UpliftModel.load` gives back a model that predicts exactly the same. Saved
versions and their promotion gate: :mod:`models.recsys.uplift_artifact`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

CONTROL = "control"
#: the manifest's ``kind`` of a saved uplift model
KIND = "uplift"
ARRAYS = "uplift.npz"
META = "uplift.json"


@dataclass(frozen=True)
class ArmFit:
    """One arm's fitted conversion model: ``coef`` (d,) and ``intercept`` of a logistic
    regression on standardised features, or only ``constant`` (``coef`` is ``None``)."""

    coef: np.ndarray | None
    intercept: float
    constant: float | None = None


class UpliftModel:
    """T-learner uplift model.

    Args:
        c: inverse L2 strength of each arm's logistic regression (default 0.5).
        min_events: arms with fewer logged events are left out (default 30).
    """

    kind = KIND

    def __init__(self, *, c: float = 0.5, min_events: int = 30) -> None:
        self.c = c
        self.min_events = min_events
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.models: dict[str, ArmFit] = {}
        self.counts: dict[str, int] = {}
        self.feature_names: list[str] = []

    @property
    def arms(self) -> list[str]:
        """Arms the model can score, control excluded."""
        return [a for a in self.models if a != CONTROL]

    def hyperparameters(self) -> dict[str, Any]:
        return {"c": self.c, "min_events": self.min_events}

    def fit(self, X: np.ndarray, arms: Sequence[str], converted: np.ndarray, *,
            feature_names: Sequence[str] = ()) -> UpliftModel:
        """Fit one classifier per arm with at least ``min_events`` events (control is
        required). ``feature_names``: what each column of ``X`` is (kept with the model,
        so a saved model is used only on the same features).

        Raises:
            ValueError: without enough control events, or with names that do not match ``X``.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(converted, dtype=np.int64)
        arms_arr = np.asarray(list(arms))
        if feature_names and len(feature_names) != X.shape[1]:
            raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns")
        self.feature_names = list(feature_names)
        self.mean = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)  # a constant column stays 0 (as StandardScaler)
        Z = (X - self.mean) / self.scale
        self.models, self.counts = {}, {}
        for arm in sorted(set(arms_arr.tolist())):
            mask = arms_arr == arm
            n = int(mask.sum())
            if n < self.min_events:
                continue
            self.counts[arm] = n
            if len(set(y[mask].tolist())) < 2:  # all converted or none: a constant rate
                self.models[arm] = ArmFit(None, 0.0, float(y[mask].mean()))
            else:
                fitted = LogisticRegression(C=self.c, max_iter=500).fit(Z[mask], y[mask])
                self.models[arm] = ArmFit(fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0]))
        if CONTROL not in self.models:
            raise ValueError(f"need at least {self.min_events} control events to measure uplift")
        return self

    def _p(self, arm: str, Z: np.ndarray) -> np.ndarray:
        fit = self.models[arm]
        if fit.coef is None:
            return np.full(len(Z), fit.constant if fit.constant is not None else 0.0)
        return 1.0 / (1.0 + np.exp(-(Z @ fit.coef + fit.intercept)))

    def conversion(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Predicted conversion probability of every arm, control included; each ``(n,)``."""
        if self.mean is None or self.scale is None:
            raise RuntimeError("UpliftModel is not fitted: call fit() first")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.mean):
            raise ValueError(f"expected (n, {len(self.mean)}) features, got {X.shape}")
        Z = (X - self.mean) / self.scale
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

    # --- saving and loading (numbers only) ------------------------------------------------

    def save(self, folder: Path) -> list[Path]:
        """Write the fitted model to ``folder`` (``uplift.npz``, ``uplift.json``); returns the files."""
        if self.mean is None or self.scale is None:
            raise RuntimeError("UpliftModel is not fitted: nothing to save")
        arms = sorted(self.models)
        d = len(self.mean)
        coef = np.zeros((len(arms), d))
        for i, arm in enumerate(arms):
            fit = self.models[arm]
            if fit.coef is not None:
                coef[i] = fit.coef
        folder = Path(folder)
        arrays, meta = folder / ARRAYS, folder / META
        with open(arrays, "wb") as fh:
            np.savez(fh, mean=self.mean, scale=self.scale, coef=coef)
        meta.write_text(json.dumps({
            "arms": [{"name": arm, "events": self.counts[arm], "intercept": self.models[arm].intercept,
                      "constant": self.models[arm].constant} for arm in arms],
            "feature_names": self.feature_names,
        }, indent=2) + "\n", encoding="utf-8")
        return [arrays, meta]

    @classmethod
    def load(cls, folder: Path, hyperparameters: dict[str, Any]) -> UpliftModel:
        """A model written by :meth:`save` (check the files' digests first:
        :func:`models.recsys.uplift_artifact.load_uplift`).

        Raises:
            ValueError: the files do not describe a usable model.
        """
        folder = Path(folder)
        model = cls(c=float(hyperparameters.get("c", 0.5)), min_events=int(hyperparameters.get("min_events", 30)))
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        with np.load(folder / ARRAYS, allow_pickle=False) as arrays:
            mean, scale, coef = arrays["mean"], arrays["scale"], arrays["coef"]
        arms = meta.get("arms") or []
        if mean.shape != scale.shape or coef.shape != (len(arms), len(mean)):
            raise ValueError(f"{folder}: array shapes {mean.shape}, {scale.shape}, {coef.shape} do not fit "
                             f"{len(arms)} arms")
        model.mean, model.scale = mean.astype(np.float64), scale.astype(np.float64)
        model.feature_names = [str(n) for n in meta.get("feature_names") or []]
        for i, arm in enumerate(arms):
            constant = arm.get("constant")
            model.models[str(arm["name"])] = ArmFit(None if constant is not None else coef[i].astype(np.float64),
                                                    float(arm.get("intercept", 0.0)),
                                                    None if constant is None else float(constant))
            model.counts[str(arm["name"])] = int(arm["events"])
        if CONTROL not in model.models:
            raise ValueError(f"{folder}: no control arm")
        return model
