"""Policy questions (shop/services/policy_questions.py) and the FAQ's check of its pick
(shop/services/policies.faq_answer; the action is tested in tests/actions/test_honest_answers.py):
"do you price match?" is a policy question the shop has no policy for, answered "I don't know that one" with a person
button; product questions are not policy questions; known policies keep their answers."""

from __future__ import annotations

from datetime import datetime

import pytest

from shop.db.engine import session_scope
from shop.services.policies import faq_answer, get_policy
from shop.services.policy_questions import asks_about_policy, policy_topics
from tests.demo_shops import DemoShops

AS_OF = datetime(2026, 11, 20, 12, 0, 0)


@pytest.mark.parametrize("text", [
    "do you price match?", "Do u price match with amazon", "will you match a price I found cheaper elsewhere",
    "do you offer a warranty on tents", "is there a lifetime guarantee", "do you sell gift cards?",
    "can you gift wrap my order", "do you do gift wrapping?", "do you have a store in Denver",
    "what are your opening hours", "are you open on sunday", "is there a student discount",
    "do you have a military discount?", "can I place a bulk order for my scout troop",
    "do you rent tents?", "do you repair zippers", "can i click and collect", "do you have a loyalty program",
    "what's your return policy", "do you ship to canada?", "can I pay with klarna?",
    "can I preorder the new boots?", "do you do engraving?",
])
def test_policy_questions(text: str) -> None:
    assert asks_about_policy(text), text


@pytest.mark.parametrize("text", [
    "is this jacket waterproof", "is the tent guaranteed waterproof?", "waterproof hiking boots size 10",
    "do you have a tent repair kit?", "gift for my dad who likes hiking", "show me storage bags",
    "does it store in its own pocket?", "running shoes under $60", "what is it made of?",
    "any tents on sale?", "red rain jacket", "", "🙂" * 1000, "warranty " * 100_000,
])
def test_not_policy_questions(text: str) -> None:
    if text.startswith("warranty"):
        assert policy_topics(text) == ["warranty"]  # huge input: read from the start, no cue, no crash
    assert not asks_about_policy(text), text


def test_faq_keeps_known_policies_and_refuses_to_guess(db_url: str, demo_shop: DemoShops) -> None:
    demo_shop.into(db_url, seed=11, scale=0.03, as_of=AS_OF)
    with session_scope(db_url) as s:
        shipping = get_policy(s, key="shipping_cost")
        assert shipping and get_policy(s, key="promotions")
        # the pick's own topic, or no topic words: the policy
        assert faq_answer(s, key="shipping_cost", confidence=0.4, text="how much is shipping?") == shipping
        assert faq_answer(s, key="shipping_cost", confidence=0.4, text="how much will it be?") == shipping
        # a topic the shop has no policy for: never a guessed policy, however sure the pick
        assert faq_answer(s, key="promotions", confidence=0.99, text="do you price match?") is None
        # another topic the shop does have: only a sure pick stands
        assert faq_answer(s, key="shipping_cost", confidence=0.5, text="can I pay with paypal?") is None
        assert faq_answer(s, key="shipping_cost", confidence=0.95, text="can I pay with paypal?") == shipping
        assert faq_answer(s, key="other_policy", confidence=0.99, text="do you price match?") is None
        assert faq_answer(s, key="../../etc/passwd", confidence=0.99, text="x") is None
        assert faq_answer(s, key=None, confidence=None, text="x") is None
