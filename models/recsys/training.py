"""Train, evaluate and save the preference model (what ``python -m apps.cli recommender train`` runs).

1. Hold each customer's last basket out by time (:mod:`models.recsys.split`), fit the
   preference model and the fast baselines on the rest, and measure all of them on
   the held-out baskets (:mod:`models.recsys.evaluate`).
2. Refit the preference model on every event, so the served model knows the latest
   behaviour, and save it as a new version with those offline figures, its data
   window and its encoder (:mod:`models.recsys.artifact`).
3. Promote it to ``CURRENT`` unless its NDCG@10 dropped against the served version.

A shop without that history (a brand-new one: an imported catalog, no customers yet)
gets a **cold-start version** instead (:func:`train_for_shop`): popularity and content
(:mod:`models.recsys.cold_start`), saved with ``kind: cold-start`` and served until
there is enough history. Enough means ``min_customers`` customers with
:data:`MIN_BASKETS` purchase baskets each (the ranker learns from each customer's last
baskets, and the gate needs held-out baskets to measure on). The cold-start model is
measured on the held-out baskets next to the baselines of every trained version, and
the first trained version must not be worse than it (:func:`models.recsys.artifact.check_metrics`).
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

from models.recsys.artifact import ArtifactError, current_version, kind_of, promote, read_manifest, save_artifact
from models.recsys.baselines import ALS, ItemSpace, Popularity, RepeatHistory
from models.recsys.cold_start import KIND as COLD_START
from models.recsys.cold_start import ColdStartModel, ItemSignals
from models.recsys.evaluate import evaluate
from models.recsys.interaction_log import PURCHASE, InteractionLog
from models.recsys.preference import PreferenceModel
from models.recsys.split import leave_last_basket_out

#: baselines measured next to every trained version (the fast ones)
GATE_BASELINES: dict[str, Callable[[], Any]] = {"popularity": Popularity, "repeat": RepeatHistory, "als": ALS}
#: purchase baskets a customer needs to count towards enough history
MIN_BASKETS = 3
#: customers with MIN_BASKETS baskets needed before the preference model is trained
MIN_HISTORY_CUSTOMERS = 20


@dataclass(frozen=True)
class TrainingData:
    """What training reads: the interaction ``log``, the recommendable ``item_ids``,
    optional item text ``vectors`` (id -> MiniLM vector), item ``facts`` (id ->
    (category id, brand id, price)), popularity ``signals`` (orders, ratings) and the
    text ``encoder`` id."""

    log: InteractionLog
    item_ids: list[int]
    vectors: Mapping[int, np.ndarray] | None = None
    facts: Mapping[int, tuple[int, int, float]] | None = None
    signals: ItemSignals | None = None
    encoder: str | None = None


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: the version folder, whether it was promoted (and
    why not), its figures, seconds taken and peak memory in MiB; ``kind``:
    ``preference`` or ``cold-start``, and for a cold-start version ``why`` (what history
    is missing)."""

    folder: Path
    promoted: bool
    refusal: str | None
    metrics: dict[str, dict[str, float]]
    seconds: float
    peak_mib: float
    kind: str = "preference"
    why: str | None = None
    summary: str | None = None


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


def customers_with_baskets(log: InteractionLog, baskets: int = MIN_BASKETS) -> int:
    """How many customers bought at least ``baskets`` separate baskets (purchases with
    no basket id count as one basket each)."""
    purchases = np.flatnonzero(log.kinds == PURCHASE)
    if not len(purchases):
        return 0
    keys = np.where(log.baskets[purchases] >= 0, log.baskets[purchases], -(purchases + 2))
    pairs = np.unique(np.stack([log.users[purchases], keys]), axis=1)
    _, counts = np.unique(pairs[0], return_counts=True)
    return int((counts >= baskets).sum())


def history_shortfall(log: InteractionLog, *, min_customers: int = MIN_HISTORY_CUSTOMERS) -> str | None:
    """Why ``log`` is too little for the preference model, or ``None`` when it is enough."""
    if min_customers < 1:
        raise ValueError("min_customers must be 1 or more")
    have = customers_with_baskets(log)
    if have >= min_customers:
        return None
    return (f"{have} customer{'s' if have != 1 else ''} with {MIN_BASKETS} or more purchase baskets; "
            f"the preference model needs {min_customers}")


