"""The NLU data generator (tools/nlu_gen): committed files are a fresh generation,
generation is deterministic, annotations stay correct under noise, and nothing
generated repeats a test utterance or contradicts another intent."""

from __future__ import annotations

import random
import re

import pytest
import yaml

from tools.nlu_gen.examples import (
    DEFAULT_OUT,
    EXCLUDE_SETS,
    Generator,
    _examples_in,
    generate_files,
    normalise,
)
from tools.nlu_gen.noise import Segment, apply_casing, informal, plain, render, typos

ROOT = DEFAULT_OUT.parent.parent.parent
ANNOTATION = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return generate_files()


def _all_examples(files: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for text in files.values():
        for block in yaml.safe_load(text)["nlu"]:
            out += [(block["intent"], line[2:]) for line in block["examples"].splitlines() if line.startswith("- ")]
    return out


def test_committed_files_are_up_to_date(files: dict[str, str]) -> None:
    on_disk = {p.name: p.read_text() for p in DEFAULT_OUT.glob("*.yml")}
    assert sorted(on_disk) == sorted(files), "run: python -m tools.nlu_gen"
    stale = [name for name, text in files.items() if on_disk[name] != text]
    assert not stale, f"stale generated files {stale}; run: python -m tools.nlu_gen"


def test_generation_is_deterministic(files: dict[str, str]) -> None:
    assert generate_files() == files
    assert generate_files(seed="another seed") != files


def test_every_intent_and_entity_is_in_the_domain(files: dict[str, str]) -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
    intents = set(domain["intents"])
    entities = {e if isinstance(e, str) else next(iter(e)) for e in domain["entities"]}
    for intent, example in _all_examples(files):
        assert intent.split("/")[0] in intents, intent
        for value, entity in ANNOTATION.findall(example):
            assert entity in entities, example
            assert value == value.strip() and value, example


def test_entity_values_survive_the_noise(files: dict[str, str]) -> None:
    examples = _all_examples(files)
    numbers = [v for _, e in examples for v, ent in ANNOTATION.findall(e) if ent == "order_number"]
    emails = [v for _, e in examples for v, ent in ANNOTATION.findall(e) if ent == "email"]
    assert len(numbers) > 50 and len(emails) > 5
    assert all(re.fullmatch(r"\d{6}", n) for n in numbers)
    assert all(re.fullmatch(r"[\w.]+@[\w.]+\.[a-z]{2,}", m) for m in emails)


def test_volume_per_intent_is_moderate(files: dict[str, str]) -> None:
    counts: dict[str, int] = {}
    for intent, _ in _all_examples(files):
        counts[intent] = counts.get(intent, 0) + 1
    for intent in ("order_status", "cancel_order", "change_shipping_address", "start_return", "complain",
                   "request_human", "unsupported_request", "faq/other_policy", "ask_product_question"):
        assert 40 <= counts[intent] <= 140, (intent, counts[intent])
    assert sum(counts.values()) < 1500


def test_nothing_generated_repeats_a_test_utterance_or_another_intent(files: dict[str, str]) -> None:
    seen: dict[str, str] = {}
    for intent, example in _all_examples(files):
        key = normalise(example)
        assert seen.setdefault(key, intent) == intent, (example, seen[key], intent)
    for path in EXCLUDE_SETS:
        if path.exists():
            clash = [t for _, t in _examples_in(path) if normalise(t) in seen]
            assert not clash, f"{len(clash)} generated examples equal utterances of {path.name}"


def test_unsupported_requests_cover_every_kind(files: dict[str, str]) -> None:
    texts = " ".join(e.lower() for i, e in _all_examples(files) if i == "unsupported_request")
    for word in ("account", "password", "sign up", "invoice", "receipt", "newsletter", "review", "points", "job"):
        assert word in texts, word


def test_unknown_slot_is_an_error() -> None:
    with pytest.raises(KeyError):
        Generator().fill("where is my {no_such_slot}", random.Random(1))


def test_noise_on_hostile_input() -> None:
    rng = random.Random(3)
    assert typos("", rng) == "" and informal("", {"you": ["u"]}, rng) == ""
    huge = "please tell me where your order is " * 5000
    noisy = typos(huge, rng, rate=1.0, max_typos=2)
    assert len(huge) - 2 <= len(noisy) <= len(huge) + 2  # at most two letters dropped/added
    assert informal("[you](x) and you're", {"you": ["u"]}, random.Random(0), rate=1.0) == "[u](x) and you're"
    segs = [Segment("where is order "), Segment("123456", "order_number"), Segment(" for "),
            Segment("Jo.Doe@Example.com", "email")]
    upper = "WHERE IS ORDER [123456](order_number) FOR [Jo.Doe@Example.com](email)"
    assert render(apply_casing(segs, "upper")) == upper
    assert plain(apply_casing(segs, "sentence")).startswith("Where is order 123456")
