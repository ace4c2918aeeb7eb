"""Product actions (actions/search.py) on tracker JSON against the demo shop, with the
SQL search backend and template answers (no index, no LLM): what is listed, its prices
as in the database, the slots that remember it, and pointing at shown products."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from actions import slots as S
from actions.search import (
    ActionAnswerProductQuestion,
    ActionCompareProducts,
    ActionMoreResults,
    ActionProductDetails,
    ActionRefineSearch,
    ActionSearchProducts,
)
from shop.db.schema import Category, Interaction, Product, ProductVariant
from shop.services import product_answers
from shop.services.catalog import product_details
from shop.services.money import format_money
from tests.actions.conftest import DemoShop
from tests.actions.trackers import Outcome, build_tracker, run_action

COVERED = (ActionSearchProducts, ActionRefineSearch, ActionMoreResults, ActionProductDetails, ActionCompareProducts,
           ActionAnswerProductQuestion)


def db_products(shop: DemoShop, ids: list[int]) -> dict[int, dict[str, Any]]:
    with shop.session() as s:
        rows = s.execute(select(Product.id, Product.title, Product.price_cents, Category.slug)
                         .join(Category, Category.id == Product.category_id).where(Product.id.in_(ids)))
        return {pid: {"title": title, "price_cents": price, "category": slug} for pid, title, price, slug in rows}


def assert_cards_match_db(shop: DemoShop, out: Outcome) -> list[dict[str, Any]]:
    """The cards payload lists ``last_results`` in order, with titles and prices from the DB."""
    payload = next(c for c in out.customs if c["type"] == "product_cards")
    ids = [card["id"] for card in payload["cards"]]
    assert ids == out.slots[S.LAST_RESULTS]
    rows = db_products(shop, ids)
    for card in payload["cards"]:
        assert (card["title"], card["price_cents"]) == (rows[card["id"]]["title"], rows[card["id"]]["price_cents"])
        assert card["price"] == format_money(rows[card["id"]]["price_cents"])
        assert f"{card['title']} — {card['price']}" in out.texts[0]
    return payload["cards"]


async def search(shop: DemoShop, domain: dict, text: str, **entities: Any) -> Outcome:
    tracker = build_tracker(text=text, intent="search_products", entities=entities)
    return await run_action(ActionSearchProducts(), tracker, domain)


async def test_search_lists_matching_products_with_db_prices(shop: DemoShop, domain: dict) -> None:
    out = await search(shop, domain, "waterproof hiking boots", category="hiking-boots")
    cards = assert_cards_match_db(shop, out)
    with shop.session() as s:
        in_category = s.scalar(select(func.count()).select_from(Product).join(Category)
                               .where(Category.slug == "hiking-boots", Product.is_active.is_(True)))
    assert len(cards) == 5 and out.texts[0].startswith("Here are 1–5 of ")
    total = int(out.texts[0].split(" of ")[1].split(":")[0])
    assert 5 < total <= in_category
    assert {row["category"] for row in db_products(shop, [c["id"] for c in cards]).values()} == {"hiking-boots"}
    assert out.responses == [None, "utter_search_followup"]
    assert out.messages[1]["buttons"] == [{"title": "Show more", "payload": "/more_results"}]
    assert out.slots[S.LAST_SEARCH]["category"] == "hiking-boots" and out.slots[S.LAST_SEARCH]["offset"] == 0


async def test_search_keeps_to_a_price_ceiling(shop: DemoShop, domain: dict) -> None:
    out = await search(shop, domain, "rain jacket under $150")
    cards = assert_cards_match_db(shop, out)
    assert out.slots[S.LAST_SEARCH]["price_max_cents"] == 15000
    assert cards and all(row["price_cents"] <= 15000 for row in db_products(shop, [c["id"] for c in cards]).values())


async def test_search_with_hostile_text(shop: DemoShop, domain: dict) -> None:
    out = await search(shop, domain, "'; DROP TABLE products; --")
    assert "utter_service_unavailable" not in out.responses
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == shop.stats.counts["products"]
    out = await search(shop, domain, "qqqxxzz vvwwy", category="no-such-category", colour="x" * 500)
    assert out.responses == ["utter_no_results"] and out.slots == {S.LAST_RESULTS: []}
    # an empty message is a search for anything: the whole (active) catalog, page 1
    out = await search(shop, domain, "")
    with shop.session() as s:
        active = s.scalar(select(func.count()).select_from(Product).where(Product.is_active.is_(True)))
    assert out.texts[0].startswith(f"Here are 1–5 of {active}:")
    assert_cards_match_db(shop, out)


async def test_refine_cheaper_goes_below_the_cheapest_shown(shop: DemoShop, domain: dict) -> None:
    first = await search(shop, domain, "rain jacket")
    shown = first.slots[S.LAST_RESULTS]
    cheapest = min(row["price_cents"] for row in db_products(shop, shown).values())
    tracker = build_tracker(text="anything cheaper?", intent="refine_search",
                            slots={S.LAST_SEARCH: first.slots[S.LAST_SEARCH], S.LAST_RESULTS: shown})
    out = await run_action(ActionRefineSearch(), tracker, domain)
    assert out.slots[S.LAST_SEARCH]["price_max_cents"] == cheapest - 1
    cards = assert_cards_match_db(shop, out)
    assert cards and all(c["price_cents"] < cheapest for c in cards)
    assert not set(out.slots[S.LAST_RESULTS]) & set(shown)


async def test_refine_without_a_previous_search(shop: DemoShop, domain: dict) -> None:
    for last_search in (None, "garbage", ["not", "a", "dict"]):
        tracker = build_tracker(text="cheaper", intent="refine_search", slots={S.LAST_SEARCH: last_search})
        out = await run_action(ActionRefineSearch(), tracker, domain)
        assert out.responses == ["utter_no_previous_search"] and out.events == []


async def test_more_results_pages_on_and_stops_at_the_end(shop: DemoShop, domain: dict) -> None:
    first = await search(shop, domain, "rain jacket")
    total = int(first.texts[0].split(" of ")[1].split(":")[0])
    tracker = build_tracker(text="show me more", intent="more_results",
                            slots={S.LAST_SEARCH: first.slots[S.LAST_SEARCH],
                                   S.LAST_RESULTS: first.slots[S.LAST_RESULTS]})
    out = await run_action(ActionMoreResults(), tracker, domain)
    assert out.texts[0].startswith(f"Here are 6–{min(10, total)} of {total}:")
    assert out.customs[0]["start"] == 6 and "6. " in out.texts[0]
    assert_cards_match_db(shop, out)
    assert not set(out.slots[S.LAST_RESULTS]) & set(first.slots[S.LAST_RESULTS])
    assert out.slots[S.LAST_SEARCH]["offset"] == 5

    past = {**first.slots[S.LAST_SEARCH], "offset": total}  # the last page was shown
    tracker = build_tracker(text="more", intent="more_results", slots={S.LAST_SEARCH: past, S.LAST_RESULTS: [1, 2]})
    out = await run_action(ActionMoreResults(), tracker, domain)
    assert out.responses == ["utter_no_more_results"] and out.events == []  # what is shown stays


async def test_more_results_without_a_search(shop: DemoShop, domain: dict) -> None:
    for last_search in (None, "DROP TABLE", 42):
        out = await run_action(ActionMoreResults(), build_tracker(text="more", intent="more_results",
                                                                  slots={S.LAST_SEARCH: last_search}), domain)
        assert out.responses == ["utter_no_previous_search"]


async def test_details_of_the_second_shown_product(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    tracker = build_tracker(text="tell me more about the second one", intent="product_details",
                            slots={S.LAST_RESULTS: shown}, sender_id="details-1", customer_id=shop.customer_id)
    out = await run_action(ActionProductDetails(), tracker, domain)
    with shop.session() as s:
        expected = product_details(s, product_id=shown[1])
        kinds = s.execute(select(Interaction.kind, Interaction.customer_id)
                          .where(Interaction.session_id == "details-1")).all()
    assert out.texts[0] == product_answers.describe(expected)
    assert expected.card.title in out.texts[0] and expected.card.price in out.texts[0]
    assert out.customs == [{"type": "product_cards", "heading": "", "start": 1,
                            "cards": [expected.card.as_payload()]}]
    assert out.slots == {S.FOCUS_PRODUCT: float(shown[1])}
    assert kinds == [("view", shop.customer_id)]


async def test_details_from_a_card_button_logs_a_click(shop: DemoShop, domain: dict) -> None:
    pid = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS][3]
    tracker = build_tracker(text=f'/product_details{{"product_id": {pid}}}', intent="product_details",
                            entities={"product_id": str(pid)}, sender_id="details-2")
    out = await run_action(ActionProductDetails(), tracker, domain)
    assert out.slots == {S.FOCUS_PRODUCT: float(pid)}
    with shop.session() as s:
        assert s.scalars(select(Interaction.kind).where(Interaction.session_id == "details-2")).all() == ["click"]


async def test_details_of_products_that_are_not_there(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    out = await run_action(ActionProductDetails(), build_tracker(
        text="the ninth one", intent="product_details", slots={S.LAST_RESULTS: shown}), domain)
    assert out.responses == ["utter_which_product"] and out.events == []  # out of range: ask, don't guess
    out = await run_action(ActionProductDetails(), build_tracker(
        text="/product_details", intent="product_details", entities={"product_id": "999999"}), domain)
    assert out.responses == ["utter_product_gone"] and out.events == []
    out = await run_action(ActionProductDetails(), build_tracker(
        text="that one", intent="product_details", entities={"product_id": "12; DROP"}), domain)
    assert out.responses == ["utter_which_product"]
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Interaction).where(
            Interaction.product_id == 999999)) == 0


async def test_details_by_name_with_nothing_shown_shows_that_product(shop: DemoShop, domain: dict) -> None:
    with shop.session() as s:
        pid, title = s.execute(select(Product.id, Product.title).where(Product.is_active.is_(True))
                               .order_by(Product.id).limit(1)).one()
    out = await run_action(ActionProductDetails(), build_tracker(text=f"show me the {title}",
                                                                 intent="product_details"), domain)
    assert out.texts[0].startswith(title)
    assert [c["id"] for c in out.customs[0]["cards"]] == [pid]
    assert out.slots[S.FOCUS_PRODUCT] == pid


async def test_details_of_a_kind_with_nothing_shown_searches(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionProductDetails(), build_tracker(text="show me the rain jackets",
                                                                 intent="product_details"), domain)
    assert_cards_match_db(shop, out)


async def test_compare_names_the_cheaper_one_from_the_db(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    question = "which is cheaper, the first or the third?"
    out = await run_action(ActionCompareProducts(), build_tracker(
        text=question, intent="compare_products", slots={S.LAST_RESULTS: shown}), domain)
    with shop.session() as s:
        pair = [product_details(s, product_id=shown[0]), product_details(s, product_id=shown[2])]
    cheaper = min(pair, key=lambda d: d.card.price_cents)
    assert out.texts == [f"{product_answers.compare_table(pair)}\n{product_answers.compare_summary(pair, question)}"]
    assert f"The {cheaper.card.title} is the cheaper option at {cheaper.card.price}." in out.texts[0]
    assert out.events == []


async def test_compare_needs_two_real_products(shop: DemoShop, domain: dict) -> None:
    for shown in ([], [6], [999998, 999999]):
        out = await run_action(ActionCompareProducts(), build_tracker(
            text="compare them", intent="compare_products", slots={S.LAST_RESULTS: shown}), domain)
        assert out.responses == ["utter_compare_need_two"], shown


async def test_question_about_stock_in_a_size(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    out = await run_action(ActionAnswerProductQuestion(), build_tracker(
        text="does the first one come in size M?", intent="ask_product_question", entities={"size": "M"},
        slots={S.LAST_RESULTS: shown}), domain)
    with shop.session() as s:
        left = s.scalar(select(func.sum(ProductVariant.stock)).where(
            ProductVariant.product_id == shown[0], ProductVariant.size == "M"))
        title, price = s.execute(select(Product.title, Product.price_cents).where(Product.id == shown[0])).one()
    assert left > 0
    assert out.texts == [f"Yes, the {title} is in stock in size M ({left} left) at {format_money(price)}."]
    assert out.slots == {S.FOCUS_PRODUCT: float(shown[0])}


async def test_question_the_data_cannot_answer_is_not_guessed(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    title = db_products(shop, shown[:1])[shown[0]]["title"]
    out = await run_action(ActionAnswerProductQuestion(), build_tracker(
        text="can I wash the first one in a dishwasher on mars?", intent="ask_product_question",
        slots={S.LAST_RESULTS: shown}), domain)
    assert f"information for the {title} doesn't say" in out.text and "rather not guess" in out.text
    out = await run_action(ActionAnswerProductQuestion(), build_tracker(
        text="is it waterproof?", intent="ask_product_question"), domain)
    assert out.responses == ["utter_which_product"] and out.events == []


async def test_search_intent_about_a_shown_product_is_answered(shop: DemoShop, domain: dict) -> None:
    shown = (await search(shop, domain, "rain jacket")).slots[S.LAST_RESULTS]
    out = await run_action(ActionSearchProducts(), build_tracker(
        text="is the second one waterproof?", intent="search_products", slots={S.LAST_RESULTS: shown}), domain)
    title = db_products(shop, shown)[shown[1]]["title"]
    assert title in out.text and S.LAST_SEARCH not in out.slots
    assert out.slots == {S.FOCUS_PRODUCT: float(shown[1])}
