"""The cold-start recommender: popularity from orders, ratings (shrunk) and events,
content from text vectors and categories, reasons' evidence, the artifact (kind
``cold-start``, no pickle, tampering refused), the promotion gate between cold-start and
trained versions, and the training command on a shop with no history, then with enough."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from models.recsys.artifact import (
    ArtifactError,
    MetricsDropped,
    check_metrics,
    current_version,
    load_artifact,
    save_artifact,
)
from models.recsys.baselines import ItemSpace
from models.recsys.cold_start import ColdStartModel, ItemSignals
from models.recsys.interaction_log import InteractionLog
from models.recsys.serving import ModelHolder
from models.recsys.training import (
    TrainingData,
    customers_with_baskets,
    history_shortfall,
    main_train,
    train_and_save,
    train_cold_start,
)
from tests.models.recsys.test_preference_model import GROUPS, PER_GROUP, group_vectors
from tests.models.recsys.test_recommend_baselines import planted

ITEMS = [1, *range(1_000, 1_000 + GROUPS * PER_GROUP)]
EMPTY = InteractionLog.from_rows([])


def facts() -> dict[int, tuple[int, int, float]]:
    """Category = the item's group (the decoy item 1 has none)."""
    return {i: ((i - 1_000) // PER_GROUP if i >= 1_000 else -1, -1, 1000.0) for i in ITEMS}


def fitted(signals: ItemSignals | None = None, *, vectors: bool = True, log: InteractionLog = EMPTY
           ) -> ColdStartModel:
    return ColdStartModel(group_vectors() if vectors else None, meta_facts=facts(), signals=signals).fit(
        log, ItemSpace.of(ITEMS))


def test_popularity_weighs_orders_and_shrunk_ratings_and_says_what_it_rests_on() -> None:
    signals = ItemSignals(orders={1_000: 30, 1_001: 2},
                          ratings={1_002: (5.0, 1), 1_003: (4.7, 300), 1_004: (2.0, 300)})
    model = fitted(signals)
    top = [i for i, _ in model.popular(5)]
    assert top[0] == 1_000  # most ordered
    # one 5.0 rating is worth less than 300 ratings averaging 4.7; 300 poor ratings rank below both
    assert top.index(1_003) < top.index(1_002)
    assert model.popularity[model.items.index[1_004]] < model.popularity[model.items.index[1_002]]
    assert model.evidence(1_000).orders == 30 and model.evidence(1_003).rating_avg == pytest.approx(4.7)
    nothing = model.evidence(1_050)
    assert nothing is not None and not nothing.any and model.popularity[model.items.index[1_050]] == 0.0
    assert model.evidence(424_242) is None
    assert [i for i, _ in model.popular(2, allowed=[1_050, 1_001, 1_051])] == [1_001, 1_050]
    assert 1_000 not in [i for i, _ in model.popular(5, exclude=[1_000])]
    with pytest.raises(ValueError, match="k must be 1"):
        model.popular(0)


def test_events_and_purchases_in_the_log_count_as_popularity() -> None:
    log = InteractionLog.from_rows([(u, 1_070, float(u), "view", -1) for u in range(1, 6)]
                                   + [(9, 1_071, 10.0, "purchase", 1)])
    model = fitted(log=log)
    assert model.evidence(1_070).events == 5 and model.evidence(1_071).orders == 1
    assert {i for i, _ in model.popular(2)} == {1_070, 1_071}


def test_content_similarity_from_text_or_category() -> None:
    model = fitted()
    near = model.similar(1_045, 5)
    assert len(near) == 5 and all(1_040 <= i < 1_060 for i in near) and 1_045 not in near
    assert set(model.similar(1_045, 3, allowed=[1_001, 1_002, 1_050])) <= {1_001, 1_002, 1_050}
    assert model.similar(1_045, 3, allowed=[1_045]) == [] and model.similar(424_242, 3) == []
    by_category = fitted(vectors=False)  # a catalog without vectors: the category alone
    assert all(1_040 <= i < 1_060 for i in by_category.similar(1_045, 5))
    assert by_category.vector_index() is None and model.vector_index() is not None


def test_a_shopper_who_looked_around_gets_what_is_closest_never_the_same_products() -> None:
    model = fitted(ItemSignals(orders={1: 500}, ratings={}))  # the decoy is by far the most popular
    session = InteractionLog.from_rows([(0, 1_080 + i, 1e9 + i, "view", -1) for i in range(3)])
    top = [i for i, _ in model.rank(session, 0, k=5)]
    assert all(1_080 <= i < 1_100 for i in top) and not set(top) & {1_080, 1_081, 1_082}
    why = model.because(session, 0, top[0])
    assert why is not None and 1_080 <= why[0] < 1_083 and why[1] == "view"
    assert model.rank(EMPTY, 0, k=1)[0][0] == 1  # no history: the most popular
    assert model.because(EMPTY, 0, 1_085) is None
    assert {i for i, _ in model.rank(session, 0, k=5, allowed=[1_001, 1_002])} == {1_001, 1_002}
    # unknown products in the history (deleted since) are ignored, not an error
    assert model.rank(InteractionLog.from_rows([(0, 999_999, 1.0, "view", -1)]), 0, k=1)[0][0] == 1


def test_artifact_round_trips_with_kind_cold_start_and_refuses_tampering(tmp_path) -> None:
    model = fitted(ItemSignals({1_000: 3}, {1_001: (4.5, 10)}))
    folder = save_artifact(model, tmp_path, metrics={}, data={}, encoder="test/vec")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "cold-start" and manifest["model"] == "ColdStartModel"
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "manifest.json"]  # no pickle
    loaded, _ = load_artifact(folder)
    assert isinstance(loaded, ColdStartModel)
    assert loaded.popular(3) == model.popular(3) and loaded.similar(1_045, 5) == model.similar(1_045, 5)
    assert loaded.evidence(1_001) == model.evidence(1_001)
    with open(folder / "arrays.npz", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ArtifactError, match="SHA-256 mismatch"):
        load_artifact(folder)


def test_a_forged_cold_start_file_with_pickled_objects_is_not_unpickled(tmp_path) -> None:
    np.savez(tmp_path / "arrays.npz", item_ids=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        ColdStartModel.load(tmp_path, {"prior_count": 5})


def test_manifest_of_an_unknown_model_class_is_refused(tmp_path) -> None:
    folder = save_artifact(fitted(), tmp_path, metrics={}, data={}, encoder=None, version="v1")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "model": "os.system"}))
    with pytest.raises(ArtifactError, match="not one of"):
        load_artifact(folder)


