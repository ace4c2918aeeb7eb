"""How well the sentiment handoff trigger finds upset shoppers, on hand-labelled
messages (``tests/data/sentiment_labelled.tsv``: outdoor-shop chat messages written
for this project, each ``negative`` (would want a person because upset) or ``ok``).

- per message: precision / recall / F1 of ``shop.handoff.sentiment.score(text) <=
  threshold`` against the labels, at several thresholds;
- per conversation: the sustained rule (``sustained_negative``: at least
  ``min_negative`` of the last ``window`` messages at or below the threshold, the
  latest among them) with ``handoff.yml``'s window and minimum, on synthetic
  conversations of ``window`` messages drawn from the labelled ones (a seeded mix of
  calm, mixed and upset conversations). A conversation *should* go to a person when
  the same rule holds on the human labels (at least ``min_negative`` labelled
  negative, the latest among them).

    .venv/actions/bin/python -m bench.sentiment_trigger [--conversations 600] [--seed 7]

Prints Markdown tables; the configured threshold is marked.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from shop.handoff.handoff_config import load_config
from shop.handoff.sentiment import score, sustained_negative
from shop.settings import get_settings

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "sentiment_labelled.tsv"
THRESHOLDS = (-0.2, -0.3, -0.4, -0.5, -0.6)


def load_labelled(path: Path = DATA) -> list[tuple[bool, str]]:
    """``[(is_negative, text)]`` from the TSV (``#`` lines are comments)."""
    with path.open(encoding="utf-8") as f:
        rows = [line for line in f if not line.startswith("#")]
    return [(r["label"] == "negative", r["text"]) for r in csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)]


def prf(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float, int]:
    """Precision, recall, F1 and the number flagged of ``[(truth, predicted)]``."""
    tp = sum(t and p for t, p in pairs)
    flagged = sum(p for _, p in pairs)
    positives = sum(t for t, _ in pairs)
    precision = tp / flagged if flagged else 0.0
    recall = tp / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, flagged


def conversations(rows: list[tuple[bool, float]], *, n: int, length: int, seed: int) -> list[list[tuple[bool, float]]]:
    """``n`` conversations of ``length`` labelled messages: each picks a mood (the
    chance that a message is a negative one: 0.1 calm, 0.5 mixed, 0.9 upset) and
    draws its messages by label with that chance."""
    rng = random.Random(seed)
    negative = [r for r in rows if r[0]]
    ok = [r for r in rows if not r[0]]
    out = []
    for _ in range(n):
        mood = rng.choice((0.1, 0.1, 0.5, 0.9))
        out.append([rng.choice(negative) if rng.random() < mood else rng.choice(ok) for _ in range(length)])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    config = load_config(get_settings().handoff_config)
    labelled = load_labelled()
    scored = [(neg, score(text)) for neg, text in labelled]
    thresholds = sorted({*THRESHOLDS, config.threshold}, reverse=True)
    n_neg = sum(neg for neg, _ in scored)
    print(f"{len(scored)} labelled messages, {n_neg} negative ({n_neg / len(scored):.0%}); "
          f"configured: threshold {config.threshold}, window {config.window}, min_negative {config.min_negative}\n")
    print("Per message (score <= threshold):\n")
    print("| threshold | flagged | precision | recall | F1 |\n|---|---|---|---|---|")
    for t in thresholds:
        p, r, f, flagged = prf([(neg, s <= t) for neg, s in scored])
        mark = " (configured)" if t == config.threshold else ""
        print(f"| {t}{mark} | {flagged} | {p:.2f} | {r:.2f} | {f:.2f} |")
    convs = conversations(scored, n=args.conversations, length=config.window, seed=args.seed)
    truth = [sustained_negative([-1.0 if neg else 1.0 for neg, _ in c], window=config.window,
                                min_negative=config.min_negative, threshold=0.0) for c in convs]
    print(f"\nSustained rule ({config.min_negative} of the last {config.window}, the latest among them) on "
          f"{len(convs)} synthetic conversations, {sum(truth)} of them upset by the labels:\n")
    print("| threshold | handed over | precision | recall | F1 |\n|---|---|---|---|---|")
    for t in thresholds:
        predicted = [sustained_negative([s for _, s in c], window=config.window, min_negative=config.min_negative,
                                        threshold=t) for c in convs]
        p, r, f, flagged = prf(list(zip(truth, predicted, strict=True)))
        mark = " (configured)" if t == config.threshold else ""
        print(f"| {t}{mark} | {flagged} | {p:.2f} | {r:.2f} | {f:.2f} |")
    missed = [text for (neg, text), (_, s) in zip(labelled, scored, strict=True) if neg and s > config.threshold]
    false = [text for (neg, text), (_, s) in zip(labelled, scored, strict=True) if not neg and s <= config.threshold]
    print(f"\nAt the configured threshold, e.g. missed: {missed[:3]}; flagged but ok: {false[:3]}")


if __name__ == "__main__":
    main()
