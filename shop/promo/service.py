"""The promo engine as the action server calls it: one function per turn."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import OfferCode
from shop.promo.copy import PromoFacts, promo_facts
from shop.promo.offers import terms_of
from shop.promo.policy import Decision, PolicyConfig, decide, served_uplift
from shop.settings import Settings


@dataclass(frozen=True)
class PersonalOffer:
    """What the policy decided for a signed-in customer, and the facts to word it
    when an offer (with its code) was issued."""

    decision: Decision
    facts: PromoFacts | None


def personal_offer(session: Session, *, customer_id: int, now: datetime, config: PolicyConfig,
                   rng: random.Random | None = None) -> PersonalOffer:
    """Decide for ``customer_id`` (eligibility, control group, uplift, exploration),
    issue and log; runs in a worker thread (see ``actions.runtime.call_service``). A
    customer who already holds an unused, unexpired code is shown it again (arm
    ``"existing"``) instead of a new decision. The uplift model is the version promoted
    under ``config.model_dir`` (none: the policy explores)."""
    held = session.scalars(select(OfferCode).where(
        OfferCode.customer_id == customer_id, OfferCode.redeemed_at.is_(None), OfferCode.expires_at > now,
    ).order_by(OfferCode.issued_at.desc())).first()
    if held is not None and config.name != "paused":
        facts = promo_facts(session, customer_id=customer_id, terms=terms_of(session, held.offer), code=held.code,
                            expires_at=held.expires_at, offer_id=held.offer_id)
        return PersonalOffer(Decision("existing", "code already issued", held.offer, held), facts)
    served = served_uplift(config.model_dir, check_s=config.model_check_s) if (
        config.name == "uplift" and config.model_dir is not None) else None
    decision = decide(session, customer_id=customer_id, now=now, config=config,
                      model=served.model if served else None, categories=served.categories if served else [], rng=rng)
    if decision.offer is None or decision.code is None:
        return PersonalOffer(decision, None)
    facts = promo_facts(session, customer_id=customer_id, terms=terms_of(session, decision.offer),
                        code=decision.code.code, expires_at=decision.code.expires_at, offer_id=decision.offer.id)
    return PersonalOffer(decision, facts)


def policy_config(settings: Settings) -> PolicyConfig:
    """The :class:`PolicyConfig` from ``Settings.promo_*``."""
    return PolicyConfig(name=settings.promo_policy, control_pct=settings.promo_control_pct,
                        exploration=settings.promo_exploration, code_days=settings.promo_code_days,
                        salt=settings.promo_salt, model_dir=settings.promo_model_dir,
                        model_check_s=settings.promo_model_check_s)
