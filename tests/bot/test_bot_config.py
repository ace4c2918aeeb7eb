"""Consistency of the Rasa configuration with the code (no Rasa import needed):
the generated rules are current, every custom action in the domain exists, every
intent has a human label for the fallback, and the NLU lookups (data/nlu/lookups.yml and the
generated data/nlu/shop_vocabulary.yml) cover the demo shop."""

from __future__ import annotations

import subprocess
import sys

import yaml

from actions.intent_labels import INTENT_LABELS
from shop.services.vocabulary import read_nlu_words
from tests.paths import ROOT
from tools.demo import vocab

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())


def test_rules_file_is_generated_from_script() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rules.py")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == (ROOT / "data" / "rules.yml").read_text().strip(), \
        "data/rules.yml is stale: run python scripts/gen_rules.py > data/rules.yml"


def _registered_action_names() -> set[str]:
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    return set(executor.actions)


def test_every_domain_action_is_implemented() -> None:
    custom = {a for a in DOMAIN["actions"] if not a.startswith("utter_")}
    missing = custom - _registered_action_names()
    assert not missing, f"domain lists actions with no implementation: {sorted(missing)}"


def test_every_intent_has_a_fallback_label() -> None:
    assert set(DOMAIN["intents"]) == set(INTENT_LABELS)
    assert len(DOMAIN["intents"]) >= 25


def test_every_utter_in_code_exists_in_domain() -> None:
    import re

    used = set()
    for path in (ROOT / "actions").glob("*.py"):
        used |= set(re.findall(r'response="(utter_[a-z_/]+)"', path.read_text()))
    missing = used - set(DOMAIN["responses"])
    assert not missing, f"actions utter responses the domain lacks: {sorted(missing)}"


# the generic words (colours, sizes, genders) and the demo shop's own, generated from its catalog
NLU_WORDS = read_nlu_words(ROOT / "data" / "nlu" / "lookups.yml", ROOT / "data" / "nlu" / "shop_vocabulary.yml")


def _lookup(name: str) -> set[str]:
    return {phrase.lower() for phrase in NLU_WORDS.lookups.get(name, ())}


def _synonym_targets() -> set[str]:
    return {target.lower() for target in NLU_WORDS.synonyms}


def test_lookups_cover_the_demo_vocabulary() -> None:
    brands = _lookup("brand")
    for brand in vocab.BRANDS:
        assert brand.name.lower() in brands or brand.slug in brands, brand
    colours = _lookup("colour")
    assert set(vocab.COLOURS) <= colours
    targets = _synonym_targets() | _lookup("category")
    for category in vocab.CATEGORIES:
        assert category.slug in targets, category.slug
