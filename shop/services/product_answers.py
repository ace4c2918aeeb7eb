"""Template answers about products, built only from the product's own data.

These are the grounded fallbacks the LLM issue keeps: every number and name in the
text comes from :class:`~shop.services.catalog.ProductDetails`. When the data
doesn't answer a question, :func:`answer_question` returns ``None`` rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shop.services.catalog import ProductDetails
from shop.services.text_parse import ORDINALS

_SIZE_WORDS = {"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "small", "medium", "large"}
_SIZE_NAMES = {"small": "S", "medium": "M", "large": "L", "extra large": "XL"}


def _features(details: ProductDetails) -> list[str]:
    feats = details.attributes.get("features") or []
    return [str(f) for f in feats] if isinstance(feats, list) else [str(feats)]


def variant_label(size: str | None, colour: str | None) -> str:
    """``"M blue"``, ``"one size"``: a variant in words."""
    return f"{size or 'one size'}{f' {colour}' if colour else ''}"


def _stock_line(details: ProductDetails) -> str:
    in_stock = [variant_label(size, colour) for size, colour, n in details.stock if n > 0]
    if not in_stock:
        return "Currently out of stock in every size."
    if len(in_stock) > 8:
        return f"In stock in {len(in_stock)} size/colour options, sizes {', '.join(details.card.in_stock_sizes)}."
    return "In stock: " + ", ".join(in_stock) + "."


def describe(details: ProductDetails) -> str:
    """A few lines about one product: price, rating, description, features, stock."""
    card = details.card
    price = card.price + (f" (was {details.compare_at})" if details.compare_at else "")
    rating = f" Rated {card.rating:.1f}/5 by {card.rating_count} shoppers." if card.rating else ""
    lines = [f"{card.title}{f' by {card.brand}' if card.brand else ''}: {price}.{rating}", details.description.strip()]
    feats = _features(details)
    if feats:
        lines.append("Features: " + ", ".join(feats) + ".")
    material = details.attributes.get("material")
    if material:
        lines.append(f"Material: {material}.")
    lines.append(_stock_line(details))
    if details.reviews:
        stars, title, body = details.reviews[0]
        snippet = (body or title or "").strip()
        if snippet:
            lines.append(f"A recent review ({stars}/5): \"{snippet[:160]}{'…' if len(snippet) > 160 else ''}\"")
    return "\n".join(line for line in lines if line)


def positions_in(text: str, n_shown: int) -> list[int]:
    """1-based positions named in ``text`` ("the first two", "1 and 3", "second and
    last"), limited to ``n_shown``; empty when none are named."""
    lowered = (text or "").lower()[:500]
    if re.search(r"\b(first|top) (two|2)\b|\bboth\b", lowered):
        return [p for p in (1, 2) if p <= n_shown]
    if re.search(r"\b(first|top) (three|3)\b", lowered):
        return [p for p in (1, 2, 3) if p <= n_shown]
    found: list[int] = []
    for match in re.finditer(r"\b(" + "|".join(ORDINALS) + r"|last|\d{1,2})\b", lowered):
        word = match.group(1)
        pos = n_shown if word == "last" else (int(word) if word.isdigit() else ORDINALS[word])
        if 1 <= pos <= n_shown and pos not in found:
            found.append(pos)
    return found if len(found) >= 2 else []


def compare_table(products: Iterable[ProductDetails]) -> str:
    """A side-by-side comparison in lines, one per product: price, rating, material,
    features and sizes in stock."""
    blocks = []
    for i, d in enumerate(products, start=1):
        rating = f"{d.card.rating:.1f}/5 ({d.card.rating_count})" if d.card.rating else "no ratings yet"
        feats = ", ".join(_features(d)) or "—"
        material = d.attributes.get("material") or "—"
        sizes = ", ".join(d.card.in_stock_sizes) or "out of stock"
        blocks.append(
            f"{i}. {d.card.title} — {d.card.price}; rating {rating}; material {material}; "
            f"features: {feats}; sizes in stock: {sizes}"
        )
    return "\n".join(blocks)


def compare_summary(products: Iterable[ProductDetails]) -> str:
    """Which product is cheapest and which is best rated, in a sentence or two."""
    items = list(products)
    cheapest = min(items, key=lambda d: d.card.price_cents)
    rated = [d for d in items if d.card.rating]
    summary = f"The {cheapest.card.title} is the cheaper option at {cheapest.card.price}."
    if rated:
        best = max(rated, key=lambda d: (d.card.rating or 0, d.card.rating_count))
        summary += f" The {best.card.title} has the best rating ({best.card.rating:.1f}/5)."
    return summary


def compare(products: Iterable[ProductDetails]) -> str:
    """:func:`compare_table` followed by :func:`compare_summary`."""
    items = list(products)
    return compare_table(items) + "\n" + compare_summary(items)


def _asked_size(text: str, size: str | None) -> str | None:
    if size:
        return str(size).upper() if str(size).lower() in _SIZE_WORDS else str(size)
    for word, canonical in _SIZE_NAMES.items():
        if re.search(rf"\b{word}\b", text):
            return canonical
    match = re.search(r"\b(?:size|in an?|in)\s+(xxxl|xxs|xxl|xs|s|m|l|xl|\d{1,2}(?:\.5)?)\b", text)
    return match.group(1).upper() if match else None


def answer_question(
    details: ProductDetails, question: str, *, size: str | None = None, colour: str | None = None
) -> str | None:
    """Answer a question about one product from its data, or ``None`` when the data
    does not say. Covers stock/size availability, waterproofing and other features,
    material, weight, fit, price, rating and use."""
    text = (question or "").lower()[:1000]
    title = details.card.title
    feats = [f.lower() for f in _features(details)]
    asked_size = _asked_size(text, size)
    if asked_size or colour or re.search(r"\b(in stock|available|availability|have it|sold out)\b", text):
        matching = [
            (s, c, n) for s, c, n in details.stock
            if (not asked_size or (s or "").lower() == asked_size.lower())
            and (not colour or (c or "").lower() == str(colour).lower())
        ]
        wanted = " ".join(v for v in (asked_size and f"size {asked_size}", colour) if v) or "any size"
        if not matching:
            return f"The {title} doesn't come in {wanted}. {_stock_line(details)}"
        units = sum(n for _, _, n in matching)
        if units:
            return f"Yes, the {title} is in stock in {wanted} ({units} left). {details.card.price}."
        return f"Sorry, the {title} is sold out in {wanted} right now. {_stock_line(details)}"
    for word in ("waterproof", "windproof", "insulated", "breathable", "packable", "hooded", "quick-dry"):
        if word in text:
            has = any(word in f for f in feats) or word in details.description.lower()
            if has:
                return f"Yes, the {title} is {word} — it's listed among its features."
            return f"The product information for the {title} doesn't list it as {word}, so I wouldn't count on it."
    if re.search(r"\b(made of|material|fabric|cotton|wool|merino|down|nylon|polyester)\b", text):
        material = details.attributes.get("material")
        return f"The {title} is made of {material}." if material else None
    if re.search(r"\b(weigh|weight|heavy|light)\b", text):
        grams = details.attributes.get("weight_g")
        return f"The {title} weighs {grams} g." if grams else None
    if re.search(r"\b(fit|run small|runs small|run big|runs big|true to size|sizing)\b", text):
        fit = details.attributes.get("fit")
        return f"The {title} has a {fit} fit." if fit else None
    if re.search(r"\b(price|cost|how much)\b", text):
        return f"The {title} costs {details.card.price}."
    if re.search(r"\b(ratings?|rated|reviews?|worth it|any good)\b", text):
        if details.card.rating:
            return f"The {title} is rated {details.card.rating:.1f}/5 by {details.card.rating_count} shoppers."
        return f"The {title} has no reviews yet."
    use_cases = [str(u) for u in details.attributes.get("use_cases", [])]
    for use in use_cases:
        if use.lower() in text:
            return f"Yes, the {title} is made for {use}."
    return None
