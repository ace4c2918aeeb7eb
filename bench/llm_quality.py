"""Product-answer quality and speed on the frozen question set
(``tests/data/product_questions.jsonl``, 250 questions written before tuning), through
the same code the action server runs (``grounded.answer_product_question`` and
``grounded.compare_products``) and, unless ``--model off``, a real llama.cpp server in its
own process (started here with the portable build, prompt cache on).

Prints: correct and helpful rates (overall and per topic), where answers came from
(LLM first try, LLM after the retry, template, "I don't know"), the verifier's
first-pass rate over answers the LLM was asked for, and answer time p50/p95.

    .venv/actions/bin/python -m bench.llm_quality [--model qwen2.5-coder-0.5b-instruct-q4_k_m | off]
        [--threads 2] [--limit N] [--scale 0.2] [--show-wrong]

Builds its own demo shop (seed 7) in a temporary SQLite file; needs ``make llm-server``
and the model (``python -m apps.cli llm fetch NAME``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from bench.stats import percentile
from models.llm.chat import OpenAICompatChat
from models.llm.runner import LLMRunner
from models.llm.server import config_for, free_port, serving
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Offer
from shop.promo.copy import promo_facts, promo_message, template_message
from shop.promo.offers import new_code, terms_of
from shop.services import grounded, product_answers
from shop.settings import get_settings
from tests.product_questions import HOLDOUT_FILE, SET_FILE, Item, load_items, pick_products, score
from tools.demo.generate import generate_demo_shop


def build_shop(scale: float) -> str:
    folder = Path(tempfile.mkdtemp(prefix="llm-quality-"))
    url = f"sqlite:///{folder / 'shop.db'}"
    upgrade(url)
    as_of = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    with session_scope(url) as session:
        generate_demo_shop(session, seed=7, as_of=as_of, scale=scale, progress=False)
    return url


async def answer(item: Item, products: list, runner: LLMRunner | None) -> grounded.Answer:
    if "compare" in item.expect:
        return await grounded.compare_products(products, item.question, runner=runner)
    return await grounded.answer_product_question(products[0], item.question, runner=runner)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-0.5b-instruct-q4_k_m", help="local model, or 'off'")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--scale", type=float, default=0.2, help="demo shop scale (default 0.2)")
    parser.add_argument("--show-wrong", action="store_true", help="print every wrong or unhelpful answer")
    parser.add_argument("--set", default="tuning", choices=("tuning", "holdout"),
                        help="tuning: the 250 questions answers were developed against; holdout: the 160 blind ones "
                             "(report only, never tune on it)")
    parser.add_argument("--every", type=int, default=1, help="ask every k-th question (a quick spread)")
    parser.add_argument("--promos", type=int, default=0, help="also word N promo messages and report their "
                                                                "verifier pass rates")
    args = parser.parse_args(argv)
    settings = get_settings()
    items = load_items(HOLDOUT_FILE if args.set == "holdout" else SET_FILE)[:: args.every]
    if args.limit:
        items = items[: args.limit]
    print(f"building the demo shop (scale {args.scale}) ...", flush=True)
    url = build_shop(args.scale)
    with session_scope(url) as session:
        asked = [(item, pick_products(session, item)) for item in items]

    runner: LLMRunner | None = None
    with contextlib.ExitStack() as stack:
        if args.model != "off":
            config = config_for(args.model, cache_dir=settings.llm_cache_dir, binary=settings.llm_server_bin,
                                server_url=settings.llm_server_url, port=free_port(), threads=args.threads,
                                slots=1, niceness=0, progress=True)
            base = stack.enter_context(serving(config))
            runner = LLMRunner(OpenAICompatChat(model=args.model, base_url=f"{base}/v1",
                                                max_tokens=settings.llm_max_tokens, timeout_s=300),
                               timeout_s=300, cache_size=0)
        results = asyncio.run(_answer_all(asked, runner))
        promos = asyncio.run(_promos(url, runner, args.promos)) if args.promos else []
    _report(args, asked, results, runner)
    if promos:
        n = len(promos)
        sources = Counter(m.source for m, _, _ in promos)
        times = [t for _, t, _ in promos]
        print(f"\n| promo messages ({n}) | value |\n|---|---|")
        print(f"| verifier pass, first try | {sources['llm'] / n:.0%} |")
        print(f"| verifier pass after the one retry | {sources['llm_retry'] / n:.0%} |")
        print(f"| template | {sources['template'] / n:.0%} |")
        same = sum(1 for m, _, draft in promos if m.source.startswith("llm") and m.text.strip() == draft)
        print(f"| LLM messages that only repeat the template word for word | "
              f"{same / max(1, sources['llm'] + sources['llm_retry']):.0%} |")
        print(f"| time p50 / p95 | {percentile(times, 0.5):.2f} / {percentile(times, 0.95):.2f} s |")
        if args.show_wrong:
            for m, _, _ in promos[:5]:
                print(f"- [{m.source}] {m.text!r} {m.problems[:3]}")
    return 0


async def _promos(url: str, runner: LLMRunner | None, count: int) -> list:
    """Promo messages for opted-in customers, each with an eligible offer and a fresh
    (not stored) code, as the promo engine words them."""
    import random
    from datetime import timedelta

    from sqlalchemy import select


    rng = random.Random(9)
    now = datetime(2026, 11, 1, 12, 0, 0)
    with session_scope(url) as s:
        customers = list(s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                                   .order_by(Customer.id)))
        offers = list(s.scalars(select(Offer).where(Offer.active.is_(True)).order_by(Offer.id)))
        facts = [promo_facts(s, customer_id=cid, terms=terms_of(s, offer), code=new_code(),
                             expires_at=now + timedelta(days=7), offer_id=offer.id)
                 for cid, offer in ((c, rng.choice(offers)) for c in rng.sample(customers, min(count, len(customers))))]
    out = []
    for f in tqdm(facts, desc="promo messages", unit="msg"):
        started = time.perf_counter()
        out.append((await promo_message(f, runner=runner), time.perf_counter() - started, template_message(f)))
    return out


async def _answer_all(asked: list, runner: LLMRunner | None) -> list[tuple[grounded.Answer, float]]:
    out = []
    for item, products in tqdm(asked, desc="questions", unit="q"):
        started = time.perf_counter()
        result = await answer(item, products, runner)
        out.append((result, time.perf_counter() - started))
    return out


def _template(item: Item, products: list) -> str | None:
    if "compare" in item.expect:
        return f"{product_answers.compare_table(products)}\n{product_answers.compare_summary(products, item.question)}"
    return product_answers.answer_question(products[0], item.question)


def _report(args: argparse.Namespace, asked: list, results: list, runner: LLMRunner | None) -> None:
    n = len(results)
    scores = [score(item, products, a.text) for (item, products), (a, _) in zip(asked, results, strict=True)]
    sources = Counter(a.source for a, _ in results)
    times = [t for _, t in results]
    print(f"\nmodel: {args.model}, threads {args.threads}, {n} questions of the {args.set} set")
    print("\n| figure | value |\n|---|---|")
    print(f"| correct | {sum(s.correct for s in scores) / n:.1%} |")
    print(f"| helpful | {sum(s.helpful for s in scores) / n:.1%} |")
    print(f"| correct and helpful | {sum(s.correct and s.helpful for s in scores) / n:.1%} |")
    for source in ("llm", "llm_retry", "template", "unknown"):
        print(f"| answers from {source} | {sources[source] / n:.0%} |")
    asked_llm = [a for a, _ in results if a.source.startswith("llm") or a.problems]
    if runner is not None and asked_llm:
        first = sum(1 for a in asked_llm if a.source == "llm")
        print(f"| verifier first-pass rate (of {len(asked_llm)} LLM answers) | {first / len(asked_llm):.0%} |")
        worded = [(item, products, a) for (item, products), (a, _) in zip(asked, results, strict=True)
                  if a.source.startswith("llm")]
        same = sum(1 for item, products, a in worded if a.text == _template(item, products))
        if worded:
            print(f"| LLM answers that only repeat the template word for word | {same / len(worded):.0%} |")
    print(f"| answer time p50 / p95 | {percentile(times, 0.5):.2f} / {percentile(times, 0.95):.2f} s |")
    if runner is not None and runner.history:
        gens = list(runner.history)
        print(f"| model calls | {len(gens)}, {sum(g.tokens for g in gens)} tokens generated |")
    by_topic: dict[str, list] = defaultdict(list)
    for (item, _), s in zip(asked, scores, strict=True):
        by_topic[item.topic].append(s)
    print("\n| topic | questions | correct | helpful |\n|---|---|---|---|")
    for topic, rows in sorted(by_topic.items()):
        print(f"| {topic} | {len(rows)} | {sum(s.correct for s in rows) / len(rows):.0%} | "
              f"{sum(s.helpful for s in rows) / len(rows):.0%} |")
    if args.show_wrong:
        print()
        for (item, products), (a, _), s in zip(asked, results, scores, strict=True):
            if not (s.correct and s.helpful):
                print(f"- {item.id} [{a.source}] {item.question!r} -> {a.text!r} ({s.why}; "
                      f"{products[0].card.title})")


if __name__ == "__main__":
    raise SystemExit(main())
