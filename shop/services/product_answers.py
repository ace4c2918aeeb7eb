"""Template answers about products, built only from the product's own data.

These are the grounded fallbacks the LLM issue keeps: every number and name in the
text comes from :class:`~shop.services.catalog.ProductDetails`. When the data
doesn't answer a question, :func:`answer_question` returns ``None`` rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shop.services.catalog import ProductDetails
from shop.services.question_topics import FEATURE_ALIASES, Asked, read_question
from shop.services.text_parse import ORDINALS, parse_ordinal


def _features(details: ProductDetails) -> list[str]:
    feats = details.attributes.get("features") or []
    return [str(f) for f in feats] if isinstance(feats, list) else [str(feats)]


def variant_label(size: str | None, colour: str | None) -> str:
    """``"M blue"``, ``"one size"``: a variant in words."""
    return f"{size or 'one size'}{f' {colour}' if colour else ''}"


def in_stock_units(units: int | None) -> bool:
    """Whether a variant's units mean "in stock": above 0, or ``None`` (quantity unknown)."""
    return units is None or units > 0


def _stock_line(details: ProductDetails) -> str:
    in_stock = [variant_label(size, colour) for size, colour, n in details.stock if in_stock_units(n)]
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


COMPARE_WORDS = re.compile(r"\b(compare|comparison|vs\.?|versus|differen\w*|between|both|two|three|which (one|of)|"
                           r"better|best|cheaper|cheapest|lighter|lightest|heavier|warmer|than)\b", re.I)


def asks_about_one(text: str) -> bool:
    """Whether ``text`` points at one shown product ("the first one", "#2") and asks
    nothing comparative: a question about that product, whatever the NLU guessed."""
    return parse_ordinal(text) is not None and not COMPARE_WORDS.search(text or "")


def question_about_shown(text: str) -> bool:
    """Whether ``text`` asks something about one shown product ("are the first ones
    leather?", "will the second ones keep my feet dry?"): it points at one by position
    and its words say what it asks (:func:`read_question`)."""
    return asks_about_one(text) and read_question(text) is not None


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


def compare_summary(products: Iterable[ProductDetails], question: str = "") -> str:
    """Which product is cheapest, lightest and best rated, in a sentence each; what the
    ``question`` asks about ("which is lighter?") comes first."""
    items = list(products)
    cheapest = min(items, key=lambda d: d.card.price_cents)
    sentences = {"price": f"The {cheapest.card.title} is the cheaper option at {cheapest.card.price}."}
    rated = [d for d in items if d.card.rating]
    if rated:
        best = max(rated, key=lambda d: (d.card.rating or 0, d.card.rating_count))
        sentences["rating"] = f"The {best.card.title} has the best rating ({best.card.rating:.1f}/5)."
    weighed = [d for d in items if d.attributes.get("weight_g")]
    if len(weighed) == len(items):
        light = min(weighed, key=lambda d: d.attributes["weight_g"])
        others = ", ".join(f"{d.attributes['weight_g']} g" for d in weighed if d is not light)
        sentences["weight"] = (f"The {light.card.title} is the lightest at {light.attributes['weight_g']} g "
                               f"(against {others}).")
    low = (question or "").lower()
    first = ("weight" if re.search(r"light|heav|weigh", low) else
             "rating" if re.search(r"rat|review|star|like|better|best", low) else "price")
    order = [first] + [k for k in ("price", "rating", "weight") if k != first]
    return " ".join(sentences[k] for k in order if k in sentences)


def compare(products: Iterable[ProductDetails]) -> str:
    """:func:`compare_table` followed by :func:`compare_summary`."""
    items = list(products)
    return compare_table(items) + "\n" + compare_summary(items)


# how a feature reads after "the <product> ..." (default: "has <feature>")
FEATURE_PHRASES: dict[str, str] = {
    "waterproof": "is waterproof", "windproof": "is windproof", "hooded": "has a hood", "packable": "packs down small",
    "breathable": "is breathable", "insulated": "is insulated", "freestanding": "is freestanding",
    "lightweight": "is lightweight", "midweight": "is midweight", "cushioned": "is cushioned",
    "quick-dry": "is quick-drying", "stretch": "is stretchy", "wrinkle resistant": "is wrinkle resistant",
    "water repellent": "is water repellent", "fleece lined": "is fleece lined", "adjustable": "is adjustable",
    "zero drop": "is zero drop", "four-season": "is a four-season design", "three-season": "is a three-season design",
    "footprint included": "comes with a footprint", "full zip": "is a full zip", "wide fit": "has a wide fit",
    "UPF 50": "has UPF 50 sun protection", "UPF 40": "has UPF 40 sun protection",
    "hydration compatible": "takes a hydration bladder", "touchscreen fingertips": "has touchscreen fingertips",
    "rated to 0F": "is rated to 0F", "rated to 20F": "is rated to 20F", "rated to 40F": "is rated to 40F",
    "odor control": "has odor control", "odor resistant": "is odor resistant",
}
SEASON_TEXT = {"all-season": "a year-round (all-season)", "three-season": "a three-season",
               "four-season": "a four-season", "winter": "a cold-weather (winter)", "summer": "a warm-weather (summer)"}


def _feature_phrase(feature: str) -> str:
    if feature in FEATURE_PHRASES:
        return FEATURE_PHRASES[feature]
    article = "" if feature.endswith("s") else ("an " if feature[0].lower() in "aeiou" else "a ")
    return f"has {article}{feature}"


def _uses_text(uses: list[str]) -> str:
    return uses[0] if len(uses) == 1 else f"{', '.join(uses[:-1])} and {uses[-1]}"


