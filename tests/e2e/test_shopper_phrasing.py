"""How shoppers really write (issue 16, items 4-7), over REST against the real stack:
questions that name a product (exact or partial title, SKU, brand + model) in a fresh
conversation, the product page the widget reports (``page_url`` metadata, checked
server-side), typed "similar" / "add to cart" / "the second one" / "cheaper" / "in
blue", forgiving search (typos, vague needs), unknown policy questions, a claimed price,
another language and requests the shop can't do in chat.

Every expectation is a fact from the e2e shop's database: product ids and titles, real
prices, categories, colours, cart rows, order states, or the absence of a search list.
Which products are asked about is chosen from the database at run time (never
hard-coded demo names), the same ones every run.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from protocol.identity import sign_customer_id
from shop.db.engine import session_scope
from shop.db.schema import Cart, Order, OrderStatusEvent, Product, ProductVariant
from shop.services.catalog import ProductDetails, product_details
from shop.settings import Settings
from tests.product_questions import Item, score
from tests.stack import RunningStack, cards, new_sender, rest_conversation, texts
from tools.demo.catalog_words import MODEL_SUFFIXES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def public_url(stack: RunningStack) -> str:
    """The shop address the stack's action server checks page URLs against: its
    ``SHOP_PUBLIC_URL`` (the messaging tests set one), else the settings' default."""
    default = str(Settings.model_fields["public_url"].default)
    return stack.extra_env.get("SHOP_PUBLIC_URL", default).rstrip("/")

LIST_HEADING = re.compile(r"Here are \d+[–-]\d+ of \d+|Here's the one match")
GENDER_PREFIXES = ("Men's ", "Women's ", "Kids' ", "Unisex ")
SIGNED = {"customer_id": "1",
          "customer_sig": sign_customer_id("1", "e2e-secret", expires_at=int(time.time()) + 6 * 3600)}


# --------------------------------------------------------------------------- helpers

def _buttons(reply: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for m in reply for b in m.get("buttons") or []]


def _offers_a_person(reply: list[dict[str, Any]]) -> bool:
    text = texts(reply).lower()
    return (any(str(b.get("payload", "")).startswith("/request_human") for b in _buttons(reply))
            or any(w in text for w in ("a person", "our team", "a human", "colleague")))


def _no_search_list(reply: list[dict[str, Any]], *, allowed_ids: set[int] | frozenset[int] = frozenset()) -> bool:
    """No search results were shown: no list heading, no product cards (other than
    ``allowed_ids``: the product the answer is about may come as its own card)."""
    return not LIST_HEADING.search(texts(reply)) and {int(c["id"]) for c in cards(reply)} <= set(allowed_ids)


def _loops(stack: RunningStack, sender: str) -> set[str]:
    """The forms (active loops) the conversation has entered."""
    return {str(e["name"]) for e in stack.tracker(sender)["events"]
            if e.get("event") == "active_loop" and e.get("name")}


def _details(url: str, product_id: int) -> ProductDetails:
    with session_scope(url) as s:
        details = product_details(s, product_id=product_id)
    assert details is not None, product_id
    return details


def _categories(url: str, product_ids: list[int]) -> dict[int, str]:
    """product id -> its category's slug and name, lower case ("jackets jackets")."""
    with session_scope(url) as s:
        rows = s.scalars(select(Product).where(Product.id.in_(product_ids)).options(selectinload(Product.category)))
        return {p.id: f"{p.category.slug} {p.category.name}".lower() if p.category else "" for p in rows}


def _price_forms(cents: int) -> tuple[str, ...]:
    """How a price may be written in a reply: "$129.00", "$129" (whole dollars), "$1,299.00"."""
    whole, frac = divmod(cents, 100)
    forms = [f"${whole:,}.{frac:02d}", f"${whole}.{frac:02d}"]
    if frac == 0:
        forms += [f"${whole:,}", f"${whole}"]
    return tuple(forms)


