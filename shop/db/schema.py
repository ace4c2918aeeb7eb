"""ORM schema of the shop database (SQLAlchemy 2 style).

Money is stored as integer minor units (``*_cents``) with an ISO 4217 currency code,
so no float rounding ever touches a price. Timestamps are timezone-naive UTC.
Schema changes go through Alembic (``shop/db/migrations``); a test checks that the
migrations produce exactly this schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

# the *_tables modules are re-exported, so importing the schema registers every table on Base.metadata
from shop.db.analytics_tables import AnalyticsConversation as AnalyticsConversation
from shop.db.analytics_tables import AnalyticsCursor as AnalyticsCursor
from shop.db.analytics_tables import AnalyticsEvent as AnalyticsEvent
from shop.db.analytics_tables import AnalyticsTurn as AnalyticsTurn
from shop.db.attribution_tables import OrderAttribution as OrderAttribution
from shop.db.attribution_tables import OrderLineAttribution as OrderLineAttribution
from shop.db.attribution_tables import RecommendationImpression as RecommendationImpression
from shop.db.base import Base
from shop.db.feedback_tables import CsatRating as CsatRating
from shop.db.feedback_tables import TicketReply as TicketReply
from shop.db.platform_tables import SyncCursor as SyncCursor
from shop.db.platform_tables import WebhookDelivery as WebhookDelivery

ORDER_STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled")
RETURN_STATUSES = ("requested", "approved", "received", "refunded", "rejected")
INTERACTION_KINDS = ("view", "click", "add_to_cart", "purchase")
GENDERS = ("men", "women", "unisex")



class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        Index("ix_products_category_price", "category_id", "price_cents"),
        Index("uq_products_external", "external_source", "external_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    handle: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    gender: Mapped[str] = mapped_column(String(16), default="unisex")
    price_cents: Mapped[int] = mapped_column(Integer)
    compare_at_cents: Mapped[int | None] = mapped_column(Integer)
    cost_cents: Mapped[int | None] = mapped_column(Integer)  # what the shop pays; offers keep a margin over it
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    image_url: Mapped[str | None] = mapped_column(String(500))
    rating_avg: Mapped[float | None]
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # where the record lives when a commerce platform (Shopify, WooCommerce) is the source of
    # truth: the platform's name and its id there; NULL for the shop's own records
    external_source: Mapped[str | None] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))

    brand: Mapped[Brand | None] = relationship()
    category: Mapped[Category | None] = relationship()
    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", order_by="ProductVariant.id"
    )


class ProductVariant(Base):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        UniqueConstraint("product_id", "size", "colour", name="uq_variant_options"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[str | None] = mapped_column(String(40))
    colour: Mapped[str | None] = mapped_column(String(40))
    price_cents: Mapped[int | None] = mapped_column(Integer)
    # NULL: "available, quantity unknown" (a catalog file without stock); it counts as in stock.
    # No Python default on purpose: with one, the ORM would insert it for an explicit None.
    stock: Mapped[int | None] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64))  # the variant's id on the product's platform

    product: Mapped[Product] = relationship(back_populates="variants")

    @hybrid_property
    def in_stock(self) -> bool:
        """Whether the variant can be sold: stock above 0, or stock unknown (NULL). The one
        definition of "in stock", in Python (``variant.in_stock``) and in SQL
        (``ProductVariant.in_stock`` in a WHERE clause)."""
        return self.stock is None or self.stock > 0

    @in_stock.inplace.expression
    @classmethod
    def _in_stock_expression(cls) -> ColumnElement[bool]:
        return or_(cls.stock.is_(None), cls.stock > 0)


# Search filters ask for in-stock variants of a size or colour, case-insensitively
# ("size 9", "in blue"): partial expression indexes find their products without
# scanning every product's variants (0.4 s -> 0.02 s at 100k products on SQLite).
Index("ix_product_variants_size_in_stock", func.lower(ProductVariant.size), ProductVariant.product_id,
      sqlite_where=ProductVariant.in_stock, postgresql_where=ProductVariant.in_stock)
Index("ix_product_variants_colour_in_stock", func.lower(ProductVariant.colour), ProductVariant.product_id,
      sqlite_where=ProductVariant.in_stock, postgresql_where=ProductVariant.in_stock)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (Index("uq_customers_external", "external_source", "external_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # where the record lives when a commerce platform (Shopify, WooCommerce) is the source of
    # truth: the platform's name and its id there; NULL for the shop's own records
    external_source: Mapped[str | None] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending','processing','shipped','delivered','cancelled')",
            name="status_known",
        ),
        Index("uq_orders_external", "external_source", "external_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    shipping_method: Mapped[str] = mapped_column(String(40), default="standard")
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    ship_name: Mapped[str] = mapped_column(String(200))
    ship_line1: Mapped[str] = mapped_column(String(200))
    ship_line2: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str] = mapped_column(String(100))
    ship_postcode: Mapped[str] = mapped_column(String(20))
    ship_country: Mapped[str] = mapped_column(String(2))
    # where the record lives when a commerce platform (Shopify, WooCommerce) is the source of
    # truth: the platform's name and its id there; NULL for the shop's own records
    external_source: Mapped[str | None] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))

    customer: Mapped[Customer] = relationship()
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.id")
    events: Mapped[list[OrderStatusEvent]] = relationship(
        back_populates="order", order_by="OrderStatusEvent.at"
    )


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("product_variants.id"))
    title: Mapped[str] = mapped_column(String(300))
    size: Mapped[str | None] = mapped_column(String(40))
    colour: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(64))  # the line's id on the order's platform

    order: Mapped[Order] = relationship(back_populates="items")


class OrderStatusEvent(Base):
    __tablename__ = "order_status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(300))

    order: Mapped[Order] = relationship(back_populates="events")


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested','approved','received','refunded','rejected')",
            name="status_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rma_number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    refund_cents: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    external_id: Mapped[str | None] = mapped_column(String(64))  # the return or refund on the order's platform


class Interaction(Base):
    """One shopper event on a product: view, click, add_to_cart or purchase."""

    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('view','click','add_to_cart','purchase')", name="kind_known"
        ),
        Index("ix_interactions_customer_at", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    session_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(32), default="web")


class Cart(Base):
    """A shopper's cart: one per conversation (``session_id`` is the chat's sender id),
    tied to the signed-in customer when there is one."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.id"
    )


