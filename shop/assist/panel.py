"""The customer panel: who the agent is talking to, from the database only.

:func:`customer_panel` gathers, for a handoff's customer (``handoff.customer_id``),
the profile, recent orders (with the order service's own status sentence), returns,
lifetime value, recent interactions, recommended products (the recommendation
service the bot uses) and the offers the promo engine says the customer may be
issued now. An anonymous conversation (no customer id) gets only what the
conversation gives: the handoff itself, the products viewed in it and
recommendations from that behaviour (bestsellers when there is none).

The panel is also the facts block for the summary and the suggested replies
(:meth:`CustomerPanel.as_facts`): whatever an LLM draft states must be in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models.recsys.serving import ModelHolder
from shop.db.schema import Customer, Handoff, Interaction, Order, OrderItem, Product, Return
from shop.promo.copy import expiry_words
from shop.promo.offers import eligible_offers, terms_of
from shop.services.catalog import ProductCard
from shop.services.money import format_money
from shop.services.orders import summarize_order
from shop.services.recommendations import recommend_products
from shop.services.search.query import SearchQuery

RECENT_ORDERS = 5
RECENT_RETURNS = 5
RECENT_INTERACTIONS = 10
PRODUCTS = 3

REASON_WORDS = {
    "request": "the shopper asked for a person",
    "fallback": "the bot did not understand the shopper twice",
    "sentiment": "the shopper sounded upset",
    "topic": "the conversation touched a topic that always goes to a person",
}


def _day(value: datetime | None) -> str | None:
    return f"{value.strftime('%B')} {value.day}, {value.year}" if value else None


@dataclass(frozen=True)
class CustomerPanel:
    """What the console shows beside a conversation; every value comes from the database.

    Attributes:
        handoff: ``{"id", "reason", "reason_text", "detail", "team", "channel",
            "status", "created", "sentiment"}`` (``created``: ISO timestamp).
        customer_id: ``None`` for an anonymous conversation.
        profile: ``{"name", "first_name", "email", "city", "country",
            "customer_since", "marketing_opt_in"}`` or ``None`` when anonymous.
        orders: latest first, at most 5: ``{"number", "status", "placed", "total",
            "items", "status_line"}`` (``status_line``: the order service's sentence).
        returns: latest first, at most 5: ``{"rma", "order", "item", "status",
            "reason", "requested"}``.
        lifetime_value: the sum of non-cancelled orders, formatted (``"$1,234.50"``;
            one amount per currency, joined with " + "); ``None`` when anonymous.
        order_count: non-cancelled orders.
        interactions: latest first, at most 10: ``{"kind", "product", "product_id", "at"}``.
        products: recommended :class:`ProductCard` s (at most 3), with ``product_reasons``
            (the recommender's one-line reason each) and ``products_how``
            (``personal``, ``similar`` or ``bestsellers``).
        offers: ``{"offer_id", "name", "discount", "applies_to", "ends"}`` for each offer
            the customer may be issued now (never a code: the agent issues one).
    """

    handoff: dict[str, Any]
    customer_id: int | None = None
    profile: dict[str, Any] | None = None
    orders: tuple[dict[str, Any], ...] = ()
    returns: tuple[dict[str, Any], ...] = ()
    lifetime_value: str | None = None
    order_count: int = 0
    interactions: tuple[dict[str, Any], ...] = ()
    products: tuple[ProductCard, ...] = ()
    product_reasons: tuple[str, ...] = ()
    products_how: str = "bestsellers"
    offers: tuple[dict[str, Any], ...] = field(default=())

    @property
    def anonymous(self) -> bool:
        return self.customer_id is None

    @property
    def first_name(self) -> str | None:
        return self.profile["first_name"] if self.profile else None

    def as_dict(self) -> dict[str, Any]:
        """The panel as JSON-able data (cards as their public payload plus ``reason``)."""
        return {
            "handoff": dict(self.handoff),
            "customer_id": self.customer_id,
            "anonymous": self.anonymous,
            "profile": dict(self.profile) if self.profile else None,
            "orders": [dict(o) for o in self.orders],
            "returns": [dict(r) for r in self.returns],
            "lifetime_value": self.lifetime_value,
            "order_count": self.order_count,
            "interactions": [dict(i) for i in self.interactions],
            "products": [{**card.as_payload(), "reason": reason}
                         for card, reason in zip(self.products, self.product_reasons, strict=False)],
            "products_how": self.products_how,
            "offers": [dict(o) for o in self.offers],
        }

    def as_facts(self, *, internal: bool = True, orders: int = 3, mentioned: str = "") -> str:
        """The panel as fact lines for an LLM prompt. Never the email, phone or street
        address (a draft has no business repeating them). ``internal`` (default) adds
        what only the agent should read: why the chat was handed over, the lifetime
        value; ``orders``: how many of the latest orders to include (default 3), after
        any of the panel's orders whose number appears in ``mentioned`` (the shopper's text)."""
        lines = []
        if internal:
            lines.append(f"Handed to a person because {self.handoff['reason_text']}"
                         + (f" ({self.handoff['detail']})" if self.handoff.get("detail") else "") + ".")
        if self.profile:
            lines.append(f"Customer first name: {self.profile['first_name']}")
            if internal:
                lines.append(f"Customer since {self.profile['customer_since']}; {self.order_count} orders, "
                             f"lifetime value {self.lifetime_value}")
        else:
            lines.append("The shopper is not signed in: their account, orders and offers are not known.")
        named = [o for o in self.orders if re.search(rf"(?<!\d){re.escape(o['number'])}(?!\d)", mentioned or "")]
        for o in [*named, *(o for o in self.orders if o not in named)][:max(orders, len(named))]:
            lines.append(f"{o['status_line']} (total {o['total']}, {o['items']} item(s))")
        for r in self.returns[:2]:
            lines.append(f"Return {r['rma']} for the {r['item']} (order #{r['order']}): {r['status']}")
        for card in self.products:
            brand = f" by {card.brand}" if card.brand and not card.title.startswith(card.brand) else ""
            lines.append(f"Product to suggest: {card.title}{brand}, {card.price}")
        for offer in self.offers:
            lines.append(f"Offer available to the customer: {offer['discount']} on {offer['applies_to']}, "
                         f"until {offer['ends']}")
        return "\n".join(lines)


def _handoff_dict(handoff: Handoff) -> dict[str, Any]:
    return {
        "id": handoff.id, "reason": handoff.reason, "reason_text": REASON_WORDS.get(handoff.reason, handoff.reason),
        "detail": handoff.detail, "team": handoff.team, "channel": handoff.channel, "status": handoff.status,
        "created": handoff.created_at.isoformat() if handoff.created_at else None,
        "sentiment": handoff.sentiment,
    }


def _profile(customer: Customer) -> dict[str, Any]:
    return {
        "name": f"{customer.first_name} {customer.last_name}".strip(), "first_name": customer.first_name,
        "email": customer.email, "city": customer.city, "country": customer.country,
        "customer_since": _day(customer.created_at), "marketing_opt_in": bool(customer.marketing_opt_in),
    }


def _orders(session: Session, *, customer_id: int) -> tuple[dict[str, Any], ...]:
    orders = session.scalars(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(RECENT_ORDERS).options(selectinload(Order.items), selectinload(Order.events))
    ).all()
    out = []
    for order in orders:
        summary = summarize_order(order)
        out.append({"number": summary.number, "status": summary.status, "placed": summary.placed_on,
                    "total": summary.total, "items": sum(line.quantity for line in summary.lines),
                    "status_line": summary.status_sentence()})
    return tuple(out)


def _returns(session: Session, *, customer_id: int) -> tuple[dict[str, Any], ...]:
    rows = session.execute(
        select(Return.rma_number, Order.number, OrderItem.title, Return.status, Return.reason, Return.requested_at)
        .join(Order, Order.id == Return.order_id).join(OrderItem, OrderItem.id == Return.order_item_id)
        .where(Return.customer_id == customer_id).order_by(Return.requested_at.desc(), Return.id.desc())
        .limit(RECENT_RETURNS)
    ).all()
    return tuple({"rma": rma, "order": number, "item": title, "status": status, "reason": reason,
                  "requested": _day(at)} for rma, number, title, status, reason, at in rows)


def _lifetime(session: Session, *, customer_id: int) -> tuple[str, int]:
    rows = session.execute(
        select(Order.currency, func.coalesce(func.sum(Order.total_cents), 0), func.count())
        .where(Order.customer_id == customer_id, Order.status != "cancelled").group_by(Order.currency)
        .order_by(Order.currency)
    ).all()
    if not rows:
        return format_money(0, "USD"), 0
    spent = " + ".join(format_money(int(total), currency) for currency, total, _n in rows)
    return spent, sum(int(n) for *_x, n in rows)


def _interactions(session: Session, *, customer_id: int | None, session_id: str) -> tuple[dict[str, Any], ...]:
    where = Interaction.customer_id == customer_id if customer_id is not None else Interaction.session_id == session_id
    rows = session.execute(
        select(Interaction.kind, Product.title, Product.id, Interaction.at)
        .join(Product, Product.id == Interaction.product_id)
        .where(where).order_by(Interaction.at.desc(), Interaction.id.desc()).limit(RECENT_INTERACTIONS)
    ).all()
    return tuple({"kind": kind, "product": title, "product_id": pid, "at": at.isoformat()}
                 for kind, title, pid, at in rows)


def _offers(session: Session, *, customer_id: int, now: datetime) -> tuple[dict[str, Any], ...]:
    out = []
    for offer in eligible_offers(session, customer_id=customer_id, now=now):
        terms = terms_of(session, offer)
        out.append({"offer_id": offer.id, "name": offer.name, "discount": terms.discount,
                    "applies_to": terms.applies_to, "ends": expiry_words(terms.ends_at)})
    return tuple(out)


def customer_panel(session: Session, *, handoff: Handoff, now: datetime, holder: ModelHolder | None = None,
                   products: int = PRODUCTS) -> CustomerPanel:
    """The :class:`CustomerPanel` for ``handoff``'s customer at ``now`` (naive UTC).

    Args:
        session: an open session (read only).
        handoff: the conversation; ``handoff.customer_id`` ``None`` gives an anonymous
            panel (the handoff, this conversation's viewed products and recommendations
            from them; no profile, orders or offers).
        now: the time offers are checked against.
        holder: the served preference model (:func:`shop.services.recommendations.get_model_holder`,
            as the recommend action passes it); ``None`` (default): bestsellers.
        products: how many recommended products (default 3).
    """
    customer = session.get(Customer, handoff.customer_id) if handoff.customer_id is not None else None
    customer_id = customer.id if customer is not None else None
    recs = recommend_products(session, query=SearchQuery(), customer_id=customer_id,
                              session_id=None if customer_id is not None else handoff.sender_id,
                              k=products, holder=holder)
    base = CustomerPanel(
        handoff=_handoff_dict(handoff), customer_id=customer_id,
        interactions=_interactions(session, customer_id=customer_id, session_id=handoff.sender_id),
        products=tuple(r.card for r in recs.items), product_reasons=tuple(r.reason for r in recs.items),
        products_how=recs.how,
    )
    if customer is None:
        return base
    value, count = _lifetime(session, customer_id=customer.id)
    return CustomerPanel(
        handoff=base.handoff, customer_id=customer.id, profile=_profile(customer),
        orders=_orders(session, customer_id=customer.id), returns=_returns(session, customer_id=customer.id),
        lifetime_value=value, order_count=count, interactions=base.interactions, products=base.products,
        product_reasons=base.product_reasons, products_how=base.products_how,
        offers=_offers(session, customer_id=customer.id, now=now),
    )
