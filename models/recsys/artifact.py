"""Versioned model artifacts: save, verify, load, promote.

A model root (``Settings.model_dir``, default ``var/models/preference``) holds one
folder per trained version, named by its UTC training time (``20261124T153000Z``),
and a ``CURRENT`` file naming the version the action server serves::

    var/models/preference/
        CURRENT                      -> "20261124T153000Z"
        20261124T153000Z/
            manifest.json            what it is (below)
            arrays.npz, ranker.pkl   the model (PreferenceModel.save)

``manifest.json``: ``version``, ``created_at``, ``model`` (class), ``kind``
(``preference``: the trained two-tower model and ranker; ``cold-start``: popularity and
content for a shop without enough history, :mod:`models.recsys.cold_start`), ``hyperparameters``,
``encoder`` (the text encoder the item vectors came from), ``data`` (the training
window: first/last event time, events, purchases, customers, items), ``metrics``
(offline figures of this model and of the baselines on the same temporal split),
``files`` (name -> SHA-256, checked before loading: the ranker is a pickle, so a file
that changed after training is refused).

:func:`promote` moves ``CURRENT`` only when the new version's offline NDCG@10 did not
drop (see :func:`check_metrics`), the sanity check the action server repeats before it
hot-swaps a version in (:mod:`models.recsys.serving`). A cold-start version has no
offline figure (there is no history to hold out): it may follow nothing or another
cold-start version, never a trained one (unless forced). The first trained version
after a cold-start one is compared with the cold-start model measured on its own
held-out baskets (its manifest's ``metrics["cold-start"]``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from models.recsys.cold_start import KIND as COLD_START
from models.recsys.cold_start import ColdStartModel
from models.recsys.preference import PreferenceModel

logger = logging.getLogger(__name__)

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
#: the offline figure a new version must not lose
GATE_METRIC = "NDCG@10"
#: how much of it a new version may lose (relative; retraining on new data moves it a little)
DEFAULT_TOLERANCE = 0.05
#: the model classes a version may hold, by the manifest's ``model``
MODEL_CLASSES: dict[str, Any] = {PreferenceModel.__name__: PreferenceModel, ColdStartModel.__name__: ColdStartModel}


class ArtifactError(RuntimeError):
    """A model folder that is missing, incomplete, or changed since it was written."""


class MetricsDropped(ArtifactError):
    """A new version's offline metrics are worse than the served version's."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_version(root: Path, *, now: datetime | None = None) -> str:
    """A folder name for a model trained ``now`` (UTC), unique under ``root``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    version, n = stamp, 1
    while (root / version).exists():
        n += 1
        version = f"{stamp}-{n}"
    return version


def save_artifact(model: Any, root: Path, *, metrics: dict[str, dict[str, float]], data: dict[str, Any],
                  encoder: str | None, version: str | None = None) -> Path:
    """Write ``model`` (anything with ``save(dir) -> files`` and ``hyperparameters()``)
    as a new version under ``root`` with its manifest; returns the version folder.
    ``metrics``: model name -> figures; the model's own row is named ``"model"``."""
    root.mkdir(parents=True, exist_ok=True)
    version = version or new_version(root)
    folder = root / version
    tmp = root / f".{version}.partial"
    tmp.mkdir(parents=True, exist_ok=False)
    files = model.save(tmp)
    manifest = {
        "version": version,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": type(model).__name__,
        "kind": kind_of(model),
        "hyperparameters": model.hyperparameters(),
        "encoder": encoder,
        "data": data,
        "metrics": metrics,
        "files": {f.name: sha256_of(f) for f in files},
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=float) + "\n", encoding="utf-8")
    os.replace(tmp, folder)  # a version appears complete or not at all
    return folder


def kind_of(model_or_manifest: Any) -> str:
    """``"preference"`` or ``"cold-start"`` of a model or a manifest (manifests written
    before cold-start versions existed have no ``kind``: they are preference models)."""
    if isinstance(model_or_manifest, dict):
        return str(model_or_manifest.get("kind") or "preference")
    return str(getattr(model_or_manifest, "kind", "preference"))


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"{folder} has no {MANIFEST}: not a model version") from exc
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{folder / MANIFEST} is not valid JSON: {exc}") from exc