class CartItem(Base):
    """One variant (size/colour) of a product in a cart, with its quantity."""

    __tablename__ = "cart_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("cart_id", "variant_id", name="uq_cart_items_variant"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("product_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    added_at: Mapped[datetime] = mapped_column(DateTime)

    cart: Mapped[Cart] = relationship(back_populates="items")
    variant: Mapped[ProductVariant] = relationship()
    product: Mapped[Product] = relationship()


OFFER_KINDS = ("percent_off", "amount_off", "free_shipping", "bundle")


class Offer(Base):
    """A promotion as data; the promo engine decides who sees it, the LLM only words it.

    ``value``: percent for ``percent_off`` and ``bundle`` (off every item when at least
    ``min_items`` eligible items are bought), cents for ``amount_off``, unused for
    ``free_shipping``. ``category_slugs`` / ``product_ids``: what it applies to (both
    empty: everything). ``min_margin_pct``: the discounted price must stay this many
    percent above cost. ``budget_cents``: the most discount it may give in all;
    ``spent_cents`` grows with each redemption. ``per_customer_limit``: codes one
    customer may hold. ``starts_at`` / ``ends_at``: validity (naive UTC)."""

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint("kind IN ('percent_off','amount_off','free_shipping','bundle')", name="kind_known"),
        CheckConstraint("spent_cents <= budget_cents", name="within_budget"),
        CheckConstraint("value >= 0", name="value_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(Integer, default=0)
    min_items: Mapped[int] = mapped_column(Integer, default=1)
    category_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    product_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_margin_pct: Mapped[int] = mapped_column(Integer, default=0)
    budget_cents: Mapped[int] = mapped_column(Integer)
    spent_cents: Mapped[int] = mapped_column(Integer, default=0)
    per_customer_limit: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class OfferCode(Base):
    """A unique, single-use code issued to one customer for one offer.

    ``slot``: which of the customer's codes of the offer this is (1, 2, ... up to the
    offer's ``per_customer_limit``), unique with the offer and the customer, so two
    simultaneous issues cannot both take the same place (``shop.promo.offers.issue_code``)."""

    __tablename__ = "offer_codes"
    __table_args__ = (
        UniqueConstraint("offer_id", "customer_id", "slot", name="uq_offer_codes_offer_customer_slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime)
    order_ref: Mapped[str | None] = mapped_column(String(64))
    discount_cents: Mapped[int | None] = mapped_column(Integer)

    offer: Mapped[Offer] = relationship()


class OfferEvent(Base):
    """One offer decision logged for learning and A/B reports: a customer was shown
    ``offer_id`` (``None``: the control group, shown nothing) by ``policy`` in ``arm``;
    ``converted`` / ``redeemed`` / ``revenue_cents`` record what followed within the
    attribution window (``None`` while it is open)."""

    __tablename__ = "offer_events"
    __table_args__ = (Index("ix_offer_events_customer_at", "customer_id", "shown_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"), index=True)
    arm: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))
    shown_at: Mapped[datetime] = mapped_column(DateTime)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("offer_codes.id"))
    converted: Mapped[bool | None] = mapped_column(Boolean)
    redeemed: Mapped[bool | None] = mapped_column(Boolean)
    revenue_cents: Mapped[int | None] = mapped_column(Integer)


