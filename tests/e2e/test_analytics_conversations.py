"""Issue 19's "done means" for analytics: conversations driven through the real stack
(the Rasa server and the action server, REST and the widget's socket.io; the demo
storefront's checkout in process on the same database), the stack's tracker store read
by the real ``ingest_tracker``, then every dashboard figure checked against values
computed by hand from what the conversations did.

The six conversations (all started in this test, on the UTC days it ran):

1. **contained** (REST): a greeting, a product search that finds boots, thanks.
2. **zero** (REST): tents, then "anything cheaper?" until nothing is (the last search
   finds nothing), goodbye, the goodbye's "Great" rating button (5).
3. **fallback** (REST): a greeting, then gibberish; the two-stage fallback asks back
   and the shopper leaves (an unresolved fallback). A model that reads the gibberish as
   out of scope instead gets ``/nlu_fallback`` after it, so the fallback is certain.
4. **handoff** (REST): asks for a person while an agent is online; the agent accepts
   90 s after the request (the console's clock, given here) and closes; the shopper
   rates the handoff 2.
5. **checkout** (socket.io, the widget; a signed-in customer the policy gives an
   offer): asks for discounts (a code), asks for recommendations, opens the first
   card's details and adds it to the cart (and, when the offer does not cover it, a
   product the offer does cover), then checks out on the storefront with the code.
6. **control** (REST, a signed-in customer of the control group): asks for discounts
   (the decision is logged, nothing is shown).

The stack's tracker store is shared with every other e2e test, so the test copies the
rows of its own six conversations into a tracker store it owns and ingests that one
(the same ``ingest_tracker`` path ``make run``'s loop runs) into the e2e shop database,
where the handoffs, ratings, impressions, orders and offer decisions the dashboard joins
are. No other test ingests into that database.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, Table, create_engine, select

from apps.storefront.checkout_api import CSRF_COOKIE, CSRF_HEADER
from apps.storefront.pages import StorefrontConfig, create_app
from protocol.identity import sign_customer_id
from shop.analytics.consumer import ingest_tracker
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.figures import Dashboard, Filters, Funnel, PromoArm, Rate
from shop.db.engine import session_scope
from shop.db.schema import (
    Cart,
    Category,
    Customer,
    Handoff,
    Offer,
    OfferCode,
    Product,
    ProductVariant,
)
from shop.handoff import states as hs
from shop.promo.offers import applies_to, eligible_offers
from shop.promo.policy import in_control_group
from shop.settings import Settings
from tests.e2e.test_promo_conversations import _customers
from tests.stack import ROOT, RunningStack, cards, new_sender, rest_conversation, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IDENTITY_SECRET = "e2e-secret"  # the e2e stack's SHOP_IDENTITY_SECRET (tests/e2e/conftest.py)
HANDOFF_WAIT_S = 90
GIBBERISH = "zxqv wprt mmnb"
ADDRESS = {"name": "Alex Rivera", "line1": "1 Main St", "city": "Portland", "postcode": "97201", "country": "US"}


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _signed(customer_id: int) -> dict[str, str]:
    return {"customer_id": str(customer_id),
            "customer_sig": sign_customer_id(str(customer_id), IDENTITY_SECRET, expires_at=int(time.time()) + 3600)}


def _promo_customers(url: str) -> tuple[int, int]:
    """An opted-in customer outside the control group with an eligible offer and no code
    held (so asking issues a new code and logs a new decision), and one inside it, both
    unused by the other e2e tests (customer 1 is their persona; ``_customers`` picks the
    promo tests' and the browser storefront's customer)."""
    defaults, now = Settings(), _utc_now()
    taken = {1, *_customers(url)}
    treatment = control = None
    with session_scope(url) as s:
        held = set(s.scalars(select(OfferCode.customer_id).where(OfferCode.redeemed_at.is_(None),
                                                                 OfferCode.expires_at > now)))
        for cid in s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True)).order_by(Customer.id)):
            if cid in taken or cid in held or not eligible_offers(s, customer_id=cid, now=now):
                continue
            if in_control_group(cid, pct=defaults.promo_control_pct, salt=defaults.promo_salt):
                control = control or cid
            else:
                treatment = treatment or cid
            if treatment and control:
                return treatment, control
    raise AssertionError(f"no free promo customers (treatment {treatment}, control {control})")


# The widget's side, on python-socketio's client in the Rasa environment (as in
# test_handoff.py): asks for a session, prints the token, then sends each JSON line of
# stdin as a message and prints the bot's messages of that turn once ``bot_done`` comes.
WIDGET = r"""
import asyncio, json, sys
import socketio

