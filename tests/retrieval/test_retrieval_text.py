from __future__ import annotations

from retrieval.product_text import MAX_DOCUMENT_CHARS, product_document


def test_document_holds_the_facts_in_order() -> None:
    doc = product_document(
        title="Ridge Jacket", brand="Alpine Crest", category="Jackets", gender="women",
        attributes={"material": "nylon", "features": ["waterproof", "hooded"], "use_cases": ["hiking"]},
        description="A  light\nshell.",
    )
    assert doc == ("Ridge Jacket. Brand: Alpine Crest. Category: Jackets. For: women. Material: nylon. "
                   "Features: waterproof, hooded. Good for: hiking. A light shell.")


def test_document_tolerates_missing_and_odd_values() -> None:
    assert product_document(title="Tee") == "Tee."
    assert "For:" not in product_document(title="Tent", gender="unisex")
    assert product_document(title="x", attributes={"features": "not a list"}) == "x."
    assert len(product_document(title="y", description="z " * 5000)) == MAX_DOCUMENT_CHARS
