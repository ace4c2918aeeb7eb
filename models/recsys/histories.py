"""Training examples for next-basket models: for every purchase basket of a user (after
their first), the user's history *before* it as a sparse weighted item vector, and the
basket's items as targets.

History weights: each event's kind weight (``KIND_WEIGHTS``) times ``decay`` to the
power of how many of the user's baskets lie between the event and the moment of
prediction (units-free, so it works for timestamps and for order numbers alike).
Events within ``session_gap_s`` before the predicted basket are left out, as in
:mod:`models.recsys.split`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from models.recsys.baselines import ItemSpace
from models.recsys.interaction_log import PURCHASE, InteractionLog

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


@dataclass(frozen=True)
class Examples:
    """``histories``: CSR ``(examples, items)`` float32; ``users``: ``(examples,)`` user ids;
    ``targets``: per example, the item columns of the basket; ``times``: when the
    basket was bought."""

    histories: csr_matrix
    users: np.ndarray
    targets: list[np.ndarray]
    times: np.ndarray

    def __len__(self) -> int:
        return len(self.users)


def _baskets(log: InteractionLog) -> dict[int, list[tuple[float, int, np.ndarray]]]:
    """user -> [(time, basket id, item rows)] of purchase baskets, by time."""
    purchases = np.flatnonzero(log.kinds == PURCHASE)
    keys = np.where(log.baskets[purchases] >= 0, log.baskets[purchases], -(purchases + 2))
    out: dict[int, dict[int, list[int]]] = {}
    times: dict[tuple[int, int], float] = {}
    for row, key in zip(purchases.tolist(), keys.tolist(), strict=True):
        user = int(log.users[row])
        out.setdefault(user, {}).setdefault(key, []).append(row)
        times[(user, key)] = max(times.get((user, key), -np.inf), float(log.times[row]))
    return {u: sorted(((times[(u, k)], k, np.asarray(rows)) for k, rows in b.items()), key=lambda x: (x[0], x[1]))
            for u, b in out.items()}


def history_matrix(log: InteractionLog, items: ItemSpace, users: list[int], at: list[float], *,
                   decay: float = 0.9, session_gap_s: float = 0.0) -> csr_matrix:
    """CSR ``(len(users), items)``: each user's weighted history before ``at[i] -
    session_gap_s`` (see the module doc)."""
    from scipy.sparse import csr_matrix

    if not 0 < decay <= 1:
        raise ValueError("decay must be in (0, 1]")
    baskets = _baskets(log)
    by_user: dict[int, np.ndarray] = {}
    order = np.argsort(log.users, kind="stable")
    starts = np.searchsorted(log.users[order], np.unique(log.users))
    ends = [*starts[1:].tolist(), len(order)] if len(order) else []
    for u, s, e in zip(np.unique(log.users).tolist(), starts.tolist(), ends, strict=True):
        by_user[u] = order[s:e]
    weights = log.weights()
    cols_all = items.columns(log.items)
    rows_out, cols_out, vals_out = [], [], []
    for n, (user, t) in enumerate(zip(users, at, strict=True)):
        rows = by_user.get(int(user))
        if rows is None:
            continue
        limit = t - session_gap_s
        rows = rows[log.times[rows] < limit]
        if not len(rows):
            continue
        basket_times = np.array([b[0] for b in baskets.get(int(user), []) if b[0] < limit])
        # baskets bought at or after each event (and before the prediction): how stale it is
        age = len(basket_times) - np.searchsorted(basket_times, log.times[rows], side="left")
        w = weights[rows] * decay ** age
        cols = cols_all[rows]
        keep = cols >= 0
        rows_out.append(np.full(int(keep.sum()), n))
        cols_out.append(cols[keep])
        vals_out.append(w[keep])
    if rows_out:
        r, c, v = np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(vals_out)
    else:
        r = c = np.zeros(0, np.int64)
        v = np.zeros(0, np.float32)
    matrix = csr_matrix((v.astype(np.float32), (r, c)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    return matrix


def next_basket_examples(log: InteractionLog, items: ItemSpace, *, decay: float = 0.9,
                         session_gap_s: float = 0.0, min_history_baskets: int = 1) -> Examples:
    """One example per basket that has at least ``min_history_baskets`` earlier baskets."""
    users, times, targets = [], [], []
    for user, baskets in _baskets(log).items():
        for k, (t, _key, rows) in enumerate(baskets):
            if k < min_history_baskets:
                continue
            cols = items.columns(log.items[rows])
            cols = np.unique(cols[cols >= 0])
            if len(cols):
                users.append(user)
                times.append(t)
                targets.append(cols)
    histories = history_matrix(log, items, users, times, decay=decay, session_gap_s=session_gap_s)
    return Examples(histories, np.asarray(users, np.int64), targets, np.asarray(times, np.float64))


def last_times(log: InteractionLog) -> dict[int, float]:
    """user -> a moment just after their last event (to predict "now")."""
    out: dict[int, float] = {}
    for u, t in zip(log.users.tolist(), log.times.tolist(), strict=True):
        out[u] = max(out.get(u, -np.inf), t)
    return {u: t + 1e-3 for u, t in out.items()}


def basket_counts(log: InteractionLog, users: list[int], at: list[float], *, session_gap_s: float = 0.0) -> np.ndarray:
    """How many purchase baskets each user bought before ``at[i] - session_gap_s``, float64."""
    baskets = _baskets(log)
    out = np.zeros(len(users), dtype=np.float64)
    for n, (user, t) in enumerate(zip(users, at, strict=True)):
        times = [b[0] for b in baskets.get(int(user), [])]
        out[n] = float(np.searchsorted(np.asarray(times), t - session_gap_s, side="left"))
    return out


def median_baskets(log: InteractionLog) -> float:
    """The median number of purchase baskets of the users who bought anything (0 when
    nobody did)."""
    counts = [len(b) for b in _baskets(log).values()]
    return float(np.median(counts)) if counts else 0.0
