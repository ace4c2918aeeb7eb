"""The small shop and week of conversations the dashboard test checks by hand.

Two days in the filter (2026-11-02 and 03) and one after it (04). Conversations
(sender, channel, customer):

- **A** ``web-alice-1`` (socketio, customer 1), day 1 10:00: greets, searches (3
  found), gets recommendations (jacket and socks shown), clicks the jacket twice and
  adds it to the cart, asks a question (LLM answer), asks for deals (offer shown with a
  code, LLM-worded), says bye, rates 5; checks out the jacket with the code.
- **B** ``web-bravo-2`` (socketio), day 1 11:00: not understood, clarifies with the
  button (read again as a search), which finds nothing. Fallback resolved.
- **C** ``tg-charlie-3`` (telegram), day 1 12:00: not understood, says no, rephrases,
  not understood again (the fallback gives up), rates 2. Fallback unresolved.
- **D** ``web-delta-4`` (socketio, customer 2), day 1 13:00: asks for deals (control
  group: nothing shown), asks for a person (accepted after 120 s, closed), rates the
  handoff 4; checks out socks without a code.
- **E** ``web-alice-1`` again, a new session on day 2 09:00: a misspelt search read as a
  search by the action server (4 found), recommendations (socks shown, clicked), a
  comparison (template answer), rates 3.
- **F** ``tg-foxtrot-6`` (telegram), day 2 10:00: asks for a person (accepted after 600 s).
- **G** ``web-golf-7`` (socketio), day 2 11:00: not understood ("Where is  my PARCEL??"),
  then asks for a person (queued, never accepted).
- **H** ``web-hotel-8``, day 2 12:00: the widget opened, nothing said (not a conversation).
- **I** ``web-india-9`` (socketio, customer 2), day 3: outside the filter (a
  recommendation, a handoff and a control decision that must not count).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shop.db.schema import (
    Cart,
    CartItem,
    Category,
    Customer,
    Handoff,
    Offer,
    OfferEvent,
    Product,
    ProductVariant,
    RecommendationImpression,
)
from shop.promo.checkout_codes import PromoCodes
from shop.promo.offers import issue_code
from shop.services.checkout import Address, CheckoutRequest, checkout
from shop.services.csat import record_rating
from shop.services.interactions import record_interaction
from tools.demo.rasa_events import Chat

DAY1, DAY2, DAY3 = datetime(2026, 11, 2), datetime(2026, 11, 3), datetime(2026, 11, 4)
ADDRESS = Address(name="Alex Rivera", line1="1 Main St", city="Springfield", postcode="12345", country="US")


def at(day: datetime, clock: str) -> datetime:
    hours, minutes, seconds = (int(x) for x in clock.split(":"))
    return day + timedelta(hours=hours, minutes=minutes, seconds=seconds)


@dataclass
class Shop:
    alex: int
    blake: int
    jacket: int  # product ids
    socks: int
    jacket_variant: int
    socks_variant: int
    offer: int
    code: str = ""
    handoffs: dict[str, int] = field(default_factory=dict)


def build_shop(session: Session) -> Shop:
    """Two customers, a jacket ($100.00) and socks ($20.00), a 10%-off offer."""
    created = datetime(2026, 10, 1)
    category = Category(slug="outdoor", name="Outdoor")
    session.add(category)
    session.flush()
    customers = [Customer(email=f"{n}@example.com", first_name=n.title(), last_name="Tester",
                          marketing_opt_in=True, created_at=created) for n in ("alex", "blake")]
    products = [Product(sku=f"SKU-{n}", handle=n, title=f"Test {n}", category_id=category.id, price_cents=price,
                        created_at=created, updated_at=created) for n, price in (("jacket", 10000), ("socks", 2000))]
    session.add_all(customers + products)
    session.flush()
    variants = [ProductVariant(product_id=p.id, sku=f"{p.sku}-M", size="M", stock=10) for p in products]
    offer = Offer(key="ten_pct", name="10% off", kind="percent_off", value=10, budget_cents=100_000,
                  starts_at=created, ends_at=datetime(2027, 1, 1))
    session.add_all([*variants, offer])
    session.flush()
    return Shop(alex=customers[0].id, blake=customers[1].id, jacket=products[0].id, socks=products[1].id,
                jacket_variant=variants[0].id, socks_variant=variants[1].id, offer=offer.id)


def _handoff(session: Session, sender: str, channel: str, created: datetime, accepted: datetime | None,
             ended: datetime | None = None) -> int:
    status = "closed" if ended else ("active" if accepted else "queued")
    row = Handoff(sender_id=sender, channel=channel, reason="request", status=status, created_at=created,
                  accepted_at=accepted, ended_at=ended)
    session.add(row)
    session.flush()
    return row.id


def _shown(session: Session, sender: str, customer: int | None, product: int, when: datetime, position: int) -> None:
    session.add(RecommendationImpression(request_id=f"req-{sender}-{when:%H%M}", at=when, source="chat",
                                         session_id=sender, customer_id=customer, product_id=product,
                                         position=position, how="personal"))
    session.flush()


def _checkout(session: Session, *, sender: str, customer: int, variant: int, product: int, when: datetime,
              code: str | None) -> None:
    cart = Cart(session_id=sender, customer_id=customer, created_at=when, updated_at=when)
    cart.items.append(CartItem(product_id=product, variant_id=variant, quantity=1, added_at=when))
    session.add(cart)
    session.flush()
    result = checkout(session, request=CheckoutRequest(session_id=sender, idempotency_key=f"key-{sender}-0000000",
                                                       address=ADDRESS, customer_id=customer, promo_code=code),
                      now=when, codes=PromoCodes())
    assert result.status == "placed", result.message


def shop_side(session: Session, shop: Shop) -> None:
    """What the shop's own tables hold about the conversations (see the module doc)."""
    # A: recommendations, clicks, add-to-cart, the offer and its code, the rating, the checkout
    _shown(session, "web-alice-1", shop.alex, shop.jacket, at(DAY1, "10:02:01"), 1)
    _shown(session, "web-alice-1", shop.alex, shop.socks, at(DAY1, "10:02:01"), 2)
    for kind, clock in (("click", "10:03:00"), ("click", "10:03:30"), ("add_to_cart", "10:04:00")):
        record_interaction(session, product_id=shop.jacket, kind=kind, session_id="web-alice-1",
                           customer_id=shop.alex, at=at(DAY1, clock))
    # a click by another conversation on a product it was never shown: credited to nothing
    record_interaction(session, product_id=shop.jacket, kind="click", session_id="web-bravo-2", at=at(DAY1, "11:00:40"))
    offer = session.get(Offer, shop.offer)
    assert offer is not None
    code = issue_code(session, offer=offer, customer_id=shop.alex, now=at(DAY1, "10:05:00"))
    assert code is not None
    shop.code = code.code
    session.add(OfferEvent(customer_id=shop.alex, offer_id=shop.offer, arm=offer.key, policy="uplift",
                           shown_at=at(DAY1, "10:05:00"), code_id=code.id))
    # a decision for Alex before any conversation: in no conversation's window
    session.add(OfferEvent(customer_id=shop.alex, offer_id=None, arm="control", policy="uplift",
                           shown_at=at(DAY1, "09:00:00")))
    record_rating(session, conversation="web-alice-1", channel="socketio", score=5, now=at(DAY1, "10:08:21"),
                  chat_ref="a")
    _checkout(session, sender="web-alice-1", customer=shop.alex, variant=shop.jacket_variant, product=shop.jacket,
              when=at(DAY1, "10:10:00"), code=shop.code)
    # C: rating 2
    record_rating(session, conversation="tg-charlie-3", channel="telegram", score=2, now=at(DAY1, "12:02:01"),
                  chat_ref="c")
    # D: control decision, handoff accepted after 120 s and closed, its rating, checkout without a code
    session.add(OfferEvent(customer_id=shop.blake, offer_id=None, arm="control", policy="uplift",
                           shown_at=at(DAY1, "13:00:01")))
    shop.handoffs["D"] = _handoff(session, "web-delta-4", "socketio", at(DAY1, "13:00:06"), at(DAY1, "13:02:06"),
                                  at(DAY1, "13:10:00"))
    record_rating(session, conversation="web-delta-4", channel="socketio", score=4, now=at(DAY1, "13:11:01"),
                  handoff_id=shop.handoffs["D"])
    _checkout(session, sender="web-delta-4", customer=shop.blake, variant=shop.socks_variant, product=shop.socks,
              when=at(DAY1, "13:20:00"), code=None)
    # E: socks shown and clicked, rating 3
    _shown(session, "web-alice-1", shop.alex, shop.socks, at(DAY2, "09:01:01"), 1)
    record_interaction(session, product_id=shop.socks, kind="click", session_id="web-alice-1", customer_id=shop.alex,
                       at=at(DAY2, "09:01:30"))
    record_rating(session, conversation="web-alice-1", channel="socketio", score=3, now=at(DAY2, "09:03:01"),
                  chat_ref="e")
    # F: accepted after 600 s; G: never accepted
    shop.handoffs["F"] = _handoff(session, "tg-foxtrot-6", "telegram", at(DAY2, "10:00:10"), at(DAY2, "10:10:10"))
    shop.handoffs["G"] = _handoff(session, "web-golf-7", "socketio", at(DAY2, "11:00:22"), None)
    # I (outside the filter): a recommendation, a handoff, a control decision
    _shown(session, "web-india-9", shop.blake, shop.jacket, at(DAY3, "09:01:00"), 1)
    _handoff(session, "web-india-9", "socketio", at(DAY3, "09:02:00"), at(DAY3, "09:03:00"))
    session.add(OfferEvent(customer_id=shop.blake, offer_id=None, arm="control", policy="uplift",
                           shown_at=at(DAY3, "09:00:30")))
    session.flush()


