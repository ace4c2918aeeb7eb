"""Recommendation and cart actions (actions/recommend.py) on tracker JSON against the
demo shop, with no preference model served (bestsellers and "same kind" picks, whose
reasons are counted here from the database) and the conversation's cart in the DB."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from actions import slots as S
from actions.recommend import ActionAddToCart, ActionRecommendProducts, ActionSimilarProducts
from shop.db.schema import Cart, CartItem, Category, Interaction, Order, OrderItem, Product, ProductVariant
from shop.services.catalog import size_sort_key
from shop.services.money import format_money
from tests.actions.conftest import DemoShop
from tests.actions.trackers import Outcome, build_tracker, run_action

COVERED = (ActionRecommendProducts, ActionSimilarProducts, ActionAddToCart)
BOUGHT = re.compile(r"bought (\d+) times in the last 90 days", re.IGNORECASE)


def purchases_last_90_days(shop: DemoShop, product_id: int) -> int:
    since = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=90)
    with shop.session() as s:
        return int(s.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.product_id == product_id, Interaction.kind == "purchase", Interaction.at >= since)) or 0)


def listed(out: Outcome) -> list[dict]:
    """The cards of the recommendation list, each with its reason."""
    payload = next(c for c in out.customs if c["type"] == "product_cards")
    assert [c["id"] for c in payload["cards"]] == out.slots[S.LAST_RESULTS]
    return payload["cards"]


def categories(shop: DemoShop, ids: list[int]) -> set[str]:
    with shop.session() as s:
        return set(s.scalars(select(Category.slug).join(Product, Product.category_id == Category.id)
                             .where(Product.id.in_(ids))))


async def test_bestsellers_with_reasons_counted_from_the_db(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="what would you recommend?", intent="ask_recommendation", sender_id="fresh-shopper"), domain)
    assert out.responses == ["utter_recommend_intro", None]
    cards = listed(out)
    assert len(cards) == 5
    counts = []
    for card in cards:
        bought = BOUGHT.search(card["reason"])
        assert bought, card["reason"]
        counts.append(int(bought.group(1)))
        assert counts[-1] == purchases_last_90_days(shop, card["id"])
        assert f"{card['title']} — {card['price']}" in out.texts[1]
    assert counts == sorted(counts, reverse=True)


async def test_recommendations_keep_to_the_category_asked_for(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="recommend me some hiking boots", intent="ask_recommendation",
        entities={"category": "hiking-boots"}), domain)
    assert categories(shop, out.slots[S.LAST_RESULTS]) == {"hiking-boots"}
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="a gift for my dad who hikes", intent="ask_recommendation"), domain)
    assert out.texts[0] == "Popular gift picks for that:"


async def test_like_my_last_purchase_for_the_signed_in_persona(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:  # the persona's latest purchase among jackets
        title = s.scalar(select(OrderItem.title).join(Order).join(Product, Product.id == OrderItem.product_id)
                         .join(Category, Category.id == Product.category_id)
                         .where(Order.customer_id == shop.customer_id, Category.slug == "jackets")
                         .order_by(Order.placed_at.desc()).limit(1))
    assert title
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="something like my last jacket", intent="ask_recommendation", customer_id=shop.customer_id,
        entities={"category": "jackets"}), domain)
    assert out.texts[0] == f"Similar to the {title}:"
    assert categories(shop, out.slots[S.LAST_RESULTS]) == {"jackets"}


async def test_impossible_constraints_are_relaxed_and_said(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="recommend anything under $1", intent="ask_recommendation"), domain)
    assert out.texts[0] == "Nothing matched everything, so I left out the price range."
    assert listed(out)
    with shop.session() as s:
        assert s.scalar(select(func.min(Product.price_cents))) > 100  # so the relaxation was needed


async def test_similar_to_a_card(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        anchor = s.execute(select(Product.id, Product.title, Category.slug).join(Category)
                           .where(Category.slug == "jackets", Product.is_active.is_(True))
                           .order_by(Product.id).limit(1)).one()
    out = await run_action(ActionSimilarProducts(), build_tracker(
        text=f'/similar_products{{"product_id": {anchor.id}}}', intent="similar_products",
        entities={"product_id": str(anchor.id)}, sender_id="similar-1"), domain)
    assert out.texts[0] == f"Similar to the {anchor.title}:"
    cards = listed(out)
    assert anchor.id not in [c["id"] for c in cards]
    for card in cards:
        assert card["reason"].startswith(f"same kind as the {anchor.title}, "), card["reason"]
        assert f"{card['reason'][:1].upper()}{card['reason'][1:]}" in out.texts[1]
        bought = BOUGHT.search(card["reason"])
        if bought:
            assert int(bought.group(1)) == purchases_last_90_days(shop, card["id"])
    assert categories(shop, [c["id"] for c in cards]) == {anchor.slug}
    assert out.slots[S.FOCUS_PRODUCT] == float(anchor.id)
    with shop.session() as s:
        assert s.execute(select(Interaction.product_id, Interaction.kind)
                         .where(Interaction.session_id == "similar-1")).all() == [(anchor.id, "click")]


async def test_similar_to_nothing_or_a_missing_product(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionSimilarProducts(), build_tracker(
        text="/similar_products", intent="similar_products", entities={"product_id": "999999"}), domain)
    assert out.responses == ["utter_product_gone"] and out.events == []
    out = await run_action(ActionSimilarProducts(), build_tracker(
        text="more like the seventh one", intent="similar_products", slots={S.LAST_RESULTS: [6, 37]}), domain)
    assert out.responses == ["utter_which_product"] and out.events == []


def _multi_size_product(shop: DemoShop) -> tuple[int, str, list[str], ProductVariant]:
    """A product with several sizes in stock, and one size in stock in a single colour."""
    with shop.session() as s:
        for product in s.scalars(select(Product).where(Product.is_active.is_(True)).order_by(Product.id)):
            stocked = [v for v in product.variants if v.stock > 0 and v.size]
            sizes = {v.size for v in stocked}
            single = [v for v in stocked if sum(1 for w in stocked if w.size == v.size) == 1]
            if len(sizes) > 1 and single:
                s.expunge(single[0])
                return product.id, product.title, sorted(sizes, key=size_sort_key), single[0]
    raise AssertionError("the demo shop has no product with sizes")


async def test_add_to_cart_asks_for_a_size_then_adds(shop: DemoShop, domain: dict) -> None:
    pid, title, sizes, variant = _multi_size_product(shop)
    out = await run_action(ActionAddToCart(), build_tracker(
        text=f'/add_to_cart{{"product_id": {pid}}}', intent="add_to_cart", entities={"product_id": str(pid)},
        sender_id="cart-1"), domain)
    assert out.responses == ["utter_choose_option"]
    assert out.texts == [f"Which one would you like for the {title}? In stock: {', '.join(sizes)}."]
    buttons = out.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == sizes[:10]
    assert json.loads(buttons[0]["payload"].removeprefix("/add_to_cart")) == {"product_id": pid, "size": sizes[0]}

    out = await run_action(ActionAddToCart(), build_tracker(
        text=buttons[0]["payload"], intent="add_to_cart", sender_id="cart-1", customer_id=shop.customer_id,
        entities={"product_id": str(pid), "size": variant.size}), domain)
    with shop.session() as s:
        price = variant.price_cents if variant.price_cents is not None else s.get(Product, pid).price_cents
        cart = s.scalar(select(Cart).where(Cart.session_id == "cart-1"))
        lines = [(i.product_id, i.variant_id, i.quantity) for i in cart.items]
        assert cart.customer_id == shop.customer_id
    assert lines == [(pid, variant.id, 1)]
    assert out.texts[0] == f"Added the {title} to your cart. Your cart: 1 item(s), {format_money(price)}."
    assert out.customs == [{"type": "cart", "count": 1, "total": format_money(price), "lines": [
        {"product_id": pid, "title": title, "size": variant.size, "colour": variant.colour, "quantity": 1,
         "line_total": format_money(price)}]}]
    assert out.slots == {S.FOCUS_PRODUCT: float(pid)}


async def test_add_to_cart_stops_at_the_stock(shop: DemoShop, domain: dict) -> None:
    pid, title, _, variant = _multi_size_product(shop)
    with shop.session() as s:
        s.get(ProductVariant, variant.id).stock = 1
    tracker = {"text": "add it", "intent": "add_to_cart", "sender_id": "cart-2",
               "entities": {"product_id": str(pid), "size": variant.size}}
    assert (await run_action(ActionAddToCart(), build_tracker(**tracker), domain)).responses == [
        "utter_added_to_cart", None]
    again = await run_action(ActionAddToCart(), build_tracker(**tracker), domain)
    assert again.responses == ["utter_cart_limit"] and title in again.text
    with shop.session() as s:
        assert s.scalar(select(CartItem.quantity).where(CartItem.variant_id == variant.id)) == 1


async def test_add_to_cart_hostile_choices(shop: DemoShop, domain: dict) -> None:
    pid, title, sizes, _ = _multi_size_product(shop)
    out = await run_action(ActionAddToCart(), build_tracker(
        text="add it in XXXXXL", intent="add_to_cart", sender_id="cart-3",
        entities={"product_id": str(pid), "size": "XXXXXL" * 20}), domain)
    assert out.responses == ["utter_cart_out_of_stock"] and ", ".join(sizes) in out.text
    payload = json.loads(out.messages[0]["buttons"][0]["payload"].removeprefix("/add_to_cart"))
    assert payload["size"] == sizes[0] and payload["product_id"] == pid  # a valid choice replaces the bad one
    out = await run_action(ActionAddToCart(), build_tracker(
        text="/add_to_cart", intent="add_to_cart", sender_id="cart-3", entities={"product_id": "999999"}), domain)
    assert out.responses == ["utter_product_gone"]
    out = await run_action(ActionAddToCart(), build_tracker(
        text="add the tenth one", intent="add_to_cart", sender_id="cart-3", slots={S.LAST_RESULTS: [pid]}), domain)
    assert out.responses == ["utter_which_product"] and out.events == []
    with shop.session() as s:
        assert s.scalar(select(Cart.id).where(Cart.session_id == "cart-3")) is None


async def test_a_new_shop_does_not_call_its_picks_best_sellers(shop: DemoShop, domain: dict, monkeypatch) -> None:
    """A cold-start model (too little history) answers: the intro says what the picks are."""
    import actions.recommend as recommend_actions
    from shop.services.recommendations import Recommendations

    real = recommend_actions._recommend

    def cold_start(session, **kwargs):  # type: ignore[no-untyped-def]
        result = real(session, **kwargs)
        return Recommendations(items=result.items, how=result.how, model_kind="cold-start")

    monkeypatch.setattr(recommend_actions, "_recommend", cold_start)
    out = await run_action(ActionRecommendProducts(), build_tracker(
        text="what would you recommend?", intent="ask_recommendation", sender_id="new-shop-shopper"), domain)
    assert out.texts[0] == recommend_actions.NEW_SHOP_INTRO
    assert "best seller" not in " ".join(out.texts).lower()
    assert len(listed(out)) == 5
