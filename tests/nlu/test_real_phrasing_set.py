"""The frozen real-phrasing NLU test set (issue 16) stays a fair test.

``tests/nlu/real_phrasing.yml`` was written independently of the training data and is
never trained on. These checks keep it that way while ``data/nlu`` grows: every label is
an intent the assistant knows, the set is big enough, nothing repeats, and no example
(normalised: entity markup removed, lower case, spaces collapsed) occurs in the training
data, the other held-out split or a dev set that is tuned on. A failure here means
another file picked up a test utterance: remove it there, never from the frozen set.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.paths import ROOT

SET_FILE = ROOT / "tests" / "nlu" / "real_phrasing.yml"
HOLDOUT_FILE = ROOT / "tests" / "nlu" / "holdout.yml"
DOMAIN_FILE = ROOT / "bot" / "domain.yml"
NEW_INTENTS = {"unsupported_request", "other_language"}
MIN_EXAMPLES = 650
# [text](entity), [text]{"entity": ...} -> text
_ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    return " ".join(_ENTITY_MARKUP.sub(r"\1", text).lower().split())


def _examples(block: dict) -> list[str]:
    raw = block.get("examples") or ""
    return [line.strip()[2:].strip() for line in raw.splitlines() if line.strip().startswith("- ")]


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, text) for every intent example of a Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs: list[tuple[str, str]] = []
    for block in data.get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:
            pairs.extend((str(block["intent"]), text) for text in _examples(block))
    return pairs


def domain_intents() -> set[str]:
    domain = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    names: set[str] = set()
    for item in domain.get("intents") or []:
        names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


@pytest.fixture(scope="module")
def frozen_set() -> list[tuple[str, str]]:
    return load_examples(SET_FILE)


def test_the_set_is_big_enough_and_covers_the_new_intents(frozen_set: list[tuple[str, str]]) -> None:
    assert len(frozen_set) >= MIN_EXAMPLES
    counts = Counter(intent for intent, _ in frozen_set)
    for intent in ("order_status", "start_return", "cancel_order", "faq", "complain",
                   "request_human", "unsupported_request", "other_language", "out_of_scope",
                   "ask_product_question", "search_products"):
        assert counts[intent] >= 15, intent
    assert all(text.strip() for _, text in frozen_set)


def test_every_label_is_a_known_intent(frozen_set: list[tuple[str, str]]) -> None:
    known = domain_intents() | NEW_INTENTS
    unknown = sorted({intent for intent, _ in frozen_set} - known)
    assert not unknown, f"labels not in bot/domain.yml: {unknown}"


def test_no_duplicates(frozen_set: list[tuple[str, str]]) -> None:
    counts = Counter(normalise(text) for _, text in frozen_set)
    assert [text for text, n in counts.items() if n > 1] == []


def test_no_example_occurs_in_training_tuning_or_holdout_data(frozen_set: list[tuple[str, str]]) -> None:
    # training data (generated/ too), the held-out split and any other set in tests/nlu
    # (a dev set is tuned on, so it must not hold the frozen examples either)
    others = sorted((ROOT / "data" / "nlu").rglob("*.yml")) + sorted(
        p for p in (ROOT / "tests" / "nlu").glob("*.yml") if p.resolve() != SET_FILE.resolve())
    assert HOLDOUT_FILE in others and len(others) > 2
    elsewhere: dict[str, str] = {}
    for path in others:
        for _, text in load_examples(path):
            elsewhere.setdefault(normalise(text), path.relative_to(ROOT).as_posix())
    leaks = [f"{text!r} (in {elsewhere[normalise(text)]})" for _, text in frozen_set
             if normalise(text) in elsewhere]
    assert leaks == [], "frozen test examples found in other NLU files: " + "; ".join(leaks)


def test_the_leak_check_sees_through_entity_markup_and_case() -> None:
    # hostile: an annotated, re-cased copy of a test utterance must still count as a leak
    assert normalise("  I want to locate order [482913](order_number) ") == normalise(
        "i want to LOCATE order 482913"
    )
    assert normalise('make it [mens]{"entity": "gender", "value": "men"}') == "make it mens"
