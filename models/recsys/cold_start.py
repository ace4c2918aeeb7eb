"""The cold-start recommender: what a brand-new shop serves until it has the history the
preference model needs (:mod:`models.recsys.training` decides which one is trained).

It learns nothing from baskets. It ranks by evidence the shop already has, and keeps
that evidence so every recommendation can say why:

- **Popularity**: order lines per product (the ``orders`` table, cancelled orders
  left out; purchase events count when there are more of them than order lines),
  views, clicks and add-to-carts in ``interactions`` (a purchase is worth
  :data:`~models.recsys.interaction_log.KIND_WEIGHTS`'s 8, a view 1), and ratings:
  the average shrunk towards the catalog's mean by ``prior_count`` pseudo-ratings
  (a 5.0 from one shopper counts less than 4.7 from 300), mapped from 1..5 stars to
  0..1 and weighted from 0.5 (few ratings) to 1 (the most rated product), so many
  poor ratings never beat a few good ones. ``popularity = DEMAND_SHARE * demand +
  (1 - DEMAND_SHARE) * rating``, demand being ``log(1 + 8 x orders + event weights)``
  scaled to 0..1 over the catalog; a product with no orders, events or ratings
  scores 0.
- **Content**: each product's MiniLM vector (the search index's, the same text the
  preference model's item tower starts from) and its category. "Similar" is cosine
  similarity plus :data:`SAME_CATEGORY` for the same category (category alone when
  the catalog has no vectors); a shopper with a few clicks or views is ranked by
  similarity to what they looked at, plus a little popularity.

The model has the same serving methods as :class:`~models.recsys.preference.PreferenceModel`
(``rank``, ``similar``, ``because``, ``vector_index``, ``items``) and :meth:`evidence`
for the reasons; ``kind`` is ``"cold-start"``, which the artifact manifest records.
Its files are plain arrays (``arrays.npz``), no pickle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.recsys.baselines import ItemSpace, Recommender
from models.recsys.interaction_log import KIND_WEIGHTS, PURCHASE, InteractionLog
from retrieval.index import VectorIndex, build_vector_index
from shop.db.schema import Order, OrderItem, Product

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

KIND = "cold-start"
#: share of popularity that comes from demand (orders and events); the rest from ratings
DEMAND_SHARE = 0.6
#: closeness bonus for a product of the same category ("similar", reasons)
SAME_CATEGORY = 0.2
#: weight of popularity next to content similarity when ranking for a shopper with history
POPULARITY_WITH_HISTORY = 0.3


@dataclass(frozen=True)
class ItemSignals:
    """What the shop knows of each product before it has baskets to learn from:
    ``orders`` (order lines, cancelled orders excluded) and ``ratings``
    (``(average, count)``). Products absent from a mapping have none."""

    orders: Mapping[int, int]
    ratings: Mapping[int, tuple[float, int]]

    def without_orders(self) -> ItemSignals:
        """The ratings alone (for an offline evaluation, where today's orders would
        reveal the held-out baskets)."""
        return ItemSignals({}, self.ratings)


def catalog_signals(session: Session) -> ItemSignals:
    """:class:`ItemSignals` of every product in the shop database."""
    from sqlalchemy import func, select

    orders = session.execute(
        select(OrderItem.product_id, func.count()).join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.product_id.is_not(None), Order.status != "cancelled").group_by(OrderItem.product_id)).all()
    ratings = session.execute(select(Product.id, Product.rating_avg, Product.rating_count).where(
        Product.rating_count > 0, Product.rating_avg.is_not(None))).all()
    return ItemSignals({int(p): int(n) for p, n in orders if p is not None},
                       {int(p): (float(avg), int(n)) for p, avg, n in ratings if avg is not None})


@dataclass(frozen=True)
class Evidence:
    """Why a product is popular, as counted at training time: ``orders`` (order lines,
    or purchase events when more), ``events`` (views, clicks and add-to-carts),
    ``rating_avg`` (``None`` when unrated) and ``rating_count``."""

    orders: int
    events: int
    rating_avg: float | None
    rating_count: int

    @property
    def any(self) -> bool:
        return bool(self.orders or self.events or self.rating_count)


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def _scaled(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return (x / top).astype(np.float32) if top > 0 else np.zeros(len(x), np.float32)


class ColdStartModel(Recommender):
    """Popularity and content for a shop without purchase history (see the module doc).

    Args:
        item_vectors: product id -> MiniLM vector of its text (optional: without them
            content is the category alone).
        meta_facts: product id -> (category id, brand id, price), as for the preference
            model (only the category is used).
        signals: orders and ratings (:func:`catalog_signals`); ``None``: none.
        prior_count: pseudo-ratings at the catalog's mean rating that every average is
            shrunk with (5).
    """

    name = "cold-start (popularity + content)"
    kind = KIND

    # set by fit (or load)
    text: np.ndarray | None  # (items, dim) unit vectors, zero rows for products without one
    category: np.ndarray  # (items,) int64 category ids, -1 for none
    popularity: np.ndarray  # (items,) float32 in 0..1
    orders: np.ndarray  # (items,) int64
    events: np.ndarray  # (items,) int64 non-purchase events
    rating_avg: np.ndarray  # (items,) float32, NaN when unrated
    rating_count: np.ndarray  # (items,) int64
    train_log: InteractionLog

    def __init__(self, item_vectors: Mapping[int, np.ndarray] | None = None, *,
                 meta_facts: Mapping[int, tuple[int, int, float]] | None = None, signals: ItemSignals | None = None,
                 prior_count: float = 5.0) -> None:
        if prior_count < 0:
            raise ValueError("prior_count must be 0 or more")
        self.item_vectors_in = item_vectors
        self.meta_facts = meta_facts
        self.signals = signals or ItemSignals({}, {})
        self.prior_count = float(prior_count)
        self._vector_index: VectorIndex | None = None

    # ------------------------------------------------------------------ fit

    def fit(self, train: InteractionLog, items: ItemSpace) -> ColdStartModel:
        self.items = items
        self.train_log = train
        ids = items.ids.tolist()
        self.text = None
        if self.item_vectors_in:
            dim = len(next(iter(self.item_vectors_in.values())))
            text = np.zeros((len(items), dim), dtype=np.float32)
            for n, item in enumerate(ids):
                vector = self.item_vectors_in.get(int(item))
                if vector is not None:
                    text[n] = vector
            self.text = _normalise(text)
        facts = self.meta_facts or {}
        self.category = np.array([facts.get(int(i), (-1, -1, np.nan))[0] for i in ids], dtype=np.int64)
        cols = items.columns(train.items)
        keep = cols >= 0
        purchases = np.bincount(cols[keep & (train.kinds == PURCHASE)], minlength=len(items))
        other = keep & (train.kinds != PURCHASE)
        self.events = np.bincount(cols[other], minlength=len(items)).astype(np.int64)
        event_weight = np.bincount(cols[other], weights=train.weights()[other], minlength=len(items))
        order_lines = np.array([self.signals.orders.get(int(i), 0) for i in ids], dtype=np.int64)
        self.orders = np.maximum(order_lines, purchases).astype(np.int64)
        rated = [self.signals.ratings.get(int(i)) for i in ids]
        self.rating_count = np.array([r[1] if r else 0 for r in rated], dtype=np.int64)
        self.rating_avg = np.array([r[0] if r else np.nan for r in rated], dtype=np.float32)
        self.popularity = self._popularity(event_weight)
        self._vector_index = None
        return self

    def _popularity(self, event_weight: np.ndarray) -> np.ndarray:
        demand = _scaled(np.log1p(self.orders * KIND_WEIGHTS["purchase"] + event_weight))
        has = self.rating_count > 0
        rating = np.zeros(len(self.items), np.float32)
        if has.any():
            mean = float(np.average(self.rating_avg[has], weights=self.rating_count[has]))
            n = self.rating_count[has].astype(np.float64)
            shrunk = (self.prior_count * mean + n * self.rating_avg[has]) / (self.prior_count + n)
            confidence = np.log1p(n) / np.log1p(float(n.max()))
            rating[has] = (np.clip((shrunk - 1.0) / 4.0, 0.0, 1.0) * (0.5 + 0.5 * confidence)).astype(np.float32)
        return (DEMAND_SHARE * demand + (1.0 - DEMAND_SHARE) * rating).astype(np.float32)

    # ------------------------------------------------------------------ scoring

    def _profile(self, log: InteractionLog, user: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(item columns, event weights) of ``user``'s events in ``log`` on known items,
        or ``None`` when there are none."""
        rows = np.flatnonzero(log.users == user)
        cols = self.items.columns(log.items[rows])
        ok = cols >= 0
        if not ok.any():
            return None
        return cols[ok], log.take(rows[ok]).weights()

    def _content_scores(self, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Similarity of every item to a history (``cols`` weighted by ``weights``):
        cosine to the weighted mean text vector, plus the category's share of the history
        times :data:`SAME_CATEGORY`."""
        scores = np.zeros(len(self.items), np.float32)
        if self.text is not None:
            profile = _normalise((weights[:, None] * self.text[cols]).sum(axis=0, keepdims=True))[0]
            scores += self.text @ profile
        total = float(weights.sum()) or 1.0
        cats = self.category[cols]
        for category in np.unique(cats[cats >= 0]).tolist():
            share = float(weights[cats == category].sum()) / total
            scores[self.category == category] += SAME_CATEGORY * share
        return scores

    def score(self, users: Sequence[int]) -> np.ndarray:
        """``(len(users), items)`` scores from the training log (offline evaluation)."""
        return self.score_log(self.train_log, users)

    def score_log(self, log: InteractionLog, users: Sequence[int]) -> np.ndarray:
        """Every item's score for each user from their events in ``log``: content
        similarity to their history plus a little popularity; popularity alone for a
        user without history."""
        out = np.tile(self.popularity, (len(users), 1)).astype(np.float32)
        for row, user in enumerate(users):
            history = self._profile(log, int(user))
            if history is not None:
                out[row] = self._content_scores(*history) + POPULARITY_WITH_HISTORY * self.popularity
        return out

    def _allowed_cols(self, allowed: Collection[int] | None, exclude: Collection[int]) -> np.ndarray | None:
        cols = None
        if allowed is not None:
            cols = self.items.columns(np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            cols = np.unique(cols[cols >= 0])
        if exclude:
            gone = self.items.columns(np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
            cols = np.setdiff1d(cols if cols is not None else np.arange(len(self.items)), gone[gone >= 0])
        return cols

    def _top(self, scores: np.ndarray, pool: np.ndarray, k: int) -> list[tuple[int, float]]:
        best = pool[np.argsort(-scores[pool], kind="stable")[:k]]
        return [(int(self.items.ids[c]), float(scores[c])) for c in best]

    def popular(self, k: int = 10, *, allowed: Collection[int] | None = None,
                exclude: Collection[int] = ()) -> list[tuple[int, float]]:
        """The ``k`` most popular ``(item id, popularity)`` among ``allowed``, best
        first; ties (products with no evidence at all) in id order."""
        if k < 1:
            raise ValueError("k must be 1 or more")
        cols = self._allowed_cols(allowed, exclude)
        pool = cols if cols is not None else np.arange(len(self.items))
        return self._top(self.popularity, pool, k)

    def rank(self, log: InteractionLog, user: int, k: int = 10, *, allowed: Collection[int] | None = None,
             exclude: Collection[int] = ()) -> list[tuple[int, float]]:
        """Serving: the top ``k`` ``(item id, score)`` for ``user`` from their events in
        ``log``: what is closest to what they looked at (never those products
        themselves), plus a little popularity; the most popular for a user without
        history. ``allowed`` / ``exclude`` as for the preference model."""
        if k < 1:
            raise ValueError("k must be 1 or more")
        history = self._profile(log, user)
        if history is None:
            return self.popular(k, allowed=allowed, exclude=exclude)
        cols = self._allowed_cols(allowed, exclude)
        pool = cols if cols is not None else np.arange(len(self.items))
        pool = np.setdiff1d(pool, history[0])
        scores = self._content_scores(*history) + POPULARITY_WITH_HISTORY * self.popularity
        return self._top(scores, pool, k)

    def similar(self, item: int, k: int = 10, *, allowed: Collection[int] | None = None) -> list[int]:
        """Up to ``k`` item ids closest to ``item``: text similarity plus
        :data:`SAME_CATEGORY` for its category (the category alone without vectors),
        popularity breaking ties; never ``item`` itself; ``[]`` for an unknown item."""
        col = self.items.index.get(int(item))
        if col is None or k < 1:
            return []
        cols = self._allowed_cols(allowed, ())
        pool = cols if cols is not None else np.arange(len(self.items))
        pool = pool[pool != col]
        if not len(pool):
            return []
        scores = np.zeros(len(self.items), np.float32)
        if self.text is not None and self.text[col].any():
            scores += self.text @ self.text[col]
        if self.category[col] >= 0:
            scores += SAME_CATEGORY * (self.category == self.category[col])
        scores += 0.01 * self.popularity
        return [i for i, _ in self._top(scores, pool, k)]

    def because(self, log: InteractionLog, user: int, item: int) -> tuple[int, str] | None:
        """``(history item id, kind)``: the event in ``user``'s ``log`` history closest to
        ``item`` (same category first, purchases before views at equal closeness), or
        ``None`` without history."""

        def closeness(col: int, rows: np.ndarray, hist_cols: np.ndarray) -> np.ndarray:
            near = 0.05 * (log.kinds[rows] == PURCHASE).astype(np.float32)
            if self.text is not None:
                near = near + self.text[hist_cols] @ self.text[col]
            if self.category[col] >= 0:
                near = near + 0.5 * (self.category[hist_cols] == self.category[col])
            return near

        return self._closest_history_event(log, user=user, item=item, closeness=closeness)

    def describe(self) -> str:
        """One line on what the model knows."""
        text = int(np.abs(self.text).sum(axis=1).astype(bool).sum()) if self.text is not None else 0
        return (f"{len(self.items):,} products: {int((self.orders > 0).sum()):,} with orders, "
                f"{int((self.rating_count > 0).sum()):,} rated, {int((self.events > 0).sum()):,} with views, clicks "
                f"or add-to-carts; {text:,} with text vectors for similarity (the others by category)")

    def evidence(self, item: int) -> Evidence | None:
        """The counts behind ``item``'s popularity (``None`` for an unknown item)."""
        col = self.items.index.get(int(item))
        if col is None:
            return None
        avg = float(self.rating_avg[col])
        return Evidence(int(self.orders[col]), int(self.events[col]), None if np.isnan(avg) else avg,
                        int(self.rating_count[col]))

    def vector_index(self) -> VectorIndex | None:
        """A FAISS index of the item text vectors (ids are item columns), built on first
        use; ``None`` without vectors. Serving itself scores with numpy; this is for the
        callers that warm a model up."""
        if self._vector_index is None and self.text is not None and len(self.items):
            self._vector_index = build_vector_index(self.text, np.arange(len(self.items), dtype=np.int64))
        return self._vector_index

    # ------------------------------------------------------------------ save / load

    def save(self, directory: Path) -> list[Path]:
        """Write the fitted model to ``directory/arrays.npz`` (no pickle); returns it."""
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "item_ids": self.items.ids, "category": self.category, "popularity": self.popularity,
            "orders": self.orders, "events": self.events, "rating_avg": self.rating_avg,
            "rating_count": self.rating_count,
        }
        if self.text is not None:
            arrays["text"] = self.text.astype(np.float16)  # half the file; cosines move by < 1e-3
        np.savez(directory / "arrays.npz", **arrays)
        return [directory / "arrays.npz"]

    def hyperparameters(self) -> dict[str, float | int]:
        return {"prior_count": self.prior_count}

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, float | int]) -> ColdStartModel:
        """A fitted model from :meth:`save`'s file (no pickle: ``allow_pickle=False``)."""
        model = cls(prior_count=float(hyperparameters.get("prior_count", 5.0)))
        with np.load(directory / "arrays.npz", allow_pickle=False) as data:
            a = {k: data[k] for k in data.files}
        model.items = ItemSpace.of(a["item_ids"])
        model.text = _normalise(a["text"].astype(np.float32)) if "text" in a else None
        model.category, model.popularity = a["category"], a["popularity"]
        model.orders, model.events = a["orders"], a["events"]
        model.rating_avg, model.rating_count = a["rating_avg"], a["rating_count"]
        model.train_log = InteractionLog.from_rows([])
        return model
