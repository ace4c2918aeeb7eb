"""Issue 15, privacy requests: ``python -m apps.cli privacy export|delete|purge`` on a
demo shop and a tracker store shaped as Rasa 3.6's SQLTrackerStore makes it (its
``events`` table, JSON events): export finds everything (including a conversation that
only mentions the e-mail), delete removes or anonymises it and leaves another customer
alone, purge drops idle conversations only; unknown or wildcard e-mails match nobody."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, insert, select

from apps.cli.__main__ import main as cli
from shop.db.engine import session_scope
from shop.db.schema import (
    Cart,
    CartItem,
    CsatRating,
    Customer,
    Handoff,
    HandoffMessage,
    Interaction,
    Order,
    ProductVariant,
    Return,
    Ticket,
    TicketReply,
)
from tests.demo_shops import DemoShops

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
# Rasa 3.6 rasa/core/tracker_store.py SQLTrackerStore.SQLEvent, column for column
RASA_EVENTS = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@dataclass
class World:
    shop: str
    tracker: str
    a_id: int
    a_email: str
    b_id: int
    b_email: str


def _user(sender: str, text: str, ts: float, customer_id: int | None = None) -> dict[str, object]:
    metadata = {"customer_id": str(customer_id), "customer_sig": "x"} if customer_id else {}
    data = {"event": "user", "timestamp": ts, "text": text, "input_channel": "rest", "message_id": "m1",
            "parse_data": {"intent": {"name": "ask", "confidence": 0.9}, "entities": [], "text": text},
            "metadata": metadata}
    return {"sender_id": sender, "type_name": "user", "timestamp": ts, "intent_name": "ask", "action_name": None,
            "data": json.dumps(data)}


def _slot(sender: str, name: str, value: str, ts: float) -> dict[str, object]:
    data = {"event": "slot", "timestamp": ts, "name": name, "value": value}
    return {"sender_id": sender, "type_name": "slot", "timestamp": ts, "intent_name": None, "action_name": None,
            "data": json.dumps(data)}


def _shop_rows(url: str) -> tuple[int, str, int, str]:
    """Customer A (orders and a return) and customer B (orders), each with a cart, a
    handoff with messages and interactions; A also a ticket."""
    with session_scope(url) as s:
        a_id = s.scalar(select(Return.customer_id).order_by(Return.id).limit(1))
        b_id = s.scalar(select(Order.customer_id).where(Order.customer_id != a_id).order_by(Order.id).limit(1))
        variant = s.scalars(select(ProductVariant).limit(1)).one()
        for cid, tag in ((a_id, "a"), (b_id, "b")):
            cart = Cart(session_id=f"rest:{tag}-web", customer_id=cid, created_at=AS_OF, updated_at=AS_OF)
            cart.items.append(CartItem(product_id=variant.product_id, variant_id=variant.id, quantity=1,
                                       added_at=AS_OF))
            handoff = Handoff(sender_id=f"rest:{tag}-chat", channel="rest", reason="request", customer_id=cid,
                              created_at=AS_OF, detail="wants a person")
            s.add_all([cart, handoff])
            s.flush()
            s.add_all([HandoffMessage(handoff_id=handoff.id, at=AS_OF, author="shopper",
                                      text=f"{tag}: my address is 1 Lane"),
                       HandoffMessage(handoff_id=handoff.id, at=AS_OF, author="agent", text="Thanks")])
            s.add(Interaction(customer_id=cid, session_id=f"rest:{tag}-web", product_id=variant.product_id,
                              kind="view", at=AS_OF))
            s.add(CsatRating(conversation=f"rest:{tag}-chat", channel="rest", trigger="end_of_chat",
                             trigger_key="chat:1", score=2, comment=f"{tag}: slow", at=AS_OF))
        a_email = s.get(Customer, a_id).email  # type: ignore[union-attr]
        b_email = s.get(Customer, b_id).email  # type: ignore[union-attr]
        ticket = Ticket(sender_id="rest:a-ticket", channel="rest", email=a_email.upper(), message="call me back",
                        created_at=AS_OF)
        s.add(ticket)
        s.flush()
        s.add(TicketReply(ticket_id=ticket.id, to_email=a_email, subject="Your call", body="We will call you",
                          status="sent", attempts=1, created_at=AS_OF, sent_at=AS_OF))
    return a_id, a_email, b_id, b_email


@pytest.fixture
def world(demo_shop: DemoShops, tmp_path: Path) -> World:
    shop = demo_shop(seed=3, scale=0.03, as_of=AS_OF)
    a_id, a_email, b_id, b_email = _shop_rows(shop)
    tracker = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(tracker)
    RASA_EVENTS.metadata.create_all(engine)
    now = time.time()
    old, recent = now - 40 * 86400, now - 86400
    with engine.begin() as conn:
        conn.execute(insert(RASA_EVENTS), [
            _user("rest:a-chat", "where is my order?", recent, customer_id=a_id),       # signed in as A
            _user("telegram:555", f"it's {a_email.upper()}.", recent),                 # only mentions A's e-mail
            _slot("telegram:555", "order_email", a_email, recent),
            _user("rest:b-chat", f"I am {b_email}", recent, customer_id=b_id),
            _user("rest:other", f"write to x{a_email} or {a_email}x.org", recent),     # longer addresses, not A's
            _user("rest:old", "hello", old), _user("rest:old", "bye", old + 60),
            _user("rest:new", "hello", recent),
        ])
    engine.dispose()
    return World(shop, tracker, a_id, a_email, b_id, b_email)


def _senders(tracker: str) -> set[str]:
    engine = create_engine(tracker)
    with engine.connect() as conn:
        found = set(conn.scalars(select(RASA_EVENTS.c.sender_id).distinct()))
    engine.dispose()
    return found


def _args(world: World, command: str, email: str) -> list[str]:
    return ["privacy", command, "--email", email, "--url", world.shop, "--tracker-url", world.tracker]


def test_export_finds_everything_held(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export.json"
    assert cli([*_args(world, "export", world.a_email.upper()), "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    data = json.loads(out.read_text())
    assert data["customer"]["id"] == world.a_id and data["customer"]["email"] == world.a_email
    with session_scope(world.shop) as s:
        orders = s.scalar(select(func.count()).select_from(Order).where(Order.customer_id == world.a_id))
        returns = s.scalar(select(func.count()).select_from(Return).where(Return.customer_id == world.a_id))
    assert len(data["orders"]) == orders > 0 and all(o["items"] for o in data["orders"])
    assert len(data["returns"]) == returns > 0
    assert [c["session_id"] for c in data["carts"]] == ["rest:a-web"] and data["carts"][0]["items"]
    assert [h["sender_id"] for h in data["handoffs"]] == ["rest:a-chat"] and len(data["handoffs"][0]["messages"]) == 2
    assert [t["sender_id"] for t in data["tickets"]] == ["rest:a-ticket"]
    assert [r["body"] for r in data["ticket_replies"]] == ["We will call you"]
    assert [r["comment"] for r in data["csat_ratings"]] == ["a: slow"]
    assert any(i["session_id"] == "rest:a-web" for i in data["interactions"])
    assert set(data["conversations"]) == {"rest:a-chat", "telegram:555"}  # not rest:other, not B's
    assert data["conversations"]["telegram:555"][1]["data"]["value"] == world.a_email
    assert world.b_email not in out.read_text()


def test_delete_removes_or_anonymises_and_spares_the_other_customer(world: World,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope(world.shop) as s:
        b_views = select(func.count()).select_from(Interaction).where(Interaction.customer_id == world.b_id)
        b_before = (s.get(Customer, world.b_id).email, s.scalar(b_views))  # type: ignore[union-attr]
        a_totals = sorted(s.scalars(select(Order.total_cents).where(Order.customer_id == world.a_id)))
    assert cli(_args(world, "delete", world.a_email)) == 0
    with session_scope(world.shop) as s:
        a = s.get(Customer, world.a_id)
        assert a is not None and a.email == f"deleted-{world.a_id}@deleted.invalid" and a.phone is None
        assert s.scalar(select(Customer.id).where(func.lower(Customer.email) == world.a_email)) is None
        orders = s.scalars(select(Order).where(Order.customer_id == world.a_id)).all()
        assert sorted(o.total_cents for o in orders) == a_totals  # kept for accounting ...
        assert {(o.ship_name, o.ship_line1, o.ship_postcode) for o in orders} == {("deleted", "deleted", "")}  # ...
        assert set(s.scalars(select(Return.reason).where(Return.customer_id == world.a_id))) == {""}
        assert s.scalar(select(func.count()).select_from(Interaction).where(Interaction.customer_id == world.a_id)) == 0
        assert s.scalar(select(Cart.id).where(Cart.session_id == "rest:a-web")) is None
        assert s.scalar(select(Ticket.id).where(func.lower(Ticket.email) == world.a_email)) is None
        assert s.scalar(select(func.count()).select_from(TicketReply)) == 0
        ratings = s.execute(select(CsatRating.conversation, CsatRating.score, CsatRating.comment)
                            .order_by(CsatRating.id)).all()
        assert [tuple(r) for r in ratings] == [(f"deleted:{ratings[0][0].split(':')[1]}", 2, None),
                                               ("rest:b-chat", 2, "b: slow")]  # the score stays for CSAT
        handoff = s.scalars(select(Handoff).where(Handoff.sender_id.like("deleted:%"))).one()
        assert handoff.customer_id is None and handoff.detail is None
        assert s.scalar(select(func.count()).select_from(HandoffMessage)
                        .where(HandoffMessage.handoff_id == handoff.id)) == 0
        # customer B untouched
        b = s.get(Customer, world.b_id)
        assert b is not None and (b.email, s.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.customer_id == world.b_id))) == b_before
        b_handoff = s.scalars(select(Handoff).where(Handoff.sender_id == "rest:b-chat")).one()
        assert s.scalar(select(func.count()).select_from(HandoffMessage)
                        .where(HandoffMessage.handoff_id == b_handoff.id)) == 2
        assert s.scalar(select(Cart.id).where(Cart.session_id == "rest:b-web")) is not None
    assert _senders(world.tracker) == {"rest:b-chat", "rest:other", "rest:old", "rest:new"}
    capsys.readouterr()
    assert cli(_args(world, "export", world.a_email)) == 1  # nothing is held any more
    assert "Nothing is held" in capsys.readouterr().err


def test_purge_deletes_idle_conversations_only(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["privacy", "purge", "--days", "0", "--tracker-url", world.tracker]) == 0
    assert "rest:old" in _senders(world.tracker)
    assert cli(["privacy", "purge", "--days", "30", "--tracker-url", world.tracker]) == 0
    assert _senders(world.tracker) == {"rest:a-chat", "telegram:555", "rest:b-chat", "rest:other", "rest:new"}


@pytest.mark.parametrize("command", ["export", "delete"])
def test_an_unknown_email_is_refused_with_status_1(world: World, command: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(_args(world, command, "nobody.at.all@example.org")) == 1
    assert "nobody.at.all@example.org" in capsys.readouterr().err
    assert len(_senders(world.tracker)) == 6


@pytest.mark.parametrize("command", ["export", "delete"])
def test_sql_wildcards_in_the_email_match_nobody(world: World, command: str) -> None:
    local, domain = world.a_email.split("@")
    for email in (f"%@{domain}", f"{local[:-1]}_@{domain}", f"{local}@%.com", "%@%.%", f"_{local[1:]}@{domain}"):
        assert cli(_args(world, command, email)) == 1, email
    with session_scope(world.shop) as s:
        assert s.scalar(select(Customer.id).where(Customer.email == world.a_email)) == world.a_id
        assert s.scalar(select(Customer.id).where(Customer.email == world.b_email)) == world.b_id
    assert len(_senders(world.tracker)) == 6


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "two@@example.com", "x" * 250 + "@example.com", ""])
def test_a_malformed_email_is_a_usage_error(world: World, email: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli(_args(world, "export", email))
    assert raised.value.code == 2 and "e-mail address like name@example.com" in capsys.readouterr().err


def test_a_negative_retention_is_a_usage_error(world: World) -> None:
    with pytest.raises(SystemExit) as raised:
        cli(["privacy", "purge", "--days", "-1", "--tracker-url", world.tracker])
    assert raised.value.code == 2


def test_old_is_relative_to_now(world: World) -> None:
    """Purge with a far retention keeps everything, by the tracker's own Unix timestamps."""
    assert cli(["privacy", "purge", "--days", "3650", "--tracker-url", world.tracker]) == 0
    assert len(_senders(world.tracker)) == 6
    assert (datetime.now() - timedelta(days=3650)).year < datetime.now().year
