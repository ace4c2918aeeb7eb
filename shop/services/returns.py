"""Returns: which items of a verified order can go back, and opening a return.

The rules come from the ``returns_window`` policy row (window in days, final-sale
categories), the same row the FAQ answer is rendered from.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.commerce.platform import CommercePlatform
from shop.commerce.write_back import PLATFORM_UNAVAILABLE, write_return
from shop.db.schema import Category, Order, OrderItem, Product, Return
from shop.services.money import format_money
from shop.services.orders import verify_order
from shop.services.policies import return_rules
from shop.services.text_parse import parse_ordinal

RETURN_REASONS = ("too small", "too big", "not as described", "arrived damaged", "changed my mind", "other")
MAX_REASON_CHARS = 300
#: what the shopper reads when an order's commerce platform refuses or can't take a return
PLATFORM_MESSAGES = {
    "not_supported": "I can't open a return for this order in chat. A person from our team can do it for you: "
                     "just ask for one.",
    "refused": "The shop's order system didn't accept this return, so nothing was opened. A person from our "
               "team can look at it with you: just ask for one.",
    PLATFORM_UNAVAILABLE: "I couldn't reach the shop's order system just now, so nothing was changed. Please "
                          "try again in a few minutes, or I can connect you with a person.",
}


@dataclass(frozen=True)
class ItemEligibility:
    """Whether one order item can be returned now.

    ``reason``: ``"ok"``, ``"not_delivered"``, ``"outside_window"``, ``"final_sale"``
    or ``"already_returned"``; ``message`` says it in words for the shopper.
    """

    item_id: int
    title: str
    size: str | None
    colour: str | None
    ok: bool
    reason: str
    message: str

    def label(self) -> str:
        opts = ", ".join(v for v in (self.size, self.colour) if v)
        return f"{self.title} ({opts})" if opts else self.title


def _item_category_slugs(session: Session, item_ids: list[int]) -> dict[int, str | None]:
    rows = session.execute(
        select(OrderItem.id, Category.slug)
        .join(Product, Product.id == OrderItem.product_id, isouter=True)
        .join(Category, Category.id == Product.category_id, isouter=True)
        .where(OrderItem.id.in_(item_ids))
    )
    return {item_id: slug for item_id, slug in rows}


def item_eligibility(session: Session, *, order: Order, now: datetime) -> list[ItemEligibility]:
    """Eligibility of each item of a verified ``order`` at time ``now``."""
    window_days, final_sale = return_rules(session)
    item_ids = [i.id for i in order.items]
    returned = set(session.scalars(select(Return.order_item_id).where(Return.order_item_id.in_(item_ids))))
    categories = _item_category_slugs(session, item_ids)
    out: list[ItemEligibility] = []
    for item in order.items:
        if order.status != "delivered" or order.delivered_at is None:
            reason, msg = "not_delivered", (
                f"Order #{order.number} hasn't been delivered yet ({order.status}), so it can't be returned yet."
            )
        elif now - order.delivered_at > timedelta(days=window_days):
            reason, msg = "outside_window", (
                f"Order #{order.number} was delivered on {order.delivered_at:%B %-d, %Y}, more than "
                f"{window_days} days ago, so it's outside our {window_days}-day return window."
            )
        elif categories.get(item.id) in final_sale:
            reason, msg = "final_sale", f"{item.title} can't be returned: that category is final sale once opened."
        elif item.id in returned:
            reason, msg = "already_returned", f"A return for {item.title} is already open."
        else:
            reason, msg = "ok", ""
        out.append(ItemEligibility(item.id, item.title, item.size, item.colour, reason == "ok", reason, msg))
    return out


def match_item(items: list[ItemEligibility], text: str | None) -> ItemEligibility | None:
    """The item the shopper means: an item id, a position ("the second one"), or the
    closest title/size/colour words. ``None`` when nothing matches well enough."""
    if not items or not text:
        return None
    raw = str(text)[:300].strip()
    by_id = {str(i.item_id): i for i in items}
    if raw in by_id:
        return by_id[raw]
    position = parse_ordinal(raw)
    if position is not None:
        if position == -1:
            return items[-1]
        if 1 <= position <= len(items):
            return items[position - 1]
    words = set(re.findall(r"[a-z0-9]+", raw.lower()))
    if not words:
        return None
    best, best_score = None, 0.0
    for item in items:
        label_words = set(re.findall(r"[a-z0-9]+", item.label().lower()))
        overlap = len(words & label_words) / max(1, len(words))
        fuzzy = difflib.SequenceMatcher(None, raw.lower(), item.label().lower()).ratio()
        score = max(overlap, fuzzy)
        if score > best_score:
            best, best_score = item, score
    return best if best_score >= 0.34 else None


def normalise_reason(text: str | None) -> str | None:
    """A return reason: one of :data:`RETURN_REASONS` when the text says so, else the
    shopper's own words (trimmed to 300 characters); ``None`` for empty input."""
    if not text or not str(text).strip():
        return None
    raw = " ".join(str(text).split())[:MAX_REASON_CHARS]
    lowered = raw.lower()
    keywords = {
        "too small": ("small", "tight", "size up"),
        "too big": ("big", "large", "loose", "size down"),
        "arrived damaged": ("damag", "broken", "torn", "ripped", "defect", "hole"),
        "not as described": ("not as described", "different", "wrong colour", "wrong color", "not what"),
        "changed my mind": ("changed my mind", "don't like", "dont like", "don't want", "dont want", "don't need"),
    }
    for reason, keys in keywords.items():
        if lowered == reason or any(k in lowered for k in keys):
            return reason
    return raw


