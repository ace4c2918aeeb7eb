"""Privacy requests: what the shop holds about one customer, deleting it, and how long
conversations are kept.

- :func:`export_data`: everything held about the owner of an e-mail address, as one
  JSON-ready dict: the customer row, orders (items, status events), returns, reviews,
  carts (items), offer codes and offer decisions, interactions, handoffs with their
  messages, tickets (and the e-mail replies to them), CSAT ratings of its conversations,
  and the tracker-store conversations that carried the e-mail or
  the customer id (or belong to the customer's handoffs and carts);
- :func:`delete_data`: deletes or anonymises it. Deleted: the conversations in the
  tracker store, handoff messages, tickets and their replies, carts, interactions.
  Anonymised (kept for
  accounting and the shop's statistics): the customer row (e-mail
  ``deleted-<id>@deleted.invalid``, name "Deleted", no phone, city or country, no
  marketing), orders (totals, items, dates and country kept; name, street, city,
  postcode and tracking number removed), returns (reason removed), reviews (no longer
  linked to the customer), offer codes and decisions (kept, linked to the anonymised
  row), handoffs (sender id and detail removed), suggested-reply texts of those handoffs,
  CSAT ratings (conversation id and comment removed, the score kept);
- :func:`purge_conversations`: deletes tracker-store conversations idle longer than a
  number of days.

The tracker store is Rasa's SQL tracker store: its ``events`` table (:data:`EVENTS`)
read and written with SQLAlchemy Core. E-mail addresses are matched exactly (case
aside): ``%`` and ``_`` are literal characters, never wildcards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    false,
    func,
    inspect,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from shop.db.engine import rows_changed
from shop.db.schema import (
    Base,
    Cart,
    CartItem,
    CsatRating,
    Customer,
    Handoff,
    HandoffMessage,
    Interaction,
    OfferCode,
    OfferEvent,
    Order,
    OrderItem,
    OrderStatusEvent,
    Return,
    Review,
    SuggestionEvent,
    Ticket,
    TicketReply,
)

MAX_EMAIL_CHARS = 254
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
DELETE_CHUNK = 500

# Rasa 3.6's SQLTrackerStore.SQLEvent, as Rasa creates it
EVENTS = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def normalise_email(value: str) -> str:
    """``value`` stripped and lower-cased; ``ValueError`` unless it looks like
    ``name@example.com`` (one ``@``, a dot in the domain, no spaces, at most 254 characters)."""
    email = (value or "").strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL_SHAPE.fullmatch(email):
        raise ValueError(f"'{value}' is not an e-mail address like name@example.com (at most 254 characters)")
    return email


def mentions_email(text: str, email: str) -> bool:
    """Whether ``text`` holds ``email`` as a whole address (case aside): not inside a
    longer one (``mary.jane@x.com`` does not mention ``jane@x.com``)."""
    pattern = rf"(?<![A-Za-z0-9._%+-]){re.escape(email)}(?![A-Za-z0-9_%+-]|\.[A-Za-z0-9])"
    return re.search(pattern, text or "", re.I) is not None


@dataclass
class Subject:
    """Whom a request is about: the ``email``, the customer row's id (``None`` when the
    shop has no account for it) and the tracker-store ``senders`` (conversation ids)."""

    email: str
    customer_id: int | None
    senders: set[str] = field(default_factory=set)
    tickets: list[int] = field(default_factory=list)
    handoffs: list[int] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.customer_id is not None or bool(self.senders or self.tickets or self.handoffs)


def has_tracker(tracker: Engine) -> bool:
    """Whether ``tracker`` holds Rasa's ``events`` table."""
    return inspect(tracker).has_table("events")


def _tracker_senders(tracker: Engine, *, email: str, customer_id: int | None) -> set[str]:
    senders: set[str] = set()
    with tracker.connect() as conn:
        rows = conn.execute(select(EVENTS.c.sender_id, EVENTS.c.data)
                            .where(func.lower(EVENTS.c.data).contains(email, autoescape=True)))
        senders |= {sender for sender, data in rows if mentions_email(data, email)}
        if customer_id is not None:
            rows = conn.execute(select(EVENTS.c.sender_id, EVENTS.c.data).where(
                EVENTS.c.type_name == "user", EVENTS.c.data.contains('"customer_id"', autoescape=True),
                EVENTS.c.data.contains(str(customer_id), autoescape=True)))
            senders |= {sender for sender, data in rows if _event_customer(data) == str(customer_id)}
    return senders


def _event_customer(data: str | None) -> str | None:
    try:
        event = json.loads(data or "{}")
    except json.JSONDecodeError:
        return None
    metadata = event.get("metadata") if isinstance(event, dict) else None
    value = metadata.get("customer_id") if isinstance(metadata, dict) else None
    return str(value) if value is not None else None


