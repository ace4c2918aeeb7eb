"""The recommendation impressions log and what an order line owes to it.

:func:`record_impressions` writes one ``recommendation_impressions`` row per product of
a list the shopper was shown (chat: ``source="chat"``; ``GET /recommend``:
``source="api"``), under one request id. Impressions are a separate log, not
``interactions`` ``view`` rows: the preference model trains on interactions, and being
shown a product is not looking at it.

A later click or add-to-cart is an ``interactions`` row of the same conversation (or
customer) and product; an order line is credited (:func:`latest_impression`,
:func:`latest_touch`) to the latest impression of its product to that shopper within
:data:`ATTRIBUTION_DAYS` before the order, and to the latest click or add-to-cart of it
in the conversation. CTR and conversion then are joins on these rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shop.db.schema import Interaction, RecommendationImpression
from shop.services.recommendations import Recommendations

ATTRIBUTION_DAYS = 7
SOURCES = ("chat", "api")


def record_impressions(session: Session, *, result: Recommendations, source: str, session_id: str | None,
                       customer_id: int | None, now: datetime, request_id: str | None = None) -> str:
    """Log every item of ``result`` as shown, in order; returns the request id (32 hex
    digits, new unless given). ``customer_id`` must be a verified identity.

    Raises:
        ValueError: for a ``source`` outside :data:`SOURCES`.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown impression source {source!r}; allowed: {', '.join(SOURCES)}")
    rid = request_id or uuid.uuid4().hex
    for position, item in enumerate(result.items, start=1):
        session.add(RecommendationImpression(
            request_id=rid[:32], at=now, source=source, session_id=session_id[:64] if session_id else None,
            customer_id=customer_id, product_id=item.card.id, position=position, how=result.how[:16],
            model_kind=(result.model_kind or None), model_version=(result.model_version or "")[:64] or None))
    session.flush()
    return rid


def latest_impression(session: Session, *, product_id: int, session_id: str, customer_id: int | None,
                      before: datetime, days: int = ATTRIBUTION_DAYS) -> int | None:
    """The id of the latest impression of ``product_id`` to this conversation (or to this
    verified customer, on any channel) in the ``days`` up to ``before``."""
    who = [RecommendationImpression.session_id == session_id]
    if customer_id is not None:
        who.append(RecommendationImpression.customer_id == customer_id)
    return session.scalar(
        select(RecommendationImpression.id)
        .where(RecommendationImpression.product_id == product_id, or_(*who),
               RecommendationImpression.at <= before, RecommendationImpression.at > before - timedelta(days=days))
        .order_by(RecommendationImpression.at.desc(), RecommendationImpression.id.desc()).limit(1))


def latest_touch(session: Session, *, product_id: int, session_id: str, before: datetime,
                 days: int = ATTRIBUTION_DAYS) -> int | None:
    """The id of the latest click or add-to-cart of ``product_id`` in the conversation in
    the ``days`` up to ``before``."""
    return session.scalar(
        select(Interaction.id)
        .where(Interaction.product_id == product_id, Interaction.session_id == session_id,
               Interaction.kind.in_(("click", "add_to_cart")), Interaction.at <= before,
               Interaction.at > before - timedelta(days=days))
        .order_by(Interaction.at.desc(), Interaction.id.desc()).limit(1))