def _trained_manifest(version: str, ndcg: float, cold: float | None) -> dict:
    metrics = {"model": {"NDCG@10": ndcg}, **({"cold-start": {"NDCG@10": cold}} if cold is not None else {})}
    return {"version": version, "kind": "preference", "metrics": metrics}


def test_promotion_gate_between_cold_start_and_trained_versions() -> None:
    cold = {"version": "c1", "kind": "cold-start", "metrics": {}}
    check_metrics(cold, None)  # a brand-new shop: nothing served
    check_metrics(cold, {"version": "c0", "kind": "cold-start"})  # a fresher cold-start version
    with pytest.raises(MetricsDropped, match="does not replace the trained version t1"):
        check_metrics(cold, _trained_manifest("t1", 0.3, 0.1))
    with pytest.raises(MetricsDropped, match="does not replace"):  # old manifests have no kind: trained
        check_metrics(cold, {"version": "t0", "metrics": {"model": {"NDCG@10": 0.2}}})
    check_metrics(_trained_manifest("t1", 0.30, 0.20), cold)  # better than cold start on the same baskets
    with pytest.raises(MetricsDropped, match="below the cold-start model's 0.2000"):
        check_metrics(_trained_manifest("t1", 0.10, 0.20), cold)
    with pytest.raises(MetricsDropped, match="no offline NDCG@10"):
        check_metrics({"version": "t2", "kind": "preference", "metrics": {}}, cold)


