"""A simulated week on the demo shop, through analytics: the dashboard's figures.

A fresh demo shop (temporary SQLite file; deterministic ``--seed``) gets a week of
conversations after its history ends (2026-11-23 to 29), written as Rasa's event broker
publishes them (:mod:`tools.demo.rasa_events`), while the shop's own services record
what those conversations did: recommendations shown (``recommendation_impressions``),
clicks and add-to-carts (``record_interaction``), offer decisions (the promo policy's
``decide``, 20% control group), checkouts (the real ``checkout`` with ``PromoCodes``:
stock taken, codes redeemed once, orders attributed), handoffs with their waits, and
CSAT ratings (``record_rating``). The events are then ingested in batches, as the
consumer would (or through RabbitMQ with ``--amqp``), ingested a second time to show a
redelivery changes nothing, and the dashboard is printed.

    .venv/actions/bin/python -m bench.analytics_week [--seed 19] [--per-day 120] [--scale 0.05]
                                                     [--amqp amqp://guest:guest@127.0.0.1:5672/%2F]

The mix of shoppers (what they come for, how often the NLU fails them, how long people
take to answer) is this script's assumption, not a measurement: the figures show the
pipeline working end to end on plausible traffic, not how a real shop performs.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pika
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.analytics.consumer import consume_queue
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.export import dashboard_text
from shop.analytics.figures import Filters
from shop.analytics.ingest import record_events
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import (
    Cart,
    CartItem,
    Category,
    Customer,
    Handoff,
    Product,
    ProductVariant,
    RecommendationImpression,
)
from shop.promo.checkout_codes import PromoCodes
from shop.promo.policy import PolicyConfig, decide
from shop.services.checkout import Address, CheckoutRequest, checkout
from shop.services.csat import record_rating
from shop.services.interactions import record_interaction
from tools.demo.generate import generate_demo_shop
from tools.demo.rasa_events import Chat

WEEK_START = datetime(2026, 11, 23)
DAYS = 7
CHANNELS = {"socketio": 0.7, "telegram": 0.15, "twilio": 0.1, "rest": 0.05}
VISITS = {"shop": 0.35, "question": 0.15, "order": 0.15, "promo": 0.1, "confused": 0.15, "human": 0.1}
ODD = ("asdf", "hmm the thing from before", "ur prices r mad", "does it come in the other one", "wat",
       "my parcel never came", "i need the form thing", "can u do it cheaper for me")
SEARCHES = ("waterproof jacket", "warm socks", "tent for two", "running shoes size 10", "merino base layer",
            "hiking boots under 150", "rain pants", "fleece for kids")
POLICY = PolicyConfig(name="random", control_pct=20, salt="analytics-week")
ADDRESS = Address(name="Sam Shopper", line1="2 Side St", city="Springfield", postcode="12345", country="US")


@dataclass
class World:
    session: Session
    rng: random.Random
    variants: dict[str, list[tuple[int, int]]]  # category slug -> (product id, variant id) in stock
    customers: list[int]
    events: list[dict[str, object]] = field(default_factory=list)
    placed: int = 0

    def pick(self, table: dict[str, float]) -> str:
        return self.rng.choices(list(table), weights=list(table.values()))[0]

    def later(self, chat: Chat, low: float = 4, high: float = 40) -> datetime:
        return chat.now + timedelta(seconds=self.rng.uniform(low, high))


def _load(session: Session) -> tuple[dict[str, list[tuple[int, int]]], list[int]]:
    rows = session.execute(select(Category.slug, Product.id, ProductVariant.id)
                           .join(Product, Product.category_id == Category.id)
                           .join(ProductVariant, ProductVariant.product_id == Product.id)
                           .where(Product.is_active.is_(True), ProductVariant.stock > 5).order_by(ProductVariant.id))
    variants: dict[str, list[tuple[int, int]]] = {}
    for slug, product, variant in rows:
        variants.setdefault(slug, []).append((product, variant))
    customers = list(session.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                                     .order_by(Customer.id)))
    return variants, customers


def _search(w: World, chat: Chat) -> int:
    found = 0 if w.rng.random() < 0.12 else w.rng.randint(1, 40)
    chat.user(w.rng.choice(SEARCHES), "search_products", at=w.later(chat))
    chat.action("action_search_products")
    if found:
        chat.bot(f"Here are 1–{min(found, 5)} of {found}:", custom={"type": "product_cards", "cards": []})
    chat.bot("Anything else?" if found else "I found nothing like that.", analytics={"search_results": found})
    chat.action("action_listen")
    return found


def _recommend(w: World, chat: Chat, customer: int | None) -> list[tuple[int, int]]:
    chat.turn("what would you recommend?", "recommend_products", "action_recommend", None, at=w.later(chat),
              custom={"type": "product_cards", "cards": []})
    shown = w.rng.sample([pv for pvs in w.variants.values() for pv in pvs], 4)
    for position, (product, _variant) in enumerate(shown, start=1):
        w.session.add(RecommendationImpression(request_id=uuid.UUID(int=w.rng.getrandbits(128)).hex, at=chat.now,
                                               source="chat", session_id=chat.sender, customer_id=customer,
                                               product_id=product, position=position, how="personal"))
    w.session.flush()
    carted = []
    for product, variant in shown:
        if w.rng.random() < 0.3:
            record_interaction(w.session, product_id=product, kind="click", session_id=chat.sender,
                               customer_id=customer, at=w.later(chat, 2, 20))
            if w.rng.random() < 0.45:
                record_interaction(w.session, product_id=product, kind="add_to_cart", session_id=chat.sender,
                                   customer_id=customer, at=w.later(chat, 2, 20))
                carted.append((product, variant))
    return carted


def _checkout(w: World, chat: Chat, customer: int | None, lines: list[tuple[int, int]], code: str | None) -> None:
    when = w.later(chat, 60, 600)
    cart = Cart(session_id=chat.sender, customer_id=customer, created_at=when, updated_at=when)
    for product, variant in lines:
        cart.items.append(CartItem(product_id=product, variant_id=variant, quantity=1, added_at=when))
    w.session.add(cart)
    w.session.flush()
    for attempt, promo in enumerate((code, None) if code else (None,)):
        request = CheckoutRequest(session_id=chat.sender, idempotency_key=f"week-{attempt}-{chat.sender}"[:64],
                                  address=ADDRESS, customer_id=customer, promo_code=promo,
                                  email=None if customer else f"{chat.sender}@guest.example")
        result = checkout(w.session, request=request, now=when, codes=PromoCodes())
        if result.status == "placed":
            w.placed += 1
            return


def _rate(w: World, chat: Chat, good: bool, handoff_id: int | None = None) -> None:
    if w.rng.random() > 0.35:
        return
    score = w.rng.choice((4, 5, 5, 3)) if good else w.rng.choice((1, 2, 3, 4))
    chat.rating(score, handoff_id=handoff_id, at=w.later(chat))
    record_rating(w.session, conversation=chat.sender, channel=chat.channel, score=score, now=chat.now,
                  handoff_id=handoff_id, chat_ref=str(int(chat.now.timestamp())))


def _handoff(w: World, chat: Chat, customer: int | None) -> None:
    chat.turn("can I talk to a person", "request_human", "action_request_human", "You're in the queue.",
              at=w.later(chat))
    created = chat.now
    accepted = created + timedelta(seconds=w.rng.lognormvariate(4.5, 0.8)) if w.rng.random() < 0.8 else None
    ended = accepted + timedelta(minutes=w.rng.uniform(2, 15)) if accepted else None
    row = Handoff(sender_id=chat.sender, channel=chat.channel, reason="request", customer_id=customer,
                  status="closed" if ended else "queued", created_at=created, accepted_at=accepted, ended_at=ended)
    w.session.add(row)
    w.session.flush()
    if ended is not None:
        chat.now = ended
        _rate(w, chat, good=True, handoff_id=row.id)


def _promo(w: World, chat: Chat, customer: int) -> str | None:
    chat.user("any deals for me?", "promo_inquiry", at=w.later(chat))
    chat.action("action_promo_inquiry")
    decision = decide(w.session, customer_id=customer, now=chat.now, config=POLICY, model=None, categories=[],
                      rng=w.rng)
    if decision.code is None:
        chat.bot("Here are our biggest markdowns right now:", custom={"type": "product_cards", "cards": []})
        chat.action("action_listen")
        return None
    chat.bot("A code just for you.", analytics={"answer": "llm" if w.rng.random() < 0.8 else "template"})
    chat.bot(None, custom={"type": "promo_code", "code": decision.code.code})
    chat.action("action_listen")
    return decision.code.code


def _confused(w: World, chat: Chat) -> bool:
    """Returns whether the shopper ended up asking for a person."""
    chat.unclear(w.rng.choice(ODD), at=w.later(chat))
    luck = w.rng.random()
    if luck < 0.55:  # "Did you mean …?" -> yes
        click = chat.user("/search_products", "search_products", at=w.later(chat, 2, 8))
        chat.action("action_two_stage_fallback")
        chat.read_again(click, "/search_products", "search_products")
        chat.action("action_search_products")
        chat.bot("Here you go.", analytics={"search_results": w.rng.randint(0, 12)})
        chat.action("action_listen")
        return False
    chat.user("/out_of_scope", "out_of_scope", at=w.later(chat, 2, 8))
    chat.action("action_two_stage_fallback")
    chat.bot("Could you say that another way?")
    chat.action("action_listen")
    if luck < 0.8:  # the rephrasing is understood
        again = chat.user("where is my order", "nlu_fallback", at=w.later(chat), confidence=0.45)
        chat.action("action_two_stage_fallback")
        chat.read_again(again, "where is my order", "order_status")
        chat.turn("it's 100234", "inform", "action_order_status", "It shipped yesterday.", at=w.later(chat))
        return False
    chat.user("u dont get it", "nlu_fallback", at=w.later(chat), confidence=0.2)
    chat.action("action_two_stage_fallback")
    chat.bot("Sorry, I didn't get that.")
    chat.action("action_listen")
    return w.rng.random() < 0.5


def _conversation(w: World, day: datetime, number: int) -> None:
    start = day + timedelta(seconds=w.rng.uniform(7 * 3600, 22 * 3600))
    channel = w.pick(CHANNELS)
    customer = w.rng.choice(w.customers) if channel == "socketio" and w.rng.random() < 0.4 else None
    chat = Chat(f"{channel[:3]}-{day:%m%d}-{number:04d}-{w.rng.getrandbits(24):06x}", channel=channel,
                start=start, customer_id=customer)
    if w.rng.random() < 0.6:
        chat.turn("hi", "greet", "utter_greet", "Hi! How can I help?", at=w.later(chat, 1, 5))
    visit = w.pick(VISITS)
    if visit == "promo" and customer is None:
        visit = "shop"
    if visit == "shop":
        if _search(w, chat):
            carted = _recommend(w, chat, customer)
            if carted and w.rng.random() < 0.5:
                _checkout(w, chat, customer, carted, None)
        _rate(w, chat, good=True)
    elif visit == "question":
        _search(w, chat)
        chat.turn("is the first one waterproof?", "ask_product_question", "action_answer_product_question",
                  "Yes: it has a waterproof membrane.", at=w.later(chat),
                  analytics={"answer": "llm" if w.rng.random() < 0.7 else "template"})
        _rate(w, chat, good=True)
    elif visit == "order":
        chat.turn("where is my order?", "order_status", "action_order_status", "What's the order number?",
                  at=w.later(chat))
        chat.turn("100234", "inform", "action_order_status", "It shipped on Monday.", at=w.later(chat))
        _rate(w, chat, good=True)
    elif visit == "promo" and customer is not None:
        code = _promo(w, chat, customer)
        if w.rng.random() < (0.45 if code else 0.3):
            slug = w.rng.choice(["jackets", "fleece", "socks"])
            _checkout(w, chat, customer, w.rng.sample(w.variants.get(slug) or w.variants["socks"], 1), code)
        _rate(w, chat, good=True)
    elif visit == "confused":
        if _confused(w, chat):
            _handoff(w, chat, customer)
        else:
            _rate(w, chat, good=False)
    else:
        _handoff(w, chat, customer)
    w.events.extend(chat.events)


def _ingest(url: str, events: list[dict[str, object]], amqp: str | None) -> None:
    if amqp is None:
        for start in range(0, len(events), 500):
            with session_scope(url) as session:
                record_events(session, events=events[start:start + 500])
        return
    queue = f"analytics_week_{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(amqp))
    channel = connection.channel()
    channel.queue_declare(queue=queue, durable=True)
    for event in events:
        channel.basic_publish(exchange="", routing_key=queue, body=json.dumps(event).encode())
    consume_queue(amqp_url=amqp, queue=queue, database_url=url, once=True, batch_size=500, idle_s=0.5)
    channel.queue_delete(queue=queue)
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--per-day", type=int, default=120, help="conversations a day (default 120)")
    parser.add_argument("--scale", type=float, default=0.05, help="demo shop scale (default 0.05)")
    parser.add_argument("--amqp", help="publish the events to a temporary RabbitMQ queue and consume them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/week.db"
        clock = time.perf_counter()
        upgrade(url)
        with session_scope(url) as session:
            generate_demo_shop(session, seed=args.seed, as_of=WEEK_START, scale=args.scale, progress=False)
        shop_s = time.perf_counter() - clock
        clock = time.perf_counter()
        with session_scope(url) as session:
            variants, customers = _load(session)
            world = World(session, random.Random(args.seed), variants, customers)
            for offset in range(DAYS):
                for number in range(args.per_day):
                    _conversation(world, WEEK_START + timedelta(days=offset), number)
        simulate_s = time.perf_counter() - clock
        clock = time.perf_counter()
        _ingest(url, world.events, args.amqp)
        ingest_s = time.perf_counter() - clock
        with session_scope(url) as session:
            again = record_events(session, events=world.events)  # a full redelivery
        filters = Filters(start=date(2026, 11, 23), end=date(2026, 11, 29))
        clock = time.perf_counter()
        with session_scope(url) as session:
            figures = dashboard(session, filters=filters)
        dashboard_s = time.perf_counter() - clock
        get_engine(url).dispose()
    print(f"Simulated week: seed {args.seed}, {args.per_day} conversations a day, demo shop scale {args.scale}; "
          f"{len(world.events)} broker events, {world.placed} checkouts placed")
    print(f"demo shop {shop_s:.1f} s, simulation {simulate_s:.1f} s, ingestion {ingest_s:.1f} s "
          f"({len(world.events) / ingest_s:,.0f} events/s{' through RabbitMQ' if args.amqp else ''}), "
          f"dashboard {dashboard_s * 1000:.0f} ms; the same events again stored {again}\n")
    print(dashboard_text(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