def _finish_add_to_cart(stack: RunningStack, sender: str, reply: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Press the size / colour buttons the cart asks with until the item is added."""
    for _ in range(3):
        if "Added the" in texts(reply):
            break
        options = [b for b in _buttons(reply) if str(b.get("payload", "")).startswith("/add_to_cart")]
        if not options:
            break
        reply = stack.send(sender, options[0]["payload"])
    return reply


def _cart_product_ids(url: str, sender: str) -> list[int]:
    with session_scope(url) as s:
        cart = s.scalar(select(Cart).where(Cart.session_id == rest_conversation(sender)))
        return [item.product_id for item in cart.items] if cart is not None else []


# ------------------------------------------------------------ products chosen from the DB

@dataclass(frozen=True)
class Known:
    """An active, in-stock product and the ways a shopper may name it."""

    id: int
    title: str
    sku: str
    handle: str
    category: str
    partial: str              # the title without brand and gender ("Glacier Hybrid Waterproof Mid Hiker")
    brand_model: str | None   # brand + model ("Kestrel Glacier Hybrid"), when that names one product
    features: tuple[str, ...]
    has_material: bool
    has_weight: bool


def _model_words(rest: str) -> str | None:
    words = rest.split()
    if len(words) < 2:
        return None
    return words[0] + (f" {words[1]}" if f" {words[1]}" in MODEL_SUFFIXES else "")


@pytest.fixture(scope="module")
def catalog(e2e_db_url: str) -> list[Known]:
    return load_catalog(e2e_db_url)


def load_catalog(url: str) -> list[Known]:
    """Every active, in-stock product with the names a shopper may use for it."""
    with session_scope(url) as s:
        in_stock = set(s.scalars(select(ProductVariant.product_id).where(ProductVariant.stock > 0)))
        products = list(s.scalars(select(Product).where(Product.is_active.is_(True)).order_by(Product.id)
                                  .options(selectinload(Product.brand), selectinload(Product.category))))
        rows = []
        for p in products:
            brand = p.brand.name if p.brand else ""
            rest = p.title[len(brand) + 1:] if brand and p.title.startswith(brand + " ") else p.title
            rest = next((rest[len(g):] for g in GENDER_PREFIXES if rest.startswith(g)), rest)
            rows.append((p, brand, rest, _model_words(rest)))
    titles = [p.title.lower() for p, *_ in rows]
    first_model_word = Counter((brand, rest.split()[0]) for _, brand, rest, _ in rows if brand and rest.split())
    known = []
    for p, brand, rest, model in rows:
        if p.id not in in_stock:
            continue
        attrs = p.attributes or {}
        unique_partial = len(rest.split()) >= 2 and sum(rest.lower() in t for t in titles) == 1
        unique_model = bool(brand and model and first_model_word[(brand, rest.split()[0])] == 1)
        known.append(Known(
            id=p.id, title=p.title, sku=p.sku, handle=p.handle,
            category=(p.category.slug if p.category else ""),
            partial=rest if unique_partial else "",
            brand_model=f"{brand} {model}" if unique_model else None,
            features=tuple(str(f).lower() for f in attrs.get("features") or []),
            has_material=bool(attrs.get("material")), has_weight=bool(attrs.get("weight_g")),
        ))
    assert len(known) > 100
    return known


def _pick(catalog: list[Known], used: set[int], *, how: str, needs: str, waterproof: bool | None = None) -> Known:
    """The first product (by id, spread over the catalog) fit for a question, not used yet."""
    stride = max(1, len(catalog) // 50)
    for k in catalog[::stride] + catalog:
        if k.id in used or (how == "partial" and not k.partial) or (how == "brand+model" and not k.brand_model):
            continue
        if needs == "material" and not k.has_material or needs == "weight_g" and not k.has_weight:
            continue
        if needs == "waterproof" and (k.category != "jackets" or ("waterproof" in k.features) != waterproof):
            continue
        used.add(k.id)
        return k
    raise LookupError(f"no product for {how} / {needs}")


def _name(k: Known, how: str) -> str:
    return {"exact": k.title, "partial": k.partial, "sku": k.sku, "brand+model": k.brand_model or ""}[how]


QUESTIONS = {
    "material": ("What is the {name} made of?", {"field": "material"}),
    "weight_g": ("How much does the {name} weigh?", {"field": "weight_g"}),
    "waterproof": ("Is the {name} waterproof?", {"feature": "waterproof"}),
}
# (how the product is named, what is asked, for waterproof: whether the product is)
NAMED_CASES = [
    ("exact", "material", None), ("exact", "weight_g", None), ("exact", "waterproof", True),
    ("exact", "waterproof", False), ("partial", "material", None), ("partial", "waterproof", True),
    ("partial", "weight_g", None), ("sku", "material", None), ("sku", "weight_g", None),
    ("brand+model", "waterproof", False), ("brand+model", "weight_g", None), ("brand+model", "material", None),
]


def _answered_about(reply: list[dict[str, Any]], k: Known, details: ProductDetails, question: str,
                    expect: dict[str, Any]) -> str:
    """Why ``reply`` is not a right answer about ``k`` (empty when it is)."""
    text = texts(reply)
    problems = []
    if not _no_search_list(reply, allowed_ids={k.id}):
        problems.append("a search list was shown")
    if "which product" in text.lower():
        problems.append("asked which product")
    if k.title.lower() not in text.lower() and (not k.partial or k.partial.lower() not in text.lower()):
        problems.append("the product is not named")
    result = score(Item("e2e", "e2e", None, question, expect), [details], text)
    if not result.correct:
        problems.append(result.why or "wrong")
    return "; ".join(problems)


# ------------------------------------------------------------------------ item 4: named

def test_questions_that_name_a_product_are_answered_about_it(stack: RunningStack, e2e_db_url: str,
                                                             catalog: list[Known]) -> None:
    used: set[int] = set()
    wrong = []
    for how, needs, waterproof in NAMED_CASES:
        k = _pick(catalog, used, how=how, needs=needs, waterproof=waterproof)
        template, expect = QUESTIONS[needs]
        question = template.format(name=_name(k, how))
        if how == "sku":
            question = question.replace("the ", "", 1)   # "What is AC-T-S-03937 made of?"
        reply = stack.send(new_sender(), question)       # a fresh conversation each time
        why = _answered_about(reply, k, _details(e2e_db_url, k.id), question, expect)
        if why:
            wrong.append(f"[{how}] {question!r} -> {texts(reply)[:300]!r}: {why}")
    # the goal is >= 90% of named-product questions answered right
    assert len(wrong) <= 1, "\n".join(wrong)


def test_named_product_in_a_lower_case_typed_question(stack: RunningStack, e2e_db_url: str,
                                                      catalog: list[Known]) -> None:
    k = _pick(catalog, set(), how="exact", needs="material")
    question = f"wat is the {k.title.lower()} made from??"
    reply = stack.send(new_sender(), question)
    why = _answered_about(reply, k, _details(e2e_db_url, k.id), question, {"field": "material"})
    assert not why, (question, texts(reply), why)


# ------------------------------------------------------------------ item 4: product page

@pytest.mark.parametrize("waterproof", [True, False])
def test_is_this_waterproof_on_a_product_page(stack: RunningStack, e2e_db_url: str, catalog: list[Known],
                                              waterproof: bool) -> None:
    k = _pick(catalog, set(), how="exact", needs="waterproof", waterproof=waterproof)
    question = "is this waterproof?"
    reply = stack.send(new_sender(), question, metadata={"page_url": f"{public_url(stack)}/products/{k.handle}"})
    why = _answered_about(reply, k, _details(e2e_db_url, k.id), question, {"feature": "waterproof"})
    assert not why, (k.title, texts(reply), why)


def test_the_page_product_beats_an_older_focus(stack: RunningStack, e2e_db_url: str, catalog: list[Known]) -> None:
    sender = new_sender()
    shown = cards(stack.send(sender, "show me backpacks"))
    assert shown
    assert cards(stack.send(sender, "tell me about the first one"))   # the first backpack is in focus
    k = _pick(catalog, {int(c["id"]) for c in shown}, how="exact", needs="weight_g")
    question = "how much does this weigh?"
    reply = stack.send(sender, question, metadata={"page_url": f"{public_url(stack)}/products/{k.handle}"})
    why = _answered_about(reply, k, _details(e2e_db_url, k.id), question, {"field": "weight_g"})
    assert not why, (k.title, texts(reply), why)


FORGED_PAGES = {
    "another host": "http://shop.evil.example/products/{handle}",
    "another port": "{public}:8999/products/{handle}",
    "user info trick": "{public}@evil.example/products/{handle}",
    "protocol-relative": "//evil.example/products/{handle}",
    "javascript": "javascript:alert(1)//{public}/products/{handle}",
    "dot segments": "{public}/products/../products/{handle}",
    "unknown handle": "{public}/products/{handle}-does-not-exist",
    "huge": "{public}/products/{handle}?" + "a" * 50_000,
}


@pytest.mark.parametrize("kind", list(FORGED_PAGES))
def test_a_forged_page_url_is_not_used(stack: RunningStack, catalog: list[Known], kind: str) -> None:
    k = _pick(catalog, set(), how="exact", needs="waterproof", waterproof=True)
    page_url = FORGED_PAGES[kind].format(handle=k.handle, public=public_url(stack))
    reply = stack.send(new_sender(), "is this waterproof?", metadata={"page_url": page_url})
    text = texts(reply)
    assert text.strip(), kind
    assert k.title.lower() not in text.lower() and k.partial.lower() not in text.lower(), (kind, text)
    assert k.id not in {int(c["id"]) for c in cards(reply)}, kind
    assert "Traceback" not in text
    assert cards(stack.send(new_sender(), "rain jackets"))   # the stack still works


def test_a_page_of_an_inactive_product_is_not_used(stack: RunningStack, e2e_db_url: str,
                                                   catalog: list[Known]) -> None:
    k = _pick(catalog, set(), how="exact", needs="material")
    with session_scope(e2e_db_url) as s:
        s.execute(update(Product).where(Product.id == k.id).values(is_active=False))
    try:
        reply = stack.send(new_sender(), "what is this made of?",
                           metadata={"page_url": f"{public_url(stack)}/products/{k.handle}"})
    finally:
        with session_scope(e2e_db_url) as s:
            s.execute(update(Product).where(Product.id == k.id).values(is_active=True))
    assert k.title.lower() not in texts(reply).lower(), texts(reply)
    assert k.id not in {int(c["id"]) for c in cards(reply)}


# --------------------------------------------------------------- item 5: typed requests

def test_the_second_one_then_similar_ones(stack: RunningStack) -> None:
    sender = new_sender()
    shown = cards(stack.send(sender, "show me rain jackets"))
    assert len(shown) >= 2
    second = shown[1]
    reply = stack.send(sender, "the second one")
    assert [c["id"] for c in cards(reply)] == [second["id"]], texts(reply)
    assert second["title"] in texts(reply)
    reply = stack.send(sender, "show me similar ones")
    similar = cards(reply)
    assert f"Similar to the {second['title']}" in texts(reply) and similar, texts(reply)
    assert second["id"] not in {c["id"] for c in similar}


def test_anything_like_the_second_one_after_a_search(stack: RunningStack) -> None:
    sender = new_sender()
    shown = cards(stack.send(sender, "hiking boots"))
    assert len(shown) >= 2
    reply = stack.send(sender, "anything like the second one?")
    similar = cards(reply)
    assert f"Similar to the {shown[1]['title']}" in texts(reply) and similar, texts(reply)
    assert shown[1]["id"] not in {c["id"] for c in similar}


def test_add_the_second_one_to_my_cart_then_put_it_in_my_basket(stack: RunningStack, e2e_db_url: str) -> None:
    sender = new_sender()
    shown = cards(stack.send(sender, "show me fleece jackets"))
    assert len(shown) >= 2
    reply = _finish_add_to_cart(stack, sender, stack.send(sender, "add the second one to my cart"))
    assert f"Added the {shown[1]['title']}" in texts(reply), texts(reply)
    assert _cart_product_ids(e2e_db_url, sender) == [shown[1]["id"]]
    assert [c["id"] for c in cards(stack.send(sender, "tell me about the first one"))] == [shown[0]["id"]]
    reply = _finish_add_to_cart(stack, sender, stack.send(sender, "put it in my basket"))
    assert f"Added the {shown[0]['title']}" in texts(reply), texts(reply)
    assert sorted(_cart_product_ids(e2e_db_url, sender)) == sorted([shown[1]["id"], shown[0]["id"]])


def test_add_a_position_that_was_not_shown_adds_nothing(stack: RunningStack, e2e_db_url: str) -> None:
    sender = new_sender()
    assert cards(stack.send(sender, "show me beanies"))
    reply = stack.send(sender, "add the 99th one to my cart")
    assert "Added the" not in texts(reply), texts(reply)
    assert _cart_product_ids(e2e_db_url, sender) == []


@pytest.mark.parametrize(("search", "budget_cents", "may_run_out"), [
    ("running shoes under $60", 6_000, True),   # few shoes cost under $60: nothing cheaper is a fair answer
    ("jackets under $150", 15_000, False),
])
def test_anything_cheaper_stays_below_what_was_shown(stack: RunningStack, search: str, budget_cents: int,
                                                     may_run_out: bool) -> None:
    sender = new_sender()
    reply_before = stack.send(sender, search)
    before = cards(reply_before)
    assert before, texts(reply_before)
    reply = stack.send(sender, "anything cheaper?")
    cheaper = cards(reply)
    assert cheaper or may_run_out, texts(reply)
    assert texts(reply).strip()
    floor = min(c["price_cents"] for c in before)
    # when nothing fit the budget the first reply said it dropped the price range; then
    # "cheaper" means cheaper than what was shown
    budget_dropped = "the price range" in texts(reply_before)
    assert all(c["price_cents"] < floor and (budget_dropped or c["price_cents"] <= budget_cents)
               for c in cheaper), (floor, [(c["title"], c["price"]) for c in cheaper])


def test_in_blue_keeps_the_category(stack: RunningStack, e2e_db_url: str) -> None:
    with session_scope(e2e_db_url) as s:
        colours = Counter(s.scalars(select(ProductVariant.colour).join(Product).where(
            Product.category.has(slug="jackets"), Product.is_active.is_(True), ProductVariant.stock > 0)))
    colour = "blue" if colours.get("blue") else colours.most_common(1)[0][0]
    sender = new_sender()
    before = cards(stack.send(sender, "show me jackets"))
    assert before
    kinds = set(_categories(e2e_db_url, [c["id"] for c in before]).values())
    reply = stack.send(sender, f"in {colour}")
    refined = cards(reply)
    assert refined, texts(reply)
    assert all(colour in [x.lower() for x in c["colours"]] for c in refined), refined
    assert set(_categories(e2e_db_url, [c["id"] for c in refined]).values()) <= kinds, texts(reply)


# ------------------------------------------------------------- item 6: search that forgives

def test_a_typo_ridden_boot_search_finds_boots_in_the_size(stack: RunningStack, e2e_db_url: str) -> None:
    reply = stack.send(new_sender(), "waterprof hikng bots size 10")
    found = cards(reply)
    assert found, texts(reply)
    categories = _categories(e2e_db_url, [c["id"] for c in found])
    assert all("boot" in categories[c["id"]] for c in found), [(c["title"], categories[c["id"]]) for c in found]
    if "the size" not in texts(reply):   # unless the reply says it had to drop the size
        assert all("10" in c["in_stock_sizes"] for c in found), [(c["title"], c["in_stock_sizes"]) for c in found]


def test_a_vague_need_shows_jackets(stack: RunningStack, e2e_db_url: str) -> None:
    reply = stack.send(new_sender(), "going hiking in the rain next week, what jacket should i get")
    found = cards(reply)
    assert found, texts(reply)
    categories = _categories(e2e_db_url, [c["id"] for c in found])
    assert all("jacket" in categories[c["id"]] for c in found), [(c["title"], categories[c["id"]]) for c in found]
    waterproof = [c for c in found if "waterproof" in _details(e2e_db_url, c["id"]).attributes.get("features", [])]
    assert waterproof, [c["title"] for c in found]


@pytest.mark.parametrize("question", ["do you price match?", "do you do gift wrapping?"])
def test_an_unknown_policy_question_is_not_a_search(stack: RunningStack, question: str) -> None:
    reply = stack.send(new_sender(), question)
    assert texts(reply).strip()
    assert _no_search_list(reply), texts(reply)
    assert _offers_a_person(reply) or "don't know" in texts(reply).lower(), texts(reply)


def test_a_claimed_price_is_corrected_with_the_real_one(stack: RunningStack, e2e_db_url: str) -> None:
    sender = new_sender()
    shown = cards(stack.send(sender, "show me tents"))
    assert shown
    with session_scope(e2e_db_url) as s:
        real = s.scalar(select(Product.price_cents).where(Product.id == shown[0]["id"]))
    assert real == shown[0]["price_cents"] and real != 100
    reply = texts(stack.send(sender, "the first tent is $1 today right? please confirm"))
    assert any(form in reply for form in _price_forms(real)), (shown[0]["price"], reply)
    assert not reply.lower().lstrip().startswith("yes"), reply


# --------------------------------------------------- item 7 and requests the shop can't do

def test_a_spanish_request_gets_an_answer_in_spanish(stack: RunningStack) -> None:
    sender = new_sender()
    reply = stack.send(sender, "¿Dónde está mi pedido?")
    text = texts(reply)
    assert any(w in text.lower() for w in ("español", "persona", "inglés")), text
    assert "I can only" not in text and "outside what I can help with" not in text, text
    assert _no_search_list(reply), text
    assert not _loops(stack, sender), "a form was started"


@pytest.mark.parametrize("message", ["delete my account", "please close my account and erase my data",
                                     "how do i delete my account??"])
def test_delete_my_account_never_cancels_or_searches(stack: RunningStack, e2e_db_url: str, message: str) -> None:
    with session_scope(e2e_db_url) as s:
        before = dict(s.execute(select(Order.id, Order.status).where(Order.customer_id == 1)).all())
        events_before = s.scalar(select(func.count()).select_from(OrderStatusEvent))
    sender = new_sender()
    reply = stack.send(sender, message, metadata=SIGNED)   # signed in as the demo customer
    assert texts(reply).strip()
    assert _no_search_list(reply), texts(reply)
    assert "cancel_order_form" not in _loops(stack, sender), texts(reply)
    assert _offers_a_person(reply), texts(reply)
    with session_scope(e2e_db_url) as s:
        after = dict(s.execute(select(Order.id, Order.status).where(Order.customer_id == 1)).all())
        events_after = s.scalar(select(func.count()).select_from(OrderStatusEvent))
    assert after == before and events_after == events_before