def conversation_events(shop: Shop) -> list[dict[str, Any]]:
    """The broker events of every conversation (see the module doc)."""
    found = {"search_results": 3}
    a = Chat("web-alice-1", channel="socketio", start=at(DAY1, "10:00:00"), customer_id=shop.alex)
    a.turn("hi", "greet", "utter_greet", "Hi! How can I help?", at=at(DAY1, "10:00:10"))
    a.user("waterproof jacket", "search_products", at=at(DAY1, "10:01:00"))
    a.action("action_search_products")
    a.bot("Here are 1–3 of 3:", custom={"type": "product_cards", "cards": []})
    a.bot("Want to narrow it down?", response="utter_search_followup", analytics=found)
    a.action("action_listen")
    a.turn("what do you recommend?", "recommend_products", "action_recommend", None, at=at(DAY1, "10:02:00"),
           custom={"type": "product_cards", "cards": []})
    a.turn("is the first one warm?", "ask_product_question", "action_answer_product_question", "Yes, it is.",
           at=at(DAY1, "10:03:10"), analytics={"answer": "llm"})
    a.user("any deals for me?", "promo_inquiry", at=at(DAY1, "10:05:00"))
    a.action("action_promo_inquiry")
    a.bot("Here is 10% off for you.", analytics={"answer": "llm"})
    a.bot(None, custom={"type": "promo_code", "code": shop.code})
    a.action("action_listen")
    a.turn("bye", "goodbye", "utter_goodbye", "Bye! How did we do?", at=at(DAY1, "10:08:00"))
    a.rating(5, at=at(DAY1, "10:08:20"))

    b = Chat("web-bravo-2", channel="socketio", start=at(DAY1, "11:00:00"))
    b.unclear("asdfgh qwerty", at=at(DAY1, "11:00:10"))
    click = b.user("/search_products", "search_products", at=at(DAY1, "11:00:30"))
    b.action("action_two_stage_fallback")
    b.read_again(click, "/search_products", "search_products")
    b.action("action_search_products")
    b.bot("I found nothing like that.", response="utter_no_results", analytics={"search_results": 0})
    b.action("action_listen")

    c = Chat("tg-charlie-3", channel="telegram", start=at(DAY1, "12:00:00"))
    c.unclear("Where is my parcel??", at=at(DAY1, "12:00:10"))
    c.user("/out_of_scope", "out_of_scope", at=at(DAY1, "12:00:30"))
    c.action("action_two_stage_fallback")
    c.bot("Could you say that another way?", response="utter_ask_rephrase")
    c.action("action_listen")
    c.user("my parcel never came", "nlu_fallback", at=at(DAY1, "12:01:00"), confidence=0.2)
    c.action("action_two_stage_fallback")
    c.bot("Sorry, I didn't get that.", response="utter_default")
    c.action("action_listen")
    c.rating(2, at=at(DAY1, "12:02:00"))

    d = Chat("web-delta-4", channel="socketio", start=at(DAY1, "13:00:00"), customer_id=shop.blake)
    d.turn("any deals for me?", "promo_inquiry", "action_promo_inquiry", "Our sale items:", at=at(DAY1, "13:00:01"))
    d.turn("I want to talk to a person", "request_human", "action_request_human", "You're number 1 in the queue.",
           at=at(DAY1, "13:00:05"))
    d.rating(4, handoff_id=shop.handoffs.get("D"), at=at(DAY1, "13:11:00"))

    e = Chat("web-alice-1", channel="socketio", start=at(DAY2, "09:00:00"), customer_id=shop.alex)  # A's sender
    typo = e.user("waterprof jakcet", "nlu_fallback", at=at(DAY2, "09:00:10"), confidence=0.4)
    e.action("action_two_stage_fallback")
    e.read_again(typo, "waterprof jakcet", "search_products")
    e.action("action_search_products")
    e.bot("Here are 1–4 of 4:", custom={"type": "product_cards", "cards": []})
    e.bot("Want to narrow it down?", response="utter_search_followup", analytics={"search_results": 4})
    e.action("action_listen")
    e.turn("recommend socks", "recommend_products", "action_recommend", None, at=at(DAY2, "09:01:00"),
           custom={"type": "product_cards", "cards": []})
    e.turn("compare the first two", "compare_products", "action_compare_products", "| a | b |",
           at=at(DAY2, "09:02:00"), analytics={"answer": "template"})
    e.rating(3, at=at(DAY2, "09:03:00"))

    f = Chat("tg-foxtrot-6", channel="telegram", start=at(DAY2, "10:00:00"))
    f.turn("agent please", "request_human", "action_request_human", "You're number 1 in the queue.",
           at=at(DAY2, "10:00:02"))

    g = Chat("web-golf-7", channel="socketio", start=at(DAY2, "11:00:00"))
    g.unclear("Where is  my PARCEL??", at=at(DAY2, "11:00:02"))
    ask = g.user("can I speak to someone", "request_human", at=at(DAY2, "11:00:20"))
    g.action("action_two_stage_fallback")
    g.read_again(ask, "can I speak to someone", "request_human")
    g.action("action_request_human")
    g.bot("Nobody is online; leave a message?")
    g.action("action_listen")

    h = Chat("web-hotel-8", channel="socketio", start=at(DAY2, "12:00:00"))  # nothing said

    i = Chat("web-india-9", channel="socketio", start=at(DAY3, "09:00:00"), customer_id=shop.blake)
    i.turn("hi", "greet", "utter_greet", "Hi!", at=at(DAY3, "09:00:10"))
    i.turn("a person please", "request_human", "action_request_human", "One moment.", at=at(DAY3, "09:01:30"))
    return [*a.events, *b.events, *c.events, *d.events, *e.events, *f.events, *g.events, *h.events, *i.events]
