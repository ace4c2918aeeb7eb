"""What shoppers do with products in chat, written to the interactions table that the
preference model retrains on (the closed loop of the recommendations issue).

``record_interaction`` stores one view, click, add-to-cart or purchase. A customer id
is stored only when the channel verified it (signed metadata); anonymous events keep
the conversation id as ``session_id``, so the session's behaviour still shapes its
recommendations.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.recsys.interaction_log import KINDS
from shop.db.schema import Customer, Interaction, Product
from shop.services.catalog import ProductDetails, product_details


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def known_customer(session: Session, *, customer_id: int | str | None) -> int | None:
    """``customer_id`` as an int when that customer exists, else ``None``."""
    try:
        cid = int(str(customer_id)) if customer_id is not None else None
    except ValueError:
        return None
    if cid is None or session.get(Customer, cid) is None:
        return None
    return cid


def record_interaction(session: Session, *, product_id: int, kind: str, session_id: str,
                       customer_id: int | str | None = None, source: str = "chat",
                       at: datetime | None = None) -> Interaction | None:
    """Store one event; ``None`` (nothing stored) for a product that doesn't exist.

    Raises:
        ValueError: for a kind outside :data:`KINDS` or an empty ``session_id``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown interaction kind {kind!r}; allowed: {', '.join(KINDS)}")
    if not session_id:
        raise ValueError("session_id must not be empty")
    if session.scalar(select(Product.id).where(Product.id == int(product_id))) is None:
        return None
    event = Interaction(customer_id=known_customer(session, customer_id=customer_id), session_id=session_id[:64],
                        product_id=int(product_id), kind=kind, at=at or utc_now(), source=source[:32])
    session.add(event)
    session.flush()
    return event


def show_product(session: Session, *, product_id: int, session_id: str, customer_id: int | str | None = None,
                 clicked: bool = False) -> ProductDetails | None:
    """The product's details (:func:`shop.services.catalog.product_details`), logging
    a ``click`` (the shopper pressed a card's button) or a ``view``; ``None`` when the
    product is gone (nothing logged)."""

    details = product_details(session, product_id=product_id)
    if details is not None and session_id:
        record_interaction(session, product_id=product_id, kind="click" if clicked else "view",
                           session_id=session_id, customer_id=customer_id)
    return details
