"""Analytics data for the console's dashboard and review tests: Rasa tracker events fed
through the real ingest (:func:`shop.analytics.ingest.ingest_events`), plus the shop
rows the figures join (a handoff, CSAT ratings, recommendation impressions and
clicks).

:func:`seed_hostile` makes four conversations whose figures are worked out by hand in
:data:`HOSTILE_FIGURES` (one shopper message is markup, one a spreadsheet formula);
:func:`seed_week` makes a busier week for the browser test's charts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from shop.analytics.ingest import ingest_events
from shop.db.attribution_tables import RecommendationImpression
from shop.db.engine import session_scope
from shop.db.schema import Customer, Interaction, Offer, OfferCode, OfferEvent, Product
from shop.handoff.states import start_handoff
from shop.services.csat import record_rating

SCRIPT_TEXT = "<script>alert('x')</script> can I pay with bitcoin?"
FORMULA_TEXT = '=HYPERLINK("http://evil.example","click")'


def _ts(at: datetime) -> float:
    return at.replace(tzinfo=timezone.utc).timestamp()


@dataclass
class Chat:
    """One conversation's tracker events, 5 seconds apart."""

    sender: str
    channel: str
    at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0

    def __post_init__(self) -> None:
        self._add({"event": "session_started"})

    def _add(self, event: dict[str, Any]) -> None:
        self.events.append({**event, "sender_id": self.sender, "timestamp": _ts(self.at)})
        self.at += timedelta(seconds=5)

    def user(self, text: str, intent: str, *, customer_id: int | None = None) -> Chat:
        self.count += 1
        self._add({"event": "user", "text": text, "input_channel": self.channel,
                   "message_id": f"{self.sender}-{self.count}",
                   "parse_data": {"intent": {"name": intent, "confidence": 0.9}},
                   "metadata": {"customer_id": customer_id} if customer_id else {}})
        return self

    def bot(self, text: str, **marks: Any) -> Chat:
        self._add({"event": "bot", "text": text, "data": {}, "metadata": {"analytics": marks} if marks else {}})
        return self

    def action(self, name: str) -> Chat:
        self._add({"event": "action", "name": name})
        return self


def ingest(url: str, chats: list[Chat]) -> None:
    with session_scope(url) as s:
        result = ingest_events(s, events=[e for chat in chats for e in chat.events])
        assert result.skipped == 0, result.reasons


#: the figures of :func:`seed_hostile`'s conversations, worked out by hand
HOSTILE_FIGURES = {"conversations": "4", "containment": "50.0 %", "fallback": "25.0 %", "handoff": "25.0 %",
                   "wait": "1 min 30 s", "csat": "3.50 / 5", "zero-results": "50.0 %", "llm": "50.0 %"}


def seed_hostile(url: str, *, now: datetime) -> dict[str, str]:
    """Four conversations in the 7 days up to ``now`` (returns their senders by name):

    - ``contained`` (web chat, 1 day ago): a greeting and a product search that found 5,
      answered by a template; rated 5;
    - ``fallback`` (web chat, 2 days ago): :data:`SCRIPT_TEXT`, which fell back and was
      never resolved; rated 2;
    - ``formula`` (Telegram, 3 days ago): :data:`FORMULA_TEXT` read as an order question,
      a search that found nothing and an answer worded by the LLM;
    - ``handoff`` (REST, 4 hours ago): asks for a person, accepted after 90 s.

    So: 4 conversations, 2 contained, 1 fell back, 1 handed off; CSAT 3.5 from 2 ratings;
    1 of 2 searches found nothing; 1 of 2 answers by the LLM (:data:`HOSTILE_FIGURES`).
    """
    day = timedelta(days=1)
    senders = {"contained": "web-contained", "fallback": "web-fallback", "formula": "tg-formula",
               "handoff": "rest-handoff"}
    chats = [
        Chat(senders["contained"], "socketio", now - day).user("hi there", "greet").bot("Hello! How can I help?")
        .user("waterproof hiking boots", "search_products").bot("Here are 5 boots", search_results=5,
                                                                 answer="template"),
        Chat(senders["fallback"], "socketio", now - 2 * day).user(SCRIPT_TEXT, "nlu_fallback")
        .action("action_default_fallback").bot("Sorry, I didn't get that."),
        Chat(senders["formula"], "telegram", now - 3 * day).user(FORMULA_TEXT, "order_status")
        .bot("Nothing matched", search_results=0).bot("Your order ships Monday.", answer="llm"),
        Chat(senders["handoff"], "rest", now - timedelta(hours=4)).user("talk to a human", "request_human")
        .action("action_request_human").bot("Connecting you to a person."),
    ]
    ingest(url, chats)
    with session_scope(url) as s:
        asked = now - timedelta(hours=4) + timedelta(seconds=8)
        handoff = start_handoff(s, sender_id=senders["handoff"], channel="rest", reason="request", team="support",
                                now=asked)
        handoff.status, handoff.accepted_at = "active", asked + timedelta(seconds=90)
        record_rating(s, conversation=senders["contained"], channel="socketio", score=5,
                      now=now - day + timedelta(seconds=30))
        record_rating(s, conversation=senders["fallback"], channel="socketio", score=2,
                      now=now - 2 * day + timedelta(seconds=30))
    return senders


