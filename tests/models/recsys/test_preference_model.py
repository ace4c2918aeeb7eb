"""The preference model: planted taste is recovered (beats popularity and the
collaborative baselines), constraints and exclusions hold, cold users and cold items
are handled, artifacts round-trip, refuse tampering and worse metrics, and the served
model hot-swaps under concurrent requests."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from models.recsys.artifact import (
    ArtifactError,
    MetricsDropped,
    current_version,
    load_artifact,
    promote,
    save_artifact,
)
from models.recsys.baselines import ItemSpace, Popularity
from models.recsys.evaluate import evaluate
from models.recsys.interaction_log import InteractionLog
from models.recsys.preference import PreferenceModel
from models.recsys.serving import ModelHolder
from models.recsys.split import leave_last_basket_out
from tests.models.recsys.test_recommend_baselines import planted

GROUPS, PER_GROUP = 6, 20


def group_vectors(seed: int = 1, dim: int = 16) -> dict[int, np.ndarray]:
    """Text vectors where items of one group are close (as MiniLM puts jackets near
    jackets), plus the decoy item 1."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(GROUPS, dim))
    out = {1: rng.normal(size=dim)}
    for g in range(GROUPS):
        for i in range(PER_GROUP):
            out[1_000 + g * PER_GROUP + i] = centres[g] + 0.3 * rng.normal(size=dim)
    return {k: (v / np.linalg.norm(v)).astype(np.float32) for k, v in out.items()}


def small_model(**kw) -> PreferenceModel:
    return PreferenceModel(group_vectors(), **{"dim": 16, "epochs": 4, "candidates": 30, **kw})


@pytest.fixture(scope="module")
def fitted() -> tuple[PreferenceModel, InteractionLog]:
    log = planted(users=120)
    return small_model().fit(log, ItemSpace.of(log.items)), log


def test_recovers_planted_taste_better_than_popularity() -> None:
    log = planted()
    split = leave_last_basket_out(log, session_gap_s=0)
    items = ItemSpace.of(log.items)
    base = evaluate(Popularity(), split, items)
    report = evaluate(small_model(), split, items)
    assert report.values["NDCG@10"] > base.values["NDCG@10"] + 0.1, (report.values, base.values)
    assert report.values["HR@10"] > 0.5


def test_rank_keeps_to_allowed_items_and_exclusions(fitted) -> None:
    model, log = fitted
    user = 7  # group 1 (items 1020..1039)
    top = model.rank(log, user, k=5)
    assert len(top) == 5 and all(0.0 <= p <= 1.0 for _, p in top)
    assert sum(1_020 <= i < 1_040 for i, _ in top) >= 4  # their group
    allowed = list(range(1_040, 1_060))  # a constraint that rules their group out
    constrained = model.rank(log, user, k=5, allowed=allowed)
    assert constrained and {i for i, _ in constrained} <= set(allowed)
    excluded = model.rank(log, user, k=5, exclude=[i for i, _ in top])
    assert not {i for i, _ in excluded} & {i for i, _ in top}
    assert model.rank(log, user, k=5, allowed=[]) == []
    assert model.rank(log, user, k=3, allowed=[424242]) == []  # unknown items only


def test_cold_user_gets_popular_items_and_session_history_personalises(fitted) -> None:
    model, log = fitted
    stranger = model.rank(log, 99_999, k=3)
    assert stranger[0][0] == 1  # the planted popular decoy
    # an anonymous shopper who just viewed three group-4 items: their session is history
    session = InteractionLog.from_rows([(0, 1_080 + i, 1e9 + i, "view", -1) for i in range(3)])
    top = model.rank(session, 0, k=5)
    assert sum(1_080 <= i < 1_100 for i, _ in top) >= 4
    why = model.because(session, 0, top[0][0])
    assert why is not None and 1_080 <= why[0] < 1_100 and why[1] == "view"


def test_new_items_are_placed_by_their_text(fitted) -> None:
    model, log = fitted
    vectors = group_vectors()
    new_vec = vectors[1_041] + 0.05  # a new product that reads like group 2's items
    grown = model.with_new_items({5_000: new_vec / np.linalg.norm(new_vec)}, {5_000: (-1, -1, 10.0)})
    assert 5_000 in grown.items.index and 5_000 not in model.items.index  # the original is untouched
    col = grown.items.index[5_000]
    sims = grown.towers.items @ grown.towers.items[col]
    nearest = grown.items.ids[np.argsort(-sims)[1:6]]
    assert all(1_040 <= i < 1_060 for i in nearest), nearest
    user = 13  # group 1: their top picks are unchanged by an unrelated new item
    assert grown.rank(log, user, k=3) == model.rank(log, user, k=3)
    assert grown.rank(log, user, k=1, allowed=[5_000])[0][0] == 5_000


def test_training_without_enough_history_says_what_is_missing() -> None:
    log = InteractionLog.from_rows([(1, 10, 0.0, "purchase", 1), (2, 11, 9.0, "purchase", 2)])  # one basket each
    with pytest.raises(ValueError, match="too little history"):
        small_model().fit(log, ItemSpace.of([10, 11]))


