"""The preference model: a two-tower retriever fine-tuned on the shop's baskets, and a
gradient-boosted ranker that re-scores its candidates with richer features.

**Item tower.** ``f(i) = normalise(A·t_i + e_i)``: ``t_i`` is the item's pretrained
MiniLM vector (384-d, frozen; zero for items without text), ``A`` a learned
projection to ``dim`` and ``e_i`` a learned id embedding (starts near zero, so a new
item is placed by its text alone).
**User tower.** ``u = normalise(B·Σ_j w_j f(j))`` over the user's history, ``w_j`` the
event's kind weight decayed by baskets since (:mod:`models.recsys.histories`).
**Training.** Next basket from history, full softmax over every item (cosine x
``scale``), averaged over the basket's items; Adam, ``epochs`` passes.
**Ranker.** For each user the tower's top ``candidates`` items, their history items and
the most popular ones are scored by ``HistGradientBoostingClassifier`` on: tower score,
text similarity to the history, decayed history weight on the item, times bought,
popularity, how often buyers re-buy it, category and brand affinity, price fit,
history size, the share of the user's baskets that held the item, a fast-decaying
"bought recently" weight, and how many baskets the user has bought. It learns from each
user's last ``label_baskets`` training baskets, each predicted
from the history before it by towers trained on what came before them all (no
leakage), and is then applied with towers refitted on all the data. Items that are not
candidates score below every candidate, by tower score.

Everything is plain numpy/torch on CPU; ``fit`` on the demo shop takes well under a
minute on 2 cores.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from models.recsys.baselines import ItemSpace, Recommender
from models.recsys.histories import (
    basket_counts,
    history_matrix,
    median_baskets,
    next_basket_examples,
)
from models.recsys.interaction_log import PURCHASE, InteractionLog
from models.recsys.split import Split, leave_last_basket_out
from retrieval.index import VectorIndex, build_vector_index
from shop.db.schema import Product

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sqlalchemy.orm import Session

FEATURES = ("tower", "text", "history", "bought", "popularity", "rebuy_rate", "category", "brand", "price_fit",
            "history_size", "basket_share", "bought_recently", "baskets")


class _Pack(TypedDict):
    """What the features need of each user's past (see :meth:`PreferenceModel._pack`):
    CSR ``(users, items)`` matrices and ``(users,)`` basket counts."""

    history: csr_matrix
    bought: csr_matrix
    recent: csr_matrix
    baskets: np.ndarray


@dataclass(frozen=True)
class ItemMeta:
    """Optional item facts for the ranker: ``category`` and ``brand`` (int ids, -1 for
    none) and ``price`` (float, NaN for unknown), each ``(items,)`` in ItemSpace order."""

    category: np.ndarray
    brand: np.ndarray
    price: np.ndarray

    @classmethod
    def from_mapping(cls, items: ItemSpace, facts: Mapping[int, tuple[int, int, float]]) -> ItemMeta:
        rows = [facts.get(int(i), (-1, -1, np.nan)) for i in items.ids]
        return cls(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
                   np.array([r[2] for r in rows], np.float64))


class _Towers:
    """The two towers and their training loop (torch is imported only here)."""

    def __init__(self, text: np.ndarray | None, n_items: int, *, dim: int, seed: int) -> None:
        import torch

        torch.manual_seed(seed)
        self.torch = torch
        self.text = torch.from_numpy(text) if text is not None else None
        self.proj = torch.nn.Linear(text.shape[1], dim, bias=False) if text is not None else None
        self.ids = torch.nn.Embedding(n_items, dim)
        torch.nn.init.normal_(self.ids.weight, std=0.01 if text is not None else 0.1)
        self.user = torch.nn.Linear(dim, dim)
        with torch.no_grad():
            self.user.weight.copy_(torch.eye(dim))
            self.user.bias.zero_()

    def parameters(self) -> list:
        params = list(self.ids.parameters()) + list(self.user.parameters())
        return params + (list(self.proj.parameters()) if self.proj is not None else [])

    def item_vectors(self):
        f = self.ids.weight
        if self.proj is not None:
            f = f + self.proj(self.text)
        return self.torch.nn.functional.normalize(f, dim=1)

    def user_vectors(self, histories, items):
        h = histories @ items
        return self.torch.nn.functional.normalize(self.user(h), dim=1)

    def fit(self, histories: csr_matrix, targets: list[np.ndarray], *, epochs: int, batch: int, lr: float,
            scale: float, seed: int, progress: bool) -> list[float]:
        torch = self.torch
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        rng = np.random.default_rng(seed)
        n = histories.shape[0]
        losses = []
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=epochs * ((n + batch - 1) // batch), desc="train two-tower", unit="batch")
        for _ in range(epochs):
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                h = torch.from_numpy(histories[idx].toarray())
                h = h / h.sum(dim=1, keepdim=True).clamp(min=1e-6)
                f = self.item_vectors()
                u = self.user_vectors(h, f)
                logp = torch.log_softmax(scale * u @ f.T, dim=1)
                rows = np.concatenate([np.full(len(targets[i]), r) for r, i in enumerate(idx)])
                cols = np.concatenate([targets[i] for i in idx])
                weights = torch.from_numpy(np.concatenate([np.full(len(targets[i]), 1.0 / len(targets[i]))
                                                           for i in idx]).astype(np.float32))
                loss = -(logp[torch.from_numpy(rows), torch.from_numpy(cols)] * weights).sum() / len(idx)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                if bar is not None:
                    bar.update(1)
            losses.append(total / n)
        if bar is not None:
            bar.close()
        return losses

    def export(self) -> TowerParams:
        """The trained towers as numpy arrays (all that scoring needs)."""
        with self.torch.no_grad():
            return TowerParams(
                items=self.item_vectors().numpy().copy(),
                user_w=self.user.weight.numpy().copy(), user_b=self.user.bias.numpy().copy(),
                proj=self.proj.weight.numpy().copy() if self.proj is not None else None)


@dataclass(frozen=True)
class TowerParams:
    """Trained towers in numpy: ``items`` ``(n_items, dim)`` normalised item vectors;
    the user tower ``user_w`` ``(dim, dim)`` and ``user_b`` ``(dim,)``; ``proj``
    ``(dim, text_dim)``, the text projection that places new items (``None`` without
    text)."""

    items: np.ndarray
    user_w: np.ndarray
    user_b: np.ndarray
    proj: np.ndarray | None

    def users(self, histories: csr_matrix | np.ndarray) -> np.ndarray:
        """Normalised user vectors ``(rows, dim)`` for CSR ``histories`` ``(rows, n_items)``."""
        h = np.asarray(histories.todense() if hasattr(histories, "todense") else histories, dtype=np.float32)
        h = h / np.maximum(h.sum(axis=1, keepdims=True), 1e-6)
        u = (h @ self.items) @ self.user_w.T + self.user_b
        return _normalise(u)

    def standardised(self, user: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """``scores`` (``user`` · item vectors) as z-scores over every item for this
        user: towers retrained on more data score on another scale, and the ranker
        must see one scale in training and serving. Uses the items' mean and
        covariance, so it costs ``O(dim²)``, not a pass over the catalog."""
        mean = self.items.mean(axis=0)
        centred = self.items - mean
        var = float(user @ (centred.T @ centred / max(len(self.items), 1)) @ user)
        return ((scores - float(user @ mean)) / np.sqrt(max(var, 1e-12))).astype(np.float32)

    def place(self, text: np.ndarray) -> np.ndarray:
        """Item vectors ``(n, dim)`` for items known only by their text vectors ``(n, text_dim)``."""
        if self.proj is None:
            raise ValueError("this model was trained without item text, so it cannot place new items")
        return _normalise(np.asarray(text, np.float32) @ self.proj.T)


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class PreferenceModel(Recommender):
    """Two-tower retriever + ranker (see the module doc).

    Args:
        item_vectors: item id -> MiniLM vector of its text (optional: without text the
            item tower is its id embedding alone, and new items can't be placed).
        meta_facts: item id -> (category id, brand id, price), for the ranker (optional).
        dim: tower output size (64). epochs: training passes (8). candidates: tower
            items per user for the ranker (100). decay: history decay per basket (0.8).
        session_gap_s: the gap used when deciding what a basket's history was (as in
            the evaluation split).
        label_baskets: each user's last baskets the ranker learns from (3).
    """

    name = "preference (two-tower + ranker)"
    kind = "preference"  # the artifact manifest's ``kind`` (see models.recsys.cold_start for the other)

    # set by fit (or load)
    text: np.ndarray | None  # (items, text_dim) item text vectors, None without item_vectors
    meta: ItemMeta | None
    towers: TowerParams
    context: dict[str, np.ndarray]  # see _context
    ranker: HistGradientBoostingClassifier
    ranker_examples: tuple[int, int]  # (rows, positives) the ranker learnt from
    train_log: InteractionLog

    def __init__(self, item_vectors: Mapping[int, np.ndarray] | None = None, *, meta_facts:
                 Mapping[int, tuple[int, int, float]] | None = None, dim: int = 64, epochs: int = 8,
                 batch: int = 256, lr: float = 0.01, scale: float = 20.0, candidates: int = 100,
                 decay: float = 0.8, session_gap_s: float = 0.0, label_baskets: int = 3, seed: int = 7,
                 progress: bool = False) -> None:
        if dim < 2 or epochs < 1 or candidates < 1:
            raise ValueError("dim must be 2 or more, epochs and candidates 1 or more")
        if label_baskets < 1:
            raise ValueError("label_baskets must be 1 or more")
        self.item_vectors_in = item_vectors
        self.meta_facts = meta_facts
        self.dim, self.epochs, self.batch, self.lr, self.scale = dim, epochs, batch, lr, scale
        self.n_candidates, self.decay, self.session_gap_s, self.seed = candidates, decay, session_gap_s, seed
        self.progress = progress
        self.label_baskets = label_baskets
        self.losses: list[float] = []
        self._vector_index: VectorIndex | None = None

    # ------------------------------------------------------------------ fit

    def _text(self, items: ItemSpace) -> np.ndarray | None:
        if not self.item_vectors_in:
            return None
        dim = len(next(iter(self.item_vectors_in.values())))
        text = np.zeros((len(items), dim), dtype=np.float32)
        for n, item in enumerate(items.ids.tolist()):
            v = self.item_vectors_in.get(int(item))
            if v is not None:
                text[n] = v
        return text

    def _train_towers(self, log: InteractionLog, items: ItemSpace) -> TowerParams:
        examples = next_basket_examples(log, items, decay=self.decay, session_gap_s=self.session_gap_s)
        towers = _Towers(self.text, len(items), dim=self.dim, seed=self.seed)
        if len(examples):
            self.losses = towers.fit(examples.histories, examples.targets, epochs=self.epochs, batch=self.batch,
                                     lr=self.lr, scale=self.scale, seed=self.seed, progress=self.progress)
        return towers.export()

    def fit(self, train: InteractionLog, items: ItemSpace) -> PreferenceModel:
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.items = items
        self.text = self._text(items)
        self.meta = ItemMeta.from_mapping(items, self.meta_facts) if self.meta_facts else None
        # 1. the ranker learns from each user's last ``label_baskets`` training baskets,
        #    each seen through the history before it, with towers trained on what came
        #    before all of them
        levels: list[Split] = []
        inner = train
        for _ in range(self.label_baskets):
            split = leave_last_basket_out(inner, session_gap_s=self.session_gap_s)
            if not split.targets or (levels and median_baskets(split.train) < 2):
                break  # keep enough history for the towers to learn next baskets from
            levels.append(split)
            inner = split.train
        towers = self._train_towers(inner, items)
        context = self._context(inner, items)
        X, y = [], []
        for split in levels:
            users = sorted(split.targets)
            pack = self._pack(train, items, users, [split.cutoffs[u] for u in users], self.session_gap_s)
            for start in range(0, len(users), 512):
                chunk = slice(start, start + 512)
                part = _Pack(history=pack["history"][chunk], bought=pack["bought"][chunk],
                             recent=pack["recent"][chunk], baskets=pack["baskets"][chunk])
                cands, feats = self._features(towers, part, context)
                for row, user in enumerate(users[chunk]):
                    target = items.columns(np.fromiter(split.targets[user], dtype=np.int64))
                    X.append(feats[row])
                    y.append(np.isin(cands[row], target))
        if not X or not np.concatenate(y).any() or np.concatenate(y).all():
            raise ValueError("too little history to train on: need customers with at least 3 purchase baskets")
        X_all, y_all = np.vstack(X), np.concatenate(y)
        self.ranker = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31,
                                                     l2_regularization=1.0, random_state=self.seed)
        self.ranker.fit(X_all, y_all)
        self.ranker_examples = (len(y_all), int(y_all.sum()))
        # 2. towers and item facts on everything, for scoring
        self.towers = self._train_towers(train, items)
        self.train_log = train
        self.context = self._context(train, items)
        self._vector_index = None
        return self

    def _pack(self, log: InteractionLog, items: ItemSpace, users: Sequence[int], at: Sequence[float],
              gap: float) -> _Pack:
        """What the features need of each user's past before ``at``: the decayed history,
        purchases per item, a fast-decaying purchase weight, and the basket count."""
        purchases = log.purchases()
        users, at = list(users), list(at)
        return _Pack(
            history=history_matrix(log, items, users, at, decay=self.decay, session_gap_s=gap),
            bought=history_matrix(purchases, items, users, at, decay=1.0, session_gap_s=gap),
            recent=history_matrix(purchases, items, users, at, decay=0.5, session_gap_s=gap),
            baskets=basket_counts(log, users, at, session_gap_s=gap),
        )

    def _context(self, log: InteractionLog, items: ItemSpace) -> dict[str, np.ndarray]:
        """Per-item facts from ``log``: popularity and re-buy rate."""
        purchases = log.purchases()
        cols = items.columns(purchases.items)
        keep = cols >= 0
        pop = np.bincount(cols[keep], minlength=len(items)).astype(np.float64)
        if keep.any():
            pairs = np.unique(np.stack([purchases.users[keep], cols[keep]]), axis=1, return_counts=True)
            buyers = np.bincount(pairs[0][1], minlength=len(items)).astype(np.float64)
            rebuyers = np.bincount(pairs[0][1][pairs[1] > 1], minlength=len(items)).astype(np.float64)
        else:
            buyers = rebuyers = np.zeros(len(items))
        # relative to the mean item, so that the ranker sees the same scale in training
        # (an earlier, smaller log) as when serving (the whole log)
        relative = pop / max(float(pop.mean()), 1e-9)
        return {"popularity": np.log1p(relative), "rebuy_rate": rebuyers / np.maximum(buyers, 1.0),
                "top": np.argsort(-pop, kind="stable")[:20]}

    # ------------------------------------------------------------------ features

    def _features(self, towers: TowerParams, pack: _Pack, context: dict[str, np.ndarray], *,
                  allowed: np.ndarray | None = None, retrieve: bool = False
                  ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Candidates (item columns) and their feature rows, per user of ``pack`` (see
        :meth:`_pack`). ``allowed``: item columns candidates must come from (``None``:
        all). ``retrieve``: take the tower's candidates from the FAISS index of the
        item tower instead of scoring every item (serving)."""
        histories, bought, recent, baskets = pack["history"], pack["bought"], pack["recent"], pack["baskets"]
        user_vecs = towers.users(histories)
        k = min(self.n_candidates, len(self.items) if allowed is None else len(allowed))
        if retrieve:
            _, tops = self.vector_index().search(user_vecs, max(k, 1), allowed=allowed)
            tower_top = [t[t >= 0] for t in tops]
        else:
            scores_all = user_vecs @ towers.items.T
            if allowed is not None:
                masked = np.full_like(scores_all, -np.inf)
                masked[:, allowed] = scores_all[:, allowed]
                scores_all = masked
            tower_top = [np.argpartition(-s, k - 1)[:k] if k > 0 else np.zeros(0, np.int64) for s in scores_all]
        text = self.text
        profiles = _normalise(np.asarray(histories @ text, dtype=np.float32)) if text is not None else None
        cands_out, feats_out = [], []
        for row in range(histories.shape[0]):
            hist = histories[row]
            order = np.argsort(-hist.data)[:50]
            cands = np.unique(np.concatenate([tower_top[row], hist.indices[order], context["top"]])).astype(np.int64)
            if allowed is not None:
                cands = cands[np.isin(cands, allowed)]
            hist_w = np.asarray(hist[:, cands].todense()).ravel()
            bought_n = np.asarray(bought[row][:, cands].todense()).ravel()
            total = float(hist.data.sum())
            f = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
            f[:, 0] = towers.standardised(user_vecs[row], towers.items[cands] @ user_vecs[row])
            f[:, 1] = text[cands] @ profiles[row] if text is not None and profiles is not None else 0.0
            f[:, 2] = np.log1p(hist_w)
            f[:, 3] = np.log1p(bought_n)
            f[:, 4] = context["popularity"][cands]
            f[:, 5] = context["rebuy_rate"][cands]
            if self.meta is not None and total > 0:
                weights = hist.data
                cat, brand = self.meta.category, self.meta.brand
                f[:, 6] = [weights[cat[hist.indices] == c].sum() / total if c >= 0 else 0.0 for c in cat[cands]]
                f[:, 7] = [weights[brand[hist.indices] == b].sum() / total if b >= 0 else 0.0 for b in brand[cands]]
                prices = np.log(np.maximum(self.meta.price[hist.indices], 1.0))
                ok = np.isfinite(prices)
                if ok.any():
                    mean = float(np.average(prices[ok], weights=weights[ok]))
                    f[:, 8] = -np.abs(np.log(np.maximum(self.meta.price[cands], 1.0)) - mean)
            f[:, 9] = np.log1p(total)
            f[:, 10] = bought_n / max(float(baskets[row]), 1.0)
            f[:, 11] = np.asarray(recent[row][:, cands].todense()).ravel()
            f[:, 12] = np.log1p(float(baskets[row]))
            cands_out.append(cands)
            feats_out.append(f)
        return cands_out, feats_out

    # ------------------------------------------------------------------ score

    def score(self, users: Sequence[int]) -> np.ndarray:
        """``(len(users), items)`` scores from the training log (see :meth:`score_log`)."""
        return self.score_log(self.train_log, users)

    def score_log(self, log: InteractionLog, users: Sequence[int]) -> np.ndarray:
        """``(len(users), items)`` float32 scores of every item for each user, from the
        user's events in ``log`` (any log: serving passes the customer's latest events).
        Candidates get the ranker's purchase probability (0..1); other items score
        below every candidate, by tower score; a user with no history gets popularity."""
        pack = self._pack(log, self.items, list(users), [np.inf] * len(users), 0.0)
        histories = pack["history"]
        out = (self.towers.users(histories) @ self.towers.items.T) - 10.0
        cands, feats = self._features(self.towers, pack, self.context)
        for row, (c, f) in enumerate(zip(cands, feats, strict=True)):
            if histories[row].nnz == 0:  # a stranger: popularity order
                out[row] = self.context["popularity"] / 100.0
            elif len(c):
                out[row, c] = self.ranker.predict_proba(f)[:, 1]
        return out.astype(np.float32)

    def rank(self, log: InteractionLog, user: int, k: int = 10, *, allowed: Collection[int] | None = None,
             exclude: Collection[int] = ()) -> list[tuple[int, float]]:
        """Serving: the top ``k`` ``(item id, purchase probability)`` for ``user`` from
        their events in ``log``, candidates retrieved from the FAISS index of the item
        tower and re-scored by the ranker. ``allowed``: item ids the results must come
        from (hard constraints: in stock, budget, category...); ``exclude``: never these.
        A user with no history gets the most popular allowed items (probability 0)."""
        if k < 1:
            raise ValueError("k must be 1 or more")
        cols = None
        if allowed is not None:
            cols = self.items.columns(np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            cols = np.unique(cols[cols >= 0])
        if exclude:
            gone = self.items.columns(np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
            keep = np.setdiff1d(cols if cols is not None else np.arange(len(self.items)), gone[gone >= 0])
            cols = keep
        if cols is not None and not len(cols):
            return []
        pack = self._pack(log, self.items, [user], [np.inf], 0.0)
        if pack["history"].nnz == 0:
            pool = cols if cols is not None else np.arange(len(self.items))
            best = pool[np.argsort(-self.context["popularity"][pool], kind="stable")[:k]]
            return [(int(self.items.ids[c]), 0.0) for c in best]
        cands, feats = self._features(self.towers, pack, self.context, allowed=cols, retrieve=True)
        if not len(cands[0]):
            return []
        p = self.ranker.predict_proba(feats[0])[:, 1]
        order = np.argsort(-p, kind="stable")[:k]
        return [(int(self.items.ids[cands[0][i]]), float(p[i])) for i in order]

    def similar(self, item: int, k: int = 10, *, allowed: Collection[int] | None = None) -> list[int]:
        """Up to ``k`` item ids closest to ``item`` in the item tower (text and
        co-purchase), from ``allowed`` when given, never ``item`` itself; ``[]`` for an
        item the model doesn't know."""
        col = self.items.index.get(int(item))
        if col is None or k < 1:
            return []
        cols = None
        if allowed is not None:
            cols = self.items.columns(np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            cols = np.unique(cols[(cols >= 0) & (cols != col)])
            if not len(cols):
                return []
        _, found = self.vector_index().search(self.towers.items[col], k + 1, allowed=cols)
        return [int(self.items.ids[c]) for c in found[0] if c >= 0 and c != col][:k]

    def because(self, log: InteractionLog, user: int, item: int) -> tuple[int, str] | None:
        """Why ``item`` suits ``user``: ``(history item id, kind)`` of the event in their
        ``log`` history whose item tower vector is closest to ``item``, items of the
        same category first (purchases preferred over views at equal closeness), or
        ``None`` with no history."""

        def closeness(col: int, rows: np.ndarray, hist_cols: np.ndarray) -> np.ndarray:
            near = self.towers.items[hist_cols] @ self.towers.items[col] + 0.05 * (log.kinds[rows] == PURCHASE)
            if self.meta is not None:  # a jacket is best explained by a jacket
                same = (self.meta.category[hist_cols] == self.meta.category[col]) & (self.meta.category[col] >= 0)
                near = near + 0.5 * same
            return near

        return self._closest_history_event(log, user=user, item=item, closeness=closeness)

    # ------------------------------------------------------------------ serving helpers

    def vector_index(self) -> VectorIndex:
        """The item tower in a FAISS index (ids are item columns; exact below 100k
        items, IVF above), built on first use."""
        if self._vector_index is None:
            self._vector_index = build_vector_index(self.towers.items, np.arange(len(self.items), dtype=np.int64))
        return self._vector_index

    def with_new_items(self, vectors: Mapping[int, np.ndarray],
                       facts: Mapping[int, tuple[int, int, float]] | None = None) -> PreferenceModel:
        """A copy that also knows items added after training (cold-start products),
        placed by their MiniLM text vectors through the learned text projection; they
        have no popularity yet. Items already known are left as they are."""
        new = [int(i) for i in vectors if int(i) not in self.items.index]
        if not new:
            return self
        text = np.vstack([np.asarray(vectors[i], np.float32) for i in new])
        clone = copy.copy(self)
        ids = np.concatenate([self.items.ids, np.asarray(new, np.int64)])
        order = np.argsort(ids, kind="stable")
        clone.items = ItemSpace.of(ids)

        def take(a: Any) -> np.ndarray:
            return np.asarray(a)[order]

        placed = self.towers.place(text)
        clone.towers = TowerParams(take(np.vstack([self.towers.items, placed])), self.towers.user_w,
                                   self.towers.user_b, self.towers.proj)
        clone.text = take(np.vstack([self.text, text])) if self.text is not None else None
        if self.meta is not None:
            rows = [(facts or {}).get(i, (-1, -1, np.nan)) for i in new]
            clone.meta = ItemMeta(take(np.concatenate([self.meta.category, [r[0] for r in rows]])),
                                  take(np.concatenate([self.meta.brand, [r[1] for r in rows]])),
                                  take(np.concatenate([self.meta.price, [r[2] for r in rows]])))
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        zeros = np.zeros(len(new))
        clone.context = {"popularity": take(np.concatenate([self.context["popularity"], zeros])),
                         "rebuy_rate": take(np.concatenate([self.context["rebuy_rate"], zeros])),
                         "top": inverse[self.context["top"]]}
        clone._vector_index = None
        return clone

    # ------------------------------------------------------------------ save / load

    def save(self, directory: Path) -> list[Path]:
        """Write the fitted model to ``directory`` (``arrays.npz`` and ``ranker.pkl``);
        returns the files written. See :mod:`models.recsys.artifact` for the manifest."""
        import pickle

        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "item_ids": self.items.ids, "tower_items": self.towers.items, "user_w": self.towers.user_w,
            "user_b": self.towers.user_b, "popularity": self.context["popularity"],
            "rebuy_rate": self.context["rebuy_rate"], "top": self.context["top"],
            "log_users": self.train_log.users, "log_items": self.train_log.items, "log_times": self.train_log.times,
            "log_kinds": self.train_log.kinds, "log_baskets": self.train_log.baskets,
        }
        if self.towers.proj is not None:
            arrays["proj"] = self.towers.proj
        if self.text is not None:
            arrays["text"] = self.text
        if self.meta is not None:
            arrays.update(meta_category=self.meta.category, meta_brand=self.meta.brand, meta_price=self.meta.price)
        # allow_pickle=True is numpy's default, spelled out so no key of ``arrays`` can be taken for it
        np.savez(directory / "arrays.npz", allow_pickle=True, **arrays)
        with open(directory / "ranker.pkl", "wb") as fh:
            pickle.dump(self.ranker, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return [directory / "arrays.npz", directory / "ranker.pkl"]

    def hyperparameters(self) -> dict[str, float | int]:
        return {"dim": self.dim, "epochs": self.epochs, "batch": self.batch, "lr": self.lr, "scale": self.scale,
                "candidates": self.n_candidates, "decay": self.decay, "session_gap_s": self.session_gap_s,
                "label_baskets": self.label_baskets, "seed": self.seed}

    @classmethod
    def load(cls, directory: Path, hyperparameters: Mapping[str, float | int]) -> PreferenceModel:
        """A fitted model from :meth:`save`'s files. Only load files you wrote: the
        ranker is a pickle (:mod:`models.recsys.artifact` checks their SHA-256 first)."""
        import pickle

        params: dict[str, Any] = dict(hyperparameters)  # __init__'s keywords, as hyperparameters() wrote them
        model = cls(**params)
        with np.load(directory / "arrays.npz") as data:
            a = {k: data[k] for k in data.files}
        model.items = ItemSpace.of(a["item_ids"])
        model.towers = TowerParams(a["tower_items"], a["user_w"], a["user_b"], a.get("proj"))
        model.text = a.get("text")
        model.meta = ItemMeta(a["meta_category"], a["meta_brand"], a["meta_price"]) if "meta_category" in a else None
        model.context = {"popularity": a["popularity"], "rebuy_rate": a["rebuy_rate"], "top": a["top"]}
        model.train_log = InteractionLog(a["log_users"], a["log_items"], a["log_times"], a["log_kinds"],
                                         a["log_baskets"])
        with open(directory / "ranker.pkl", "rb") as fh:
            model.ranker = pickle.load(fh)  # noqa: S301 - our own model file, written by save()
        return model


def demo_item_facts(session: Session) -> dict[int, tuple[int, int, float]]:
    """product id -> (category id, brand id, price in cents) from the shop database."""
    from sqlalchemy import select

    rows = session.execute(select(Product.id, Product.category_id, Product.brand_id, Product.price_cents)).all()
    return {int(p): (int(c) if c is not None else -1, int(b) if b is not None else -1, float(price))
            for p, c, b, price in rows}
