"""Classical recommenders, the yardsticks the preference model must beat.

Every model has the same shape:

- ``fit(train, items)`` learns from an :class:`~models.recsys.interaction_log.InteractionLog`
  over an :class:`ItemSpace` (the items that may be recommended) and returns itself;
- ``score(users)`` gives ``(len(users), len(items))`` float32 scores, higher is better,
  for any user ids (users unseen in training get the model's cold-start scores:
  popularity for the collaborative models);
- ``recommend(user, k, exclude=())`` the top ``k`` item ids, best first.

Models: :class:`Popularity`, :class:`RepeatHistory` (buy it again), :class:`ItemKNN`
(cosine co-occurrence), :class:`ALS` and
:class:`BPR` (the ``implicit`` library), :class:`ContentKNN` (MiniLM similarity of item
texts to what the user interacted with).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from models.recsys.interaction_log import KINDS, InteractionLog

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


@dataclass(frozen=True)
class ItemSpace:
    """The recommendable items: sorted int64 ``ids`` and their column ``index``."""

    ids: np.ndarray
    index: Mapping[int, int] = field(repr=False)

    @classmethod
    def of(cls, ids: Collection[int] | np.ndarray) -> ItemSpace:
        unique = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64))
        return cls(unique, {int(i): n for n, i in enumerate(unique.tolist())})

    def __len__(self) -> int:
        return len(self.ids)

    def columns(self, item_ids: np.ndarray) -> np.ndarray:
        """Column of each id, -1 for ids outside the space."""
        return np.array([self.index.get(int(i), -1) for i in item_ids], dtype=np.int64)


def user_item_matrix(train: InteractionLog, items: ItemSpace, *,
                     kind_weights: Mapping[str, float] | None = None) -> tuple[csr_matrix, dict[int, int]]:
    """CSR ``(users, items)`` float32 of summed event weights, and user id -> row."""
    from scipy.sparse import csr_matrix

    cols = items.columns(train.items)
    keep = cols >= 0
    users = train.users[keep]
    user_ids = np.unique(users)
    rows_of = {int(u): n for n, u in enumerate(user_ids.tolist())}
    rows = np.searchsorted(user_ids, users)
    matrix = csr_matrix((train.weights(kind_weights)[keep], (rows, cols[keep])),
                        shape=(len(user_ids), len(items)), dtype=np.float32)
    matrix.sum_duplicates()
    return matrix, rows_of


class Recommender:
    """Shared ``recommend`` on top of a subclass's ``fit`` and ``score``."""

    name = "base"

    def fit(self, train: InteractionLog, items: ItemSpace) -> Recommender:
        raise NotImplementedError

    def score(self, users: Sequence[int]) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, user: int, k: int = 10, *, exclude: Collection[int] = ()) -> list[int]:
        """Top ``k`` item ids for ``user``, best first, without ``exclude``."""
        if k < 1:
            raise ValueError("k must be 1 or more")
        scores = self.score([user])[0].astype(np.float64)
        if exclude:
            cols = self.items.columns(np.fromiter(exclude, dtype=np.int64))
            scores[cols[cols >= 0]] = -np.inf
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(self.items.ids[i]) for i in top if np.isfinite(scores[i])]

    def _closest_history_event(self, log: InteractionLog, *, user: int, item: int,
                               closeness: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
                               ) -> tuple[int, str] | None:
        """``(history item id, kind)`` of the event in ``user``'s ``log`` history (items of
        the space other than ``item``) that ``closeness(col, rows, hist_cols)`` scores
        highest (``col``: ``item``'s column, ``rows``: the events' rows in ``log``,
        ``hist_cols``: their items' columns; the first of equals), or ``None`` without
        such history: what a model's ``because`` answers."""
        col = self.items.index.get(int(item))
        rows = np.flatnonzero(log.users == user)
        if col is None or not len(rows):
            return None
        hist_cols = self.items.columns(log.items[rows])
        ok = (hist_cols >= 0) & (log.items[rows] != item)
        if not ok.any():
            return None
        rows, hist_cols = rows[ok], hist_cols[ok]
        best = int(np.argmax(closeness(col, rows, hist_cols)))
        return int(log.items[rows[best]]), KINDS[int(log.kinds[rows[best]])]

    items: ItemSpace


class Popularity(Recommender):
    """Items by summed event weight in training (purchases count most); the same list
    for everyone."""

    name = "popularity"

    def fit(self, train: InteractionLog, items: ItemSpace) -> Popularity:
        self.items = items
        cols = items.columns(train.items)
        keep = cols >= 0
        counts = np.bincount(cols[keep], weights=train.weights()[keep], minlength=len(items))
        self.scores = (counts / max(counts.max(), 1.0)).astype(np.float32)
        return self

    def score(self, users: Sequence[int]) -> np.ndarray:
        return np.tile(self.scores, (len(users), 1))