def find_subject(session: Session, tracker: Engine | None, *, email: str) -> Subject:
    """The customer, conversations, handoffs and tickets of ``email`` (normalised with
    :func:`normalise_email`)."""
    email = normalise_email(email)
    customer_id = session.scalar(select(Customer.id).where(func.lower(Customer.email) == email))
    subject = Subject(email, customer_id)
    if tracker is not None and has_tracker(tracker):
        subject.senders |= _tracker_senders(tracker, email=email, customer_id=customer_id)
    if customer_id is not None:
        subject.senders |= set(session.scalars(select(Handoff.sender_id).where(Handoff.customer_id == customer_id)))
        subject.senders |= set(session.scalars(select(Cart.session_id).where(Cart.customer_id == customer_id)))
    tickets = session.execute(select(Ticket.id, Ticket.sender_id).where(func.lower(Ticket.email) == email)).all()
    subject.senders |= {sender for _, sender in tickets}
    subject.handoffs = list(session.scalars(select(Handoff.id).where(or_(
        _is(Handoff.customer_id, customer_id), Handoff.sender_id.in_(subject.senders))).order_by(Handoff.id)))
    subject.tickets = sorted({tid for tid, _ in tickets} | set(session.scalars(select(Ticket.id).where(or_(
        Ticket.handoff_id.in_(subject.handoffs), Ticket.sender_id.in_(subject.senders))))))
    return subject


def _is(column: Any, customer_id: int | None) -> Any:
    """``column == customer_id``; never true for no customer (not ``IS NULL``)."""
    return column == customer_id if customer_id is not None else false()


# --- export ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(obj: Base) -> dict[str, Any]:
    return {c.key: _plain(getattr(obj, c.key)) for c in inspect(type(obj)).column_attrs}


def _rows(session: Session, model: type[Base], *where: Any) -> list[dict[str, Any]]:
    return [_row(obj) for obj in session.scalars(select(model).where(*where).order_by(model.id))]  # type: ignore[attr-defined]


