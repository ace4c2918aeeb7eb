"""The served preference model, hot-swapped when a new version is promoted.

:class:`ModelHolder` hands out the model ``CURRENT`` names under a model root (see
:mod:`models.recsys.artifact`). At most every ``check_s`` seconds, :meth:`ModelHolder.get`
looks at ``CURRENT``; when it names another version, a background thread verifies,
loads and sanity-checks it (its offline NDCG@10 must not have dropped against the
served one) *before* the swap, which is one reference assignment: requests go on with
the old model meanwhile (none waits for the load; only the very first load, with
nothing to serve yet, is waited for), a request that already holds the old model
finishes with it, and none sees a half-loaded model. A version that fails to
load or is refused is logged once and skipped; the served model stays.

The served version may be a cold-start one (:mod:`models.recsys.cold_start`, manifest
``kind: cold-start``) in a shop without history yet; the same checks apply
(:func:`models.recsys.artifact.check_metrics`: a cold-start version never replaces a
trained one), and callers tell the two apart by the model's ``kind``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.recsys.artifact import (
    DEFAULT_TOLERANCE,
    ArtifactError,
    check_metrics,
    current_version,
    load_artifact,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """A loaded version: the model, its manifest and its version name."""

    model: Any
    manifest: dict[str, Any]
    version: str


class ModelHolder:
    """The preference model to serve from ``root`` (thread-safe; see the module doc).

    Args:
        root: the model root holding ``CURRENT`` and the version folders.
        check_s: seconds between looks at ``CURRENT`` (0: every call).
        tolerance: relative NDCG@10 loss a new version may have (see
            :func:`models.recsys.artifact.check_metrics`).
    """

    def __init__(self, root: Path, *, check_s: float = 10.0, tolerance: float = DEFAULT_TOLERANCE) -> None:
        self.root = Path(root)
        self.check_s = check_s
        self.tolerance = tolerance
        self._served: Served | None = None
        self._checked_at = -float("inf")
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self.swaps = 0

    def get(self) -> Served | None:
        """The model to use for one request (``None`` when no version was ever promoted
        or none loads). Hold on to the returned object for the whole request."""
        now = time.monotonic()
        if now - self._checked_at >= self.check_s:
            self._maybe_swap(now)
        return self._served

    def _maybe_swap(self, now: float) -> None:
        first = self._served is None
        if not self._lock.acquire(blocking=first):
            return  # a load is under way: keep serving the current model meanwhile
        self._checked_at = now
        version = current_version(self.root)
        served = self._served  # not None unless ``first``: it never goes back to None
        if version is None or version in self._refused or (
                not first and served is not None and served.version == version):
            self._lock.release()
            return
        if first:  # nothing to serve meanwhile: this request waits for the load
            self._load_and_release(version)
        else:  # no request waits: load in the background, swap when ready
            threading.Thread(target=self._load_and_release, args=(version,), name=f"load-model-{version}",
                             daemon=True).start()

    def _load_and_release(self, version: str) -> None:
        """Load, check and swap in ``version``; releases the lock taken by the caller."""
        try:
            served = self._served
            try:
                model, manifest = load_artifact(self.root / version)
                model.vector_index()  # built here, not in the first request that uses it
                check_metrics(manifest, served.manifest if served is not None else None, tolerance=self.tolerance)
            except ArtifactError as exc:  # MetricsDropped included
                self._refused.add(version)
                logger.error("recommendation model %s not swapped in: %s", version, exc)
                return
            except (OSError, ValueError, KeyError) as exc:
                self._refused.add(version)
                logger.error("recommendation model %s could not be loaded: %s", version, exc)
                return
            self._served = Served(model, manifest, version)
            self.swaps += 1
            logger.info("recommendation model %s now served (was %s)", version,
                        served.version if served is not None else "none")
        finally:
            self._lock.release()
