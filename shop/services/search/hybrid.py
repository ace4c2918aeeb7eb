"""Ranking one query against a :class:`~retrieval.catalog_index.CatalogIndex`: dense,
keyword, or both fused by reciprocal rank fusion (RRF), with hard constraints
applied exactly.

Rankers (each a list of product ids, best first):

- ``dense``: FAISS neighbours of the query vector with cosine >= ``min_similarity``;
- ``keyword``: BM25 (FTS5) matches of any query word;
- ``every word``: BM25 matches of all query words the catalog knows (a word no
  product uses, like "gear" or a typo, is not required), anywhere in the document;
- ``title``: products whose title/SKU holds every known query word, so exact model
  names and brand + product names win;
- ``hints``: BM25 matches of the attribute and category words the shopper's needs
  point at (:mod:`shop.services.search.needs`), when there are any;
- exact SKU matches (product or variant SKU typed in the query) are pinned first.

The weights follow the query (:func:`query_weights`): the dense side counts more for
descriptive queries (long, few words the catalog knows, need words), the keyword side
for short exact ones (SKUs, titles, brands). After the constraints are checked, the
survivors are re-ranked softly (:func:`soft_rerank`): products of a category the words
name come first, and products with the hinted attributes or categories move up. When
the words name a category as a whole and the rankers found less than a page of its
products, :func:`fill_named` adds more of them (never a filter: the rest follows).

RRF score of a product = sum over rankers of ``1 / (rrf_k + rank)`` (rank from 1).

Constraints: candidates are over-fetched (``pool`` per ranker) and checked in the
database; when fewer than ``offset + limit`` survive and a ranker was cut off, the
pool widens (``RankerSettings.widen``, default x5), and finally the search runs *inside*
the exact set of matching products (FAISS ID selector; BM25 rows filtered by id), so
a constraint is never violated and matching products are never missed. That set
costs a scan (up to ~0.1 s for 60k matching products of 100k on SQLite), so a
:class:`~shop.services.search.filters.MatchingCache` may keep it briefly; the exact step is
reached only when the words and the constraints barely overlap ("boots in size S").
Every result is checked against the database, whichever way it was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from retrieval.catalog_index import CatalogIndex
from retrieval.keyword import query_tokens
from shop.db.schema import Category, Product
from shop.services.search.categories import WHOLE
from shop.services.search.filters import MatchingCache, matching_ids, sku_matches
from shop.services.search.needs import QueryHints, attribute_hits
from shop.services.search.query import SearchQuery

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[str, ...] = ("hybrid", "dense", "keyword")
_HARD = ("category", "brand", "colour", "size", "gender", "use_case", "price")
COMMON_FRACTION = 0.4
HINT_WEIGHT = 0.5  # RRF weight of the hints ranking
RERANK_DEPTH = 300  # survivors looked at by the soft re-rank
NAMED_FILL_MAX = 20_000  # products of a named category looked at when the rankers found too few
# hint boost, relative to the best fused score
BOOST = {"exact": 0.1, "plain": 0.35, "descriptive": 0.4, "fixed": 0.0}


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], *, k: float = 60.0,
                           weights: Sequence[float] | None = None) -> list[tuple[int, float]]:
    """Fuse rankings (lists of ids, best first) into ``[(id, score)]``, best first.

    ``score(id) = sum_i weights[i] / (k + rank_i(id))`` with ranks from 1; ties broken
    by the first ranking the id appears in, then by id.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    scores: dict[int, float] = {}
    first_seen: dict[int, tuple[int, int]] = {}
    for r, (ranking, weight) in enumerate(zip(rankings, weights, strict=True)):
        for rank, pid in enumerate(dict.fromkeys(ranking), start=1):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank)
            first_seen.setdefault(pid, (rank, r))
    return sorted(scores.items(), key=lambda item: (-item[1], first_seen[item[0]], item[0]))


