"""What to do with a message the NLU model is unsure about (below the fallback
threshold), before asking the shopper "Did you mean …?".

Asking back is right for most unclear messages, but not for a message that names
something in the catalog: a typed SKU, a product's exact title, or a category/brand
while the model's best guess is already a product intent. For those the catalog is
stronger evidence than the classifier, and showing results costs the shopper nothing
(the results themselves show whether we understood). :func:`product_reading` decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import Category, Product
from shop.services.catalog import find_brand_in_text, known_colour
from shop.services.price_claims import claimed_price
from shop.services.product_answers import without_title
from shop.services.product_lookup import named_product
from shop.services.question_topics import read_question
from shop.services.search.filters import sku_matches
from shop.services.text_parse import asks_cheaper, colour_only

SEARCH_INTENT = "search_products"
PRODUCT_QUESTION_INTENT = "ask_product_question"
# best guesses under which a message naming a category or brand means "find me that";
# "inform" is the model's guess for bare noun phrases ("hiking boots") when no form asks.
PRODUCT_GUESSES = frozenset({"search_products", "product_details", "refine_search", "ask_recommendation", "inform"})
MAX_TEXT_CHARS = 300          # longer messages are not product names; ask instead
TITLE_CANDIDATES = 400        # products read per anchor word when looking for a title
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class ProductReading:
    """How to read an unclear message: as ``intent`` (``"search_products"``) because
    of ``reason`` (``"sku"``, ``"title"``, ``"category"`` or ``"brand"``)."""

    intent: str
    reason: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def find_title_in_text(session: Session, *, text: str) -> int | None:
    """The id of an active product whose whole title occurs in ``text`` as consecutive
    words (case-insensitive; the longest title wins), or ``None``. Reads at most
    :data:`TITLE_CANDIDATES` titles for each of the three longest words of ``text``."""
    words = _words(text[:MAX_TEXT_CHARS])
    anchors = sorted({w for w in words if len(w) >= 4}, key=len, reverse=True)[:3]
    best: tuple[int, int] | None = None
    for anchor in anchors:
        rows = session.execute(
            select(Product.id, Product.title)
            .where(Product.is_active.is_(True), func.lower(Product.title).contains(anchor, autoescape=True))
            .limit(TITLE_CANDIDATES)
        ).all()
        for pid, title in rows:
            title_words = _words(title)
            if _contains(words, title_words) and (best is None or len(title_words) > best[1]):
                best = (int(pid), len(title_words))
    return best[0] if best else None


def find_category_in_text(session: Session, *, text: str) -> Category | None:
    """A category named in ``text``: its whole name, one part of an "A & B" name, or a
    part's last word ("hiking boots", "beanies", "tents", "boots"), singular or plural;
    the longest phrase wins."""
    words = [_singular(w) for w in _words(text[:MAX_TEXT_CHARS])]
    best: tuple[Category, int] | None = None
    for category in session.scalars(select(Category)):
        for part in re.split(r"\s*&\s*|\s*/\s*", category.name.lower()):
            phrase = [_singular(w) for w in _words(part)]
            for candidate in (phrase, phrase[-1:]):
                if _contains(words, candidate) and (best is None or len(candidate) > best[1]):
                    best = (category, len(candidate))
    return best[0] if best else None


def product_reading(session: Session, *, text: str, best_guess: str | None,
                    form_active: bool = False) -> ProductReading | None:
    """Whether an unclear message should be read as a product search, and why.

    Args:
        text: the shopper's message as typed.
        best_guess: the model's top intent other than ``nlu_fallback`` (or ``None``).
        form_active: a form (order lookup, return, ...) was waiting for an answer; its
            answers are never taken for searches.

    Returns:
        A :class:`ProductReading` when ``text`` names a SKU or a product's exact title
        (whatever the guess), or a category/brand while ``best_guess`` is in
        :data:`PRODUCT_GUESSES`; otherwise ``None`` (ask the shopper).
    """
    text = (text or "").strip()
    if form_active or not text or text.startswith("/") or len(text) > MAX_TEXT_CHARS:
        return None
    if read_question(text) is not None or claimed_price(text) is not None:
        # "what is the <title> made of?", "so the <title> costs $20?": about that product
        named = named_product(session, text=text)
        title = session.scalar(select(Product.title).where(Product.id == named.product_id)) \
            if named is not None and named.product_id is not None else None
        # the product's own name is no question ("... Waterproof Jacket"): read the rest
        if title is not None and (claimed_price(text) is not None
                                  or read_question(without_title(text, title)) is not None):
            return ProductReading(PRODUCT_QUESTION_INTENT, named.reason if named else "title")
    if sku_matches(session, text):
        return ProductReading(SEARCH_INTENT, "sku")
    if find_title_in_text(session, text=text) is not None:
        return ProductReading(SEARCH_INTENT, "title")
    if best_guess not in PRODUCT_GUESSES:
        return None
    if find_category_in_text(session, text=text) is not None:
        return ProductReading(SEARCH_INTENT, "category")
    if find_brand_in_text(session, text=text) is not None:
        return ProductReading(SEARCH_INTENT, "brand")
    return None


def pure_refinement(session: Session, *, text: str) -> bool:
    """Whether ``text`` only changes the last search: "anything cheaper?", "less
    expensive", "in blue" (a colour the catalog has), naming no category or product."""
    text = (text or "")[:MAX_TEXT_CHARS]
    if not text or find_category_in_text(session, text=text) is not None:
        return False
    if asks_cheaper(text):
        return named_product(session, text=text) is None
    colour = colour_only(text)
    return colour is not None and known_colour(session, value=colour) is not None
