"""Refund tracking: the order-status answer (``action_show_order_status``,
``shop.services.orders.lookup_order``) lists the order's returns with RMA number, status
and refund, from the ``returns`` table; another customer's returns are never shown.
The action on tracker JSON (SQLite demo shop); the service on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from actions.orders import ActionShowOrderStatus
from shop.db.engine import session_scope
from shop.db.schema import Customer, Order, OrderItem, Return
from shop.services import orders
from shop.services.money import format_money
from tests.actions.conftest import DemoShop
from tests.actions.test_order_actions import verified
from tests.actions.trackers import build_tracker, run_action
from tests.demo_shops import DemoShops
from tools.demo.generate import DemoStats

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
STATUSES = ("refunded", "approved", "received", "requested", "rejected")


def _add_returns(session, order: Order, statuses: tuple[str, ...], *, prefix: str) -> list[Return]:  # type: ignore[no-untyped-def]
    """One return per status on ``order``'s items (cycling through them), as the back office would."""
    rows = []
    for n, status in enumerate(statuses):
        item = order.items[n % len(order.items)]
        ret = Return(rma_number=f"{prefix}-{n:03d}", order_id=order.id, order_item_id=item.id,
                     customer_id=order.customer_id, quantity=item.quantity, reason="too small", status=status,
                     refund_cents=0 if status == "rejected" else item.unit_price_cents * item.quantity,
                     requested_at=AS_OF - timedelta(days=10 - n))
        session.add(ret)
        rows.append(ret)
    session.flush()
    return rows


async def test_order_status_lists_returns_and_refunds(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    with shop.session() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        made = _add_returns(s, order, STATUSES, prefix="RMA-T")
        facts = {r.rma_number: (r.status, format_money(r.refund_cents, order.currency),
                                next(i.title for i in order.items if i.id == r.order_item_id)) for r in made}
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=verified(number, shop.email)), domain)
    answer = out.texts[0]
    assert "Returns:" in answer
    for rma, (status, refund, title) in facts.items():
        line = next(x for x in answer.splitlines() if rma in x)
        assert title in line
        expected = {"refunded": f"refunded, {refund}.", "approved": f"approved, refund of {refund} pending.",
                    "received": f"received it; refund of {refund} pending.",
                    "requested": f"refund of {refund} once it's approved and received.",
                    "rejected": "no refund"}[status]
        assert expected in line, (status, line)
    assert out.slots == {"order_status": "delivered"}


async def test_order_without_returns_says_nothing_about_refunds(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionShowOrderStatus(),
                           build_tracker(slots=verified(shop.order("shipped"), shop.email)), domain)
    assert "Return" not in out.texts[0] and "refund" not in out.texts[0].lower()


async def test_another_customers_returns_are_never_shown(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    other_number, other_email = shop.other_customers_order()
    with shop.session() as s:
        mine = s.scalar(select(Order).where(Order.number == number))
        other = s.scalar(select(Order).where(Order.number == other_number))
        _add_returns(s, other, ("refunded",), prefix="RMA-OTHER")
        # a forged row: another customer's return pointing at the persona's order
        stranger = s.scalar(select(Customer.id).where(Customer.id != mine.customer_id).limit(1))
        s.add(Return(rma_number="RMA-FORGED-1", order_id=mine.id, order_item_id=mine.items[0].id,
                     customer_id=stranger, quantity=1, reason="x", status="refunded", refund_cents=99_999,
                     requested_at=AS_OF))
        # and a return on the persona's customer id for an item of someone else's order
        s.add(Return(rma_number="RMA-FORGED-2", order_id=mine.id, order_item_id=other.items[0].id,
                     customer_id=mine.customer_id, quantity=1, reason="x", status="refunded", refund_cents=88_888,
                     requested_at=AS_OF))
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=verified(number, shop.email)), domain)
    for secret in ("RMA-OTHER", "RMA-FORGED", "999.99", "888.88"):
        assert secret not in out.text
    # the other order with the persona's email: nothing at all (the forms never verify it)
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=verified(other_number, shop.email)), domain)
    assert out.responses == ["utter_order_not_found"] and "RMA" not in out.text
    assert other_email != shop.email


@pytest.fixture
def service_shop(db_url: str, demo_shop: DemoShops) -> tuple[str, DemoStats]:
    return db_url, demo_shop.into(db_url, seed=11, scale=0.03, as_of=AS_OF)


def test_lookup_order_returns_match_the_db(service_shop: tuple[str, DemoStats]) -> None:
    url, stats = service_shop
    with session_scope(url) as s:
        # an order of the demo shop that has returns of its own (made by the generator)
        ret = s.scalar(select(Return).order_by(Return.id).limit(1))
        assert ret is not None
        order = s.get(Order, ret.order_id)
        owner = s.get(Customer, order.customer_id)
        expected = s.execute(select(Return.rma_number, Return.status, Return.refund_cents, OrderItem.title)
                             .join(OrderItem, OrderItem.id == Return.order_item_id)
                             .where(Return.order_id == order.id).order_by(Return.requested_at, Return.id)).all()
        summary = orders.lookup_order(s, order_number=order.number, email=owner.email)
        assert summary is not None
        assert [(r.rma_number, r.status, r.refund, r.item_title) for r in summary.returns] == [
            (rma, status, format_money(cents, order.currency), title) for rma, status, cents, title in expected]
        # the same order asked with the persona's email: nothing, returns included
        assert orders.lookup_order(s, order_number=order.number, email=stats.persona_email) is None
        # the persona's own orders have no returns in the demo shop
        persona = orders.lookup_order(s, order_number=stats.persona_orders["returnable"], email=stats.persona_email)
        assert persona is not None and persona.returns == []
