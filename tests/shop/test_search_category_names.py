"""Category names in a shopper's words (issue 17): a marketplace's sub-category names,
with their possessives, accents, filler words and overlapping parts, name their own
category most strongly; the same category is named however it is typed; hard category
constraints stay unambiguous. Pure functions, then the real database (SQLite, and
PostgreSQL when it answers)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert

from shop.db.engine import session_scope
from shop.db.schema import Category
from shop.services.search.categories import (
    EXACT,
    FULL,
    HEAD,
    WHOLE,
    CatalogCategory,
    make_category,
    named_categories,
    resolve_category_forgiving,
    strongest,
    words_of,
)
from shop.services.search.needs import query_hints

NAMES = (
    "Cameras", "Camera Accessories", "Security Cameras", "Men's Shoes", "Sports Shoes", "Casual Shoes", "Shoes",
    "Running", "Kitchen & Dining", "Kitchen & Home Appliances", "Kitchen Storage & Containers", "Home Décor",
    "Kids' Fashion", "Men's Fashion", "Baby Fashion", "The Designer Boutique", "T-shirts & Polos", "Shirts",
    "Dog supplies", "All Pet Supplies", "Baby Bath, Skin & Grooming", "Beauty & Grooming", "Make-up",
    "Toys Gifting Store", "Toys & Games", "Value Bazaar", "Coffee, Tea & Beverages", "Camping & Hiking",
    "All Electronics", "Headphones", "Speakers", "Test, Measure & Inspect",
)


def _slug(name: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower()).strip("-")


CATS = [make_category(i + 1, _slug(n), n) for i, n in enumerate(NAMES)]


def top(text: str, cats: list[CatalogCategory] = CATS) -> frozenset[str]:
    return strongest(named_categories(words_of(text), cats))


@pytest.mark.parametrize("name", NAMES)
def test_every_name_names_only_its_own_category_most_strongly(name) -> None:
    named = named_categories(words_of(name), CATS)
    assert top(name) == {_slug(name)}
    assert named[_slug(name)] >= EXACT


@pytest.mark.parametrize(("text", "name"), [
    ("mens shoes", "Men's Shoes"), ("MEN’S SHOES", "Men's Shoes"), ("men's shoe", "Men's Shoes"),
    ("shoes for men", "Men's Shoes"), ("home decor", "Home Décor"), ("HOME DÉCOR", "Home Décor"),
    ("kids fashion", "Kids' Fashion"), ("designer boutique", "The Designer Boutique"),
    ("tshirts and polos", "T-shirts & Polos"), ("t shirts & polo", "T-shirts & Polos"),
    ("kitchen and dining", "Kitchen & Dining"), ("dining kitchen", "Kitchen & Dining"),
    ("makeup", "Make-up"), ("coffee tea and beverages", "Coffee, Tea & Beverages"),
    ("camera accessory", "Camera Accessories"), ("security camera", "Security Cameras"),
    ("dog supply", "Dog supplies"), ("headphnes", "Headphones"), ("camra accessories", "Camera Accessories"),
])
def test_a_name_typed_differently_still_names_its_category(text, name) -> None:
    assert top(text) == {_slug(name)}, named_categories(words_of(text), CATS)


def test_strength_orders_exact_whole_part_and_head() -> None:
    named = named_categories(words_of("Camera Accessories"), CATS)
    # "cameras" is inside the longer name the words hold: not what they name
    assert named["camera-accessories"] >= EXACT > FULL > named["cameras"] >= named["security-cameras"] >= HEAD
    assert named_categories(words_of("Cameras"), CATS)["cameras"] >= EXACT
    assert named_categories(words_of("cameras for vlogging"), CATS)["cameras"] >= WHOLE
    kitchen = named_categories(words_of("Kitchen & Dining"), CATS)
    assert kitchen["kitchen---dining"] >= EXACT > kitchen["kitchen---home-appliances"]
    # a typo costs a little: the exact words of another category would win
    assert named_categories(words_of("camra"), CATS)["cameras"] < named_categories(words_of("cameras"), CATS)["cameras"]


def test_words_beyond_the_name_keep_the_category_named() -> None:
    assert top("bluetooth headphones under 2000") == {"headphones"}
    assert top("cheap running shoes for men") == {"men-s-shoes", "running"}  # two names, disjoint words
    assert top("jacket and headphones") == {"headphones"}
    assert top("something nice") == frozenset()


def test_a_category_name_is_not_read_as_a_need() -> None:
    """"Running" and "Camping & Hiking" are names here: no attribute hints from needs.yml."""
    for text in ("Running", "Camping & Hiking"):
        hints = query_hints(text, CATS, in_catalog=lambda _w: True)
        assert hints.top_named == {_slug(text)} and not hints.attributes and not hints.need_words, hints
    hints = query_hints("shoes for running in the rain", CATS, in_catalog=lambda _w: True)
    assert hints.need_words  # words beyond a name are still needs


def test_a_named_category_is_not_widened_by_synonyms() -> None:
    """needs.yml maps "shoes" to every kind of shoe; a shop with a category called "Shoes"
    means that one. A word no category is named by still brings its synonyms."""
    assert query_hints("Shoes", CATS, in_catalog=lambda _w: True).top_named == {"shoes"}
    assert query_hints("Sports Shoes", CATS, in_catalog=lambda _w: True).top_named == {"sports-shoes"}
    assert "shoes" in query_hints("trainers", CATS, in_catalog=lambda _w: True).top_named


@pytest.mark.parametrize("name", ["", "&", "The & And", "---", "%' OR 1=1 --", "<script>alert(1)</script>",
                                  "Ünïcødé & Ώμέγα", "x" * 500])
def test_odd_category_names_never_break_naming(name) -> None:
    cats = [*CATS, make_category(999, "odd", name)]
    started = time.perf_counter()
    for text in (name, "shoes", "x" * 2000, " ".join(NAMES) * 3):
        named_categories(words_of(text), cats)
    assert time.perf_counter() - started < 2.0
    assert top("Cameras", cats) == {"cameras"}


def test_hostile_query_is_bounded() -> None:
    text = " ".join(NAMES * 40)
    started = time.perf_counter()
    named_categories(words_of(text)[:64], CATS)
    assert time.perf_counter() - started < 1.0


@pytest.fixture
def marketplace_categories(db_url) -> str:
    with session_scope(db_url) as session:
        session.execute(insert(Category), [{"id": i + 1, "slug": c.slug, "name": c.name, "parent_id": None}
                                           for i, c in enumerate(CATS)])
    return db_url


def test_hard_category_constraint_resolves_names_and_refuses_ambiguity(marketplace_categories) -> None:
    from shop.services.search import categories

    categories._CACHE.clear()
    with session_scope(marketplace_categories) as session:
        for value, slug in (("mens shoes", "men-s-shoes"), ("Home Decor", "home-d-cor"), ("camera accessory",
                            "camera-accessories"), ("kids fashion", "kids--fashion"), ("Cameras", "cameras")):
            found = resolve_category_forgiving(session, value=value)
            assert found is not None and found.slug == slug, (value, found and found.slug)
        # "kitchen" is part of three names about equally: no hard constraint from it
        assert resolve_category_forgiving(session, value="kitchen") is None
        assert resolve_category_forgiving(session, value="fashion") is None
        assert resolve_category_forgiving(session, value="spaceships") is None
        assert resolve_category_forgiving(session, value="'; DROP TABLE categories; --") is None
    categories._CACHE.clear()
