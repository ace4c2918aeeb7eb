"""Questions about products just shown, over REST against the real servers and the real
LLM server: each is answered about the product it points at ("the first one", "the
second one"), never "which product do you mean?", and the answer agrees with the
database (scored like bench/llm_quality.py)."""

from __future__ import annotations

import pytest

from shop.db.engine import session_scope
from shop.services.catalog import product_details
from tests.product_questions import Item, score
from tests.stack import RunningStack, cards, new_sender, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONVERSATIONS = {
    "show me rain jackets": [
        ("what is the first one made of?", 0, {"field": "material"}),
        ("which season is the first one made for?", 0, {"field": "season"}),
        ("how heavy is the second one?", 1, {"field": "weight_g"}),
        ("does the second one run small?", 1, {"field": "fit"}),
        ("is the first one good for heavy rain?", 0, {"feature": "waterproof"}),
        ("does the second one have a hood?", 1, {"feature": "hooded"}),
        ("can I wash the first one in the machine?", 0, {"unknown": True}),
    ],
    "hiking boots": [
        ("are the first ones leather?", 0, {"field": "material"}),
        ("will the second ones keep my feet dry?", 1, {"feature": "waterproof"}),
        ("is the first pair good for backpacking?", 0, {"use": "backpacking"}),
        ("do the second ones have a wide fit?", 1, {"field": "fit"}),
        ("what do the first ones weigh?", 0, {"field": "weight_g"}),
    ],
}


def test_questions_about_shown_products(stack: RunningStack, e2e_db_url: str) -> None:
    wrong = []
    for search, questions in CONVERSATIONS.items():
        sender = new_sender()
        shown = cards(stack.send(sender, search))
        assert len(shown) >= 2, search
        for question, position, expect in questions:
            reply = texts(stack.send(sender, question))
            assert "which product" not in reply.lower(), (question, reply)
            assert not reply.lstrip().startswith("1. "), ("a comparison table", question, reply)
            with session_scope(e2e_db_url) as session:
                details = product_details(session, product_id=int(shown[position]["id"]))
            result = score(Item("e2e", "e2e", None, question, expect), [details], reply)
            if not result.correct:
                wrong.append(f"{question!r} -> {reply!r} ({result.why})")
    assert len(wrong) <= 1, "\n".join(w.replace("\n", " | ") for w in wrong)  # NLU may misread one phrasing
