"""Where a parse spends its time: every NLU component's ``process`` timed over the dev
phrasing set (never the frozen set), one message at a time after a warm-up.

Run in the Rasa environment:
    PYTHONPATH=. .venv/rasa/bin/python -m bench.nlu_parse_profile [--model var/rasa-models/shop.tar.gz]

Prints, per component, p50/p95 ms per message and its share of the total, then the
whole parse's p50/p95 (which includes Rasa's graph overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml
from rasa.core.agent import Agent
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer import LexicalSyntacticFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

from bench.stats import percentile
from bot.nlu.language import LanguageDetector
from bot.nlu.minilm_featurizer import MiniLMFeaturizer

WARMUP = 30


def _texts(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text())
    out: list[str] = []
    for block in data.get("nlu", []):
        out += [line[2:].strip() for line in str(block.get("examples", "")).splitlines() if line.startswith("- ")]
    return out


def _wrap(timings: dict[str, list[float]], cls: type, label: str) -> None:
    original = cls.process  # type: ignore[attr-defined]

    @functools.wraps(original)
    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            timings[f"{label}#{id(self) % 1000:03d}"].append((time.perf_counter() - start) * 1000.0)

    cls.process = timed  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="var/rasa-models/shop.tar.gz")
    parser.add_argument("--texts", default="tests/nlu/dev_phrasing.yml")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    timings: dict[str, list[float]] = defaultdict(list)
    for cls in (WhitespaceTokenizer, RegexFeaturizer, LexicalSyntacticFeaturizer, CountVectorsFeaturizer,
                MiniLMFeaturizer, DIETClassifier, EntitySynonymMapper, FallbackClassifier, LanguageDetector):
        _wrap(timings, cls, cls.__name__)
    _wrap(timings, ResponseSelector, "ResponseSelector")
    agent = Agent.load(args.model)
    texts = _texts(Path(args.texts))

    async def run(batch: list[str]) -> list[float]:
        out = []
        for text in batch:
            start = time.perf_counter()
            await agent.parse_message(text)
            out.append((time.perf_counter() - start) * 1000.0)
        return out

    asyncio.run(run(texts[:WARMUP]))
    timings.clear()
    totals = asyncio.run(run(texts * args.repeat))
    n = len(totals)
    print(f"{n} parses of {len(texts)} dev-set messages, one at a time")
    print(f"{'component':34s} {'calls':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'share':>6s}")
    whole = sum(totals)
    for label, values in sorted(timings.items(), key=lambda kv: -sum(kv[1])):
        print(f"{label:34s} {len(values):6d} {percentile(values, 0.5):8.2f} {percentile(values, 0.95):8.2f} "
              f"{sum(values) / whole:6.1%}")
    print(f"{'whole parse':34s} {n:6d} {percentile(totals, 0.5):8.2f} {percentile(totals, 0.95):8.2f} {1:6.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