class Policy(Base):
    """A shop policy as data: shipping, returns or payment.

    ``key`` names one answerable topic (``shipping_cost``, ``returns_window``...),
    ``body`` is the customer-facing text, which may use ``{placeholders}`` filled
    from ``params``; services that enforce a policy (the return window, say) read
    the same ``params``, so the text and the rule can never disagree.
    """

    __tablename__ = "policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# --- agent assist: staff, handoffs, tickets, audit ---------------------------------------

STAFF_ROLES = ("agent", "supervisor", "admin")
HANDOFF_STATUSES = ("queued", "active", "awaiting_ticket", "returned", "closed")
HANDOFF_REASONS = ("request", "fallback", "sentiment", "topic")
MESSAGE_AUTHORS = ("shopper", "agent", "bot", "system")
SUGGESTION_EVENTS = ("shown", "used", "edited", "ignored")


class StaffUser(Base):
    """A person who works the console. ``role``: ``agent`` (own teams' conversations),
    ``supervisor`` (every team) or ``admin`` (also manages staff). ``teams``: the queues
    an agent works (``["support"]``, ``["payments", "support"]``). ``password_hash``:
    argon2id (never the password)."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("role IN ('agent','supervisor','admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class StaffSession(Base):
    """A console login. ``token_hash``: SHA-256 (hex) of the session cookie's value, so
    a leaked table does not give sessions away; ``csrf_token``: sent back on every
    state-changing request; ``expires_at``: absolute end; ``last_seen_at``: also how
    the console knows who is online."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who saw or did what in the console: ``action`` (``login``, ``login_failed``,
    ``view_conversation``, ``send_message``, ``send_card``, ``send_offer``,
    ``hand_back``, ``close``, ...), the conversation (``handoff_id``) and details."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Handoff(Base):
    """A conversation handed to people. ``sender_id`` + ``channel``: the conversation
    (Rasa's sender id on that channel); ``reason``: ``request``, ``fallback``,
    ``sentiment`` or ``topic`` (``detail``: the topic or phrase); ``team``: the queue;
    ``status``: ``queued`` -> ``active`` (an agent took it) -> ``returned`` (back to
    the bot) or ``closed``; ``awaiting_ticket`` while the shopper leaves a message for
    when nobody is online. At most one handoff per conversation is open."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("status IN ('queued','active','awaiting_ticket','returned','closed')", name="status_known"),
        CheckConstraint("reason IN ('request','fallback','sentiment','topic')", name="reason_known"),
        Index("ix_handoffs_sender_status", "sender_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(40), default="support")
    reason: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    sentiment: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class HandoffMessage(Base):
    """One message of a handed-off conversation, as the console shows it: ``author``
    ``shopper``, ``agent`` (``staff_user_id``), ``bot`` or ``system``; ``payload``: a
    product card or offer an agent sent; ``delivered_at``: when it reached the
    shopper's channel (``None`` while waiting, e.g. REST shoppers get it with their
    next reply)."""

    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    author: Mapped[str] = mapped_column(String(16))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


class Ticket(Base):
    """A message left for the team while nobody was online, answered by email from the
    console (``ticket_replies``): ``status`` ``open`` or ``closed`` (``closed_at``,
    ``closed_by``); ``assigned_to``: the staff member answering it."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"))
    sender_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class SuggestionEvent(Base):
    """What an agent did with a suggested reply: ``shown``, ``used`` (sent as is),
    ``edited`` (sent changed; ``sent_text``) or ``ignored``, for the accept rate."""

    __tablename__ = "suggestion_events"
    __table_args__ = (CheckConstraint("event IN ('shown','used','edited','ignored')", name="event_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    suggestion_key: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16), default="llm")
    shown_text: Mapped[str] = mapped_column(Text, default="")
    sent_text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime)
