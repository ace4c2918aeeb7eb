"""Measure the trained NLU model: intent macro-F1 on the held-out split, and
out-of-scope handling on CLINC150; optionally sweep the FallbackClassifier threshold.

Runs in the Rasa environment (Python 3.10):

    PYTHONPATH=. .venv/rasa/bin/python scripts/nlu_quality.py [--model var/rasa-models/shop.tar.gz]
        [--clinc ../shared/data/clinc150/clinc150_train_val.json] [--sweep] [--json OUT]

- Held-out split: ``tests/nlu/holdout.yml`` (never used for training). A prediction
  counts as the final intent after the fallback (``nlu_fallback`` is wrong for an
  in-scope message).
- Out-of-scope recall on CLINC150 ``oos_val``: a message is handled as out of scope
  when the assistant predicts ``out_of_scope`` or falls back (``nlu_fallback``).
- ``--sweep`` re-applies thresholds to the raw intent confidences, tuning on
  CLINC ``val`` utterances of off-topic intents (not ``oos_val``) plus the held-out
  split, and prints the table used to pick ``config.yml``'s threshold.

CLINC150: Larson et al., 2019, CC BY 3.0 (see data/nlu/CLINC150_LICENSE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from pathlib import Path

from scripts.clinc_oos import EXCLUDED_INTENTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent

OOS = {"out_of_scope", "nlu_fallback"}


def load_holdout(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(ex.get("text"), ex.get("intent")) for ex in data.intent_examples]


async def parse_all(agent, texts: list[str]) -> list[dict]:  # type: ignore[no-untyped-def]
    return [await agent.parse_message(t) for t in texts]


def raw_top(parsed: dict) -> tuple[str, float]:
    """Top intent and confidence before the FallbackClassifier."""
    for item in parsed.get("intent_ranking") or []:
        if item["name"] != "nlu_fallback":
            return item["name"], float(item["confidence"])
    return "nlu_fallback", 0.0


def macro_f1(gold: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    labels = sorted(set(gold))
    return float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var" / "rasa-models" / "shop.tar.gz"))
    parser.add_argument("--holdout", default=str(ROOT / "tests" / "nlu" / "holdout.yml"))
    clinc_default = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
    parser.add_argument("--clinc", default=str(clinc_default))
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    from rasa.core.agent import Agent

    agent = Agent.load(args.model)
    holdout = load_holdout(Path(args.holdout))
    parsed_holdout = asyncio.run(parse_all(agent, [t for t, _ in holdout]))
    gold = [g for _, g in holdout]
    pred = [p["intent"]["name"] for p in parsed_holdout]
    report: dict = {
        "holdout_examples": len(holdout),
        "intent_macro_f1": round(macro_f1(gold, pred), 4),
        "intent_accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold), 4),
    }
    errors = [(t, g, p) for (t, g), p in zip(holdout, pred, strict=True) if g != p]
    report["holdout_errors"] = errors[:40]

    clinc_path = Path(args.clinc)
    if clinc_path.exists():
        clinc = json.loads(clinc_path.read_text())
        oos_val = [t for t, _ in clinc["oos_val"]]
        parsed_oos = asyncio.run(parse_all(agent, oos_val))
        report["clinc_oos_val_examples"] = len(oos_val)
        report["clinc_oos_val_recall"] = round(
            sum(p["intent"]["name"] in OOS for p in parsed_oos) / len(oos_val), 4
        )
        off_topic_val = [t for t, i in clinc["val"] if i not in EXCLUDED_INTENTS]
        parsed_off = asyncio.run(parse_all(agent, off_topic_val))
        report["clinc_offtopic_val_examples"] = len(off_topic_val)
        report["clinc_offtopic_val_recall"] = round(
            sum(p["intent"]["name"] in OOS for p in parsed_off) / len(off_topic_val), 4
        )
        if args.sweep:
            rows = []
            raw_hold = [raw_top(p) for p in parsed_holdout]
            raw_off = [raw_top(p) for p in parsed_off]
            raw_oos = [raw_top(p) for p in parsed_oos]
            for t in [x / 20 for x in range(4, 19)]:
                hold_pred = [n if c >= t else "nlu_fallback" for n, c in raw_hold]
                rows.append({
                    "threshold": t,
                    "holdout_macro_f1": round(macro_f1(gold, hold_pred), 4),
                    "offtopic_val_recall": round(sum(n in OOS or c < t for n, c in raw_off) / len(raw_off), 4),
                    "oos_val_recall": round(sum(n in OOS or c < t for n, c in raw_oos) / len(raw_oos), 4),
                })
            report["threshold_sweep"] = rows
    else:
        report["clinc"] = f"not found at {clinc_path}; out-of-scope recall not measured"

    summary = {k: v for k, v in report.items() if k not in ("holdout_errors", "threshold_sweep")}
    print(json.dumps(summary, indent=2))
    if args.sweep:
        print("threshold  holdout_F1  offtopic_val_recall  oos_val_recall")
        for r in report["threshold_sweep"]:
            print(f"{r['threshold']:9.2f}  {r['holdout_macro_f1']:10.3f}  {r['offtopic_val_recall']:19.3f}  "
                  f"{r['oos_val_recall']:14.3f}")
    if errors:
        print(f"{len(errors)} held-out errors, first ones:")
        for t, g, p in errors[:15]:
            print(f"  {g:>24} -> {p:<24} {t[:70]!r}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
