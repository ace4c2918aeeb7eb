"""One evaluation protocol for every recommender: leave the last basket out by time
(:func:`models.recsys.split.leave_last_basket_out`), rank the *whole* item space for each
test user (no sampled negatives, previously bought items included: repeat purchases
are real), and score the ranking against the held-out basket.

Reported per model (means over test users): HR@k, NDCG@k, MRR (over the full
ranking), AUC, catalog coverage of the top-k lists, and the same HR/NDCG on
*cold-start users* (at most ``cold_max_events`` training events). ``new-item hits``:
of the held-out items that never occur in training, the share that made their user's
top k.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models.recsys.baselines import ItemSpace, Recommender
from models.recsys.metrics import auc, catalog_coverage, hit_rate_at_k, ndcg_at_k
from models.recsys.split import Split

METRICS = ("HR@10", "NDCG@10", "MRR", "AUC", "coverage", "cold HR@10", "cold NDCG@10", "new-item hits")


@dataclass
class Report:
    """One model's figures (``values`` keyed by :data:`METRICS`, ``nan`` when a figure
    has no users to average over) and how long fitting and scoring took."""

    name: str
    values: dict[str, float] = field(default_factory=dict)
    fit_s: float = 0.0
    score_s: float = 0.0
    users: int = 0
    cold_users: int = 0


def evaluate(model: Recommender, split: Split, items: ItemSpace, *, k: int = 10, cold_max_events: int = 3,
             batch: int = 256, fit: bool = True) -> Report:
    """Fit ``model`` on ``split.train`` (unless ``fit=False``) and score it (module doc)."""
    report = Report(model.name)
    started = time.perf_counter()
    if fit:
        model.fit(split.train, items)
    report.fit_s = time.perf_counter() - started
    events = dict(zip(*np.unique(split.train.users, return_counts=True), strict=True))
    seen_items = set(np.unique(split.train.items).tolist())
    users = sorted(split.targets)
    per: dict[str, list[float]] = {m: [] for m in ("HR@10", "NDCG@10", "MRR", "AUC", "cold HR@10", "cold NDCG@10")}
    new_found, new_total = 0, 0
    tops: list[list[int]] = []
    started = time.perf_counter()
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        scores = model.score(chunk)
        for row, user in enumerate(chunk):
            cols = items.columns(np.fromiter(split.targets[user], dtype=np.int64))
            cols = cols[cols >= 0]
            if not len(cols):
                continue
            s = scores[row]
            top = np.argpartition(-s, k - 1)[:k]
            top = top[np.argsort(-s[top], kind="stable")]
            ranked = [int(c) for c in top]
            relevant = set(cols.tolist())
            hr, ndcg = hit_rate_at_k(ranked, relevant, k), ndcg_at_k(ranked, relevant, k)
            per["HR@10"].append(hr)
            per["NDCG@10"].append(ndcg)
            per["MRR"].append(1.0 / (1 + int((s > s[cols].max()).sum())))
            positive = np.zeros(len(s), dtype=bool)
            positive[cols] = True
            per["AUC"].append(auc(s, positive))
            if events.get(user, 0) <= cold_max_events:
                per["cold HR@10"].append(hr)
                per["cold NDCG@10"].append(ndcg)
            for c in cols.tolist():
                if int(items.ids[c]) not in seen_items:
                    new_total += 1
                    new_found += int(c in ranked)
            tops.append(ranked)
    report.score_s = time.perf_counter() - started
    report.values = {m: float(np.mean(v)) if v else float("nan") for m, v in per.items()}
    report.values["coverage"] = catalog_coverage(tops, len(items), k) if tops else float("nan")
    report.values["new-item hits"] = new_found / new_total if new_total else float("nan")
    report.users = len(per["HR@10"])
    report.cold_users = len(per["cold HR@10"])
    return report


def format_table(reports: Sequence[Report]) -> str:
    """The reports as one Markdown table (best value of each column in bold)."""
    best = {m: max((r.values[m] for r in reports if not np.isnan(r.values.get(m, np.nan))), default=np.nan)
            for m in METRICS}
    lines = ["| model | " + " | ".join(METRICS) + " | fit s |", "|---" * (len(METRICS) + 2) + "|"]
    for r in reports:
        cells = []
        for m in METRICS:
            v = r.values.get(m, float("nan"))
            text = "n/a" if np.isnan(v) else f"{v:.3f}"
            distinct = len({round(x.values.get(m, np.nan), 6) for x in reports}) > 1
            cells.append(f"**{text}**" if distinct and not np.isnan(v) and v == best[m] else text)
        lines.append(f"| {r.name} | " + " | ".join(cells) + f" | {r.fit_s:.1f} |")
    return "\n".join(lines)
