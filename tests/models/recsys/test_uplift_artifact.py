"""The uplift model as a versioned artifact: saved as numbers (no pickle) and loaded back
predicting exactly the same as sklearn's scaler and logistic regressions, refused when a
file changed after training; the Qini coefficient on known rankings; the promotion gate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from models.recsys.artifact import ArtifactError, current_version
from models.recsys.uplift import CONTROL, UpliftModel
from models.recsys.uplift_artifact import gate, load_uplift, promote_uplift, save_uplift
from models.recsys.uplift_metrics import qini_by_arm, qini_coefficient


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.normal(size=n), rng.integers(0, 2, size=n), np.ones(n)])  # a constant column too
    arms = rng.choice([CONTROL, "deal", "ship", "rare"], size=n, p=[0.3, 0.35, 0.33, 0.02]).tolist()
    p = 0.1 + 0.3 * ((np.array(arms) == "deal") & (X[:, 1] == 1))
    return X, arms, (rng.random(n) < p).astype(int)


def test_predictions_match_sklearn_and_survive_save_and_load(tmp_path: Path) -> None:
    X, arms, y = _data()
    y[np.array(arms) == "ship"] = 0  # an arm with one outcome only: a constant rate
    model = UpliftModel().fit(X, arms, y, feature_names=["a", "b", "c"])
    assert model.arms == ["deal", "ship"]  # "rare" has fewer than 30 events
    Z = StandardScaler().fit_transform(X)
    mask = np.array(arms) == "deal"
    reference = LogisticRegression(C=0.5, max_iter=500).fit(Z[mask], y[mask]).predict_proba(Z)[:, 1]
    assert np.allclose(model.conversion(X)["deal"], reference, atol=1e-12)
    assert np.all(model.conversion(X)["ship"] == 0.0)

    folder = save_uplift(model, tmp_path, metrics={"model": {"qini": 0.1}}, data={"digest": "x"})
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "uplift.json", "uplift.npz"]
    loaded, manifest = load_uplift(folder)
    assert manifest["kind"] == "uplift" and manifest["data"] == {"digest": "x"}
    assert loaded.feature_names == ["a", "b", "c"] and loaded.counts == model.counts
    for arm, values in model.posterior(X).items():
        assert np.array_equal(loaded.posterior(X)[arm][0], values[0])
        assert np.array_equal(loaded.posterior(X)[arm][1], values[1])


def test_a_changed_or_foreign_version_is_refused(tmp_path: Path) -> None:
    X, arms, y = _data()
    folder = save_uplift(UpliftModel().fit(X, arms, y), tmp_path, metrics={}, data={})
    meta = folder / "uplift.json"
    meta.write_text(meta.read_text().replace('"events": ', '"events": 1'))  # tampered after training
    with pytest.raises(ArtifactError, match="changed after training"):
        load_uplift(folder)
    other = folder.parent / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"kind": "preference", "model": "PreferenceModel", "files": {}}))
    with pytest.raises(ArtifactError, match="not an uplift model"):
        load_uplift(other)
    with pytest.raises(ValueError, match="expected"):
        UpliftModel().fit(X, arms, y).conversion(X[:, :2])  # features of another shape


def test_qini_coefficient_on_known_rankings() -> None:
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    t = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    perfect = y * t - y * (1 - t)
    assert qini_coefficient(y, t, perfect) == pytest.approx(1.0)
    assert qini_coefficient(y, t, np.zeros(10)) == pytest.approx(0.0)  # all tied: random targeting
    assert qini_coefficient(y, t, -perfect) < 0  # worse than random
    assert qini_coefficient(np.zeros(10), t, perfect) is None  # no conversion: undefined
    assert qini_coefficient(y, np.ones(10), perfect) is None  # no control
    # per arm, weighted by treated decisions; an arm the model cannot score counts as random
    arms = ["deal"] * 5 + [CONTROL] * 5 + ["new"] * 5
    y3 = np.r_[y, [1, 0, 0, 0, 0]]
    figures = qini_by_arm(arms, y3, {"deal": np.r_[perfect, np.zeros(5)].astype(float)})
    assert figures["qini:deal"] == pytest.approx(1.0) and figures["qini:new"] == pytest.approx(0.0)
    assert figures["qini"] == pytest.approx(0.5)


def test_the_gate() -> None:
    assert gate(0.2, None, served_version=None) is None  # the first version
    assert gate(-0.05, None, served_version=None) is None  # ... even a weak one: nothing to compare with
    assert "undefined" in str(gate(None, 0.1, served_version="v1"))
    assert gate(0.10, 0.10, served_version="v1") is None  # not worse
    refusal = gate(0.05, 0.10, served_version="v1")
    assert refusal is not None and "v1" in refusal and "+0.050" in refusal and "+0.100" in refusal
    assert gate(0.05, 0.10, served_version="v1", tolerance=0.06) is None


def test_promote_moves_current_atomically(tmp_path: Path) -> None:
    X, arms, y = _data()
    folder = save_uplift(UpliftModel().fit(X, arms, y), tmp_path, metrics={}, data={})
    assert current_version(tmp_path) is None
    promote_uplift(tmp_path, folder.name)
    assert current_version(tmp_path) == folder.name
    assert not list(tmp_path.glob(".*"))  # no partial folder or temporary CURRENT left