INTENTS = ("search_products", "order_status", "return_item", "product_question", "greet", "shipping_policy")


def seed_week(url: str, *, now: datetime, per_day: int = 12, seed: int = 7) -> int:
    """About ``per_day`` conversations on each of the 7 days up to ``now`` (fewer at the
    weekend, more later in the week), a tenth falling back, some searches, LLM and
    template answers, ratings, recommendation impressions and clicks, offers shown to
    (or held back from, the control arm) the signed-in shoppers, a third of them
    redeemed; plus
    :func:`seed_hostile`'s four. Returns how many conversations it made in all."""
    rng = random.Random(seed)
    with session_scope(url) as s:
        customers = list(s.scalars(select(Customer.id).order_by(Customer.id).limit(40)))
        products = list(s.scalars(select(Product.id).order_by(Product.id).limit(3)))
        offer_id = s.scalar(select(Offer.id).order_by(Offer.id).limit(1))
    chats: list[Chat] = []
    decisions: list[tuple[int, datetime, bool]] = []  # customer, when, treatment
    ratings: list[tuple[str, str, int, datetime]] = []
    impressions: list[tuple[str, datetime, bool]] = []
    channels = ("socketio", "socketio", "socketio", "telegram", "slack", "twilio")
    for back in range(6, -1, -1):
        day_start = (now - timedelta(days=back)).replace(hour=8, minute=0, second=0, microsecond=0)
        for i in range(per_day + (6 - back) - (3 if back in (2, 3) else 0)):
            started = day_start + timedelta(minutes=37 * i + rng.randrange(20))
            if started >= now - timedelta(minutes=5):
                break
            channel = rng.choice(channels)
            customer = rng.choice(customers) if customers and rng.random() < 0.3 else None
            chat = Chat(f"wk-{back}-{i}", channel, started).user("hello", "greet", customer_id=customer)
            chat.bot("Hi! How can I help?")
            if customer is not None and offer_id is not None:
                decisions.append((customer, chat.at, rng.random() < 0.7))
            intent = rng.choice(INTENTS)
            if rng.random() < 0.12:
                chat.user(rng.choice(("do you sell gift wrapping?", "can I pay in crypto?", "asdfgh")),
                          "nlu_fallback").action("action_default_fallback").bot("Sorry, I didn't get that.")
            elif intent == "search_products":
                found = 0 if rng.random() < 0.15 else rng.randrange(1, 20)
                chat.user("rain jacket under 100", intent).bot(f"{found} jackets", search_results=found)
                impressions.append((chat.sender, chat.at, rng.random() < 0.3))
            else:
                chat.user("tell me about it", intent).bot("Here you go.", answer=rng.choice(("llm", "llm", "template")))
            chats.append(chat)
            if rng.random() < 0.4:
                ratings.append((chat.sender, channel, rng.choice((3, 4, 5, 5, 4, 2)), chat.at))
    ingest(url, chats)
    with session_scope(url) as s:
        for sender, channel, score, at in ratings:
            record_rating(s, conversation=sender, channel=channel, score=score, now=at)
        for n, (sender, at, clicked) in enumerate(impressions):
            for position, product_id in enumerate(products, start=1):
                s.add(RecommendationImpression(request_id=f"req-{n}", at=at, source="chat", session_id=sender,
                                               product_id=product_id, position=position, how="personal"))
            if clicked and products:
                s.add(Interaction(session_id=sender, product_id=products[0], kind="click",
                                  at=at + timedelta(seconds=3), source="chat"))
        for n, (customer, at, treated) in enumerate(decisions):
            code = None
            if treated and n % 3 == 0:
                code = OfferCode(code=f"SEED{n:04d}", offer_id=offer_id, customer_id=customer, slot=1000 + n,
                                 issued_at=at, expires_at=at + timedelta(days=7),
                                 redeemed_at=at + timedelta(minutes=2))
                s.add(code)
                s.flush()
            s.add(OfferEvent(customer_id=customer, offer_id=offer_id if treated else None,
                             arm="treatment" if treated else "control", policy="seed",
                             shown_at=at + timedelta(seconds=1), code_id=code.id if code else None))
    seed_hostile(url, now=now)
    return len(chats) + 4