@dataclass(frozen=True)
class ReturnResult:
    """Outcome of :func:`request_return`; ``reason`` as in :class:`ItemEligibility`
    plus ``"not_found"``, and for an order on a commerce platform ``"not_supported"``,
    ``"refused"`` and ``"platform_unavailable"`` (nothing changed)."""

    ok: bool
    reason: str
    message: str = ""
    rma_number: str | None = None
    refund: str | None = None


def request_return(
    session: Session, *, order_number: str, email: str, order_item_id: int, reason: str, now: datetime,
    platform: CommercePlatform | None = None,
) -> ReturnResult:
    """Open a return for one item of a verified order, if the policy allows it now.

    An order on a commerce platform (``external_source``) gets its return opened there
    first, through ``platform``, and mirrored as the platform returns it
    (``shop.commerce.write_back``); nothing is written locally when it refuses or
    can't be reached."""
    order = verify_order(session, order_number=order_number, email=email)
    if order is None:
        return ReturnResult(False, "not_found", "I couldn't find that order.")
    items = {e.item_id: e for e in item_eligibility(session, order=order, now=now)}
    elig = items.get(order_item_id)
    if elig is None:
        return ReturnResult(False, "not_found", "That item isn't part of this order.")
    if not elig.ok:
        return ReturnResult(False, elig.reason, elig.message)
    item = next(i for i in order.items if i.id == order_item_id)
    refund_cents = item.unit_price_cents * item.quantity
    if order.external_source is not None:
        return _request_on_platform(session, order=order, item=item, reason=reason[:MAX_REASON_CHARS],
                                    refund_cents=refund_cents, platform=platform, now=now)
    ret = Return(
        rma_number=f"PENDING-{uuid.uuid4().hex[:20]}", order_id=order.id, order_item_id=item.id,
        customer_id=order.customer_id,
        quantity=item.quantity, reason=reason[:MAX_REASON_CHARS], status="requested",
        refund_cents=refund_cents, requested_at=now,
    )
    session.add(ret)
    session.flush()
    ret.rma_number = f"RMA-{ret.id:06d}"
    session.flush()
    return ReturnResult(True, "ok", rma_number=ret.rma_number, refund=format_money(refund_cents, order.currency))


def _request_on_platform(session: Session, *, order: Order, item: OrderItem, reason: str, refund_cents: int,
                         platform: CommercePlatform | None, now: datetime) -> ReturnResult:
    written = write_return(session, order=order, line_external_id=item.external_id, quantity=item.quantity,
                           reason=reason, platform=platform, now=now)
    if not written.ok or written.ret is None:
        message = PLATFORM_MESSAGES.get(written.reason)
        if message is None:  # a refusal in the shop's own words (outside_window, ...)
            message = next((e.message for e in item_eligibility(session, order=order, now=now)
                            if e.item_id == item.id and e.message), PLATFORM_MESSAGES["refused"])
        return ReturnResult(False, written.reason, message)
    ret = session.get(Return, written.return_id) if written.return_id is not None else None
    if ret is not None:
        ret.reason = reason
        session.flush()
    rma = ret.rma_number if ret is not None else written.ret.external_id
    refund = written.ret.refund_cents or refund_cents
    return ReturnResult(True, "ok", rma_number=rma, refund=format_money(refund, order.currency))
