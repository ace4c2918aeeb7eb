"""The LLM's second opinion in the two-stage fallback, measured on the messages the NLU
model was unsure about: the parses of the NLU evaluation (``var/nlu-eval/parses.json``,
one ``{"set", "text", "gold", "intent", "confidence", "ranking", "ms"}`` per message;
``intent`` is the final intent after the FallbackClassifier) whose final intent was
``nlu_fallback``, each judged as the action server does (``judge_intent`` with the
configured LLM, its time budget and candidate count) by the real model in its own
llama.cpp server (started here unless one already answers at ``SHOP_LLM_SERVER_URL``).

Prints how many it decided and their accuracy against the gold intent, how many "none"
(or an answer that is not a number in the list), how many ran out of time, latency
p50/p95, and for comparison the accuracy of simply taking the model's top intent.

    .venv/actions/bin/python -m bench.intent_judge [--parses var/nlu-eval/parses.json]
        [--model llamacpp/qwen2.5-coder-0.5b-instruct-q4_k_m] [--limit 40] [--set NAME]
        [--timeout 1.5] [--candidates 4] [--show]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.stats import percentile
from models.llm.runner import LLMRunner
from shop.services.intent_judge import FALLBACK_INTENT, Judgement, judge_intent, judge_runner
from shop.services.llm import build_runner, local_server
from shop.settings import REPO_ROOT, Settings, get_settings

DEFAULT_PARSES = REPO_ROOT / "var" / "nlu-eval" / "parses.json"


def load_unsure(path: Path, *, only_set: str | None, limit: int) -> list[dict[str, Any]]:
    """The parses whose final intent was ``nlu_fallback`` (of set ``only_set`` if given),
    the first ``limit`` of them (0: all)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a list of parses")
    unsure = [r for r in rows if isinstance(r, dict) and r.get("intent") == FALLBACK_INTENT
              and isinstance(r.get("text"), str) and isinstance(r.get("gold"), str)
              and (only_set is None or r.get("set") == only_set)]
    return unsure[:limit] if limit else unsure


def top_intent(ranking: list[dict[str, Any]]) -> str | None:
    """The model's best guess: the first name in the raw ranking other than ``nlu_fallback``."""
    for entry in ranking or []:
        if isinstance(entry, dict) and entry.get("name") not in (None, FALLBACK_INTENT):
            return str(entry["name"])
    return None


async def settle(runner: LLMRunner, *, max_s: float = 120.0) -> None:
    """Wait until ``runner`` has nothing running and its breaker is closed: messages that
    go to the fallback are turns apart in real conversations, not back to back."""
    for _ in range(int(max_s * 10)):
        status = runner.status()
        if not status["pending"] and not status["breaker_open"]:
            return
        await asyncio.sleep(0.1)


async def judge_all(rows: list[dict[str, Any]], runner: LLMRunner, *, limit: int, timeout_s: float) -> list[Judgement]:
    out = []
    for row in tqdm(rows, desc="judging", unit="msg"):
        await settle(judge_runner(runner))
        out.append(await judge_intent(text=row["text"], ranking=row.get("ranking") or [], runner=runner, limit=limit,
                                      timeout_s=timeout_s))
    return out