def conversations(tracker: Engine | None, senders: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The tracker-store events of ``senders``, by sender, oldest first; ``data`` parsed."""
    wanted = sorted(set(senders))
    out: dict[str, list[dict[str, Any]]] = {}
    if not wanted or tracker is None or not has_tracker(tracker):
        return out
    with tracker.connect() as conn:
        for start in range(0, len(wanted), DELETE_CHUNK):
            rows = conn.execute(select(EVENTS).where(EVENTS.c.sender_id.in_(wanted[start:start + DELETE_CHUNK]))
                                .order_by(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.id))
            for row in rows.mappings():
                try:
                    data = json.loads(row["data"] or "null")
                except json.JSONDecodeError:
                    data = row["data"]
                out.setdefault(row["sender_id"], []).append({
                    "id": row["id"], "type_name": row["type_name"], "timestamp": row["timestamp"],
                    "intent_name": row["intent_name"], "action_name": row["action_name"], "data": data})
    return out


def export_data(session: Session, tracker: Engine | None, *, email: str) -> dict[str, Any] | None:
    """Everything held about ``email``'s owner (see the module docstring), or ``None``
    when nothing is held. ``tracker``: the tracker store (``None``: not searched)."""
    subject = find_subject(session, tracker, email=email)
    if not subject.found:
        return None
    cid = subject.customer_id
    customer = session.get(Customer, cid) if cid is not None else None
    orders = []
    for order in session.scalars(select(Order).where(_is(Order.customer_id, cid)).order_by(Order.id)):
        orders.append({**_row(order), "items": _rows(session, OrderItem, OrderItem.order_id == order.id),
                       "events": _rows(session, OrderStatusEvent, OrderStatusEvent.order_id == order.id)})
    carts = []
    cart_where = or_(_is(Cart.customer_id, cid), Cart.session_id.in_(subject.senders))
    for cart in session.scalars(select(Cart).where(cart_where).order_by(Cart.id)):
        carts.append({**_row(cart), "items": _rows(session, CartItem, CartItem.cart_id == cart.id)})
    handoffs = [{**_row(h), "messages": _rows(session, HandoffMessage, HandoffMessage.handoff_id == h.id)}
                for h in session.scalars(select(Handoff).where(Handoff.id.in_(subject.handoffs)).order_by(Handoff.id))]
    return {
        "email": subject.email,
        "exported_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "customer": _row(customer) if customer is not None else None,
        "orders": orders,
        "returns": _rows(session, Return, _is(Return.customer_id, cid)),
        "reviews": _rows(session, Review, _is(Review.customer_id, cid)),
        "carts": carts,
        "offer_codes": _rows(session, OfferCode, _is(OfferCode.customer_id, cid)),
        "offer_events": _rows(session, OfferEvent, _is(OfferEvent.customer_id, cid)),
        "interactions": _rows(session, Interaction, or_(_is(Interaction.customer_id, cid),
                                                        Interaction.session_id.in_(subject.senders))),
        "handoffs": handoffs,
        "tickets": _rows(session, Ticket, Ticket.id.in_(subject.tickets)),
        "ticket_replies": _rows(session, TicketReply, TicketReply.ticket_id.in_(subject.tickets)),
        "csat_ratings": _rows(session, CsatRating, or_(CsatRating.conversation.in_(subject.senders),
                                                      CsatRating.handoff_id.in_(subject.handoffs))),
        "conversations": conversations(tracker, subject.senders),
    }


# --- delete ---------------------------------------------------------------------------


def delete_conversations(tracker: Engine | None, senders: Iterable[str]) -> int:
    """Deletes every tracker-store event of ``senders``; returns how many."""
    wanted = sorted(set(senders))
    if not wanted or tracker is None or not has_tracker(tracker):
        return 0
    removed = 0
    with tracker.begin() as conn:
        for start in range(0, len(wanted), DELETE_CHUNK):
            removed += rows_changed(conn.execute(
                delete(EVENTS).where(EVENTS.c.sender_id.in_(wanted[start:start + DELETE_CHUNK]))))
    return removed


def delete_data(session: Session, tracker: Engine | None, *, email: str) -> dict[str, int] | None:
    """Deletes or anonymises what is held about ``email``'s owner (see the module
    docstring); returns the rows changed per kind, or ``None`` when nothing is held.
    The shop database changes in ``session`` (the caller commits); the tracker store's
    events are deleted in their own transaction after the shop's rows are changed."""
    subject = find_subject(session, tracker, email=email)
    if not subject.found:
        return None
    cid, senders, handoffs = subject.customer_id, subject.senders, subject.handoffs
    done: dict[str, int] = {}

    def count(name: str, statement: Any) -> None:
        done[name] = done.get(name, 0) + rows_changed(session.execute(statement))

    count("handoff_messages", delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoffs)))
    count("suggestion_texts", update(SuggestionEvent).where(SuggestionEvent.handoff_id.in_(handoffs))
          .values(shown_text="", sent_text=None))
    count("ticket_replies", delete(TicketReply).where(TicketReply.ticket_id.in_(subject.tickets)))
    count("tickets", delete(Ticket).where(Ticket.id.in_(subject.tickets)))
    count("csat_ratings", update(CsatRating).where(or_(CsatRating.conversation.in_(senders),
                                                       CsatRating.handoff_id.in_(handoffs)))
          .values(conversation=literal("deleted:").concat(cast(CsatRating.id, String)), comment=None))
    for handoff_id in handoffs:
        count("handoffs", update(Handoff).where(Handoff.id == handoff_id)
              .values(sender_id=f"deleted:{handoff_id}", detail=None, customer_id=None))
    carts = list(session.scalars(select(Cart.id).where(or_(_is(Cart.customer_id, cid), Cart.session_id.in_(senders)))))
    count("cart_items", delete(CartItem).where(CartItem.cart_id.in_(carts)))
    count("carts", delete(Cart).where(Cart.id.in_(carts)))
    count("interactions", delete(Interaction).where(or_(_is(Interaction.customer_id, cid),
                                                        Interaction.session_id.in_(senders))))
    if cid is not None:
        count("orders", update(Order).where(Order.customer_id == cid).values(
            ship_name="deleted", ship_line1="deleted", ship_line2=None, ship_city="deleted", ship_postcode="",
            tracking_number=None))
        count("returns", update(Return).where(Return.customer_id == cid).values(reason=""))
        count("reviews", update(Review).where(Review.customer_id == cid).values(customer_id=None))
        count("customers", update(Customer).where(Customer.id == cid).values(
            email=f"deleted-{cid}@deleted.invalid", first_name="Deleted", last_name="", phone=None, city=None,
            country=None, marketing_opt_in=False))
    session.flush()
    done["conversation_events"] = delete_conversations(tracker, senders)
    done["conversations"] = len(senders)
    return done


# --- retention ------------------------------------------------------------------------


def purge_conversations(tracker: Engine | None, *, retention_days: int, now: datetime) -> int:
    """Deletes the tracker-store conversations whose last event is older than
    ``retention_days`` before ``now`` (naive UTC); returns how many conversations.
    ``retention_days`` 0 keeps everything."""
    if retention_days < 0:
        raise ValueError(f"retention_days must be 0 (keep) or more, not {retention_days}")
    if retention_days == 0 or tracker is None or not has_tracker(tracker):
        return 0
    moment = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    cutoff = (moment - timedelta(days=retention_days)).timestamp()  # Rasa's timestamps: Unix seconds
    with tracker.connect() as conn:
        idle = [sender for sender, last in conn.execute(
            select(EVENTS.c.sender_id, func.max(EVENTS.c.timestamp)).group_by(EVENTS.c.sender_id))
            if last is None or last < cutoff]
    delete_conversations(tracker, idle)
    return len(idle)