@dataclass(frozen=True)
class RankerSettings:
    """Tuning of :func:`rank`.

    Attributes:
        mode: ``"hybrid"`` (all rankers, RRF), ``"dense"`` or ``"keyword"`` (the three
            BM25 rankers, RRF).
        pool: candidates fetched per ranker before constraints (at least
            ``4 * (offset + limit)``).
        rrf_k: the RRF constant (60, as in Cormack et al. 2009).
        min_similarity: dense neighbours below this cosine don't count as matches (0.3:
            every labelled query's best product scores >= 0.33, gibberish like "asdf" or
            "12345" scores 0.14-0.29).
        weights: RRF weights of the (dense, any-word BM25, every-word BM25, title)
            rankings; dense at 0.7 was best on ``bench/search_relevance.py``.
        forgiving: correct typos against the catalog's words and use the needs hints
            (:mod:`shop.services.search.typos`, :mod:`shop.services.search.needs`);
            ``False`` searches the words as typed, with fixed weights (the reference).
        widen: pool multipliers tried, in order, when too few candidates meet the
            constraints, before searching inside the exact set of matching products.
            ``(5,)``: on ``bench/search_e2e.py`` at 104k products, p95 63 ms on the
            realistic workload (as ``(5, 25)``) and 166 ms rather than 216 ms when the
            constraints ignore the words.
    """

    mode: str = "hybrid"
    pool: int = 200
    rrf_k: float = 60.0
    min_similarity: float = 0.3
    weights: tuple[float, float, float, float] = (0.7, 1.0, 1.0, 1.0)
    widen: tuple[int, ...] = (5,)
    forgiving: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.pool < 10:
            raise ValueError("pool must be 10 or more")


@dataclass
class Ranked:
    """Outcome of :func:`rank`: ``ids`` matching the words and every constraint, best
    first (at least ``offset + limit`` when that many exist); ``unmatched``: the words
    matched nothing at all (before constraints)."""

    ids: list[int] = field(default_factory=list)
    unmatched: bool = False
    exhaustive: bool = False


def has_words(text: str) -> bool:
    """Whether ``text`` has anything to search for (a letter or digit outside function words)."""
    return bool(query_tokens(text))


def _constrained(query: SearchQuery) -> bool:
    return any(query.has(c) for c in _HARD)


def query_kind(hints: QueryHints | None, known: int, *, pinned: bool) -> str:
    """``"exact"`` (SKUs; up to 3 content words, all known to the catalog, no needs),
    ``"descriptive"`` (5+ content words, need words with unknown words, or under half
    known) or ``"plain"``."""
    words = len(hints.content_words) if hints is not None else known
    needs = len(hints.need_words) if hints is not None else 0
    if pinned or (words <= 3 and known >= words and not needs):
        return "exact"
    if words >= 5 or (needs and known < words) or known * 2 < words:
        return "descriptive"
    return "plain"


def query_weights(base: tuple[float, float, float, float], kind: str) -> tuple[float, float, float, float]:
    """RRF weights (dense, any-word, every-word, title) for a query of ``kind``."""
    dense, anyw, every, title = base
    if kind == "exact":
        return dense * 0.6, anyw, every, title
    if kind == "descriptive":
        return dense * 1.8, anyw * 0.8, every * 0.8, title * 0.8
    return base  # "plain", "fixed"


