"""Versions of the promo policy's uplift model, saved and promoted like the
preference model's (:mod:`models.recsys.artifact`: the same folder per version named by
its UTC training time, ``manifest.json`` with SHA-256 of every file, ``CURRENT``
naming the served version, written atomically).

The root is ``Settings.promo_model_dir`` (default ``var/models/uplift``). The manifest's
``kind`` is ``uplift``, ``model`` is ``UpliftModel``; ``data`` describes the training
decisions (window, counts per arm, the training data's SHA-256 digest, the held-out
split), ``metrics`` holds ``model`` (this version's Qini figures on the held-out
decisions, :mod:`models.recsys.uplift_metrics`) and, when a version was served at
training time, ``served`` (that version's figures on the very same held-out decisions).

The gate (:func:`gate`), the preference model's rule on the uplift model's figure: a
new version is promoted only if its Qini coefficient on the held-out decisions is
defined and not below the served version's on the same decisions (minus
``tolerance``, default 0); the first version (nothing served, or the served one cannot
be loaded to be measured) needs only a defined figure, which the run prints next to
random targeting's 0. Otherwise ``CURRENT`` stays and the reason is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.recsys.artifact import ArtifactError, promote, save_artifact, verify
from models.recsys.uplift import KIND, UpliftModel

#: the held-out figure a new version must not lose
GATE_METRIC = "qini"


def save_uplift(model: UpliftModel, root: Path, *, metrics: dict[str, dict[str, float]], data: dict[str, Any],
                version: str | None = None) -> Path:
    """Write ``model`` as a new version under ``root`` (see the module doc); returns its folder."""
    return save_artifact(model, root, metrics=metrics, data=data, encoder=None, version=version)


def load_uplift(folder: Path) -> tuple[UpliftModel, dict[str, Any]]:
    """``(model, manifest)`` of a verified uplift version folder.

    Raises:
        ArtifactError: missing, changed since training, or not an uplift model.
    """
    manifest = verify(folder)
    if manifest.get("kind") != KIND or manifest.get("model") != UpliftModel.__name__:
        raise ArtifactError(f"{folder} holds a {manifest.get('model')!r} of kind {manifest.get('kind')!r}, "
                            "not an uplift model")
    try:
        return UpliftModel.load(folder, manifest.get("hyperparameters") or {}), manifest
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"{folder}: {exc}") from exc


def gate(new: float | None, served: float | None, *, served_version: str | None, tolerance: float = 0.0) -> str | None:
    """Why a version with held-out Qini ``new`` may not replace ``served_version``
    (whose Qini on the same decisions is ``served``), or ``None`` when it may."""
    if new is None:
        return ("its Qini coefficient is undefined on the held-out decisions (no conversion, or no control or "
                "treated decision, held out): nothing to compare")
    if served_version is None or served is None:
        return None
    if new < served - tolerance:
        return (f"its Qini coefficient on the held-out decisions is {new:+.3f}, below the served version "
                f"{served_version}'s {served:+.3f} on the same decisions")
    return None


def promote_uplift(root: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` (verified, atomically) once :func:`gate` allowed it.
    (The preference model's metric check does not apply to uplift manifests, hence ``force``.)"""
    promote(root, version, force=True)