def season_fits(season: str | None, features: list[str], asked: str) -> bool:
    """Whether a product of ``season`` suits ``asked`` weather: winter for winter and
    four-season products and anything insulated; summer for summer, all-season and
    three-season ones."""
    if asked == "winter":
        return season in ("winter", "four-season") or "insulated" in features
    return season in ("summer", "all-season", "three-season")


def _stock_answer(details: ProductDetails, size: str | None, colour: str | None) -> str:
    title = details.card.title
    matching = [(s, c, n) for s, c, n in details.stock
                if (not size or (s or "one size").lower() == size.lower())
                and (not colour or (c or "").lower() == str(colour).lower())]
    wanted = " ".join(v for v in (size and f"size {size}", colour) if v) or "any size"
    if not matching:
        return f"The {title} doesn't come in {wanted}. {_stock_line(details)}"
    if any(n is None for _, _, n in matching):  # the shop's file gave no quantity: no number to promise
        return f"Yes, the {title} is in stock in {wanted} at {details.card.price}."
    units = sum(n or 0 for _, _, n in matching)
    if units:
        return f"Yes, the {title} is in stock in {wanted} ({units} left) at {details.card.price}."
    return f"Sorry, the {title} is sold out in {wanted} right now. {_stock_line(details)}"


def answer_question(
    details: ProductDetails, question: str, *, size: str | None = None, colour: str | None = None,
    asked: Asked | None = None,
) -> str | None:
    """Answer a question about one product from its data, or ``None`` when the data
    does not say. What is asked is read by :func:`shop.services.question_topics.read_question`
    (stock and sizes, features by any wording, fit, weight, material, price, rating,
    warranty, uses, seasons and weather); ``asked``: that reading when the caller has it."""
    asked = asked or read_question(question, size=size, colour=colour)
    if asked is None or asked.topic == "unanswerable":
        return None
    text = (question or "").lower()[:500]
    title = details.card.title
    attrs = details.attributes
    feats = _features(details)
    feats_low = [f.lower() for f in feats]
    if asked.topic == "stock":
        return _stock_answer(details, asked.size, colour)
    if asked.topic == "feature" and asked.feature:
        names = FEATURE_ALIASES.get(asked.feature, (asked.feature,))
        have = [f for f in feats if f.lower() in {n.lower() for n in names}]
        if have:
            return f"Yes, the {title} {_feature_phrase(have[0])}: it's one of its listed features."
        answer = f"No, {asked.feature} isn't among the listed features of the {title}."
        if asked.feature == "waterproof" and "water repellent" in feats_low:
            answer += " It is water repellent, which handles light showers."
        return answer + (f" Its features: {', '.join(feats)}." if feats else "")
    if asked.topic == "fit":
        fit = attrs.get("fit")
        if not fit:
            return None
        answer = f"The {title} has a {fit} fit."
        if re.search(r"run(s)? (small|big|large)|true to size|size (up|down)|between sizes", text):
            answer += (f" The product details describe it as a {fit} fit and say nothing about it running"
                       " small or large.")
        return answer
    if asked.topic == "weight":
        grams = attrs.get("weight_g")
        return f"The {title} weighs {grams} g (about {grams / 28.35:.1f} oz)." if grams else None
    if asked.topic == "material":
        material = attrs.get("material")
        return f"The {title} is made of {material}." if material else None
    if asked.topic == "warranty":
        sentences = [x.strip() for x in re.split(r"(?<=[.!?])\s+", details.description) if "warrant" in x.lower()]
        return sentences[0] if sentences else None
    if asked.topic == "use" and asked.use:
        uses = [str(u) for u in attrs.get("use_cases") or []]
        if not uses:
            return None
        if asked.use.lower() in [u.lower() for u in uses]:
            return f"Yes, the {title} is made for {_uses_text(uses)}."
        return f"It isn't listed for {asked.use}: the {title} is made for {_uses_text(uses)}."
    if asked.topic == "season":
        season = attrs.get("season")
        if not season:
            return None
        kind = f"{SEASON_TEXT.get(str(season), str(season))} piece"
        if asked.season_asked:
            warm = " and it's insulated" if "insulated" in feats_low else ""
            if season_fits(str(season), feats_low, asked.season_asked):
                return f"Yes, the {title} is {kind}{warm}."
            return f"It isn't made for {asked.season_asked}: the {title} is {kind}."
        return f"The {title} is {kind}."
    if asked.topic == "price":
        if re.search(r"\b(sale|discount|deal)", text) and not details.compare_at:
            return f"The {title} isn't on sale right now: it costs {details.card.price}."
        was = f", down from {details.compare_at}" if details.compare_at else ""
        return f"The {title} costs {details.card.price}{was}."
    if asked.topic == "rating":
        if details.card.rating:
            return f"The {title} is rated {details.card.rating:.1f}/5 by {details.card.rating_count} shoppers."
        return f"The {title} has no reviews yet."
    return None


def without_title(question: str, title: str) -> str:
    """``question`` with the product's own title (any case, possessive or plural) said as
    "the product", so words of the name ("Convertible", "Waterproof") are not read as
    what is asked: "what is the <title> made of?" asks about material."""
    if not title or not question:
        return question or ""
    words = [re.escape(w) for w in re.findall(r"[A-Za-z0-9]+", title)]
    if not words:
        return question
    pattern = r"(?<![A-Za-z0-9])" + r"[\W_]*".join(words) + r"(?:['\u2019]?s)?(?![A-Za-z0-9])"
    return re.sub(pattern, "product", question[:2000], flags=re.I)
