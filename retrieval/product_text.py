"""The text a product is searched and embedded by.

``product_document`` joins title, brand, category, gender, attributes and description
into one string, in that order (most specific first), so both keyword and dense
search see the same facts. It takes plain values, not ORM objects, so indexers can
call it on rows from any source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DOCUMENT_CHARS = 2_000
_LIST_ATTRIBUTES = ("features", "use_cases")
_SCALAR_ATTRIBUTES = ("material", "style", "season", "fit")


def product_document(
    *,
    title: str,
    brand: str | None = None,
    category: str | None = None,
    gender: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    description: str = "",
) -> str:
    """One searchable text for a product, at most ``MAX_DOCUMENT_CHARS`` characters.

    Example: ``"Alpine Crest Ridge Jacket. Brand: Alpine Crest. Category: Jackets. For:
    women. Material: nylon. Features: waterproof, hooded. Good for: hiking, rain. <description>"``
    """
    attrs = dict(attributes or {})
    parts = [title.strip().rstrip(".") + "."]
    if brand:
        parts.append(f"Brand: {brand}.")
    if category:
        parts.append(f"Category: {category}.")
    if gender and gender != "unisex":
        parts.append(f"For: {gender}.")
    for key in _SCALAR_ATTRIBUTES:
        if attrs.get(key):
            parts.append(f"{key.capitalize()}: {attrs[key]}.")
    labels = {"features": "Features", "use_cases": "Good for"}
    for key in _LIST_ATTRIBUTES:
        values = attrs.get(key)
        if isinstance(values, (list, tuple)) and values:
            parts.append(f"{labels[key]}: {', '.join(str(v) for v in values)}.")
    if description:
        parts.append(" ".join(description.split()))
    return " ".join(parts)[:MAX_DOCUMENT_CHARS]