def _metrics(ndcg: float) -> dict[str, dict[str, float]]:
    return {"model": {"NDCG@10": ndcg}, "popularity": {"NDCG@10": 0.01}}


def test_artifact_round_trips_and_refuses_tampering(fitted, tmp_path) -> None:
    model, log = fitted
    folder = save_artifact(model, tmp_path, metrics=_metrics(0.3), data={"events": len(log)}, encoder="test/vec")
    loaded, manifest = load_artifact(folder)
    assert manifest["encoder"] == "test/vec" and manifest["hyperparameters"]["dim"] == 16
    users = [3, 7, 99_999]
    np.testing.assert_allclose(loaded.score(users), model.score(users), rtol=1e-6, atol=1e-6)
    assert loaded.rank(log, 7, k=5) == model.rank(log, 7, k=5)
    with open(folder / "ranker.pkl", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="SHA-256 mismatch"):
        load_artifact(folder)
    with pytest.raises(ArtifactError, match="no manifest.json"):
        load_artifact(tmp_path / "nothing-here")


def test_promotion_refuses_a_model_whose_metrics_dropped(fitted, tmp_path) -> None:
    model, _ = fitted
    good = save_artifact(model, tmp_path, metrics=_metrics(0.30), data={}, encoder=None, version="v1")
    worse = save_artifact(model, tmp_path, metrics=_metrics(0.20), data={}, encoder=None, version="v2")
    close = save_artifact(model, tmp_path, metrics=_metrics(0.295), data={}, encoder=None, version="v3")
    promote(tmp_path, good.name)
    with pytest.raises(MetricsDropped, match="below the served version v1"):
        promote(tmp_path, worse.name)
    assert current_version(tmp_path) == "v1"
    promote(tmp_path, close.name)  # within tolerance: retraining on new data moves the figure a little
    assert current_version(tmp_path) == "v3"
    promote(tmp_path, worse.name, force=True)
    assert current_version(tmp_path) == "v2"


def test_hot_swap_under_concurrent_requests(fitted, tmp_path) -> None:
    model, log = fitted
    promote(tmp_path, save_artifact(model, tmp_path, metrics=_metrics(0.30), data={}, encoder=None,
                                    version="v1").name)
    holder = ModelHolder(tmp_path, check_s=0.0)
    assert holder.get().version == "v1"
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def request() -> None:
        while not stop.is_set():
            try:
                served = holder.get()
                top = served.model.rank(log, 7, k=5)
                assert len(top) == 5
                seen.add(served.version)
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    retrained = small_model(seed=11).fit(log, model.items)
    promote(tmp_path, save_artifact(retrained, tmp_path, metrics=_metrics(0.31), data={}, encoder=None,
                                    version="v2").name)
    deadline = time.monotonic() + 30
    while "v2" not in seen and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    # a worse version promoted by hand (bypassing the CLI's check) is refused by the server too
    (tmp_path / "v3").mkdir()
    worse = save_artifact(retrained, tmp_path, metrics=_metrics(0.10), data={}, encoder=None, version="v3b")
    (tmp_path / "CURRENT").write_text(worse.name)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {"v1", "v2"} <= seen and holder.get().version == "v2" and holder.swaps == 2
    manifest = json.loads((tmp_path / "v2" / "manifest.json").read_text())
    assert manifest["metrics"]["model"]["NDCG@10"] == 0.31


def test_training_cli_on_a_csv_export_saves_and_promotes_a_version(tmp_path, capsys) -> None:
    import csv

    from apps.cli.recommender_commands import main
    from models.recsys.interaction_log import KINDS

    log = planted(users=120)
    path = tmp_path / "events.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer", "sku", "ts", "event", "order"])
        for row in zip(log.users, log.items, log.times, log.kinds, log.baskets, strict=True):
            w.writerow([row[0], row[1], row[2], KINDS[row[3]], row[4] if row[4] >= 0 else ""])
    args = ["train", "--data", "csv", "--csv", str(path), "--user", "customer", "--item", "sku", "--time", "ts",
            "--kind", "event", "--basket", "order", "--session-gap", "0", "--out", str(tmp_path / "models")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "promoted:" in out and "peak memory" in out
    version = current_version(tmp_path / "models")
    manifest = json.loads((tmp_path / "models" / version / "manifest.json").read_text())
    assert set(manifest["metrics"]) == {"model", "popularity", "repeat", "als", "cold-start"}
    assert manifest["data"]["events"] == len(log) and manifest["data"]["customers"] == 120
    assert main([*args, "--if-missing"]) == 0 and "is in place" in capsys.readouterr().out
    assert main(["train", "--data", "csv", "--csv", str(tmp_path / "missing.csv"), "--user", "a", "--item", "b",
                 "--time", "c", "--out", str(tmp_path / "models")]) == 1
