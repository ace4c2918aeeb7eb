"""The A/B simulation on the demo shop: offer policies compared on incremental
conversion per offer budget, with outcomes from the demo's hidden true uplift
(:func:`tools.demo.offer_response.true_response`), which no policy sees.

Every opted-in customer with a hidden profile is one decision. For each policy the
simulation adds up, over the customers it gives an offer, the true expected extra
conversions and the expected discount the shop pays (redemption by 80% of converted
customers, as in the logged history): exact expectations, no sampling noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Customer, Offer
from shop.promo.features import customer_features, offer_categories
from shop.promo.policy import PolicyConfig, choose, train_uplift
from tools.demo.offer_response import expected_discount_cents, true_response
from tools.demo.profiles import CustomerProfile

REDEEM_SHARE = 0.8


@dataclass(frozen=True)
class PolicyResult:
    """``offers``: offers given; ``incremental``: expected extra conversions;
    ``spend_cents``: expected discount paid; ``per_1000``: extra conversions per $1,000
    of discount; ``per_offer``: extra conversions per offer given."""

    policy: str
    customers: int
    offers: int
    incremental: float
    spend_cents: float

    @property
    def per_1000(self) -> float:
        return self.incremental / (self.spend_cents / 100_000) if self.spend_cents else 0.0

    @property
    def per_offer(self) -> float:
        return self.incremental / self.offers if self.offers else 0.0


def simulate(session: Session, *, truth: dict[int, CustomerProfile], now: datetime, seed: int = 11,
             policies: tuple[PolicyConfig, ...] = (PolicyConfig(name="random"), PolicyConfig(name="uplift"),
                                                   PolicyConfig(name="uplift", exploration=0.0)),
             ) -> list[PolicyResult]:
    """One :class:`PolicyResult` per policy in ``policies`` (the uplift model is
    trained on the shop's logged history first)."""
    model = train_uplift(session)
    categories = offer_categories(session)
    offers = list(session.scalars(select(Offer).where(Offer.active.is_(True)).order_by(Offer.id)))
    ids = [cid for cid in session.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                                          .order_by(Customer.id)) if cid in truth]
    X = customer_features(session, rows=[(cid, now) for cid in ids], categories=categories)
    results = []
    for config in policies:
        rng = random.Random(seed)
        given = 0
        incremental = spend = 0.0
        for i, cid in enumerate(ids):
            offer, _ = choose(offers, config=config, model=model, features=X[i], rng=rng)
            if offer is None:
                continue
            profile = truth[cid]
            base, uplift = true_response(profile, kind=offer.kind, categories=tuple(offer.category_slugs))
            given += 1
            incremental += uplift
            spend += (base + uplift) * REDEEM_SHARE * expected_discount_cents(
                profile, kind=offer.kind, value=offer.value, min_items=offer.min_items)
        name = config.name if config.name != "uplift" else f"uplift (exploration {config.exploration:g})"
        results.append(PolicyResult(name, len(ids), given, incremental, spend))
    return results
