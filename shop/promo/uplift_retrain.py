"""Retrain the promo policy's uplift model from the shop's own redemptions and promote
it through a gate (what ``python -m apps.cli promo retrain`` and ``make retrain`` run).

1. Build the training set (:mod:`shop.promo.uplift_data`): decisions whose window has
   closed, their conversions, redeemed codes and revenue. Too few outcomes (fewer than
   ``min_outcomes`` redeemed codes among treated decisions or conversions in control):
   nothing is trained, the served version (or, with none, exploration) stays.
2. Fit :class:`~models.recsys.uplift.UpliftModel` on the customers outside the fixed
   held-out 20%, with the offer categories of today's offers as features.
3. Measure it on the held-out decisions (Qini coefficient,
   :mod:`models.recsys.uplift_metrics`), and the served version on the very same
   decisions (its own features).
4. Save it as a new version (:mod:`models.recsys.uplift_artifact`) and promote it only
   if the gate lets it (not below the served version on those decisions; the first
   version needs only a defined figure).

The model is not refitted on the held-out customers after the gate: the version served
is the version measured, and the next retrain can measure it on decisions it never saw.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from models.recsys.artifact import ArtifactError, current_version
from models.recsys.uplift import UpliftModel
from models.recsys.uplift_artifact import GATE_METRIC, gate, load_uplift, promote_uplift, save_uplift
from models.recsys.uplift_metrics import qini_by_arm
from shop.promo.features import feature_names, offer_categories
from shop.promo.uplift_data import MIN_OUTCOMES, DecisionRow, UpliftData, categories_of, features_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrainResult:
    """What a retrain did. ``version``: the version saved (``None`` when nothing was
    trained); ``served``: the version served afterwards (``None``: none, the policy
    explores); ``reason``: why it was or was not promoted, in words."""

    promoted: bool
    version: str | None
    served: str | None
    reason: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """The one log line of the run."""
        figure = self.metrics.get("model", {}).get(GATE_METRIC)
        before = self.metrics.get("served", {}).get(GATE_METRIC)
        figures = "" if figure is None else f" (held-out Qini {figure:+.3f}" + (
            f", served version {before:+.3f})" if before is not None else ")")
        if self.promoted:
            return f"uplift model: PROMOTED {self.version}{figures}; {self.reason}"
        kept = self.served or "none (offers explore until a version is promoted)"
        saved = f"{self.version} saved, not promoted{figures}" if self.version else "no new version"
        return f"uplift model: KEPT {kept}; {saved}: {self.reason}"


def _held_out_figures(model: UpliftModel, rows: list[DecisionRow], X: np.ndarray) -> dict[str, float]:
    return qini_by_arm([r.arm for r in rows], np.array([int(r.converted) for r in rows]), model.score(X))


def _served_figures(session: Session, root: Path, version: str | None,
                    held: list[DecisionRow]) -> tuple[dict[str, float] | None, str | None]:
    """The served version's figures on the held-out decisions, or ``(None, why)``."""
    if version is None:
        return None, None
    try:
        model, _ = load_uplift(root / version)
        categories = categories_of(model.feature_names)
        X = features_of(session, held, categories=categories)
        return _held_out_figures(model, held, X), None
    except (ArtifactError, ValueError) as exc:
        logger.warning("served uplift version %s cannot be measured: %s", version, exc)
        return None, f"the served version {version} cannot be loaded or measured ({exc})"


def retrain_uplift(session: Session, *, data: UpliftData, root: Path, min_outcomes: int = MIN_OUTCOMES,
                   tolerance: float = 0.0, promote_it: bool = True, c: float = 0.5,
                   min_events: int = 30) -> RetrainResult:
    """Steps 1-4 of the module doc on ``data`` (:func:`shop.promo.uplift_data.build_training_set`);
    versions go under ``root``. ``c`` / ``min_events``: the model's hyperparameters."""
    served_version = current_version(root)
    described = data.describe()
    why = data.shortfall(min_outcomes=min_outcomes)
    if why is not None:
        return RetrainResult(False, None, served_version, why + "; the current policy stays", data=described)
    train, held = data.split()
    categories = offer_categories(session)
    names = feature_names(categories)
    try:
        model = UpliftModel(c=c, min_events=min_events).fit(
            features_of(session, train, categories=categories), [r.arm for r in train],
            np.array([int(r.converted) for r in train]), feature_names=names)
    except ValueError as exc:
        return RetrainResult(False, None, served_version, f"cannot fit on the training customers: {exc}; "
                                                          "the current policy stays", data=described)
    figures = _held_out_figures(model, held, features_of(session, held, categories=categories)) if held else {}
    served_figures, served_problem = _served_figures(session, root, served_version, held)
    metrics = {"model": figures, **({"served": served_figures} if served_figures is not None else {})}
    described = {**described, "trained_on": len(train), "held_out": len(held), "categories": categories}
    refusal = gate(figures.get(GATE_METRIC), (served_figures or {}).get(GATE_METRIC),
                   served_version=served_version if served_figures is not None else None, tolerance=tolerance)
    folder = save_uplift(model, root, metrics=metrics, data=described)
    if refusal is None and not promote_it:
        refusal = "not promoted (--no-promote)"
    if refusal is not None:
        return RetrainResult(False, folder.name, served_version, refusal, metrics, described)
    promote_uplift(root, folder.name)
    if served_figures is not None:
        reason = f"not below the served version {served_version} on the same held-out decisions"
    else:
        versus = "better than" if figures[GATE_METRIC] > 0 else "no better than"
        first = served_problem or "the first version"
        reason = f"{first}; it ranks customers {versus} random targeting (Qini 0)"
    logger.info("uplift model %s promoted (was %s)", folder.name, served_version or "none")
    return RetrainResult(True, folder.name, folder.name, reason, metrics, described)