def rank(session: Session, index: CatalogIndex, query: SearchQuery, settings: RankerSettings,
         query_vector: np.ndarray | None = None, matching: MatchingCache | None = None,
         hints: QueryHints | None = None) -> Ranked:
    """Rank products for ``query.text`` under ``query``'s constraints (see module doc).

    ``query_vector``: the embedded text, when the caller already has it (dense and
    hybrid modes embed it otherwise). ``matching``: where the exact step takes the set
    of products matching the constraints from (default: computed afresh). ``hints``:
    what the words name and need (:func:`shop.services.search.needs.query_hints`).
    """
    need = query.offset + query.limit
    pool = max(settings.pool, 4 * need)
    use_dense = settings.mode in ("hybrid", "dense")
    use_keyword = settings.mode in ("hybrid", "keyword")
    pins = sku_matches(session, query.text)
    if pins and len(pins) >= len(query.text.split()):
        use_dense = False  # the query is SKUs only: their parts, not their meaning, find relatives
    if use_dense and query_vector is None:
        query_vector = index.embedder.embed_query(query.text)
    constrained = _constrained(query)
    counts_all = index.keywords.token_counts(query.text) if use_keyword or hints is not None else {}
    known_words = len(counts_all) if hints is None else sum(
        1 for w in hints.content_words if w in counts_all or f"{w}s" in counts_all)
    kind = query_kind(hints, known_words, pinned=bool(pins)) if settings.forgiving else "fixed"
    if kind in ("plain", "descriptive") and hints is not None and known_words >= len(hints.content_words) \
            and counts_all and index.keywords.title_matches(query.text, 1, tokens=list(counts_all)):
        kind = "exact"  # every word is in some product's title: a title, not a need
    weights_now = query_weights(settings.weights, kind)
    hint_tokens = _hint_tokens(hints) if use_keyword else []
    rounds: list[int | None] = [pool, *(pool * f for f in settings.widen), None] if constrained else [pool, pool * 5]
    counts: dict[str, int] | None = counts_all if use_keyword else None
    for round_no, size in enumerate(rounds):
        allowed: list[int] | None = None
        if size is None:
            allowed = matching.matching_ids(session, query) if matching else matching_ids(session, query)
            if not allowed:
                return Ranked([], unmatched=False, exhaustive=True)
            k = min(len(allowed), pool * 5)
        else:
            k = size
        cut_off = False
        rankings: list[list[int]] = []
        weights: list[float] = []
        if use_dense:
            if query_vector is None:
                raise RuntimeError("dense ranking needs a query vector")
            dense, full = _dense(index, query_vector, k, allowed, settings.min_similarity)
            cut_off |= full
            rankings.append(dense)
            weights.append(weights_now[0])
        if use_keyword:
            if counts is None:
                counts = index.keywords.token_counts(query.text)
            known = list(counts)
            every = index.keywords.all_words(query.text, k, allowed=allowed, tokens=known)
            # any-word BM25 scores every product holding any of the words: slow for common
            # words on big catalogs. When k products hold them all, those are its top anyway;
            # else words in over COMMON_FRACTION of the catalog (low IDF) are left out of it.
            if len(every) >= k:
                hits = every
            else:
                limit = COMMON_FRACTION * max(index.vectors.ntotal, 1)
                rare = [t for t, n in counts.items() if n <= limit] or sorted(counts, key=lambda t: counts[t])[:1]
                hits = index.keywords.search(query.text, k, allowed=allowed, tokens=rare)
            title = index.keywords.title_matches(query.text, k, allowed=allowed, tokens=known)
            cut_off |= len(hits) >= k or len(title) >= k or len(every) >= k
            rankings += [[pid for pid, _ in hits], [pid for pid, _ in every], [pid for pid, _ in title]]
            weights += [weights_now[1], weights_now[2], weights_now[3]]
            if hint_tokens:
                rankings.append([pid for pid, _ in index.keywords.search("", k, allowed=allowed, tokens=hint_tokens)])
                weights.append(HINT_WEIGHT)
        scored = reciprocal_rank_fusion(rankings, k=settings.rrf_k, weights=weights)
        fused = [pid for pid, _ in scored]
        candidates = list(dict.fromkeys(pins + fused))
        if round_no == 0 and not candidates:
            return Ranked([], unmatched=True)
        survivors = matching_ids(session, query, candidates)
        if len(survivors) >= need or not cut_off or size is None:
            ordered = soft_rerank(session, survivors, dict(scored), hints, pinned=pins, boost=BOOST[kind])
            ordered = fill_named(session, index, query, ordered, hints, need=need, pinned=pins,
                                 query_vector=query_vector if use_dense else None)
            return Ranked(ordered, exhaustive=not cut_off or size is None)
    ordered = soft_rerank(session, survivors, dict(scored), hints, pinned=pins, boost=BOOST[kind])
    return Ranked(fill_named(session, index, query, ordered, hints, need=need, pinned=pins,
                             query_vector=query_vector if use_dense else None), exhaustive=False)


def _named_slugs(hints: QueryHints | None) -> frozenset[str]:
    """The categories the words name as a whole (:data:`~shop.services.search.categories.WHOLE`
    or :data:`~shop.services.search.categories.EXACT`), else none."""
    if hints is None or not hints.named:
        return frozenset()
    return frozenset(s for s in hints.top_named if hints.named[s] >= WHOLE)


