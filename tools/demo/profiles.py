"""The demo customers' hidden preferences, which the generator draws and the offer
response model and the promo simulation read (never stored in the database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PRICE_LEVELS = ("budget", "mid", "premium")


@dataclass(frozen=True)
class CustomerProfile:
    """A customer's hidden preferences (never stored in the database).

    ``favourite_categories``: 2-3 category slugs -> Dirichlet weight (sums to 1);
    ``brand_affinity``: every brand slug -> weight (sums to 1), correlated with
    ``style`` (one of :data:`vocab.STYLES`) and ``price_level`` (budget/mid/premium,
    preferring brand tier 0/1/2); ``gender``: men/women (they also buy unisex items);
    ``activity``: relative shopping frequency.
    """

    gender: str
    style: str
    price_level: str
    favourite_categories: dict[str, float]
    brand_affinity: dict[str, float]
    apparel_size: str
    shoe_size: str
    colours: tuple[str, ...]
    activity: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the profile."""
        return {
            "gender": self.gender,
            "style": self.style,
            "price_level": self.price_level,
            "preferred_tier": PRICE_LEVELS.index(self.price_level),
            "favourite_categories": dict(self.favourite_categories),
            "brand_affinity": dict(self.brand_affinity),
            "apparel_size": self.apparel_size,
            "shoe_size": self.shoe_size,
            "colours": list(self.colours),
            "activity": self.activity,
        }