def peak_memory_mib() -> float:
    """This process's peak resident memory so far, MiB (Linux ``ru_maxrss`` is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_and_save(log: InteractionLog, item_ids: list[int], root: Path, *,
                   vectors: Mapping[int, np.ndarray] | None = None,
                   facts: Mapping[int, tuple[int, int, float]] | None = None, signals: ItemSignals | None = None,
                   encoder: str | None = None, session_gap_s: float = 1800.0, promote_it: bool = True,
                   force: bool = False, progress: bool = False, model_options: dict[str, Any] | None = None,
                   echo: Callable[[str], None] = lambda s: None) -> TrainResult:
    """Steps 1-3 of the module doc on ``log`` over the items ``item_ids``; models are
    saved under ``root``. ``model_options``: extra :class:`PreferenceModel` arguments.
    The cold-start model (with ``signals``' ratings; orders would give the held-out
    baskets away) is measured next to the baselines, as ``metrics["cold-start"]``."""

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
    cold = ColdStartModel(vectors, meta_facts=facts, signals=signals.without_orders() if signals else None)
    metrics[COLD_START] = evaluate(cold, split, items).values
    echo(f"{COLD_START}: NDCG@10 {metrics[COLD_START]['NDCG@10']:.3f}")
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


def train_cold_start(data: TrainingData, root: Path, *, why: str, promote_it: bool = True,
                     force: bool = False) -> TrainResult:
    """Fit the cold-start model on ``data`` and save it under ``root`` as a version with
    ``kind: cold-start`` (no offline metrics: there is nothing to hold out); promote it
    unless a trained version is served (see :func:`models.recsys.artifact.check_metrics`)."""
    started = time.perf_counter()
    model = ColdStartModel(data.vectors, meta_facts=data.facts, signals=data.signals).fit(
        data.log, ItemSpace.of(data.item_ids))
    window = {**data_window(data.log), "why_cold_start": why}
    folder = save_artifact(model, root, metrics={}, data=window, encoder=data.encoder)
    promoted, refusal = False, None
    if promote_it:
        try:
            promote(root, folder.name, force=force)
            promoted = True
        except ArtifactError as exc:
            refusal = str(exc)
    return TrainResult(folder, promoted, refusal, {}, time.perf_counter() - started, peak_memory_mib(),
                       kind=COLD_START, why=why, summary=model.describe())


def served_kind(root: Path) -> tuple[str | None, str | None]:
    """``(version, kind)`` served under ``root`` (``(None, None)`` before the first)."""
    version = current_version(root)
    if version is None:
        return None, None
    try:
        return version, kind_of(read_manifest(root / version))
    except ArtifactError:
        return version, None


def main_train(args: Any, load: Callable[[], TrainingData]) -> int:
    """The CLI body: ``load()`` gives the :class:`TrainingData`. With too little history
    (``args.min_customers``; or ``args.cold_start``) a cold-start version is made
    instead, and the output says so; a served trained version is never replaced by one
    unless ``args.force``."""
    started = time.perf_counter()
    data = load()
    root = Path(args.out)
    print(f"{data.log.describe()}; {len(data.item_ids):,} items (loaded in {time.perf_counter() - started:.1f} s)",
          flush=True)
    asked = bool(getattr(args, "cold_start", False))
    why = "asked for with --cold-start" if asked else history_shortfall(
        data.log, min_customers=getattr(args, "min_customers", MIN_HISTORY_CUSTOMERS))
    result = None
    if why is None:
        try:
            result = train_and_save(data.log, data.item_ids, root, vectors=data.vectors, facts=data.facts,
                                    signals=data.signals, encoder=data.encoder, session_gap_s=args.session_gap,
                                    promote_it=not args.no_promote, force=args.force, progress=True,
                                    echo=lambda s: print(s, flush=True))
        except ValueError as exc:
            why = str(exc)
    if result is None:
        version, kind = served_kind(root)
        if version is not None and kind != COLD_START and not args.force and not asked:
            print(f"cannot train the preference model: {why}. The trained version {version} stays served "
                  "(a cold-start version never replaces a trained one; --cold-start --force would).", file=sys.stderr)
            return 1
        result = train_cold_start(data, root, why=str(why), promote_it=not args.no_promote, force=args.force)
        headline = "as asked (--cold-start)" if asked else f"too little history for the preference model ({why})"
        print(f"COLD START: {headline}.\n"
              "Recommending by popularity (orders, ratings, views) and content (text similarity from the search "
              "index, category) instead; shoppers see reasons like \"popular in <category>\". "
              "`make retrain` trains the preference model once the shop has the history.", flush=True)
        print(f"cold-start model: {result.summary}", flush=True)
    total = time.perf_counter() - started
    print(f"saved {result.folder} (kind: {result.kind}; training {result.seconds:.1f} s, {total:.1f} s with "
          f"loading; peak memory {result.peak_mib:.0f} MiB)")
    if result.promoted:
        print(f"promoted: {result.folder.name} ({result.kind}) is now served (the action server swaps it in "
              "without a restart)")
        return 0
    if args.no_promote:
        print("not promoted (--no-promote)")
        return 0
    print(f"NOT promoted: {result.refusal}", file=sys.stderr)
    return 3
