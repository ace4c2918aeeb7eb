"""Speed of the MiniLM dense NLU featurizer (bot/nlu/minilm_featurizer.py) in the Rasa
environment: per-message featurization time (p50/p95, one message at a time, after the
WhitespaceTokenizer, like a parse) with 1 and 2 BLAS threads, and batch throughput as in
training. Optionally the whole NLU parse of a trained model (``--model``).

Messages: real-looking shopper messages from the NLU data (``data/nlu``) and the
held-out split (``tests/nlu/holdout.yml``), entity markup removed, sampled with a fixed
seed.

    PYTHONPATH=. .venv/rasa/bin/python -m bench.nlu_featurizer [--messages 500] [--batch 2000]
        [--model var/rasa-models/shop.tar.gz]

The machine's load average is printed with the figures: on a shared machine the wall
times grow with it; the process CPU time (all threads of this process) grows less.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import statistics
import time
from pathlib import Path

import yaml
from rasa.core.agent import Agent
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

from bench.stats import percentile
from bot.nlu.minilm import get_encoder
from bot.nlu.minilm_featurizer import MiniLMFeaturizer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "tests" / "nlu" / "holdout.yml", ROOT / "data" / "nlu"]
_ENTITY = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def load_messages() -> list[str]:
    """Every intent example of the NLU data and the held-out split, markup removed."""
    files: list[Path] = []
    for source in SOURCES:
        files.extend(sorted(source.rglob("*.yml")) if source.is_dir() else [source])
    texts: list[str] = []
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu") or []:
            if "intent" not in block or not isinstance(block.get("examples"), str):
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    texts.append(_ENTITY.sub(r"\1", line[2:]).strip())
    return sorted({t for t in texts if t})


def _components(threads: int | None) -> tuple[WhitespaceTokenizer, MiniLMFeaturizer]:
    storage = LocalModelStorage(Path("/nonexistent-unused"))
    context = ExecutionContext(GraphSchema({}), node_name="bench")
    tokenizer = WhitespaceTokenizer.create(
        {**WhitespaceTokenizer.get_default_config(), "token_pattern": "[#$]|[^#$]+"}, storage, Resource("t"), context
    )
    config = {**MiniLMFeaturizer.get_default_config(), "alias": f"minilm{threads}", "threads": threads}
    featurizer = MiniLMFeaturizer.load(config, storage, Resource("f"), context)
    return tokenizer, featurizer


def time_one_at_a_time(texts: list[str], threads: int | None) -> dict[str, float]:
    tokenizer, featurizer = _components(threads)
    for text in texts[:20]:  # warm up
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        featurizer.process([message])
    times: list[float] = []
    cpu: list[float] = []
    for text in texts:
        message = Message(data={TEXT: text})
        tokenizer.process([message])
        start, start_cpu = time.perf_counter(), time.process_time()
        featurizer.process([message])
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "max": max(times),
            "mean": statistics.fmean(times), "cpu_p50": percentile(cpu, 0.5), "cpu_p95": percentile(cpu, 0.95)}


def time_batch(texts: list[str], threads: int | None) -> float:
    """Messages per second through ``process_training_data``."""
    tokenizer, featurizer = _components(threads)
    messages = [Message(data={TEXT: t, "intent": "x"}) for t in texts]
    tokenizer.process(messages)
    start = time.perf_counter()
    featurizer.process_training_data(TrainingData(messages))
    return len(messages) / (time.perf_counter() - start)


def time_parse(model: Path, texts: list[str]) -> dict[str, float]:
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()
    for text in texts[:20]:
        loop.run_until_complete(agent.parse_message(text))
    times: list[float] = []
    cpu: list[float] = []
    for text in texts:
        start, start_cpu = time.perf_counter(), time.process_time()
        loop.run_until_complete(agent.parse_message(text))
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    loop.close()
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "max": max(times),
            "cpu_p50": percentile(cpu, 0.5), "cpu_p95": percentile(cpu, 0.95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages timed one at a time (default 500)")
    parser.add_argument("--batch", type=int, default=2000, help="messages in the throughput run (default 2000)")
    parser.add_argument("--model", type=Path, default=None, help="a trained Rasa model: also time whole parses")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    pool = load_messages()
    rng = random.Random(args.seed)
    texts = rng.sample(pool, min(args.messages, len(pool)))
    batch = rng.sample(pool, min(args.batch, len(pool)))
    encoder = get_encoder(threads=1)
    pieces = [float(len(encoder.pieces(t)) + 2) for t in texts]
    print(f"{len(texts)} messages from {len(pool)} (wordpieces incl. [CLS]/[SEP]: p50 {percentile(pieces, 0.5):.0f}, "
          f"p95 {percentile(pieces, 0.95):.0f}, max {max(pieces):.0f}); {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("featurize one message (WhitespaceTokenizer done before), ms:")
    for threads in (1, 2):
        r = time_one_at_a_time(texts, threads)
        print(f"  threads={threads}: wall p50 {r['p50']:.2f}  p95 {r['p95']:.2f}  max {r['max']:.1f}  "
              f"mean {r['mean']:.2f}; process CPU p50 {r['cpu_p50']:.2f}  p95 {r['cpu_p95']:.2f}"
              f"   (load {os.getloadavg()[0]:.1f})")
    print(f"batch featurization ({len(batch)} messages, batch_size 32, length-sorted):")
    for threads in (1, 2):
        rate = time_batch(batch, threads)
        print(f"  threads={threads}: {rate:.0f} messages/s   (load {os.getloadavg()[0]:.1f})")
    if args.model:
        r = time_parse(args.model, texts)
        print(f"whole NLU parse ({args.model.name}), ms: wall p50 {r['p50']:.2f}  p95 {r['p95']:.2f}  "
              f"max {r['max']:.1f}; process CPU p50 {r['cpu_p50']:.2f}  p95 {r['cpu_p95']:.2f}"
              f"   (load {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