async def main(url):
    loop = asyncio.get_running_loop()
    sio = socketio.AsyncClient()
    replies, done, confirmed = [], asyncio.Queue(), loop.create_future()
    sio.on("bot_uttered", lambda data: replies.append(data))
    sio.on("bot_done", lambda data: done.put_nowait(True))
    sio.on("session_confirm", lambda token: confirmed.done() or confirmed.set_result(token))
    await sio.connect(url, transports=["polling"], socketio_path="/socket.io")
    await sio.emit("session_request", {})
    token = await asyncio.wait_for(confirmed, 30)
    print(json.dumps({"token": token}), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        await sio.emit("user_uttered", {"session_id": token, **json.loads(line)})
        await asyncio.wait_for(done.get(), 120)
        print(json.dumps({"replies": replies}), flush=True)
        replies.clear()
    await sio.disconnect()

asyncio.run(main(sys.argv[1]))
"""


class Widget:
    """One widget conversation over socket.io; :attr:`session_id` is its Rasa sender id."""

    def __init__(self, stack: RunningStack, metadata: dict[str, str]) -> None:
        self.metadata = metadata
        self.sent: list[str] = []
        self.proc = subprocess.Popen([str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-c", WIDGET,
                                      f"http://127.0.0.1:{stack.rasa_port}"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.token = str(self._line()["token"])
        self.session_id = self.token.split(".", 1)[0]

    def _line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the socket.io client ended (status {self.proc.poll()})"
        return json.loads(line)

    def send(self, message: str) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None
        self.sent.append(message)
        self.proc.stdin.write(json.dumps({"message": message, "metadata": self.metadata}) + "\n")
        self.proc.stdin.flush()
        return list(self._line()["replies"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _buttons(reply: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [b for m in reply for b in m.get("buttons") or []]


def _custom(reply: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((m["custom"] for m in reply if isinstance(m.get("custom"), dict) and m["custom"].get("type") == kind),
                None)


def _add_to_cart(send: Any, product_id: int, **options: str) -> list[dict[str, Any]]:
    """The card's "Add to cart" (with a size or colour already chosen), then the first
    size (and colour) offered until added."""
    reply = send("/add_to_cart" + json.dumps({"product_id": product_id, **options}))
    for _ in range(2):
        if "Added the" in texts(reply):
            break
        buttons = _buttons(reply)
        assert buttons, texts(reply)
        reply = send(buttons[0]["payload"])
    assert "Added the" in texts(reply), texts(reply)
    return reply


def _money(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.]", "", text))


def _storefront(url: str, stack: RunningStack, customer_id: int, tmp_path: Path) -> TestClient:
    """The demo storefront on the e2e shop, in process, checking the Rasa server's session
    tokens, signed in as ``customer_id``."""
    bundle = tmp_path / "shop-assistant.js"
    bundle.write_text("window.ShopAssistant = {};")
    client = TestClient(create_app(StorefrontConfig(
        database_url=url, rasa_url=f"http://127.0.0.1:{stack.rasa_port}", widget_bundle=bundle,
        identity_secret=IDENTITY_SECRET, demo_customer_id=customer_id, session_secret=stack.session_secret)))
    client.post("/demo/sign-in", data={"next": "/"}, follow_redirects=False)
    return client


def _checkout(client: TestClient, body: dict[str, Any]) -> Any:
    page = client.get("/checkout")
    assert page.status_code == 200
    headers = {"Origin": "http://testserver", CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or ""}
    return client.post("/api/checkout", json=body, headers=headers)


def _offer_product(url: str, offer_id: int, *, not_in: set[int], quantity: int) -> tuple[int, dict[str, str]]:
    """The cheapest active product the offer covers, not among ``not_in``, and the size
    and colour of a variant of it with ``quantity`` in stock."""
    with session_scope(url) as s:
        offer = s.get(Offer, offer_id)
        assert offer is not None
        query = (select(Product, ProductVariant).join(ProductVariant, ProductVariant.product_id == Product.id)
                 .where(Product.is_active.is_(True), ProductVariant.stock >= quantity, Product.id.not_in(not_in))
                 .order_by(Product.price_cents, Product.id, ProductVariant.id))
        if offer.category_slugs:
            query = query.join(Category, Category.id == Product.category_id).where(
                Category.slug.in_(offer.category_slugs))
        for product, variant in s.execute(query.limit(500)):
            if applies_to(s, offer, product):
                options = {"size": variant.size, "colour": variant.colour}
                return product.id, {k: v for k, v in options.items() if v}
    raise AssertionError(f"nothing in the shop the offer {offer_id} covers with {quantity} in stock")


def _owned_tracker(source: Path, target: Path, senders: set[str]) -> str:
    """A tracker store of this test's own: the stack's ``events`` table with only the rows
    of ``senders`` (ids kept)."""
    src = create_engine(f"sqlite:///{source}")
    events = Table("events", MetaData(), autoload_with=src)
    with src.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(events).where(events.c.sender_id.in_(senders))
                                              .order_by(events.c.id)).mappings()]
    src.dispose()
    url = f"sqlite:///{target}"
    dst = create_engine(url)
    events.metadata.create_all(dst)
    with dst.begin() as conn:
        conn.execute(events.insert(), rows)
    dst.dispose()
    assert {r["sender_id"] for r in rows} == senders
    return url


def test_every_dashboard_figure_from_real_conversations(stack: RunningStack, e2e_db_url: str,
                                                        online_agent: int, tmp_path: Path) -> None:
    first_day = _utc_now().date()
    treatment, control = _promo_customers(e2e_db_url)
    senders: dict[str, str] = {}  # conversation -> Rasa sender id

    # 1. contained: greeting, a search that finds something, thanks
    who = new_sender()
    senders["contained"] = rest_conversation(who)
    assert texts(stack.send(who, "hi"))
    found = stack.send(who, "show me waterproof hiking boots")
    assert cards(found), texts(found)
    assert texts(stack.send(who, "thanks"))

    # 2. tents, then "anything cheaper?" until nothing is (a search never relaxes the price
    # it was asked to go under, so the last one finds nothing), goodbye and "Great"
    who = new_sender()
    senders["zero"] = rest_conversation(who)
    reply = stack.send(who, "show me tents")
    assert cards(reply), texts(reply)
    cheaper_turns = 0
    while cards(reply):
        assert cheaper_turns < 10, "still cheaper tents after 10 asks"
        reply = stack.send(who, "anything cheaper?")
        cheaper_turns += 1
    assert "nothing cheaper" in texts(reply), texts(reply)
    bye = stack.send(who, "bye")
    great = next((b["payload"] for b in _buttons(bye) if b["title"] == "Great"), None)
    assert great == '/rate{"score": 5}', texts(bye)
    thanked = texts(stack.send(who, great))
    assert thanked and "already" not in thanked, thanked

    # 3. an unresolved fallback: gibberish at the end. What a trained model makes of
    # nonsense words depends on the model (often nlu_fallback, sometimes out_of_scope);
    # when it did not ask back, the shopper sends what the FallbackClassifier makes of an
    # unclear message, /nlu_fallback (as test_handoff.py does), so the fallback is certain
    who = new_sender()
    senders["fallback"] = rest_conversation(who)
    assert texts(stack.send(who, "hello"))
    unclear = texts(stack.send(who, GIBBERISH))
    gibberish_fell_back = "Did you want to" in unclear
    if not gibberish_fell_back:
        unclear = texts(stack.send(who, "/nlu_fallback"))
        assert "Did you want to" in unclear, unclear

    # 4. a handoff an agent takes after 90 s and closes; the shopper rates it 2
    who = new_sender()
    senders["handoff"] = rest_conversation(who)
    notice = texts(stack.send(who, "can I talk to a real person"))
    assert "queue" in notice or "next" in notice, notice
    with session_scope(e2e_db_url) as s:
        handoff = s.scalar(select(Handoff).where(Handoff.sender_id == senders["handoff"]))
        assert handoff is not None and handoff.status == "queued"
        handoff_id, asked_at = handoff.id, handoff.created_at
        hs.accept(s, handoff_id=handoff_id, staff_user_id=online_agent,
                  now=asked_at + timedelta(seconds=HANDOFF_WAIT_S))
        hs.close(s, handoff_id=handoff_id, staff_user_id=online_agent,
                 now=asked_at + timedelta(seconds=HANDOFF_WAIT_S + 30))
    rated = texts(stack.send(who, f'/rate{{"score": 2, "handoff_id": {handoff_id}}}'))
    assert rated and "already" not in rated, rated

    # 5. the widget: a code, recommendations, a click, the cart, the storefront's checkout
    widget = Widget(stack, _signed(treatment))
    try:
        senders["checkout"] = widget.session_id
        promo = _custom(widget.send("any discounts for me?"), "promo_code")
        assert promo is not None
        recommended = widget.send("what would you recommend?")
        shown = cards(recommended)
        assert shown, texts(recommended)
        picked = shown[0]["id"]
        details = widget.send(f'/product_details{{"product_id": {picked}}}')
        assert cards(details) and cards(details)[0]["id"] == picked, texts(details)
        added = _custom(_add_to_cart(widget.send, picked), "cart")
        assert added is not None and added["count"] == 1
        picked_line = _money(added["lines"][0]["line_total"])
        with session_scope(e2e_db_url) as s:
            code = s.scalar(select(OfferCode).where(OfferCode.code == promo["code"]))
            assert code is not None and code.customer_id == treatment
            offer = s.get(Offer, code.offer_id)
            assert offer is not None
            covered = applies_to(s, offer, s.get(Product, picked))
            kind, min_items, offer_id = offer.kind, offer.min_items, offer.id
        quantities: dict[str, int] = {}
        if kind == "bundle" or (kind in ("percent_off", "amount_off") and not covered):
            other, options = _offer_product(e2e_db_url, offer_id, not_in={c["id"] for c in shown},
                                            quantity=max(min_items, 1))
            _add_to_cart(widget.send, other, **options)
            if min_items > 1:
                with session_scope(e2e_db_url) as s:
                    cart = s.scalar(select(Cart).where(Cart.session_id == widget.session_id))
                    assert cart is not None
                    quantities = {str(i.variant_id): min_items for i in cart.items if i.product_id == other}
    finally:
        widget.close()
    cart_taps = sum(m.startswith("/add_to_cart") for m in widget.sent)
    store = _storefront(e2e_db_url, stack, treatment, tmp_path)
    body = {"session_token": widget.token, "idempotency_key": uuid.uuid4().hex, "address": ADDRESS,
            "promo_code": promo["code"], "quantities": quantities,
            # free shipping takes the fee off: express always has one
            "shipping_method": "express" if kind == "free_shipping" else "standard"}
    preview = _checkout(store, {**body, "preview": True})
    assert preview.status_code == 200, preview.text
    placed = _checkout(store, {**body, "expected_total_cents": preview.json()["order"]["total_cents"]})
    assert placed.status_code == 201, placed.text
    order = placed.json()["order"]
    assert order["code"] == promo["code"]
    paid = (Decimal(order["total_cents"]) / 100).quantize(Decimal("0.01"))

    # 6. the control group: the decision is logged, no code shown
    who = new_sender()
    senders["control"] = rest_conversation(who)
    withheld = stack.send(who, "any discounts for me?", metadata=_signed(control))
    assert _custom(withheld, "promo_code") is None, texts(withheld)

    # ---- the tracker store's events in, by the real path, then the dashboard ----
    tracker = _owned_tracker(stack.workdir / "tracker.db", tmp_path / "tracker.db", set(senders.values()))
    first = ingest_tracker(tracker_url=tracker, database_url=e2e_db_url)
    assert first.result is not None and first.result.stored > 0 and first.result.skipped == 0, first.result
    again = ingest_tracker(tracker_url=tracker, database_url=e2e_db_url)
    assert again.result is not None and again.result.stored == 0  # read again: nothing counts twice
    filters = Filters(start=first_day, end=_utc_now().date())
    with session_scope(e2e_db_url) as s:
        figures = dashboard(s, filters=filters)
        by_channel = {channel: dashboard(s, filters=Filters(start=filters.start, end=filters.end,
                                                           channel=channel)).conversations
                      for channel in ("rest", "socketio", "telegram")}
    _check(figures, shown=len(shown), picked_line=picked_line, paid=paid, cart_taps=cart_taps,
           cheaper_turns=cheaper_turns, gibberish_fell_back=gibberish_fell_back)
    # REST carried conversations 1-4 and 6, the widget the checkout
    assert by_channel == {"rest": 5, "socketio": 1, "telegram": 0}


def _check(figures: Dashboard, *, shown: int, picked_line: Decimal, paid: Decimal, cart_taps: int,
           cheaper_turns: int, gibberish_fell_back: bool) -> None:
    """Every figure against the hand count of the conversations above."""
    got = f"the dashboard said: {figures}"
    # six conversations, each with shopper messages
    assert figures.conversations == 6, got
    # contained: 1, 2, 5 and 6; not 3 (the fallback is the last thing) nor 4 (a person)
    assert figures.containment == Rate(4, 6), got
    # conversations with a fallen-back turn: 3 only
    assert figures.fallback_rate == Rate(1, 6), got
    # conversations with a handoff request: 4 only
    assert figures.handoff_rate == Rate(1, 6), got
    # its one accepted handoff, 90 s after the request: both percentiles are 90 s
    assert figures.handoffs_accepted == 1, got
    assert figures.handoff_wait_p50_s == HANDOFF_WAIT_S and figures.handoff_wait_p95_s == HANDOFF_WAIT_S, got
    # ratings 5 (conversation 2) and 2 (conversation 4): mean 3.5, one of two satisfied
    assert (figures.csat_ratings, figures.csat_average, figures.csat_satisfied) == (2, 3.5, Rate(1, 2)), got
    # first pages of product search: the boots and the tents (found), each "cheaper" (all
    # found something but the last)
    assert figures.search_zero_results == Rate(1, 2 + cheaper_turns), got
    # the recommendation shown in conversation 5: every card an impression; the details
    # button a click and the add-to-cart, both on the first card; the order holds that
    # line, so one order and that line's price (before the code) as revenue
    assert figures.recommendations == Funnel(impressions=shown, clicks=1, add_to_cart=1, orders=1,
                                             revenue=picked_line, ctr=Rate(1, shown), conversion=Rate(1, shown)), got
    # the code shown in 5 and redeemed by its order (the order's total, code taken off);
    # the control decision of 6, nothing redeemed or bought
    assert figures.promo == [PromoArm(arm="treatment", conversations=1, shown=1, redeemed=1, orders=1, revenue=paid),
                             PromoArm(arm="control", conversations=1, shown=1, redeemed=0, orders=0,
                                      revenue=Decimal("0.00"))], got
    # the generated answers: the promo message of 5, worded by the LLM or, when it was
    # too slow for its timeout on this machine, the template
    assert figures.llm_answer_rate.denominator == 1 and figures.llm_answer_rate.numerator in (0, 1), got
    # the gibberish is the one unanswered shopper text (folded to lower case); a button
    # payload (/nlu_fallback) is never listed
    assert figures.unanswered == ([(GIBBERISH.lower(), 1)] if gibberish_fell_back else []), got
    # every day of the filter: the six on the day they started
    assert sum(d.conversations for d in figures.days) == 6 and sum(d.contained for d in figures.days) == 4, got
    assert sum(d.fallbacks for d in figures.days) == 1 and sum(d.handoffs for d in figures.days) == 1, got
    # the final intent of each shopper turn, by conversation (nlu_fallback left out):
    said = Counter({"greet": 2,                 # 1 "hi", 3 "hello"
                    "search_products": 2,       # 1 the boots, 2 the tents
                    "refine_search": cheaper_turns,  # 2 each "anything cheaper?"
                    "thanks": 1, "goodbye": 1,  # 1 "thanks", 2 "bye"
                    "rate": 2,                  # 2 and 4: the rating buttons
                    "request_human": 1,         # 4
                    "promo_inquiry": 2,         # 5 and 6 "any discounts for me?"
                    "ask_recommendation": 1, "product_details": 1,  # 5, the latter a card's button
                    "add_to_cart": cart_taps})  # 5: each add-to-cart button (card, size, colour)
    if not gibberish_fell_back:
        said["out_of_scope"] += 1  # 3: the gibberish read as out of scope (then /nlu_fallback)
    # the ten most frequent, ties by name
    assert figures.top_intents == sorted(said.items(), key=lambda kv: (-kv[1], kv[0]))[:10], got