class _HistoryModel(Recommender):
    """A model that scores from the user's training history row, with popularity for
    users who have none (and as a tiny tie-breaker for everyone)."""

    history: csr_matrix  # (users, items) summed event weights, rows as in ``rows``
    rows: dict[int, int]  # user id -> row of ``history``
    popularity: np.ndarray

    def _fit_history(self, train: InteractionLog, items: ItemSpace) -> None:
        self.items = items
        self.history, self.rows = user_item_matrix(train, items)
        self.popularity = Popularity().fit(train, items).scores

    def _rows(self, users: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(rows of known users, their positions in ``users``)."""
        pairs = [(self.rows[int(u)], n) for n, u in enumerate(users) if int(u) in self.rows]
        if not pairs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        rows, where = zip(*pairs, strict=True)
        return np.asarray(rows, np.int64), np.asarray(where, np.int64)

    def _combine(self, users: Sequence[int], known: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        out = np.tile(self.popularity * 1e-3, (len(users), 1)).astype(np.float32)
        rows, where = self._rows(users)
        if len(rows):
            out[where] += known(rows).astype(np.float32)
        return out


class RepeatHistory(_HistoryModel):
    """What the user already interacted with, by summed event weight (purchases count
    most), then popularity: the "buy it again" yardstick, strong where shoppers
    re-order (groceries)."""

    name = "repeat history"

    def fit(self, train: InteractionLog, items: ItemSpace) -> RepeatHistory:
        self._fit_history(train, items)
        return self

    def score(self, users: Sequence[int]) -> np.ndarray:
        return self._combine(users, lambda rows: self.history[rows].toarray())


class ItemKNN(_HistoryModel):
    """Item-based collaborative filtering: cosine similarity of item columns of the
    binarised user-item matrix, ``neighbours`` kept per item; a user's score for an
    item is the similarity-weighted sum over their (weighted) history."""

    name = "item-kNN"

    def __init__(self, *, neighbours: int = 100) -> None:
        if neighbours < 1:
            raise ValueError("neighbours must be 1 or more")
        self.neighbours = neighbours

    def fit(self, train: InteractionLog, items: ItemSpace) -> ItemKNN:
        from scipy.sparse import csr_matrix

        self._fit_history(train, items)
        binary = (self.history > 0).astype(np.float32)
        co = (binary.T @ binary).tocsr()
        norms = np.sqrt(np.asarray(co.diagonal(), dtype=np.float64))
        norms[norms == 0] = 1.0
        co.setdiag(0)
        co.eliminate_zeros()
        co = co.tocoo()
        sims = co.data / (norms[co.row] * norms[co.col])
        # keep the top ``neighbours`` per item (row)
        order = np.lexsort((-sims, co.row))
        rows, cols, sims = co.row[order], co.col[order], sims[order]
        starts = np.searchsorted(rows, np.arange(len(items)))
        rank = np.arange(len(rows)) - starts[rows]
        keep = rank < self.neighbours
        self.similarity = csr_matrix((sims[keep].astype(np.float32), (rows[keep], cols[keep])),
                                     shape=(len(items), len(items)))
        return self

    def score(self, users: Sequence[int]) -> np.ndarray:
        return self._combine(users, lambda rows: (self.history[rows] @ self.similarity).toarray())


class _Factorisation(Protocol):
    """What :class:`_ImplicitModel` uses of an ``implicit`` model."""

    user_factors: np.ndarray
    item_factors: np.ndarray

    def fit(self, user_items: csr_matrix, *, show_progress: bool) -> None: ...


class _ImplicitModel(_HistoryModel):
    """Shared code of the ``implicit`` library's factorisation models."""

    def _factors(self, make: Callable[[], _Factorisation], train: InteractionLog, items: ItemSpace) -> None:
        from threadpoolctl import threadpool_limits

        self._fit_history(train, items)
        with threadpool_limits(1, "blas"):  # implicit runs its own threads; BLAS ones fight them
            model = make()
            model.fit(self.history, show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def score(self, users: Sequence[int]) -> np.ndarray:
        return self._combine(users, lambda rows: self.user_factors[rows] @ self.item_factors.T)


class ALS(_ImplicitModel):
    """Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008), ``implicit``'s
    CPU ALS; confidence = 1 + ``alpha`` x event weight."""

    name = "ALS"

    def __init__(self, *, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
                 iterations: int = 20, seed: int = 7) -> None:
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha,
                       "iterations": iterations, "random_state": seed}

    def fit(self, train: InteractionLog, items: ItemSpace) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares

        self._factors(lambda: AlternatingLeastSquares(**self.params), train, items)
        return self


class BPR(_ImplicitModel):
    """Bayesian personalised ranking (Rendle et al. 2009), ``implicit``'s CPU BPR."""

    name = "BPR"

    def __init__(self, *, factors: int = 64, learning_rate: float = 0.05, regularization: float = 0.01,
                 iterations: int = 100, seed: int = 7) -> None:
        self.params = {"factors": factors, "learning_rate": learning_rate, "regularization": regularization,
                       "iterations": iterations, "random_state": seed}

    def fit(self, train: InteractionLog, items: ItemSpace) -> BPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self._factors(lambda: BayesianPersonalizedRanking(**self.params), train, items)
        return self


class ContentKNN(_HistoryModel):
    """Content-only: each item is its text's MiniLM vector (``item_vectors``: id ->
    ``(384,)`` unit vector); a user is the weighted mean of what they interacted with;
    the score is cosine similarity. Needs no co-occurrence, so new items score too."""

    name = "content (MiniLM)"

    def __init__(self, item_vectors: Mapping[int, np.ndarray]) -> None:
        self.item_vectors = item_vectors

    def fit(self, train: InteractionLog, items: ItemSpace) -> ContentKNN:
        self._fit_history(train, items)
        dim = len(next(iter(self.item_vectors.values()))) if self.item_vectors else 1
        self.vectors = np.zeros((len(items), dim), dtype=np.float32)
        for n, item in enumerate(items.ids.tolist()):
            vector = self.item_vectors.get(int(item))
            if vector is not None:
                self.vectors[n] = vector
        return self

    def score(self, users: Sequence[int]) -> np.ndarray:
        def known(rows: np.ndarray) -> np.ndarray:
            profiles = np.asarray(self.history[rows] @ self.vectors)
            norms = np.linalg.norm(profiles, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            return (profiles / norms) @ self.vectors.T

        return self._combine(users, known)

