"""Measure the trained NLU model: intent accuracy on the held-out split, the dev set and
the frozen real-phrasing set, out-of-scope handling on CLINC150 and parse latency;
optionally sweep the FallbackClassifier threshold, or cross-validate the training data.

Runs in the Rasa environment (Python 3.10):

    PYTHONPATH=. .venv/rasa/bin/python scripts/nlu_quality.py [--model var/rasa-models/shop.tar.gz]
        [--clinc ../shared/data/clinc150/clinc150_train_val.json] [--sweep] [--json OUT]
        [--out-dir var/nlu-eval] [--cross-validation N]

- Sets (never used for training): ``tests/nlu/holdout.yml`` (the held-out split),
  ``tests/nlu/dev_phrasing.yml`` (hand-written real-style dev set, used for tuning) and
  ``tests/nlu/real_phrasing.yml`` (frozen independent test set; only its aggregate
  figures are printed, never its utterances or mistakes). A prediction counts as the
  final intent after the fallback (``nlu_fallback`` is wrong for an in-scope message).
  Per set: accuracy, per-intent accuracy, their average ("per-intent average") and
  macro-F1.
- Out-of-scope recall on CLINC150 ``oos_val``: a message is handled as out of scope
  when the assistant predicts ``out_of_scope`` or falls back (``nlu_fallback``).
- Parse latency: one ``agent.parse_message`` at a time after a warm-up, p50/p95 in ms.
- ``--sweep`` re-applies thresholds to the raw intent confidences, tuning on CLINC
  ``val`` utterances of off-topic intents (not ``oos_val``), the held-out split and the
  dev set, and prints the table used to pick ``config.yml``'s threshold.
- Writes ``<out-dir>/report.json`` and ``<out-dir>/parses.json`` (one entry per parsed
  message: set, text, gold, intent, confidence, ranking, ms).
- ``--cross-validation N`` runs ``rasa test nlu --cross-validation --folds N`` on
  ``data/`` and prints the intent macro-F1 (a benchmark, not CI: with 5 folds it trains
  5 models, about 5 x the NLU training time, ~50 min on 2 shared cores).

CLINC150: Larson et al., 2019, CC BY 3.0 (see data/nlu/CLINC150_LICENSE).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.clinc_oos import EXCLUDED_INTENTS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent

OOS = {"out_of_scope", "nlu_fallback"}
SETS = {
    "holdout": ROOT / "tests" / "nlu" / "holdout.yml",
    "dev_phrasing": ROOT / "tests" / "nlu" / "dev_phrasing.yml",
    "real_phrasing": ROOT / "tests" / "nlu" / "real_phrasing.yml",
}
#: sets whose utterances and mistakes may be printed (the frozen test set may not)
SHOW_ERRORS = ("holdout", "dev_phrasing")
WARMUP = 10


def load_holdout(path: Path) -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(ex.get("text"), ex.get("intent")) for ex in data.intent_examples]


async def _parse_timed(agent, texts: list[str]) -> list[tuple[dict, float]]:  # type: ignore[no-untyped-def]
    out = []
    for t in texts:
        start = time.perf_counter()
        parsed = await agent.parse_message(t)
        out.append((parsed, (time.perf_counter() - start) * 1000.0))
    return out


def parse_all(agent, texts: list[str]) -> list[tuple[dict, float]]:  # type: ignore[no-untyped-def]
    return asyncio.run(_parse_timed(agent, texts))


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


# The customer-service requests the shop handles (orders, returns, refunds, delivery and
# payment questions, complaints, a person) and the shop requests it declines honestly:
# the request types the external goal is about.
CUSTOMER_SERVICE = ("order_status", "cancel_order", "change_shipping_address", "start_return", "faq",
                    "complain", "request_human", "unsupported_request")


def set_figures(gold: list[str], pred: list[str]) -> dict:
    per_intent: dict[str, list[int]] = {}
    for g, p in zip(gold, pred, strict=True):
        per_intent.setdefault(g, []).append(int(g == p))
    acc = {k: round(sum(v) / len(v), 4) for k, v in sorted(per_intent.items())}
    return {
        "examples": len(gold),
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / max(len(gold), 1), 4),
        "per_intent_average": round(sum(acc.values()) / max(len(acc), 1), 4),
        "customer_service_average": round(sum(acc.get(k, 0.0) for k in CUSTOMER_SERVICE if k in acc)
                                          / max(sum(k in acc for k in CUSTOMER_SERVICE), 1), 4),
        "macro_f1": round(macro_f1(gold, pred), 4),
        "per_intent_accuracy": acc,
        "confusions": _confusions(gold, pred),
    }


def _confusions(gold: list[str], pred: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for g, p in zip(gold, pred, strict=True):
        if g != p:
            out.setdefault(g, {}).setdefault(p, 0)
            out[g][p] += 1
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def dump_row(name: str, text: str, gold: str, parsed: dict, ms: float) -> dict:
    ranking = [{"name": r["name"], "confidence": round(float(r["confidence"]), 5)}
               for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    intent = parsed.get("intent") or {}
    return {"set": name, "text": text, "gold": gold, "intent": intent.get("name"),
            "confidence": round(float(intent.get("confidence") or 0.0), 5), "ranking": ranking, "ms": round(ms, 3)}


def cross_validation(folds: int, root: Path = ROOT) -> int:
    """``rasa test nlu --cross-validation`` on ``root``'s data/ and config.yml (``root``: this
    checkout, or another one such as a worktree of an earlier commit for a before figure);
    prints macro-F1 and the time taken."""
    rasa_bin = Path(sys.executable).parent / "rasa"
    with tempfile.TemporaryDirectory() as out:
        start = time.monotonic()
        result = subprocess.run(
            [str(rasa_bin), "test", "nlu", "--nlu", "data", "--config", "config.yml", "--cross-validation",
             "--folds", str(folds), "--out", out],
            cwd=root, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(root)},
            capture_output=True, text=True)
        took = time.monotonic() - start
        report = Path(out) / "intent_report.json"
        if result.returncode != 0 or not report.exists():
            print(result.stdout[-3000:] + result.stderr[-3000:])
            return 1
        figures = json.loads(report.read_text())
    summary = {"root": str(root), "folds": folds, "seconds": round(took),
               "intent_macro_f1": round(figures["macro avg"]["f1-score"], 4),
               "intent_weighted_f1": round(figures["weighted avg"]["f1-score"], 4)}
    print(json.dumps(summary, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "var" / "rasa-models" / "shop.tar.gz"))
    parser.add_argument("--holdout", default=str(SETS["holdout"]))
    parser.add_argument("--dev", default=str(SETS["dev_phrasing"]))
    parser.add_argument("--real", default=str(SETS["real_phrasing"]))
    clinc_default = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
    parser.add_argument("--clinc", default=str(clinc_default))
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--out-dir", default=str(ROOT / "var" / "nlu-eval"))
    parser.add_argument("--cross-validation", type=int, default=0, metavar="N")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose data/ and config.yml "
                        "--cross-validation uses (default: this one)")
    args = parser.parse_args()
    if args.cross_validation:
        return cross_validation(args.cross_validation, Path(args.root))
    logging.disable(logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    from rasa.core.agent import Agent

    agent = Agent.load(args.model)
    parse_all(agent, ["hello", "where is my order", "waterproof boots size 10"] * (WARMUP // 3 + 1))
    paths = {"holdout": Path(args.holdout), "dev_phrasing": Path(args.dev), "real_phrasing": Path(args.real)}
    report: dict = {"model": args.model, "sets": {}}
    dump: list[dict] = []
    latencies: list[float] = []
    raw: dict[str, tuple[list[str], list[tuple[str, float]]]] = {}
    errors: dict[str, list[tuple[str, str, str]]] = {}
    for name, path in paths.items():
        if not path.exists():
            report["sets"][name] = f"not found at {path}"
            continue
        examples = load_holdout(path)
        parsed = parse_all(agent, [t for t, _ in examples])
        gold = [g for _, g in examples]
        pred = [p["intent"]["name"] for p, _ in parsed]
        report["sets"][name] = set_figures(gold, pred)
        raw[name] = (gold, [raw_top(p) for p, _ in parsed])
        latencies += [ms for _, ms in parsed]
        dump += [dump_row(name, t, g, p, ms) for (t, g), (p, ms) in zip(examples, parsed, strict=True)]
        if name in SHOW_ERRORS:
            errors[name] = [(t, g, p) for (t, g), p in zip(examples, pred, strict=True) if g != p]
    hold = report["sets"].get("holdout")
    if isinstance(hold, dict):  # the keys tests/bot/test_rasa.py has always read
        report.update(holdout_examples=hold["examples"], intent_macro_f1=hold["macro_f1"],
                      intent_accuracy=hold["accuracy"])
        report["holdout_errors"] = errors.get("holdout", [])[:40]

    clinc_path = Path(args.clinc)
    if clinc_path.exists():
        clinc = json.loads(clinc_path.read_text())
        oos_val = [t for t, _ in clinc["oos_val"]]
        parsed_oos = parse_all(agent, oos_val)
        latencies += [ms for _, ms in parsed_oos]
        dump += [dump_row("clinc_oos_val", t, "out_of_scope", p, ms) for t, (p, ms) in zip(oos_val, parsed_oos,
                                                                                             strict=True)]
        report["clinc_oos_val_examples"] = len(oos_val)
        report["clinc_oos_val_recall"] = round(
            sum(p["intent"]["name"] in OOS for p, _ in parsed_oos) / len(oos_val), 4)
        off_topic_val = [t for t, i in clinc["val"] if i not in EXCLUDED_INTENTS]
        parsed_off = parse_all(agent, off_topic_val)
        report["clinc_offtopic_val_examples"] = len(off_topic_val)
        report["clinc_offtopic_val_recall"] = round(
            sum(p["intent"]["name"] in OOS for p, _ in parsed_off) / len(off_topic_val), 4)
        if args.sweep:
            report["threshold_sweep"] = sweep(raw, [raw_top(p) for p, _ in parsed_off],
                                              [raw_top(p) for p, _ in parsed_oos])
    else:
        report["clinc"] = f"not found at {clinc_path}; out-of-scope recall not measured"
    report["latency_ms"] = {"parses": len(latencies), "p50": round(percentile(latencies, 0.5), 2),
                            "p95": round(percentile(latencies, 0.95), 2), "max": round(max(latencies or [0.0]), 2)}

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    (out_dir / "parses.json").write_text(json.dumps(dump, indent=1, ensure_ascii=False))
    print_summary(report, errors, sweep_rows=args.sweep)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
    return 0


def sweep(raw: dict[str, tuple[list[str], list[tuple[str, float]]]], raw_off: list[tuple[str, float]],
          raw_oos: list[tuple[str, float]]) -> list[dict]:
    rows = []
    for t in [x / 20 for x in range(4, 19)]:
        row: dict = {"threshold": t}
        for name in ("holdout", "dev_phrasing"):
            if name in raw:
                gold, top = raw[name]
                pred = [n if c >= t else "nlu_fallback" for n, c in top]
                row[f"{name}_macro_f1"] = round(macro_f1(gold, pred), 4)
                row[f"{name}_per_intent_average"] = set_figures(gold, pred)["per_intent_average"]
        row["offtopic_val_recall"] = round(sum(n in OOS or c < t for n, c in raw_off) / len(raw_off), 4)
        row["oos_val_recall"] = round(sum(n in OOS or c < t for n, c in raw_oos) / len(raw_oos), 4)
        rows.append(row)
    return rows


def print_summary(report: dict, errors: dict[str, list[tuple[str, str, str]]], *, sweep_rows: bool) -> None:
    summary = {k: v for k, v in report.items() if k not in ("holdout_errors", "threshold_sweep", "sets")}
    summary["sets"] = {name: ({k: v for k, v in fig.items() if k != "confusions"} if isinstance(fig, dict) else fig)
                       for name, fig in report["sets"].items()}
    real = report["sets"].get("real_phrasing")
    if isinstance(real, dict):  # aggregate confusion counts only, never utterances
        summary["sets"]["real_phrasing"]["confusions"] = real["confusions"]
    print(json.dumps(summary, indent=2))
    if sweep_rows:
        print("threshold  holdout_F1  holdout_avg  dev_F1  dev_avg  offtopic_val_recall  oos_val_recall")
        for r in report["threshold_sweep"]:
            print(f"{r['threshold']:9.2f}  {r.get('holdout_macro_f1', 0):10.3f}  "
                  f"{r.get('holdout_per_intent_average', 0):11.3f}  {r.get('dev_phrasing_macro_f1', 0):6.3f}  "
                  f"{r.get('dev_phrasing_per_intent_average', 0):7.3f}  {r['offtopic_val_recall']:19.3f}  "
                  f"{r['oos_val_recall']:14.3f}")
    for name, errs in errors.items():
        if errs:
            print(f"{len(errs)} {name} errors, first ones:")
            for t, g, p in errs[:25]:
                print(f"  {g:>24} -> {p:<24} {t[:70]!r}")


if __name__ == "__main__":
    raise SystemExit(main())