def verify(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder`` after checking every file's SHA-256 against it."""
    manifest = read_manifest(folder)
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{path} is missing")
        if sha256_of(path) != digest:
            raise ArtifactError(f"{path} changed after training (SHA-256 mismatch): retrain instead of editing it")
    return manifest


def load_artifact(folder: Path) -> tuple[Any, dict[str, Any]]:
    """``(model, manifest)`` of a verified version folder."""

    manifest = verify(folder)
    cls = MODEL_CLASSES.get(str(manifest.get("model")))
    if cls is None:
        raise ArtifactError(f"{folder} holds a {manifest.get('model')!r}, not one of {', '.join(MODEL_CLASSES)}")
    return cls.load(folder, manifest["hyperparameters"]), manifest


def current_version(root: Path) -> str | None:
    """The version ``CURRENT`` names, or ``None`` before the first promotion. Every
    replica reads it (on a volume they share) and serves what it names. A value that is
    not a plain folder name of ``root`` (a path, ``..``, a hidden name) is refused:
    ``None``, logged, and the served version stays."""
    try:
        value = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if value and (value.startswith(".") or "/" in value or "\\" in value or "\x00" in value):
        logger.error("%s names %r, not a version folder of %s: ignored", root / CURRENT, value[:100], root)
        return None
    return value or None


def check_metrics(new: dict[str, Any], served: dict[str, Any] | None, *,
                  tolerance: float = DEFAULT_TOLERANCE) -> None:
    """Raise :class:`MetricsDropped` when ``new`` may not replace ``served`` (a manifest,
    ``None`` when nothing is served):

    - a trained version needs an offline NDCG@10; it may not fall below the served
      trained version's by more than ``tolerance`` (relative), nor below the
      cold-start model's on its own held-out baskets when a cold-start version is
      served (``new``'s ``metrics["cold-start"]``);
    - a cold-start version (no offline figure) may replace nothing or another
      cold-start version, never a trained one."""
    version = new.get("version")
    if kind_of(new) == COLD_START:
        if served is not None and kind_of(served) != COLD_START:
            raise MetricsDropped(
                f"version {version} is a cold-start model (popularity and content); it does not replace the "
                f"trained version {served.get('version')}: not promoted")
        return
    figure = new.get("metrics", {}).get("model", {}).get(GATE_METRIC)
    if figure is None:
        raise MetricsDropped(f"version {version} has no offline {GATE_METRIC}: evaluate it before serving")
    if served is None:
        return
    if kind_of(served) == COLD_START:
        before = new.get("metrics", {}).get(COLD_START, {}).get(GATE_METRIC)
        if before is not None and figure < before * (1.0 - tolerance):
            raise MetricsDropped(
                f"version {version} has {GATE_METRIC} {figure:.4f}, below the cold-start model's {before:.4f} "
                f"on the same held-out baskets by more than {tolerance:.0%}: not promoted, the cold-start "
                f"version {served.get('version')} stays")
        return
    before = served.get("metrics", {}).get("model", {}).get(GATE_METRIC)
    if before is not None and figure < before * (1.0 - tolerance):
        raise MetricsDropped(
            f"version {version} has {GATE_METRIC} {figure:.4f}, below the served version "
            f"{served.get('version')}'s {before:.4f} by more than {tolerance:.0%}: not promoted")


def promote(root: Path, version: str, *, tolerance: float = DEFAULT_TOLERANCE, force: bool = False) -> None:
    """Point ``CURRENT`` at ``version`` (atomically) after :func:`verify` and, unless
    ``force``, :func:`check_metrics` against the version served now."""
    manifest = verify(root / version)
    served_version = current_version(root)
    if not force and served_version and served_version != version:
        try:
            served = read_manifest(root / served_version)
        except ArtifactError:
            served = None  # the served folder is gone: nothing to compare with
        check_metrics(manifest, served, tolerance=tolerance)
    elif not force:
        check_metrics(manifest, None, tolerance=tolerance)
    tmp = root / f".{CURRENT}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT)