@pytest.mark.slow
def test_training_a_brand_new_shop_makes_a_cold_start_version_then_the_real_model_replaces_it(
        tmp_path, capsys) -> None:
    import argparse

    root = tmp_path / "models"
    args = argparse.Namespace(out=str(root), session_gap=0.0, no_promote=False, force=False, cold_start=False,
                              min_customers=20)
    empty = TrainingData(EMPTY, ITEMS, group_vectors(), facts(), ItemSignals({}, {1_010: (4.8, 12)}), "test/vec")
    assert main_train(args, lambda: empty) == 0
    out = capsys.readouterr().out
    assert "COLD START" in out and "0 customers with 3 or more purchase baskets" in out
    assert "kind: cold-start" in out and "promoted:" in out
    first = current_version(root)
    manifest = json.loads((root / first / "manifest.json").read_text())
    assert manifest["kind"] == "cold-start" and manifest["data"]["why_cold_start"].startswith("0 customers")
    holder = ModelHolder(root, check_s=0.0)
    assert holder.get().model.kind == "cold-start"

    # the history grows: the real model is trained, measured against the cold-start model, and replaces it
    log = planted(users=120)
    grown = TrainingData(log, ITEMS, group_vectors(), facts(), ItemSignals({}, {}), "test/vec")
    assert main_train(args, lambda: grown) == 0
    out = capsys.readouterr().out
    assert "cold-start: NDCG@10" in out and "COLD START" not in out
    second = current_version(root)
    manifest = json.loads((root / second / "manifest.json").read_text())
    assert second != first and manifest["kind"] == "preference"
    assert manifest["metrics"]["model"]["NDCG@10"] > manifest["metrics"]["cold-start"]["NDCG@10"]
    deadline = time.monotonic() + 30  # the server swaps a new version in from a background thread
    while holder.get().version != second and time.monotonic() < deadline:
        time.sleep(0.05)
    assert holder.get().version == second and holder.get().model.kind == "preference"

    # too little history again (say the data was purged): the trained version stays, exit 1
    assert main_train(args, lambda: empty) == 1
    assert "stays served" in capsys.readouterr().err and current_version(root) == second
    # asking for a cold-start version saves one, but it is not promoted over the trained one
    assert main_train(argparse.Namespace(**{**vars(args), "cold_start": True}), lambda: empty) == 3
    assert "does not replace the trained version" in capsys.readouterr().err and current_version(root) == second


def test_history_shortfall_counts_customers_with_three_baskets() -> None:
    log = InteractionLog.from_rows([(1, 10, float(t), "purchase", t) for t in range(3)]
                                   + [(2, 10, 0.0, "purchase", -1), (2, 11, 1.0, "purchase", -1)]
                                   + [(3, 10, float(t), "view", -1) for t in range(9)])
    assert customers_with_baskets(log) == 1
    assert history_shortfall(log, min_customers=1) is None
    assert history_shortfall(log, min_customers=2) == ("1 customer with 3 or more purchase baskets; "
                                                       "the preference model needs 2")
    with pytest.raises(ValueError, match="min_customers"):
        history_shortfall(log, min_customers=0)


@pytest.mark.slow
def test_trained_versions_record_the_cold_start_model_on_the_same_split(tmp_path) -> None:
    log = planted(users=120)
    result = train_and_save(log, ITEMS, tmp_path, vectors=group_vectors(), facts=facts(),
                            signals=ItemSignals({1: 10_000}, {}), session_gap_s=0.0,
                            model_options={"dim": 16, "epochs": 4, "candidates": 30})
    assert result.kind == "preference" and "cold-start" in result.metrics
    assert 0.0 < result.metrics["cold-start"]["NDCG@10"] < result.metrics["model"]["NDCG@10"]
    cold = train_cold_start(TrainingData(EMPTY, ITEMS), tmp_path, why="test", promote_it=True)
    assert not cold.promoted and "does not replace" in (cold.refusal or "")
    assert current_version(tmp_path) == result.folder.name
