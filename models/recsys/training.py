"""Train, evaluate and save the preference model (what ``python -m apps.cli recommender train`` runs).

1. Hold each customer's last basket out by time (:mod:`models.recsys.split`), fit the
   preference model and the fast baselines on the rest, and measure all of them on
   the held-out baskets (:mod:`models.recsys.evaluate`).
2. Refit the preference model on every event, so the served model knows the latest
   behaviour, and save it as a new version with those offline figures, its data
   window and its encoder (:mod:`models.recsys.artifact`).
3. Promote it to ``CURRENT`` unless its NDCG@10 dropped against the served version.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from models.recsys.artifact import ArtifactError, promote, save_artifact
from models.recsys.baselines import ALS, ItemSpace, Popularity, RepeatHistory
from models.recsys.evaluate import evaluate
from models.recsys.interaction_log import PURCHASE, InteractionLog
from models.recsys.preference import PreferenceModel
from models.recsys.split import leave_last_basket_out

#: baselines measured next to every trained version (the fast ones)
GATE_BASELINES: dict[str, Callable[[], Any]] = {"popularity": Popularity, "repeat": RepeatHistory, "als": ALS}


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: the version folder, whether it was promoted (and
    why not), its figures, seconds taken and peak memory in MiB."""

    folder: Path
    promoted: bool
    refusal: str | None
    metrics: dict[str, dict[str, float]]
    seconds: float
    peak_mib: float


def data_window(log: InteractionLog) -> dict[str, Any]:
    """The training data at a glance (for the manifest)."""
    def when(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds") if t > 1e8 else str(t)

    return {
        "first_event": when(float(log.times.min())) if len(log) else None,
        "last_event": when(float(log.times.max())) if len(log) else None,
        "events": len(log), "purchases": int((log.kinds == PURCHASE).sum()),
        "customers": len(log.user_ids), "items": len(log.item_ids),
    }


def peak_memory_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux ``ru_maxrss`` is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_and_save(log: InteractionLog, item_ids: list[int], root: Path, *,
                   vectors: Mapping[int, np.ndarray] | None = None,
                   facts: Mapping[int, tuple[int, int, float]] | None = None,
                   encoder: str | None = None, session_gap_s: float = 1800.0, promote_it: bool = True,
                   force: bool = False, progress: bool = False, model_options: dict[str, Any] | None = None,
                   echo: Callable[[str], None] = lambda s: None) -> TrainResult:
    """Steps 1-3 of the module doc on ``log`` over the items ``item_ids``; models are
    saved under ``root``. ``model_options``: extra :class:`PreferenceModel` arguments."""

    started = time.perf_counter()
    items = ItemSpace.of(item_ids)
    split = leave_last_basket_out(log, session_gap_s=session_gap_s)
    if not split.targets:
        raise ValueError("no customer has two purchase baskets yet: nothing to learn from or to test on")
    echo(split.describe())

    def make() -> PreferenceModel:
        return PreferenceModel(vectors, meta_facts=facts, session_gap_s=session_gap_s, progress=progress,
                               **(model_options or {}))

    metrics: dict[str, dict[str, float]] = {}
    report = evaluate(make(), split, items)
    metrics["model"] = report.values
    echo(f"preference model: NDCG@10 {report.values['NDCG@10']:.3f} on {report.users} held-out baskets "
         f"(fit {report.fit_s:.1f} s)")
    for name, factory in GATE_BASELINES.items():
        metrics[name] = evaluate(factory(), split, items).values
        echo(f"{name}: NDCG@10 {metrics[name]['NDCG@10']:.3f}")
    echo("refitting on every event for serving")
    model = make().fit(log, items)
    folder = save_artifact(model, root, metrics=metrics, data=data_window(log), encoder=encoder)
    promoted, refusal = False, None
    if promote_it:
        try:
            promote(root, folder.name, force=force)
            promoted = True
        except ArtifactError as exc:
            refusal = str(exc)
    return TrainResult(folder, promoted, refusal, metrics, time.perf_counter() - started, peak_memory_mib())


def main_train(args: Any, load: Callable[[], tuple[InteractionLog, list[int], Any, Any, str | None]]) -> int:
    """The CLI body: ``load()`` gives (log, item ids, vectors, facts, encoder)."""
    started = time.perf_counter()
    log, item_ids, vectors, facts, encoder = load()
    print(f"{log.describe()}; {len(item_ids):,} items (loaded in {time.perf_counter() - started:.1f} s)", flush=True)
    try:
        result = train_and_save(log, item_ids, Path(args.out), vectors=vectors, facts=facts, encoder=encoder,
                                session_gap_s=args.session_gap, promote_it=not args.no_promote, force=args.force,
                                progress=True, echo=lambda s: print(s, flush=True))
    except ValueError as exc:
        print(f"cannot train: {exc}", file=sys.stderr)
        return 1
    total = time.perf_counter() - started
    print(f"saved {result.folder} (training {result.seconds:.1f} s, {total:.1f} s with loading; "
          f"peak memory {result.peak_mib:.0f} MiB)")
    if result.promoted:
        print(f"promoted: {result.folder.name} is now served (the action server swaps it in without a restart)")
        return 0
    if args.no_promote:
        print("not promoted (--no-promote)")
        return 0
    print(f"NOT promoted: {result.refusal}", file=sys.stderr)
    return 3
