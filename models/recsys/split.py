"""Temporal leave-last-out split: for every user with at least ``min_baskets``
purchase baskets, the last basket is the test target and everything *before its
session* (any kind of event) is training data. Events later than the target's time
minus ``session_gap_s`` are dropped for that user, so no model sees the future, nor
the views and clicks of the very session that ended in the purchase (in the demo shop
every bought item was viewed 1-3 minutes before: with the session kept, "recommend
what they just looked at" would look like foresight).

A *basket* is one checkout (an Instacart order, a demo-shop order). Logs without
basket ids treat each purchase event as its own basket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.recsys.interaction_log import PURCHASE, InteractionLog


@dataclass(frozen=True)
class Split:
    """``train``: the events a model may learn from; ``targets``: user -> item ids of
    their held-out last basket; ``cutoffs``: user -> the time of that basket."""

    train: InteractionLog
    targets: dict[int, frozenset[int]]
    cutoffs: dict[int, float]

    def describe(self) -> str:
        sizes = [len(v) for v in self.targets.values()]
        mean = float(np.mean(sizes)) if sizes else 0.0
        return f"train: {self.train.describe()}; test: {len(self.targets):,} users, {mean:.1f} items a basket"


DEFAULT_SESSION_GAP_S = 1800.0


def leave_last_basket_out(log: InteractionLog, *, min_baskets: int = 2,
                          session_gap_s: float = DEFAULT_SESSION_GAP_S) -> Split:
    """Split ``log`` (see the module doc). Users with fewer than ``min_baskets``
    baskets keep all their events in training and are not tested. ``session_gap_s``:
    seconds before the target basket whose events are left out too (default 30 min;
    0 for logs whose clock is an order number, like Instacart's)."""
    if min_baskets < 2:
        raise ValueError("min_baskets must be 2 or more (a user needs a history and a target)")
    if session_gap_s < 0:
        raise ValueError("session_gap_s must be 0 or more")
    purchases = np.flatnonzero(log.kinds == PURCHASE)
    baskets = np.where(log.baskets[purchases] >= 0, log.baskets[purchases], -(purchases + 2))
    last: dict[int, tuple[float, int]] = {}
    count: dict[int, set[int]] = {}
    for row, basket in zip(purchases.tolist(), baskets.tolist(), strict=True):
        user = int(log.users[row])
        count.setdefault(user, set()).add(basket)
        t = float(log.times[row])
        if user not in last or (t, basket) > last[user]:  # latest basket; ties: the higher id
            last[user] = (t, basket)
    tested = {u for u, b in count.items() if len(b) >= min_baskets}
    cutoffs = {u: last[u][0] for u in tested}
    targets: dict[int, set[int]] = {u: set() for u in tested}
    for row, basket in zip(purchases.tolist(), baskets.tolist(), strict=True):
        user = int(log.users[row])
        if user in tested and basket == last[user][1]:
            targets[user].add(int(log.items[row]))
    cutoff_of = np.array([cutoffs.get(int(u), np.inf) for u in log.users], dtype=np.float64)
    keep = log.times < cutoff_of - session_gap_s
    return Split(train=log.take(keep), targets={u: frozenset(v) for u, v in targets.items()}, cutoffs=cutoffs)


def new_customers(split: Split, *, fraction: float = 0.2, keep_baskets: int = 1, seed: int = 0) -> Split:
    """The cold-start protocol: a random ``fraction`` of ``split``'s test users become
    new customers, keeping in training only their events up to (and including) their
    first ``keep_baskets`` purchase baskets; everyone else's training events stay as
    they are. The returned split tests only those users, on the same held-out baskets."""
    if not 0 < fraction <= 1:
        raise ValueError("fraction must be in (0, 1]")
    if keep_baskets < 1:
        raise ValueError("keep_baskets must be 1 or more")
    rng = np.random.default_rng(seed)
    users = np.array(sorted(split.targets), dtype=np.int64)
    chosen = set(rng.choice(users, size=max(1, int(round(fraction * len(users)))), replace=False).tolist())
    train = split.train
    purchases = np.flatnonzero(train.kinds == PURCHASE)
    keys = np.where(train.baskets[purchases] >= 0, train.baskets[purchases], -(purchases + 2))
    seen: dict[int, list[tuple[float, int]]] = {}
    for row, key in zip(purchases.tolist(), keys.tolist(), strict=True):
        user = int(train.users[row])
        if user in chosen:
            seen.setdefault(user, []).append((float(train.times[row]), key))
    limit: dict[int, float] = {}
    for user, baskets in seen.items():
        firsts: dict[int, float] = {}
        for t, key in sorted(baskets):
            firsts.setdefault(key, t)
        ordered = sorted(firsts.values())
        limit[user] = ordered[min(keep_baskets, len(ordered)) - 1]
    cut = np.array([limit.get(int(u), np.inf) if int(u) in chosen else np.inf for u in train.users])
    keep = train.times <= cut
    targets = {u: v for u, v in split.targets.items() if u in chosen}
    return Split(train=train.take(keep), targets=targets, cutoffs={u: split.cutoffs[u] for u in targets})
