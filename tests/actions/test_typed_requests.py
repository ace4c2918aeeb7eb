"""Typed requests on tracker JSON against the demo shop: "anything cheaper?", "in blue",
"the second one", "add the second one to my cart", "put it in my basket" on a product
page, "show me similar ones", and policy questions that must not become searches."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy import func, select

from actions import slots as S
from actions.recommend import ActionAddToCart, ActionSimilarProducts
from actions.search import ActionRefineSearch, ActionSearchProducts
from shop.db.schema import Cart, CartItem, Product, ProductVariant
from shop.settings import get_settings
from tests.actions.conftest import DemoShop
from tests.actions.trackers import Outcome, build_tracker, run_action, tracker_state


def cards(out: Outcome) -> list[dict[str, Any]]:
    return next(c for c in out.customs if c["type"] == "product_cards")["cards"]


def with_page(page_url: Any, **changes: Any) -> Tracker:
    state = tracker_state(**changes)
    user = next(e for e in reversed(state["events"]) if e["event"] == "user")
    user["metadata"]["page_url"] = page_url   # Rasa keeps metadata on the user event only
    return Tracker.from_dict(state)


async def shoes_under_150(shop: DemoShop, domain: dict) -> Outcome:
    return await run_action(ActionSearchProducts(), build_tracker(
        text="running shoes under $150", intent="search_products", entities={"category": "trail-running-shoes"}),
        domain)


@pytest.mark.parametrize(("intent", "action"), [("refine_search", ActionRefineSearch),
                                                ("search_products", ActionSearchProducts)])
@pytest.mark.parametrize("text", ["anything cheaper?", "less expensive please", "too pricey"])
async def test_cheaper_keeps_the_search_below_the_cheapest_shown(shop: DemoShop, domain: dict, intent: str,
                                                                 action: type, text: str) -> None:
    first = await run_action(ActionSearchProducts(), build_tracker(
        text="rain jacket under $300", intent="search_products", entities={"category": "jackets"}), domain)
    shown = cards(first)
    cheapest = min(c["price_cents"] for c in shown)
    out = await run_action(action(), build_tracker(text=text, intent=intent, slots={
        S.LAST_SEARCH: first.slots[S.LAST_SEARCH], S.LAST_RESULTS: first.slots[S.LAST_RESULTS]}), domain)
    assert out.slots[S.LAST_SEARCH]["price_max_cents"] == cheapest - 1
    assert out.slots[S.LAST_SEARCH]["category"] == "jackets"
    for card in cards(out) if out.slots[S.LAST_RESULTS] else []:
        assert card["price_cents"] < cheapest <= 30000


async def test_cheaper_never_raises_a_budget(shop: DemoShop, domain: dict) -> None:
    first = await shoes_under_150(shop, domain)
    budget = first.slots[S.LAST_SEARCH]["price_max_cents"]
    assert budget == 15000
    cheapest = min(c["price_cents"] for c in cards(first))
    out = await run_action(ActionSearchProducts(), build_tracker(text="anything cheaper?", intent="search_products",
        slots={S.LAST_SEARCH: first.slots[S.LAST_SEARCH], S.LAST_RESULTS: first.slots[S.LAST_RESULTS]}), domain)
    if out.customs:
        assert out.slots[S.LAST_SEARCH]["price_max_cents"] == cheapest - 1
        assert all(c["price_cents"] < cheapest for c in cards(out))
    else:  # nothing cheaper: said so, the budget is not dropped and what is shown stays
        assert out.texts[0].startswith("I have nothing cheaper than") and not out.slots


async def test_in_blue_keeps_category_and_budget(shop: DemoShop, domain: dict) -> None:
    first = await run_action(ActionSearchProducts(), build_tracker(
        text="jackets under $400", intent="search_products", entities={"category": "jackets"}), domain)
    with shop.session() as s:
        colour = s.scalar(select(func.lower(ProductVariant.colour)).where(ProductVariant.stock > 0)
                          .group_by(func.lower(ProductVariant.colour)).order_by(func.count().desc()).limit(1))
    out = await run_action(ActionSearchProducts(), build_tracker(text=f"any in {colour}?", intent="search_products",
        slots={S.LAST_SEARCH: first.slots[S.LAST_SEARCH], S.LAST_RESULTS: first.slots[S.LAST_RESULTS]}), domain)
    query = out.slots[S.LAST_SEARCH]
    assert (query["colour"], query["category"], query["price_max_cents"]) == (colour, "jackets", 40000)
    assert all(colour in [c.lower() for c in card["colours"]] for card in cards(out))


async def test_the_second_one_alone_shows_its_details(shop: DemoShop, domain: dict) -> None:
    first = await shoes_under_150(shop, domain)
    shown = first.slots[S.LAST_RESULTS]
    assert len(shown) >= 2
    out = await run_action(ActionSearchProducts(), build_tracker(text="the second one", intent="search_products",
                                                                 slots={S.LAST_RESULTS: shown}), domain)
    assert out.slots[S.FOCUS_PRODUCT] == shown[1]


async def test_typed_add_to_cart_by_position_page_or_not_at_all(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        rows = s.execute(select(Product.id, Product.handle, ProductVariant.size, ProductVariant.colour)
                         .join(ProductVariant).where(Product.is_active.is_(True), ProductVariant.stock > 2)
                         .order_by(Product.id, ProductVariant.id)).all()
    picked: dict[int, Any] = {}
    for row in rows:
        picked.setdefault(row.id, row)
    one, two, page_row = list(picked.values())[:3]

    def choice(row: Any) -> dict[str, str]:
        return {k: v for k, v in (("size", row.size), ("colour", row.colour)) if v}

    shown = [one.id, two.id]
    out = await run_action(ActionAddToCart(), build_tracker(text="add the second one to my cart", intent="add_to_cart",
                                                            sender_id="typed-cart", slots={S.LAST_RESULTS: shown},
                                                            entities=choice(two)), domain)
    assert out.responses[0] == "utter_added_to_cart", out.messages
    page = f"{get_settings().public_url}/products/{page_row.handle}"
    out = await run_action(ActionAddToCart(), with_page(page, text="put it in my basket", intent="add_to_cart",
                                                        sender_id="typed-cart", slots={S.LAST_RESULTS: shown},
                                                        entities=choice(page_row)), domain)
    assert out.responses[0] == "utter_added_to_cart", out.messages
    for text in ("add the 99th one", "add the ninth one to my cart"):
        out = await run_action(ActionAddToCart(), build_tracker(text=text, intent="add_to_cart", sender_id="typed-cart",
                                                                slots={S.LAST_RESULTS: shown}), domain)
        assert out.responses == ["utter_which_product"]
    out = await run_action(ActionAddToCart(), with_page("https://evil.example/products/" + one.handle,
                                                        text="add it to my cart", intent="add_to_cart",
                                                        sender_id="typed-cart"), domain)
    assert out.responses == ["utter_which_product"]
    with shop.session() as s:
        cart = s.scalar(select(Cart).where(Cart.session_id == "typed-cart"))
        in_cart = set(s.scalars(select(ProductVariant.product_id)
                                .join(CartItem, CartItem.variant_id == ProductVariant.id)
                                .where(CartItem.cart_id == cart.id)))
    assert in_cart == {two.id, page_row.id}


async def test_similar_ones_to_the_page_or_a_position(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        rows = s.execute(select(Product.id, Product.handle, Product.title).where(Product.is_active.is_(True))
                         .order_by(Product.id).limit(3)).all()
    page = f"{get_settings().public_url}/products/{rows[0].handle}"
    out = await run_action(ActionSimilarProducts(), with_page(page, text="show me similar ones",
                                                              intent="similar_products"), domain)
    assert out.texts[0] == f"Similar to the {rows[0].title}:" and out.slots[S.FOCUS_PRODUCT] == rows[0].id
    out = await run_action(ActionSimilarProducts(), with_page(page, text="anything like the second one",
        intent="similar_products", slots={S.LAST_RESULTS: [rows[1].id, rows[2].id]}), domain)
    assert out.texts[0] == f"Similar to the {rows[2].title}:"


async def test_policy_questions_go_to_the_faq(shop: DemoShop, domain: dict) -> None:
    for action in (ActionSearchProducts(), ActionRefineSearch()):
        out = await run_action(action, build_tracker(text="do you price match?", intent="search_products"), domain)
        assert not out.customs and S.LAST_RESULTS not in out.slots, out.messages
        assert [m.get("response") for m in out.messages] == ["utter_faq_unknown"], out.messages
    out = await run_action(ActionSearchProducts(), build_tracker(
        text="hiking boots", intent="search_products", entities={"category": "hiking-boots"}), domain)
    assert cards(out)