def fill_named(session: Session, index: CatalogIndex, query: SearchQuery, ordered: list[int],
               hints: QueryHints | None, *, need: int, query_vector: np.ndarray | None = None,
               pinned: Sequence[int] = ()) -> list[int]:
    """``ordered`` (from :func:`soft_rerank`: pinned SKUs, then the named categories'
    products, then the rest) with more products of a category the words name as a whole
    when fewer than ``need`` of them lead it: the rankers' candidates can miss a category
    whose products don't use its name ("All Home & Kitchen", "Value Bazaar"). Its
    products meeting the constraints are ranked by the query vector (no similarity
    floor: the category was named), else by keyword score, then rating, and inserted
    after the named products already leading, before the rest."""
    slugs = _named_slugs(hints)
    if not slugs or hints is None:
        return ordered
    head = ordered[:need]
    rows = session.execute(
        select(Product.id, Category.slug).join(Category, Category.id == Product.category_id)
        .where(Product.id.in_(head))
    ).all() if head else []
    if sum(1 for _, slug in rows if slug in slugs) >= need:
        return ordered
    named = {int(pid) for pid, slug in rows if slug in hints.top_named}
    pins = set(pinned)
    cut = 0
    while cut < len(head) and (head[cut] in pins or head[cut] in named):
        cut += 1
    leading = set(ordered[:cut])
    members = [int(pid) for pid in session.scalars(
        select(Product.id).join(Category, Category.id == Product.category_id)
        .where(Category.slug.in_(sorted(slugs)), Product.is_active.is_(True))
        .order_by(Product.rating_avg.desc().nulls_last(), Product.rating_count.desc(), Product.id)
        .limit(NAMED_FILL_MAX)
    ) if pid not in leading]
    allowed = matching_ids(session, query, members) if members else []
    if not allowed:
        return ordered
    want = min(len(allowed), need - cut + need)
    if query_vector is not None:
        _, ids = index.vectors.search(query_vector, want, allowed=np.asarray(allowed, dtype=np.int64))
        extra = [int(i) for i in ids[0] if i >= 0]
    else:
        extra = [pid for pid, _ in index.keywords.search(query.text, want, allowed=allowed)]
    extra = list(dict.fromkeys(extra + allowed))[:want]
    moved = set(extra)
    return ordered[:cut] + extra + [i for i in ordered[cut:] if i not in moved]


def _hint_tokens(hints: QueryHints | None) -> list[str]:
    if hints is None or not (hints.attributes or hints.categories):
        return []
    words = " ".join([*hints.attributes, *(c.replace("-", " ") for c in sorted(hints.categories))])
    return query_tokens(words)


def soft_rerank(session: Session, ids: list[int], scores: dict[int, float], hints: QueryHints | None, *,
                pinned: Sequence[int] = (), boost: float = 0.25) -> list[int]:
    """``ids`` re-ordered: pinned SKUs first, then products of the most strongly named
    category, each group by fused score plus ``boost`` x (share of the hinted attributes
    held, up to 3) and ``boost`` for a hinted category. Only the first
    :data:`RERANK_DEPTH` are looked at; a soft re-rank never drops a product."""
    if hints is None or not hints.any or len(ids) < 2:
        return ids
    head, tail = ids[:RERANK_DEPTH], ids[RERANK_DEPTH:]
    rows = session.execute(
        select(Product.id, Category.slug, Product.attributes)
        .join(Category, Category.id == Product.category_id, isouter=True)
        .where(Product.id.in_(head))
    ).all()
    facts = {int(r[0]): (r[1], r[2]) for r in rows}
    top = max((scores.get(i, 0.0) for i in head), default=0.0) or 1.0
    named = hints.top_named
    pins = set(pinned)
    wanted = max(1, min(len(hints.attributes), 3))

    def key(item: tuple[int, int]) -> tuple[int, int, float, int]:
        position, pid = item
        slug, attributes = facts.get(pid, (None, None))
        score = scores.get(pid, 0.0) / top
        if hints.attributes:
            score += boost * min(attribute_hits(attributes, hints.attributes), wanted) / wanted
        if slug in hints.categories:
            score += boost
        return (0 if pid in pins else 1, 0 if slug in named else 1, -score, position)

    return [pid for _, pid in sorted(enumerate(head), key=key)] + tail


def _dense(index: CatalogIndex, vector: np.ndarray, k: int, allowed: list[int] | None,
           floor: float) -> tuple[list[int], bool]:
    """Dense ranking above ``floor``; second value: whether more could lie beyond ``k``."""
    k = max(1, min(k, max(index.vectors.ntotal, 1)))
    scores, ids = index.vectors.search(vector, k, allowed=np.asarray(allowed, dtype=np.int64)
                                       if allowed is not None else None)
    keep = (ids[0] >= 0) & (scores[0] >= floor)
    ranked = [int(i) for i in ids[0][keep]]
    return ranked, bool(keep.all() and keep.size >= k and k < index.vectors.ntotal)
