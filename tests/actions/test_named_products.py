"""Questions that name a product, questions on a product page and claimed prices, on
tracker JSON against the demo shop (templates, no LLM): the answer is about the
product named or viewed, with facts from the database."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from sqlalchemy import select, update

from actions import slots as S
from actions.search import (
    ActionAnswerProductQuestion,
    ActionCompareProducts,
    ActionProductDetails,
    ActionSearchProducts,
)
from shop.db.schema import Category, Product
from shop.services.catalog import product_details
from shop.settings import get_settings
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, run_action, tracker_state


def with_page(page_url: Any, **changes: Any) -> Tracker:
    state = tracker_state(**changes)
    user = next(e for e in reversed(state["events"]) if e["event"] == "user")
    user["metadata"]["page_url"] = page_url   # Rasa keeps metadata on the user event only
    return Tracker.from_dict(state)


def unique_products(shop: DemoShop, n: int) -> list[tuple[int, str]]:
    with shop.session() as s:
        rows = s.execute(select(Product.id, Product.title).where(Product.is_active.is_(True))
                         .order_by(Product.id)).all()
    counts: dict[str, int] = {}
    for _, title in rows:
        counts[title] = counts.get(title, 0) + 1
    return [(int(i), t) for i, t in rows if counts[t] == 1][:n]


async def test_fresh_questions_naming_a_title_are_answered_about_it(shop: DemoShop, domain: dict) -> None:
    answered = 0
    for pid, title in unique_products(shop, 10):
        with shop.session() as s:
            details = product_details(s, product_id=pid)
        material, grams = details.attributes["material"], details.attributes["weight_g"]
        for intent, action in (("search_products", ActionSearchProducts()),
                               ("ask_product_question", ActionAnswerProductQuestion()),
                               ("compare_products", ActionCompareProducts())):
            out = await run_action(action, build_tracker(text=f"What is the {title} made of?", intent=intent), domain)
            assert out.texts == [f"The {title} is made of {material}."], (intent, out.messages)
            assert out.slots[S.FOCUS_PRODUCT] == pid
        out = await run_action(ActionSearchProducts(), build_tracker(
            text=f"how much does the {title.lower()} weigh", intent="search_products"), domain)
        answered += out.texts[:1] == [f"The {title} weighs {grams} g (about {grams / 28.35:.1f} oz)."]
    assert answered == 10


async def test_claimed_prices_get_the_real_price(shop: DemoShop, domain: dict) -> None:
    pid, title = unique_products(shop, 1)[0]
    with shop.session() as s:
        card = product_details(s, product_id=pid).card
    out = await run_action(ActionSearchProducts(), build_tracker(
        text=f"so the {title} costs $1?", intent="search_products"), domain)
    assert out.texts[0].startswith(f"No — the {title} is {card.price}")
    out = await run_action(ActionAnswerProductQuestion(), build_tracker(
        text=f"the {title} is {card.price} right?", intent="ask_product_question"), domain)
    assert out.texts[0].startswith(f"Yes, it's {card.price}")
    with shop.session() as s:
        tents = list(s.scalars(select(Product.id).join(Category).where(Category.slug == "tents",
                                                                        Product.is_active.is_(True)).limit(3)))
        first = product_details(s, product_id=tents[0]).card
    for claim in ("$1", "$1e309", "-5 dollars", "$" + "9" * 40):
        out = await run_action(ActionAnswerProductQuestion(), build_tracker(
            text=f"the first tent is {claim} today right? please confirm", intent="ask_product_question",
            slots={S.LAST_RESULTS: tents}), domain)
        assert first.title in out.texts[0] and (claim != "$1" or out.texts[0].startswith(
            f"No — the {first.title} is {first.price}")), out.texts


async def test_is_this_waterproof_on_a_product_page(shop: DemoShop, domain: dict) -> None:
    public = get_settings().public_url
    with shop.session() as s:
        page_pid, handle = s.execute(select(Product.id, Product.handle).where(Product.is_active.is_(True))
                                     .order_by(Product.id.desc()).limit(1)).one()
        title = s.get(Product, page_pid).title
    focus = unique_products(shop, 1)[0][0]
    for intent, action in (("ask_product_question", ActionAnswerProductQuestion()),
                           ("search_products", ActionSearchProducts())):
        out = await run_action(action, with_page(f"{public}/products/{handle}", text="is this waterproof?",
                                                 intent=intent, slots={S.FOCUS_PRODUCT: float(focus)}), domain)
        assert title in out.texts[0] and out.slots[S.FOCUS_PRODUCT] == page_pid, out.messages


async def test_forged_page_urls_are_ignored(shop: DemoShop, domain: dict) -> None:
    public = get_settings().public_url
    with shop.session() as s:
        pid, handle = s.execute(select(Product.id, Product.handle).where(Product.is_active.is_(True))
                                .order_by(Product.id).limit(1)).one()
        s.execute(update(Product).where(Product.id == pid).values(is_active=False))
    port = int(public.rsplit(":", 1)[-1]) + 1 if public.rsplit(":", 1)[-1].isdigit() else 8443
    host = public.split("//", 1)[1].split(":")[0]
    for forged in (f"https://evil.example/products/{handle}", f"http://{host}:{port}/products/{handle}",
                   f"https://shop@evil.example/products/{handle}", f"javascript:alert(1)//{handle}",
                   "x" * 50_000, {"url": f"{public}/products/{handle}"}, f"{public}/products/{handle}"):
        out = await run_action(ActionAnswerProductQuestion(), with_page(
            forged, text="is this waterproof?", intent="ask_product_question"), domain)
        assert out.responses == ["utter_which_product"], (forged, out.messages)


async def test_ambiguous_names_ask_which_with_buttons(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        men = s.scalars(select(Product).where(Product.is_active.is_(True), Product.title.contains("Men's "))
                        .order_by(Product.id)).first()
        twin = Product(**{c.key: getattr(men, c.key) for c in Product.__table__.columns if c.key != "id"})
        twin.title, twin.handle, twin.sku = men.title.replace("Men's", "Women's"), men.handle + "-w", men.sku + "-W"
        s.add(twin)
        s.flush()
        ids, neutral = {men.id, twin.id}, men.title.replace("Men's ", "")
    from shop.services import product_lookup
    product_lookup.clear_vocabulary_cache()
    out = await run_action(ActionProductDetails(), build_tracker(text=f"tell me about the {neutral}",
                                                                 intent="product_details"), domain)
    assert out.texts[0].startswith("Which one do you mean:")
    buttons = out.messages[0]["buttons"]
    assert {int(b["payload"].split(":")[1].strip(" }")) for b in buttons} == ids


async def test_a_title_like_message_10k_long(shop: DemoShop, domain: dict) -> None:
    _, title = unique_products(shop, 1)[0]
    out = await run_action(ActionSearchProducts(), build_tracker(
        text=f"is the {title} warm? " * 400, intent="search_products"), domain)
    assert out.messages  # answered or searched, without error


async def test_show_me_the_title_read_as_a_product_question_shows_its_card(shop: DemoShop, domain: dict) -> None:
    """The NLU may read "show me the <title>" as a product question; nothing is asked,
    so the product's card comes first, never a worded answer to an empty question."""
    for pid, title in unique_products(shop, 3):
        out = await run_action(ActionAnswerProductQuestion(), build_tracker(
            text=f"show me the {title}", intent="ask_product_question"), domain)
        cards = next((c["cards"] for c in out.customs if c.get("type") == "product_cards"), [])
        assert cards and cards[0]["id"] == pid, (title, out.messages)