def report(rows: list[dict[str, Any]], judgements: list[Judgement], *, model: str, timeout_s: float,
           show: bool) -> None:
    n = len(rows)
    outcomes = Counter(j.outcome for j in judgements)
    decided = [(r, j) for r, j in zip(rows, judgements, strict=True) if j.intent is not None]
    right = sum(1 for r, j in decided if j.intent == r["gold"])
    top_right = sum(1 for r in rows if top_intent(r.get("ranking") or []) == r["gold"])
    top_right_decided = sum(1 for r, _ in decided if top_intent(r.get("ranking") or []) == r["gold"])
    reachable = sum(1 for r, j in zip(rows, judgements, strict=True) if r["gold"] in j.candidates)
    asked = [j.ms for j in judgements if j.outcome != "skipped"]
    # what the shopper gets: the pick where there is one, else the "Did you mean <top>?" question
    print(f"\nmodel {model}, budget {timeout_s:.2f} s, {n} messages the NLU model was unsure about\n")
    print("| measure | value |\n|---|---|")
    print(f"| gold intent among the candidates offered | {reachable}/{n} |")
    print(f"| decided (an intent applied) | {len(decided)}/{n} ({len(decided) / max(n, 1):.0%}) |")
    print(f"| accuracy of decided ones vs gold | {right}/{len(decided)} ({right / max(len(decided), 1):.0%}) |")
    print(f"| top intent's accuracy on those same messages | {top_right_decided}/{len(decided)} "
          f"({top_right_decided / max(len(decided), 1):.0%}) |")
    print(f"| \"none of these\" | {outcomes['none']} |")
    print(f"| not a number in the list (counted as none) | {outcomes['unreadable']} |")
    print(f"| picked an intent never applied (add to cart, yes/no ...) | {outcomes['not_chosen']} |")
    print(f"| out of time or LLM unavailable | {outcomes['unavailable']} |")
    print(f"| skipped (no text, no candidates) | {outcomes['skipped']} |")
    print(f"| top intent's accuracy on all {n} (taking it blindly) | {top_right}/{n} ({top_right / max(n, 1):.0%}) |")
    if asked:
        print(f"| judge time p50 / p95 / max | {percentile(asked, 0.5):.0f} / {percentile(asked, 0.95):.0f} / "
              f"{max(asked):.0f} ms |")
    if show:
        print()
        for r, j in zip(rows, judgements, strict=True):
            mark = "ok " if j.intent == r["gold"] else ("-- " if j.intent is None else "XX ")
            print(f"{mark}{r['gold']:>22} <- {str(j.intent or j.picked):<22} {j.outcome:<11} {j.ms:6.0f} ms  "
                  f"{list(j.candidates)}  {r['text'][:70]!r}")


def measure(settings: Settings, rows: list[dict[str, Any]], *, limit: int, timeout_s: float, show: bool) -> int:
    runner = build_runner(settings)
    if runner is None:
        print(f"no LLM ({settings.llm_model}): run `make llm` or pass --model", file=sys.stderr)
        return 1
    try:
        # one call first, on none of the messages: the server's prompt cache then holds the system prompt
        asyncio.run(judge_intent(text="warming up", ranking=rows[0].get("ranking") or [], runner=runner,
                                 limit=limit, timeout_s=120.0))
        judgements = asyncio.run(judge_all(rows, runner, limit=limit, timeout_s=timeout_s))
    finally:
        runner.close()
    report(rows, judgements, model=settings.llm_model, timeout_s=timeout_s, show=show)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parses", type=Path, default=DEFAULT_PARSES)
    parser.add_argument("--model", help="provider/model (default: SHOP_LLM_MODEL)")
    parser.add_argument("--limit", type=int, default=40, help="judge at most N unsure messages (0: all)")
    parser.add_argument("--set", dest="only_set", help="only the parses of this set")
    parser.add_argument("--timeout", type=float, help="time budget in seconds (default: SHOP_INTENT_JUDGE_TIMEOUT_S)")
    parser.add_argument("--candidates", type=int, help="intents offered (default: SHOP_INTENT_JUDGE_CANDIDATES)")
    parser.add_argument("--show", action="store_true", help="print every message with its judgement")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.model:
        settings = settings.model_copy(update={"llm_model": args.model})
    if not args.parses.exists():
        print(f"{args.parses} is missing: run the NLU evaluation first", file=sys.stderr)
        return 1
    rows = load_unsure(args.parses, only_set=args.only_set, limit=args.limit)
    if not rows:
        print(f"no message in {args.parses} went to the fallback", file=sys.stderr)
        return 1
    timeout_s = args.timeout or settings.intent_judge_timeout_s
    limit = args.candidates or settings.intent_judge_candidates
    with local_server(settings):  # the model's own server, unless one already answers
        return measure(settings, rows, limit=limit, timeout_s=timeout_s, show=args.show)


if __name__ == "__main__":
    raise SystemExit(main())
