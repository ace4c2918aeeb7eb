"""Tables that join what the assistant showed to what was bought (migration 0009).

- ``recommendation_impressions``: one row per product in a recommendation list shown
  in chat or returned by ``GET /recommend``, with who saw it (conversation and/or
  customer), where (``source``), its place in the list and the model that ranked it.
  Clicks and add-to-carts are the ``interactions`` of the same shopper and product
  after it; orders reach it through ``order_line_attributions``.
- ``order_attributions``: one row per order placed at the storefront checkout: the
  conversation whose cart it was, the checkout's idempotency key (unique: a replayed
  request finds the order it placed), and the offer, code and offer decision that
  discounted it.
- ``order_line_attributions``: one row per order line: the latest recommendation
  impression of that product to that shopper before the order, and the latest click or
  add-to-cart of it in the conversation (either ``NULL`` when there was none).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.db.base import Base

IMPRESSION_SOURCES = ("chat", "api")


class RecommendationImpression(Base):
    """A product shown as a recommendation: ``request_id`` groups one list (the API
    returns it), ``position`` is 1-based, ``how`` is ``personal``/``similar``/
    ``bestsellers``; ``session_id`` is the conversation (the API's ``session``),
    ``customer_id`` only when the identity was verified."""

    __tablename__ = "recommendation_impressions"
    __table_args__ = (
        Index("ix_recommendation_impressions_session_product", "session_id", "product_id", "at"),
        Index("ix_recommendation_impressions_customer_product", "customer_id", "product_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    how: Mapped[str] = mapped_column(String(16))
    model_kind: Mapped[str | None] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(64))


class OrderAttribution(Base):
    """Where a checkout order came from. ``conversation_id``: the cart's session (the
    chat's conversation id); ``idempotency_key``: the checkout request's key;
    ``offer_id`` / ``offer_code_id`` / ``offer_event_id``: the code redeemed and the
    offer decision that issued it (``NULL`` without a code); ``discount_cents``: what
    the code took off."""

    __tablename__ = "order_attributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="storefront")
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"), index=True)
    offer_code_id: Mapped[int | None] = mapped_column(ForeignKey("offer_codes.id"))
    offer_event_id: Mapped[int | None] = mapped_column(ForeignKey("offer_events.id"))
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    placed_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class OrderLineAttribution(Base):
    """What led to one order line: ``impression_id`` (the latest recommendation of the
    product to this shopper before the order, within the attribution window) and
    ``interaction_id`` (the latest click or add-to-cart of it in the conversation);
    ``revenue_cents``: the line's price times quantity, before any code."""

    __tablename__ = "order_line_attributions"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id", ondelete="CASCADE"), unique=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    impression_id: Mapped[int | None] = mapped_column(
        ForeignKey("recommendation_impressions.id", ondelete="SET NULL",
                   name="fk_order_line_attributions_impression_id"), index=True)  # the convention's is > 63 chars
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id", ondelete="SET NULL"))
    revenue_cents: Mapped[int] = mapped_column(Integer)
