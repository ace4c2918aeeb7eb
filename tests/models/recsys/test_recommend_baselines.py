"""Interaction logs, the temporal split, the baselines and the evaluation protocol, on
small planted data, the real shop database, and (when the package is installed) the
real Instacart sample."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta

import numpy as np
import pytest

from models.recsys.baselines import (
    ALS,
    BPR,
    ContentKNN,
    ItemKNN,
    ItemSpace,
    Popularity,
    RepeatHistory,
)
from models.recsys.evaluate import METRICS, evaluate, format_table
from models.recsys.interaction_log import (
    PURCHASE,
    ColumnMapping,
    InteractionLog,
    from_csv,
    from_database,
    instacart_sample,
    instacart_sample_path,
)
from models.recsys.split import leave_last_basket_out
from shop.db.engine import session_scope


def planted(seed: int = 0, users: int = 300, groups: int = 6, per_group: int = 20, orders: int = 5) -> InteractionLog:
    """Each user belongs to one group of items and buys 2 items of it per order, plus a
    globally popular item now and then: taste is planted, popularity is a decoy."""
    rng = np.random.default_rng(seed)
    rows = []
    basket = 0
    for u in range(users):
        g = u % groups
        for o in range(orders):
            t = float(o * 86_400 * 7 + u)
            basket += 1
            for item in rng.choice(per_group, size=2, replace=False):
                rows.append((u, 1_000 + g * per_group + int(item), t, "purchase", basket))
            if rng.random() < 0.15:
                rows.append((u, 1, t, "purchase", basket))  # the popular decoy
            rows.append((u, 1_000 + g * per_group + int(rng.integers(per_group)), t - 7_200, "view", -1))
    return InteractionLog.from_rows(rows)


def test_log_rows_sort_and_reject_unknown_kinds() -> None:
    log = InteractionLog.from_rows([(2, 5, 9.0, "view", -1), (1, 6, 3.0, "purchase", 7)])
    assert log.times.tolist() == [3.0, 9.0] and log.kinds.tolist() == [PURCHASE, 0]
    assert log.weights().tolist() == [8.0, 1.0]
    with pytest.raises(ValueError, match="row 1: unknown interaction kind 'like'"):
        InteractionLog.from_rows([(1, 1, 1.0, "like", -1)])


def test_split_holds_out_the_last_basket_and_its_session() -> None:
    log = InteractionLog.from_rows([
        (1, 10, 0, "purchase", 100), (1, 11, 0, "purchase", 100),
        (1, 12, 5_000, "view", -1), (1, 13, 9_000, "view", -1),      # 13: same session as the target
        (1, 14, 10_000, "purchase", 101), (1, 15, 10_000, "purchase", 101), (1, 16, 20_000, "view", -1),
        (2, 10, 0, "purchase", 200),                                   # one basket: trained on, not tested
        (3, 10, 0, "purchase", -1), (3, 11, 1, "purchase", -1),       # no basket ids: one event, one basket
    ])
    split = leave_last_basket_out(log, session_gap_s=1_800)
    assert split.targets == {1: frozenset({14, 15}), 3: frozenset({11})}
    kept = set(zip(split.train.users.tolist(), split.train.items.tolist(), strict=True))
    assert kept == {(1, 10), (1, 11), (1, 12), (2, 10)}  # 13 (session), 14-16 (target and after) are gone
    assert (3, 10) not in kept  # within 1,800 "seconds" of its target; with gap 0 it stays:
    assert (3, 10) in set(zip(*(a.tolist() for a in (leave_last_basket_out(log, session_gap_s=0).train.users,
                                                       leave_last_basket_out(log, session_gap_s=0).train.items)),
                              strict=True))
    with pytest.raises(ValueError, match="min_baskets"):
        leave_last_basket_out(log, min_baskets=1)


def test_csv_mapping_reads_exports_and_names_bad_columns_and_lines(tmp_path) -> None:
    path = tmp_path / "events.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer", "sku_id", "when", "event", "order"])
        w.writerow([1, 10, "2026-01-02T10:00:00", "buy", 5])
        w.writerow([1, 11, "2026-01-01T10:00:00", "view", ""])
    mapping = ColumnMapping(user="customer", item="sku_id", time="when", kind="event", basket="order",
                            kind_values={"buy": "purchase"})
    log = from_csv(path, mapping)
    assert log.items.tolist() == [11, 10] and log.baskets.tolist() == [-1, 5]
    with pytest.raises(ValueError, match="missing column"):
        from_csv(path, ColumnMapping(user="user_id", item="sku_id", time="when"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("x,12,2026-01-03T10:00:00,view,\n")
    with pytest.raises(ValueError, match="line 4"):
        from_csv(path, mapping)


@pytest.mark.parametrize("factory", [ItemKNN, ALS, BPR, RepeatHistory])
def test_collaborative_baselines_beat_popularity_on_planted_taste(factory) -> None:
    split = leave_last_basket_out(planted(), session_gap_s=0)
    items = ItemSpace.of(np.unique(np.concatenate([split.train.items, planted().items])))
    base = evaluate(Popularity(), split, items)
    report = evaluate(factory(), split, items)
    assert report.values["NDCG@10"] > base.values["NDCG@10"] + 0.05, (report.values, base.values)


def test_recommend_excludes_and_cold_users_get_popular_items() -> None:
    log = planted(users=60)
    items = ItemSpace.of(log.items)
    model = ALS(factors=16, iterations=5).fit(log, items)
    top = model.recommend(3, k=5)
    assert len(top) == 5 and len(set(top)) == 5
    assert not set(model.recommend(3, k=5, exclude=top)) & set(top)
    assert model.recommend(99_999, k=1) == [1]  # unseen user: the most popular item
    with pytest.raises(ValueError, match="k must be"):
        model.recommend(3, k=0)


def test_content_model_scores_new_items_by_text_similarity() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=8), rng.normal(size=8)
    vectors = {i: (a if i < 5 else b) + 0.05 * rng.normal(size=8) for i in range(10)}
    vectors = {i: (v / np.linalg.norm(v)).astype(np.float32) for i, v in vectors.items()}
    log = InteractionLog.from_rows([(1, 0, 0, "purchase", 1), (1, 1, 1, "purchase", 2)])
    model = ContentKNN(vectors).fit(log, ItemSpace.of(range(10)))
    top = model.recommend(1, k=5, exclude=[0, 1])
    assert set(top[:3]) == {2, 3, 4}  # never bought, but the same kind of thing


def test_evaluation_table_lists_every_metric() -> None:
    split = leave_last_basket_out(planted(users=60), session_gap_s=0)
    items = ItemSpace.of(planted(users=60).items)
    reports = [evaluate(Popularity(), split, items), evaluate(ItemKNN(), split, items)]
    table = format_table(reports)
    assert all(m in table for m in METRICS) and "item-kNN" in table
    assert reports[0].users == 60 and 0 <= reports[1].values["AUC"] <= 1


def test_shop_database_log_has_baskets_and_evaluates(db_url, demo_shop) -> None:
    demo_shop(seed=3, scale=0.05, as_of=datetime(2026, 1, 1), url=db_url)
    with session_scope(db_url) as s:
        log = from_database(s)
        recent = from_database(s, since=datetime(2026, 1, 1) - timedelta(days=30))
    assert len(log) > 1_000 and 0 < len(recent) < len(log)
    purchases = log.purchases()
    assert (purchases.baskets >= 0).all()
    split = leave_last_basket_out(log)
    assert split.targets
    report = evaluate(ALS(factors=16, iterations=5), split, ItemSpace.of(log.items))
    assert report.users == len(split.targets)


def test_instacart_sample_when_installed() -> None:
    try:
        instacart_sample_path()
    except FileNotFoundError as exc:
        pytest.skip(f"Instacart sample not installed ({exc}); the benchmark fetches it at run time")
    log = instacart_sample()
    assert len(log) == 150_000 and len(log.user_ids) == 593
    split = leave_last_basket_out(log, session_gap_s=0)
    assert len(split.targets) == 593


def test_new_customers_keep_only_their_first_basket() -> None:
    from models.recsys.split import new_customers

    split = leave_last_basket_out(planted(users=50), session_gap_s=0)
    cold = new_customers(split, fraction=0.2, keep_baskets=1, seed=1)
    assert len(cold.targets) == 10 and set(cold.targets) <= set(split.targets)
    for user in cold.targets:
        kept = cold.train.take(cold.train.users == user)
        assert len(np.unique(kept.baskets[kept.baskets >= 0])) == 1  # one order left
        assert cold.targets[user] == split.targets[user]
    others = [u for u in split.targets if u not in cold.targets]
    assert all((cold.train.users == u).sum() == (split.train.users == u).sum() for u in others)
    with pytest.raises(ValueError, match="fraction"):
        new_customers(split, fraction=0)
