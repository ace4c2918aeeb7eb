"""Brands read from product titles, for files with no brand column
(``--brand-from-title`` or ``brand_from_title: true`` in the mapping).

The rule, applied after a first pass over the whole file has counted title words:

1. A title's *first word* (trailing punctuation removed, compared case-insensitively)
   is a brand when at least ``min_products`` titles start with it (default 3),
   it has a letter and two or more characters, it is not a generic word
   (:data:`GENERIC_WORDS`: "New", "Men's", "Wireless", "Stainless", colours, sizes...),
   and it is not mostly a common word: it appears inside other titles (not first)
   at most twice as often as it starts them ("Cotton" starts a few titles and sits
   inside thousands; "Samsung" starts most of the titles it is in).
2. The brand is two words ("Van Heusen", "Allen Solly") when the same second word
   follows it in at least 90% of those titles and that word is not generic or a
   number; otherwise one ("Samsung", not "Samsung Galaxy", when Samsung also sells
   other lines).
3. The brand is spelled as in the first title that starts with it.

A title whose first word is not a brand by this rule gets no brand: it is never guessed
from a single product.
"""

from __future__ import annotations

import re
from collections import Counter

_GENERIC_TEXT = """
a an the and or of for with in on by to from at new latest original genuine official premium pack set combo kit
pair pairs piece pieces pcs men men's mens man women women's womens woman ladies lady kids kid's kids' boys
boy's girls girl's baby babies unisex adult adults classic smart wireless wired cotton leather digital portable
mini pro plus super ultra best home kitchen stainless steel plastic wooden wood metal glass large small medium big
xl xxl black white red blue green yellow pink purple orange grey gray brown beige navy gold silver multicolor
multicolour multi deluxe professional heavy duty soft organic natural pure fresh handmade vintage luxury cute
stylish casual formal printed solid striped hd led usb full high quality universal adjustable waterproof
electric automatic instant double single round square slim regular fit cushion cover case bag bags shoes shirt
t-shirt tshirt dress top jeans trousers pants socks watch phone mobile charger cable stand holder box bottle
water air car bike travel outdoor indoor sports sport gym yoga fitness winter summer spring autumn fashion
designer ethnic traditional modern combo-pack value family everyday daily extra long short half free
"""
GENERIC_WORDS = frozenset(_GENERIC_TEXT.split())

_STRIP = ".,:;!?|/\\()[]{}\"'`*-–—+&®™"


def _word(token: str) -> str:
    return token.strip(_STRIP)


def _usable(word: str) -> bool:
    return len(word) >= 2 and bool(re.search(r"[^\W\d_]", word)) and word.lower() not in GENERIC_WORDS


class TitleBrands:
    """Counts title words in a first pass (:meth:`add`), then names brands (:meth:`brand_for`)."""

    def __init__(self, min_products: int = 3) -> None:
        if min_products < 2:
            raise ValueError("min_products must be at least 2: a brand is never guessed from one product")
        self.min_products = min_products
        self.first: Counter[str] = Counter()
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.inside: Counter[str] = Counter()
        self.spelling: dict[str, str] = {}
        self.pair_spelling: dict[tuple[str, str], str] = {}
        self._brands: dict[str, str] | None = None

    def add(self, title: str) -> None:
        """Count one title (call once per product row before :meth:`brand_for`)."""
        words = [w for w in (_word(t) for t in title.split()) if w]
        if not words:
            return
        key = words[0].lower()
        self.first[key] += 1
        self.spelling.setdefault(key, words[0])
        if len(words) > 1:
            pair = (key, words[1].lower())
            self.pairs[pair] += 1
            self.pair_spelling.setdefault(pair, f"{words[0]} {words[1]}")
        for w in {w.lower() for w in words[1:]}:
            self.inside[w] += 1
        self._brands = None

    def brands(self) -> dict[str, str]:
        """First word (lower case) -> brand, by the module's rule."""
        if self._brands is not None:
            return self._brands
        best_pair: dict[str, tuple[int, tuple[str, str]]] = {}
        for pair, n in self.pairs.items():
            if n > best_pair.get(pair[0], (0, pair))[0]:
                best_pair[pair[0]] = (n, pair)
        brands: dict[str, str] = {}
        for key, n in self.first.items():
            word = self.spelling[key]
            if n < self.min_products or not _usable(word) or self.inside[key] > 2 * n:
                continue
            brand = word
            n_pair, pair = best_pair.get(key, (0, (key, "")))
            second = pair[1]
            if n_pair >= 0.9 * n and _usable(second) and not re.search(r"\d", second):
                brand = self.pair_spelling[pair]
            brands[key] = brand[:120]
        self._brands = brands
        return brands

    def brand_for(self, title: str) -> str | None:
        """The brand of ``title`` by the rule, or ``None``."""
        words = [w for w in (_word(t) for t in title.split()) if w]
        if not words:
            return None
        return self.brands().get(words[0].lower())
