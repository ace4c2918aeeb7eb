"""Product questions on the frozen sets (tests/data/product_questions*.jsonl), answered
the way the action server answers them, scored against the demo shop's database; and
the LLM's rewording of an answer held to the answer: a flipped yes/no, a dropped value
or an invented measure gets the template instead."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime

import pytest
from langchain_core.messages import BaseMessage

from models.llm.chat import FakeChat
from models.llm.runner import LLMRunner
from shop.db.engine import get_engine, session_scope
from shop.services import grounded, product_answers
from shop.services.catalog import ProductDetails
from shop.services.question_topics import read_question
from tests.demo_shops import DemoShops
from tests.product_questions import HOLDOUT_FILE, SET_FILE, Item, load_items, pick_products, score


@pytest.fixture(scope="module")
def shop_url(demo_shop: DemoShops) -> Iterator[str]:
    url = demo_shop(seed=7, scale=0.2, as_of=datetime(2026, 11, 1, 12))
    yield url
    get_engine(url).dispose()


def _answer(item: Item, products: list[ProductDetails], runner: LLMRunner | None = None) -> grounded.Answer:
    if "compare" in item.expect:
        return asyncio.run(grounded.compare_products(products, item.question, runner=runner))
    return asyncio.run(grounded.answer_product_question(products[0], item.question, runner=runner))


def _rate(url: str, path) -> tuple[float, list[str]]:  # type: ignore[no-untyped-def]
    items = load_items(path)
    wrong = []
    with session_scope(url) as session:
        for item in items:
            products = pick_products(session, item)
            s = score(item, products, _answer(item, products).text)
            if not (s.correct and s.helpful):
                wrong.append(f"{item.id}: {s.why}")
    return 1 - len(wrong) / len(items), wrong


def test_the_sets_are_frozen_and_well_formed() -> None:
    tuning, holdout = load_items(SET_FILE), load_items(HOLDOUT_FILE)
    assert len(tuning) == 250 and len(holdout) == 160
    assert len({i.id for i in tuning + holdout}) == 410


def test_answers_on_the_tuning_set(shop_url: str) -> None:
    """The 250 questions the answer tables were developed against (written first)."""
    rate, wrong = _rate(shop_url, SET_FILE)
    assert rate >= 0.97, wrong


def test_answers_on_the_blind_holdout_set(shop_url: str) -> None:
    """160 questions written without seeing the answering code and never tuned on:
    90.6% when frozen. A floor, so a change that makes things worse shows."""
    rate, wrong = _rate(shop_url, HOLDOUT_FILE)
    assert rate >= 0.88, wrong


@pytest.mark.parametrize(("question", "topic", "detail"), [
    ("does it run small?", "fit", None),
    ("do u have a large", "stock", "L"),
    ("XXL in stock?", "stock", "XXL"),
    ("will it keep me dry in a downpour", "feature", "waterproof"),
    ("what are the rain pants made of?", "material", None),
    ("is it light enough to carry all day?", "weight", None),
    ("can I machine wash it?", "unanswerable", None),
    ("fine for a beach holiday in august?", "season", "summer"),
    ("would it work for my commute?", "use", "commuting"),
    ("does it come with a rain cover", "feature", "rain cover"),
])
def test_reading_questions(question: str, topic: str, detail: str | None) -> None:
    asked = read_question(question)
    assert asked is not None and asked.topic == topic
    if detail:
        assert detail in (asked.feature, asked.use, asked.size, asked.season_asked)


def test_a_size_entity_is_not_a_stock_question_when_fit_is_asked(shop_url: str) -> None:
    """NLU may tag "small" in "does it run small?" as a size: it stays a fit question."""
    assert read_question("does it run small?", size="S").topic == "fit"


def _product(url: str, item_id: str) -> tuple[Item, list[ProductDetails]]:
    item = next(i for i in load_items(SET_FILE) if i.id == item_id)
    with session_scope(url) as session:
        return item, pick_products(session, item)


def _runner(reply) -> tuple[LLMRunner, FakeChat]:  # type: ignore[no-untyped-def]
    model = FakeChat(responder=reply)
    return LLMRunner(model, cache_size=0), model


def test_the_llm_words_the_answer_and_keeps_it(shop_url: str) -> None:
    item, products = _product(shop_url, "mat-001")
    material = products[0].attributes["material"]
    title = products[0].card.title
    runner, model = _runner(lambda m: f"Good question! The {title} is made from {material}.")
    answer = _answer(item, products, runner)
    assert answer.source == "llm" and material in answer.text and model.calls == 1


def test_a_rewording_that_drops_the_products_name_falls_back_to_the_template(shop_url: str) -> None:
    # asked by name in a fresh conversation, the answer must say which product it is about
    item, products = _product(shop_url, "mat-001")
    material = products[0].attributes["material"]
    runner, model = _runner(lambda m: f"Good question! It's made from {material}.")
    answer = _answer(item, products, runner)
    assert answer.source == "template" and products[0].card.title in answer.text and model.calls == 2


@pytest.mark.parametrize("bad", [
    "It is not made of anything special.",                   # drops the material
    "It's made of {material} and weighs 9999 g.",            # invents a measure
    "It's made of {material}, 20% off today with SAVE20.",  # invents a discount and a code
])
def test_a_bad_rewording_falls_back_to_the_template(shop_url: str, bad: str) -> None:
    item, products = _product(shop_url, "mat-001")
    material = products[0].attributes["material"]
    runner, model = _runner(lambda m: bad.format(material=material))
    answer = _answer(item, products, runner)
    assert answer.source == "template" and model.calls == 2  # the one retry, then the template
    assert answer.text == product_answers.answer_question(products[0], item.question)


def test_a_flipped_yes_or_no_falls_back_to_the_template(shop_url: str) -> None:
    for item in load_items(SET_FILE):
        if "feature" not in item.expect:
            continue
        with session_scope(shop_url) as session:
            products = pick_products(session, item)
        template = product_answers.answer_question(products[0], item.question) or ""

        def flip(messages: list[BaseMessage], template: str = template) -> str:
            return "Sure, it has that." if template.startswith("No") else "No, it doesn't have that."

        runner, _ = _runner(flip)
        answer = _answer(item, products, runner)
        assert answer.source == "template" and answer.text == template, item.id


def test_what_the_data_never_holds_is_not_asked_of_the_llm(shop_url: str) -> None:
    item, products = _product(shop_url, "car-001")
    runner, model = _runner(lambda m: "Machine wash cold, tumble dry low.")
    answer = _answer(item, products, runner)
    assert answer.source == "unknown" and answer.text is None and model.calls == 0


def test_comparisons_name_the_winner_first(shop_url: str) -> None:
    item = next(i for i in load_items(SET_FILE) if i.expect.get("compare") == "lighter")
    with session_scope(shop_url) as session:
        products = pick_products(session, item)
    lighter = min(products, key=lambda d: d.attributes["weight_g"])
    other = next(d for d in products if d is not lighter)
    runner, _ = _runner(lambda m: f"The {other.card.title} is the lighter one.")  # wrong winner
    answer = _answer(item, products, runner)
    assert answer.source == "template"
    assert answer.text.splitlines()[-1].startswith(f"The {lighter.card.title} is the lightest")
