"""The shop's vocabulary for the NLU (shop/services/vocabulary.py, ``python -m apps.cli
vocabulary build``), on a small invented kitchenware shop in a real database (SQLite
and PostgreSQL): its own categories, brands, colours, sizes and use cases become
lookup tables and synonyms, none of the demo shop's words do, hostile catalog values
never reach the file, and the NLU example generator fills its entities from it."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from apps.cli import vocabulary_commands
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Brand, Category, Product, ProductVariant
from shop.services.vocabulary import (
    CatalogCategory,
    CatalogWords,
    ShopVocabulary,
    build_vocabulary,
    clean_phrase,
    looks_like_size,
    parse_nlu_words,
    read_catalog,
    read_nlu_words,
    reserved_phrases,
    title_heads,
    to_rasa_yaml,
)
from tests.demo_shops import DemoShops
from tests.paths import ROOT
from tools.demo import vocab as demo
from tools.nlu_gen.examples import GENERIC_WORDS, generate_files

NOW = datetime(2026, 11, 20, 12, 0, 0)
ANNOTATION = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
HOSTILE_NAME = "Ovens](category){x}\n- synonym: evil"

# (category slug, name, parent slug)
CATEGORIES = [
    ("kitchen", "Kitchen", None),
    ("knives", "Knives", "kitchen"),
    ("pans", "Frying Pans & Skillets", "kitchen"),
    ("bakeware", "Bakeware", None),
    ("mugs", "Mugs & Cups", None),
    ("kitchen-accessories", "Accessories", "kitchen"),
    ("bakeware-accessories", "Accessories", "bakeware"),
    ("ovens", HOSTILE_NAME, None),
]
BRANDS = [("copper-and-crumb", "Copper & Crumb"), ("ferro", "Ferro"), ("hearth-co", "Hearth Co"),
          ("evil", "<script>alert(1)</script>")]
# (category, brand, title, colours, sizes, use cases)
PRODUCTS = [
    ("knives", "ferro", "Ferro Santoku Knife", ["Black"], ["18 cm"], ["cooking"]),
    ("knives", "ferro", "Ferro Chef's Knife (20 cm, forged)", ["Black"], ["20 cm"], ["cooking"]),
    ("knives", "copper-and-crumb", "Copper & Crumb Bread Knife", ["Sage"], ["One Size"], ["baking"]),
    ("knives", "hearth-co", "Hearth Co Paring Knife", ["Copper"], ["9 cm"], []),
    ("pans", "copper-and-crumb", "Copper & Crumb Cast Iron Skillet", ["Black"], ["26 cm", "Regular"], ["cooking"]),
    ("pans", "ferro", "Ferro Nonstick Frying Pan", ["Black"], ["24 cm"], ["cooking"]),
    ("pans", "hearth-co", "Hearth Co Enamel Skillet", ["Sage"], ["28 cm"], []),
    ("pans", "ferro", "Ferro Carbon Steel Skillet", ["Black"], ["30 cm"], []),
    ("bakeware", "hearth-co", "Hearth Co Loaf Tin", ["Copper"], ["2 lb"], ["baking"]),
    ("bakeware", "hearth-co", "Hearth Co Deep Loaf Tin", ["Copper"], ["1 lb"], ["baking"]),
    ("bakeware", "copper-and-crumb", "Copper & Crumb Fluted Loaf Tin", ["Sage"], ["2 lb"], ["baking"]),
    ("mugs", "copper-and-crumb", "Copper & Crumb Stoneware Mug", ["Sage", "Cream"], ["350 ml"], []),
    ("mugs", "hearth-co", "Hearth Co Travel Mug", ["Black"], ["450 ml"], []),
    ("mugs", "ferro", "Ferro Espresso Mug", ["Copper"], ["90 ml"], []),
    ("kitchen-accessories", "evil", "Silicone Spatula", ["Red]{x}"], ["M"], ["bake[evil]"]),
]


def fill_kitchen_shop(url: str) -> None:
    """The kitchenware shop, written to the migrated database at ``url``."""
    with session_scope(url) as session:
        ids: dict[str, int] = {}
        for slug, name, parent in CATEGORIES:
            row = Category(slug=slug, name=name, parent_id=ids.get(parent or ""))
            session.add(row)
            session.flush()
            ids[slug] = row.id
        brands = {}
        for slug, name in BRANDS:
            brands[slug] = Brand(slug=slug, name=name)
            session.add(brands[slug])
        session.flush()
        for i, (cat, brand, title, colours, sizes, uses) in enumerate(PRODUCTS, start=1):
            product = Product(sku=f"K-{i:03d}", handle=f"k-{i:03d}", title=title, description="",
                              brand_id=brands[brand].id, category_id=ids[cat], price_cents=1000 + i, currency="GBP",
                              attributes={"use_cases": uses}, created_at=NOW, updated_at=NOW)
            session.add(product)
            session.flush()
            for j, (colour, size) in enumerate((c, s) for c in colours for s in sizes):
                session.add(ProductVariant(product_id=product.id, sku=f"K-{i:03d}-{j}", colour=colour, size=size,
                                           stock=3))
        session.add(Product(sku="K-999", handle="k-999", title="Retired Jacket", brand_id=brands["ferro"].id,
                            category_id=ids["knives"], price_cents=100, is_active=False, created_at=NOW,
                            updated_at=NOW))


@pytest.fixture
def kitchen(db_url: str) -> str:
    fill_kitchen_shop(db_url)
    return db_url


def _vocabulary(url: str, **kwargs: object) -> ShopVocabulary:
    with session_scope(url) as session:
        return build_vocabulary(read_catalog(session), **kwargs)  # type: ignore[arg-type]


def _entries(vocabulary: ShopVocabulary) -> set[str]:
    words = vocabulary.entities
    return {p for e in words.values() for p in (*e.lookup, *e.synonyms, *(x for v in e.synonyms.values() for x in v))}


def test_a_kitchen_shop_gets_its_own_words(kitchen: str) -> None:
    vocabulary = _vocabulary(kitchen)
    category, brand = vocabulary.entities["category"], vocabulary.entities["brand"]
    for phrase in ("knives", "knife", "frying pans", "frying pan", "skillets", "skillet", "mugs", "cups",
                   "bakeware", "kitchen", "loaf tin", "kitchen knives"):
        assert phrase in category.lookup, phrase
    assert {"knife", "kitchen knives", "kitchen's knives"} <= set(category.synonyms["knives"])
    assert {"skillet", "frying pan", "fry pan"} <= set(category.synonyms["pans"])  # "fry pan": a common synonym
    assert "loaf tin" in category.synonyms["bakeware"]  # a head noun of its titles
    assert {"copper & crumb", "copper and crumb", "copper&crumb", "hearth co", "hearthco", "ferro"} <= set(brand.lookup)
    assert {"copper & crumb", "copper and crumb"} <= set(brand.synonyms["copper-and-crumb"])
    assert {"sage", "copper", "black", "cream"} <= set(vocabulary.entities["colour"].lookup)
    sizes = vocabulary.entities["size"].lookup
    assert {"18 cm", "2 lb", "350 ml", "M"} <= set(sizes) and "Regular" not in sizes and "One Size" not in sizes
    uses = vocabulary.entities["use_case"]
    assert {"baking", "cooking", "bake", "cook"} <= set(uses.lookup) and uses.synonyms["baking"] == ("bake",)


def test_no_demo_words_and_common_synonyms_only_for_categories_it_has(kitchen: str) -> None:
    words = _entries(_vocabulary(kitchen))
    demo_words = {c.slug for c in demo.CATEGORIES} | {c.name.lower() for c in demo.CATEGORIES} | {
        b.name.lower() for b in demo.BRANDS} | set(demo.USE_CASES) | {"tee", "t-shirts", "boots", "parka"}
    assert words & demo_words == set()
    assert "jacket" not in " ".join(words)  # an inactive product's title teaches nothing


def test_a_phrase_two_categories_want_maps_to_neither(kitchen: str) -> None:
    vocabulary = _vocabulary(kitchen)
    category = vocabulary.entities["category"]
    assert "accessories" in category.lookup and "accessories" in vocabulary.dropped
    assert all("accessories" not in phrases for phrases in category.synonyms.values())
    assert "kitchen accessories" in category.synonyms["kitchen-accessories"]  # the parent tells them apart
    assert "bakeware accessories" in category.synonyms["bakeware-accessories"]


def test_hostile_catalog_values_never_reach_the_file(kitchen: str) -> None:
    vocabulary = _vocabulary(kitchen)
    text = to_rasa_yaml(vocabulary)
    assert "<script>" not in text and "evil" not in text and "{x}" not in text
    assert "](" not in text and "ovens](" not in text.lower()
    doc = yaml.safe_load(text)
    assert set(doc) == {"version", "nlu"}
    for block in doc["nlu"]:
        assert set(block) in ({"lookup", "examples"}, {"synonym", "examples"})
        for line in block["examples"].splitlines():
            assert line.startswith("- ") and not re.search(r"[\[\]{}()<>#:\"`|]", line[2:]), line
    assert "ovens" in vocabulary.entities["category"].lookup  # its slug is fine; its name is not
    assert any("brand" in d for d in vocabulary.dropped)


@pytest.mark.parametrize("value", ["", "  ", "a" * 49, "one two three four five six", "x\ny", "tab\there", "[x](y)",
                                   "{shop}", "a: b", "# c", "<b>", "quote\"d", "\u202eevil", 7, None])
def test_clean_phrase_refuses_what_could_break_the_yaml(value: object) -> None:
    assert clean_phrase(value) is None


def test_clean_phrase_keeps_ordinary_words() -> None:
    assert clean_phrase("  Chef's   Knives ") == "chef's knives"
    assert clean_phrase("Cedar & Pine") == "cedar & pine"
    assert clean_phrase("1/4 Zip") == "1/4 zip"
    assert clean_phrase("Küchenmesser") == "küchenmesser"
    assert looks_like_size("3XL") and looks_like_size("EU 42") and not looks_like_size("Long")


def test_title_heads_skip_adjectives_and_modifiers() -> None:
    titles = {
        "socks": [f"Brand{i} Cushioned {kind} Socks" for i, kind in enumerate(["Crew", "Hiking", "Running"] * 3)],
        "tins": [f"Acme {m} Loaf Tin" for m in ("Deep", "Fluted", "Mini", "Long")],
        "mugs": ["Acme Travel Mug", "Acme Espresso Mug", "Acme Stoneware Mug"],
        "bags": ["Acme Tote Bag", "Acme Crossbody Bag", "Acme Weekender Bag"],
    }
    heads = title_heads(titles)
    assert "sock" in heads["socks"] and not any(h.startswith("cushioned") for h in heads["socks"])
    assert "crew sock" in heads["socks"]  # not dropped for "cushioned crew sock", which is no head
    assert heads["tins"] == ["loaf tin"]  # "tin" is nearly always "loaf tin" here
    assert heads["mugs"] == ["mug"] and heads["bags"] == ["bag"]  # "acme" is in every category: a modifier


def test_same_catalog_same_file_and_reserved_phrases_are_left_alone(kitchen: str) -> None:
    assert to_rasa_yaml(_vocabulary(kitchen)) == to_rasa_yaml(_vocabulary(kitchen))
    words = CatalogWords(categories=[CatalogCategory("sizes", "Small Things")], titles={"sizes": ["A"]})
    vocabulary = build_vocabulary(words, reserved={"small things"})
    assert "small things" in vocabulary.dropped
    assert "small things" not in vocabulary.entities["category"].synonyms.get("sizes", ())


def test_generated_file_round_trips_and_feeds_the_nlu_generator(kitchen: str, tmp_path: Path) -> None:
    out = tmp_path / "shop_vocabulary.yml"
    out.write_text(to_rasa_yaml(_vocabulary(kitchen)))
    words = read_nlu_words(GENERIC_WORDS, out)
    assert "knives" in words.targets("category") and "copper-and-crumb" in words.targets("brand")
    files = generate_files(vocabulary=(GENERIC_WORDS, out))
    found: Counter[str] = Counter()
    for text in files.values():
        for block in yaml.safe_load(text)["nlu"]:
            for value, entity in ANNOTATION.findall(block["examples"]):
                found[entity] += 1
                if entity in ("category", "brand", "use_case"):
                    assert value.lower() in words.lookups[entity], (entity, value)
    assert found["category"] > 20 and found["brand"] > 5
    demo_brands = {b.name.lower() for b in demo.BRANDS}
    assert not any(b.lower() in demo_brands for text in files.values() for b, e in ANNOTATION.findall(text)
                   if e == "brand")


def test_cli_builds_checks_and_refuses(kitchen: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nlu" / "shop_vocabulary.yml"
    assert vocabulary_commands.main(["build", "--url", kitchen, "--out", str(out)]) == 0
    first = out.read_text()
    assert "- synonym: knives" in first and "Wrote" in capsys.readouterr().out
    mtime = out.stat().st_mtime_ns
    assert vocabulary_commands.main(["build", "--url", kitchen, "--out", str(out)]) == 0
    assert out.stat().st_mtime_ns == mtime  # current: left alone, so make has nothing to retrain
    assert vocabulary_commands.main(["build", "--url", kitchen, "--out", str(out), "--check"]) == 0
    with session_scope(kitchen) as session:
        session.scalars(select(Category).where(Category.slug == "mugs")).one().name = "Mugs & Tumblers"
    assert vocabulary_commands.main(["build", "--url", kitchen, "--out", str(out), "--check"]) == 1
    assert out.read_text() == first  # --check writes nothing
    with pytest.raises(SystemExit) as exc:
        vocabulary_commands.main(["build", "--url", kitchen, "--out", str(tmp_path / "words.txt")])
    assert exc.value.code == 2


def test_cli_refuses_an_empty_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    assert vocabulary_commands.main(["build", "--url", url, "--out", str(tmp_path / "v.yml")]) == 1
    assert "Import a catalog first" in capsys.readouterr().err and not (tmp_path / "v.yml").exists()


@pytest.mark.slow
def test_committed_demo_vocabulary_is_the_demo_shops(demo_shop: DemoShops) -> None:
    """data/nlu/shop_vocabulary.yml is what `make shop-vocabulary` writes for the demo
    shop (seed 7, scale 1, as `make db` makes it), and covers its catalog."""
    url = demo_shop(seed=7, scale=1.0)
    committed = (ROOT / "data" / "nlu" / "shop_vocabulary.yml").read_text()
    generic = reserved_phrases(read_nlu_words(ROOT / "data" / "nlu" / "lookups.yml"))
    assert to_rasa_yaml(_vocabulary(url, reserved=generic)) == committed, \
        "stale: run make shop-vocabulary on the demo shop"
    words = parse_nlu_words(committed)
    assert {c.slug for c in demo.CATEGORIES} <= set(words.targets("category")) | set(words.lookups["category"])
    assert {b.slug for b in demo.BRANDS} <= set(words.lookups["brand"])
    assert {b.name.lower() for b in demo.BRANDS} <= set(words.lookups["brand"])
    assert set(demo.COLOURS) <= set(words.lookups["colour"]) and set(demo.USE_CASES) <= set(words.lookups["use_case"])
