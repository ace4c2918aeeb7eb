"""Which product a message names: a SKU, a product's exact title, part of a title, or
a brand with a model ("is the Fjell Keystone waterproof?").

:func:`named_product` reads the catalog through indexed prefilters only, never a scan
of every title per message:

- SKUs through the unique SKU indexes (:func:`shop.services.search.filters.sku_matches`);
- titles that start with a word of the message, through the unique ``handle`` index
  (handles are the title's slug: a range scan on ``"<word>-"``);
- products of a brand the message names, through the ``brand_id`` index;
- products of a category the message names, through the ``(category_id, price)`` index,
  narrowed by the message's rarest words.

Candidates are scored by the words of their title the message holds, each weighted by
how rare it is in the catalog's titles (a document-frequency table built once per
database and refreshed every :data:`VOCAB_TTL_S` seconds). Case, punctuation, plurals,
possessives, "&"/"and" and one typo in a long word do not matter. Several products
equally good (the same model in men's and women's) come back as ``candidates`` so the
caller can ask "which one?"; more than :data:`MAX_CHOICES` means the message names a
kind of product, not one (a search).
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from shop.db.schema import Brand, Category, Product
from shop.services.page_context import page_product
from shop.services.search.filters import sku_matches

Reason = Literal["sku", "exact title", "partial title", "brand+model"]

MAX_TEXT_CHARS = 300        # longer messages are cut: a title fits well within it
MAX_WORDS = 12              # message words tried as title starts (the longest ones)
ROWS_PER_PREFILTER = 200    # rows read per indexed prefilter
MAX_CHOICES = 4             # more equally good products than this: a kind of product, not one
MIN_PARTIAL_SHARE = 0.5     # share of a title's information the message must hold
TYPO_MIN_LEN = 6            # words this long may carry one typo
VOCAB_TTL_S = 600.0
EXACT_BONUS = 1000.0       # a whole title in the message beats any partial reading
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Match:
    """The product a message names.

    Attributes:
        product_id: the product, or ``None`` when several are equally good.
        score: how well it matched (1.0 and above: the whole title; a share of the
            title's information otherwise).
        reason: ``"sku"``, ``"exact title"``, ``"partial title"`` or ``"brand+model"``.
        candidates: when ``product_id`` is ``None``, the 2 to :data:`MAX_CHOICES`
            equally good products (best known first).
    """

    product_id: int | None
    score: float
    reason: Reason
    candidates: tuple[int, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.product_id is None


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _raw_words(text: str) -> list[str]:
    low = text.lower().replace("\u2019", "'").replace("&", " and ")
    low = re.sub(r"'s\b", "", low)
    return _TOKEN.findall(low)


@lru_cache(maxsize=100_000)
def title_tokens(title: str) -> tuple[str, ...]:
    """:func:`tokens` of a product title (cached: titles come back message after message)."""
    return tuple(tokens(title))


def tokens(text: str) -> list[str]:
    """Words of ``text`` as titles are compared: lower case, singular, no possessives,
    "&" read as "and", punctuation and hyphens as spaces."""
    return [_singular(w) for w in _raw_words(text)]


def one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one insertion, deletion, substitution
    or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


@dataclass(frozen=True)
class Vocabulary:
    """Document frequencies of title words among active products."""

    n: int
    df: dict[str, int]

    def idf(self, token: str) -> float:
        return math.log(1.0 + self.n / (1 + self.df.get(token, 0)))

    def correct(self, token: str) -> str | None:
        """The catalog word one typo away from an unknown ``token`` (the most common
        one), or ``None``."""
        if token in self.df or len(token) < TYPO_MIN_LEN or token.isdigit():
            return None
        close = [w for w in self.df if abs(len(w) - len(token)) <= 1 and w[0] == token[0] and one_edit(w, token)]
        if not close and len(token) >= TYPO_MIN_LEN:  # a typo in the first letter
            close = [w for w in self.df if len(w) == len(token) and w[1:] == token[1:]]
        return max(close, key=lambda w: self.df[w]) if close else None


_vocab_lock = threading.Lock()
_vocabularies: dict[str, tuple[float, Vocabulary]] = {}


def title_vocabulary(session: Session, *, now: float | None = None) -> Vocabulary:
    """The title vocabulary of the session's database, built once (reading titles only)
    and rebuilt after :data:`VOCAB_TTL_S` seconds."""
    bind = session.get_bind()
    key = str(bind.engine.url)
    now = time.monotonic() if now is None else now
    with _vocab_lock:
        cached = _vocabularies.get(key)
        if cached is not None and now - cached[0] < VOCAB_TTL_S:
            return cached[1]
    df: dict[str, int] = {}
    n = 0
    for (title,) in session.execute(select(Product.title).where(Product.is_active.is_(True))
                                    .execution_options(yield_per=5000)):
        n += 1
        for token in set(title_tokens(title)):
            df[token] = df.get(token, 0) + 1
    vocab = Vocabulary(n, df)
    with _vocab_lock:
        _vocabularies[key] = (now, vocab)
    return vocab


def clear_vocabulary_cache() -> None:
    with _vocab_lock:
        _vocabularies.clear()


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


Row = tuple[int, str, str | None]   # id, title, brand name


def _rows(session: Session, *where: ColumnElement[bool], limit: int = ROWS_PER_PREFILTER) -> list[Row]:
    stmt = (select(Product.id, Product.title, Brand.name).outerjoin(Brand, Brand.id == Product.brand_id)
            .where(Product.is_active.is_(True), *where).limit(limit))
    return [(int(i), str(t), b) for i, t, b in session.execute(stmt).all()]


def _title_has(words: list[str]) -> ColumnElement[bool]:
    return or_(*(func.lower(Product.title).contains(w, autoescape=True) for w in words))


def _candidates(session: Session, *, raw: list[str], words: list[str], vocab: Vocabulary) -> dict[int, Row]:
    """Products the message may name, from the indexed prefilters (see the module text)."""
    found: dict[int, Row] = {}
    starts = sorted({w for w in raw if len(w) >= 2}, key=len, reverse=True)[:MAX_WORDS]
    handle_ranges = [and_(Product.handle >= f"{w}-", Product.handle < f"{w}.") for w in starts]
    handle_ranges += [Product.handle == w for w in starts]
    for w in starts:
        if len(w) >= TYPO_MIN_LEN and w not in vocab.df:  # a typo after the 4th letter
            handle_ranges.append(and_(Product.handle >= w[:4], Product.handle < w[:3] + chr(ord(w[3]) + 1)))
    if handle_ranges:
        for row in _rows(session, or_(*handle_ranges), limit=2 * ROWS_PER_PREFILTER):
            found.setdefault(row[0], row)
    rare = sorted((w for w in set(words) if vocab.df.get(w) and len(w) >= 3), key=lambda w: vocab.df[w])[:2]
    for brand_id, brand_name in session.execute(select(Brand.id, Brand.name)).all():
        brand_tokens = tokens(brand_name)
        if not _contains_run(words, brand_tokens):
            continue
        narrow = [w for w in rare if w not in brand_tokens]
        extra = (_title_has(narrow),) if narrow else ()
        for row in _rows(session, Product.brand_id == brand_id, *extra):
            found.setdefault(row[0], row)
    for category_id, category_name in session.execute(select(Category.id, Category.name)).all():
        parts = [tokens(p) for p in re.split(r"\s*&\s*|\s*/\s*", category_name)]
        if not any(p and (_contains_run(words, p) or p[-1] in words) for p in parts):
            continue
        narrow = [w for w in rare if not any(w in p for p in parts)]
        if narrow:
            for row in _rows(session, Product.category_id == category_id, _title_has(narrow)):
                found.setdefault(row[0], row)
    if not found and len(rare) == 2:
        # a model named without its brand or category ("the Harbor 3 Tee"): the titles
        # holding the message's two rarest title words (one scan, only when nothing else hit)
        for row in _rows(session, *(_title_has([w]) for w in rare)):
            found.setdefault(row[0], row)
    return found


@dataclass(frozen=True)
class _Scored:
    product_id: int
    evidence: float   # the information of the title's words the message holds
    share: float      # ... as a share of the title's information
    reason: Reason


def _score(row: Row, *, words: list[str], vocab: Vocabulary, corrected: bool) -> _Scored | None:
    pid, title, brand_name = row
    words_of_title = list(title_tokens(title))
    if not words_of_title:
        return None
    unique = set(words_of_title)
    total = sum(vocab.idf(t) for t in unique)
    matched = unique & set(words)
    evidence = sum(vocab.idf(t) for t in matched)
    share = evidence / total if total else 0.0
    if _contains_run(words, words_of_title):
        return _Scored(pid, EXACT_BONUS + evidence, 1.0,
                       "partial title" if corrected else "exact title")
    brand_tokens = set(tokens(brand_name or ""))
    core = sorted(unique - brand_tokens, key=vocab.idf, reverse=True)
    # the title's rarest own word must be there, unless most of the title is (a typo
    # in exactly that word: "Hybrid Flip-Flp")
    rare_ok = bool(core) and core[0] in matched
    most_of_it = len(matched) >= 3 and share >= MIN_PARTIAL_SHARE
    if not (rare_ok or most_of_it) or len(matched) < 2:
        return None
    if brand_tokens and brand_tokens <= matched:
        return _Scored(pid, evidence, share, "brand+model")
    if share >= MIN_PARTIAL_SHARE:
        return _Scored(pid, evidence, share, "partial title")
    return None


def named_product(session: Session, *, text: str) -> Match | None:
    """The product ``text`` names, the equally good candidates when it names several,
    or ``None`` when it names none (or a whole kind of product). Never raises on odd
    input; reads at most a few hundred rows through indexes."""
    if not isinstance(text, str):
        return None
    text = text[:MAX_TEXT_CHARS].strip()
    if not text or text.startswith("/"):
        return None
    skus = sku_matches(session, text)
    if skus:
        return Match(skus[0], 1.0, "sku")
    vocab = title_vocabulary(session)
    raw = _raw_words(text)
    words = [_singular(w) for w in raw]
    fixes: dict[str, str] = {}
    for word in dict.fromkeys(words):
        fixed = vocab.correct(word) if word not in vocab.df else None
        if fixed is not None:
            fixes[word] = fixed
    fixed_words = [fixes.get(w, w) for w in words]
    fixed_raw = [fixes.get(_singular(w), w) for w in raw]
    rows = _candidates(session, raw=list(dict.fromkeys(raw + fixed_raw)), words=fixed_words, vocab=vocab)
    scored = []
    for row in rows.values():
        exact = _score(row, words=words, vocab=vocab, corrected=False) if fixes else None
        best = exact or _score(row, words=fixed_words, vocab=vocab, corrected=bool(fixes))
        if best is not None:
            scored.append(best)
    if not scored:
        return None
    top = max(s.evidence for s in scored)
    tied = sorted((s for s in scored if s.evidence >= top - 1e-9), key=lambda s: (-s.share, s.product_id))
    if len(tied) == 1:
        return Match(tied[0].product_id, round(tied[0].share, 4), tied[0].reason)
    if len(tied) > MAX_CHOICES:
        return None
    return Match(None, round(tied[0].share, 4), tied[0].reason, tuple(s.product_id for s in tied))


@dataclass(frozen=True)
class Referent:
    """What a message can point at besides the shown list: the product it names and the
    product page the shopper is on."""

    named: Match | None
    page: int | None


def lookup_referent(session: Session, *, text: str, page_url: object, public_url: str,
                    named: bool = True) -> Referent:
    """:func:`named_product` (when ``named``) and the page's product
    (:func:`shop.services.page_context.page_product`) in one call."""
    return Referent(named_product(session, text=text) if named else None,
                    page_product(session, page_url=page_url, public_url=public_url))
