"""LLM answer figures on the demo shop, as the action server produces them (same
runner, prompts, verifier and template fallbacks):

- tokens/s and time to answer (p50/p95, retries included) of the chat model;
- verifier pass rate on the first try, after the retry, and the fallback rate, over
  product questions built from the catalog;
- grounded accuracy of the final answers, checked against the database by rules
  (the price, material, weight, rating, a yes/no on features, sizes and uses);
- verifier pass and fallback rates of promo messages (code, discount, price and
  expiry required, no other number);
- the latency of a non-LLM service call (a hybrid product search, run the way actions
  run it) idle and while 4 LLM answers are in flight, as a ratio from one run.

    .venv/actions/bin/python bench/llm_answers.py [--model llamacpp/...] [--questions 100]

Needs ``make db index llm``. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.turn_latency import percentile  # noqa: E402
from shop.db.engine import session_scope  # noqa: E402
from shop.db.schema import Product  # noqa: E402
from shop.services import grounded  # noqa: E402
from shop.services.catalog import ProductDetails, product_details  # noqa: E402
from shop.services.llm import build_runner  # noqa: E402
from shop.services.search import SearchQuery, get_search_backend  # noqa: E402
from shop.settings import get_settings  # noqa: E402

Check = Callable[[str], bool]
NEGATIVE = re.compile(r"\b(no|not|doesn't|does not|isn't|is not|don't|aren't|wouldn't|sold out|out of stock)\b", re.I)


def _yes(text: str) -> bool:
    return bool(re.search(r"\byes\b", text, re.I)) or not NEGATIVE.search(text)


def _number(text: str, value: float) -> bool:
    return any(abs(float(n.replace(",", "")) - value) < 0.011 for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text))


def questions_for(d: ProductDetails) -> list[tuple[str, str, Check]]:
    """``(kind, question, check)`` for the facts this product has."""
    attrs = d.attributes
    feats = " ".join(str(f).lower() for f in attrs.get("features", []) or [])
    out: list[tuple[str, str, Check]] = [
        ("price", "How much does it cost?", lambda t, p=d.card.price_cents / 100: _number(t, p)),
        ("waterproof", "Is it waterproof?",
         (lambda t: _yes(t)) if "waterproof" in feats else (lambda t: bool(NEGATIVE.search(t)))),
    ]
    if attrs.get("material"):
        out.append(("material", "What is it made of?", lambda t, m=str(attrs["material"]).lower(): m in t.lower()))
    if attrs.get("weight_g"):
        out.append(("weight", "How heavy is it?", lambda t, w=float(attrs["weight_g"]): _number(t, w)))
    if d.card.rating:
        out.append(("rating", "How well is it rated?", lambda t, r=round(d.card.rating, 1): _number(t, r)))
    sizes = {(s or "").upper() for s, _, n in d.stock if n > 0}
    if "M" in sizes:
        out.append(("size", "Do you have it in size M?", _yes))
    uses = [str(u) for u in attrs.get("use_cases", []) or []]
    if uses:
        out.append(("use", f"Is it good for {uses[0]}?", _yes))
    return out


def raw_speed(settings, threads: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """``(prompt tokens/s, generated tokens/s)`` of the local model with ``threads``:
    a ~400-token prompt with one token out, then a short prompt with 96 tokens out."""
    from langchain_core.messages import HumanMessage

    from models.llm.chat import LlamaCppChat

    runner = build_runner(settings.model_copy(update={"llm_threads": threads}))
    if runner is None or not isinstance(runner.model, LlamaCppChat):
        return 0.0, 0.0
    model = runner.model
    long_prompt = [HumanMessage(content="Summarise: " + "The jacket is waterproof and warm. " * 55)]
    short = [HumanMessage(content="Write a long paragraph about hiking boots.")]
    model.generate([short], max_tokens=4)  # load and warm up
    started = time.perf_counter()
    out = model.generate([long_prompt], max_tokens=1)
    prefill_s = time.perf_counter() - started
    prompt_tokens = int(((out.generations[0][0].generation_info or {}).get("usage") or {}).get("prompt_tokens") or 0)
    started = time.perf_counter()
    out = model.generate([short], max_tokens=96)
    decode_s = time.perf_counter() - started
    made = int(((out.generations[0][0].generation_info or {}).get("usage") or {}).get("completion_tokens") or 96)
    runner.close()
    return prompt_tokens / prefill_s, made / decode_s


def promo_figures(settings, runner, count: int) -> None:  # type: ignore[no-untyped-def]
    """Verifier pass and fallback rates of promo messages for opted-in customers, each
    with a random eligible offer and a fresh (not stored) code: read-only on the shop."""
    from datetime import datetime, timedelta, timezone

    from shop.db.schema import Customer, Offer
    from shop.promo.copy import check_message, promo_facts, promo_message
    from shop.promo.offers import new_code, terms_of

    rng = random.Random(9)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with session_scope(settings.database_url) as s:
        customers = list(s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True)).order_by(Customer.id)))
        offers = list(s.scalars(select(Offer).where(Offer.active.is_(True)).order_by(Offer.id)))
        if not offers:
            print("\nno offers in the shop: regenerate the demo shop for promo figures")
            return
        facts = []
        for cid in rng.sample(customers, min(count, len(customers))):
            offer = rng.choice(offers)
            facts.append(promo_facts(s, customer_id=cid, terms=terms_of(s, offer), code=new_code(),
                                     expires_at=now + timedelta(days=7), offer_id=offer.id))

    async def word_all() -> list:
        out = []
        for f in facts:
            started = time.perf_counter()
            out.append((await promo_message(f, runner=runner), time.perf_counter() - started, f))
        return out

    results = asyncio.run(word_all())
    sources = Counter(m.source for m, _, _ in results)
    n = len(results)
    sent_ok = sum(1 for m, _, f in results if not check_message(m.text, f))
    times = [t for _, t, _ in results]
    print(f"\n| promo messages ({n}) | value |\n|---|---|")
    print(f"| verifier pass, first try (no fallback) | {sources['llm'] / n:.0%} |")
    print(f"| verifier pass after the one retry | {sources['llm_retry'] / n:.0%} |")
    print(f"| fallback to the template | {sources['template'] / n:.0%} |")
    print(f"| messages sent with every term exact and nothing else (LLM or template) | {sent_ok / n:.0%} |")
    print(f"| time to message p50 / p95 | {percentile(times, 0.5):.1f} / {percentile(times, 0.95):.1f} s |")
    problems = Counter(("missing " + p.split("must state ")[1]) if "must state" in p else p.split(" is not")[0]
                       for m, _, _ in results for p in m.problems)
    missing = Counter(p.split("must state ")[1] == f.price for m, _, f in results for p in m.problems
                      if "must state" in p)
    if missing:
        print(f"\nrejections for a missing term: {sum(missing.values())}, of which the price: {missing[True]}")
    if problems:
        print("\nmost common rejections: " + "; ".join(f"{k} ({v})" for k, v in problems.most_common(5)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="provider/model (default: SHOP_LLM_MODEL)")
    parser.add_argument("--questions", type=int, default=100, help="product questions (default 100)")
    parser.add_argument("--threads", type=int, default=0, help="LLM threads (default: settings)")
    parser.add_argument("--promos", type=int, default=50, help="promo messages (default 50)")
    args = parser.parse_args()
    settings = get_settings()
    overrides = {k: v for k, v in (("llm_model", args.model), ("llm_threads", args.threads or None)) if v}
    settings = settings.model_copy(update=overrides)
    runner = build_runner(settings)
    if runner is None:
        print(f"LLM {settings.llm_model} unavailable: run `make llm`", file=sys.stderr)
        return 1
    runner.timeout_s = 300  # measure the model, not the timeout
    rng = random.Random(5)
    with session_scope(settings.database_url) as s:
        ids = list(s.scalars(select(Product.id).where(Product.is_active.is_(True))))
        rng.shuffle(ids)
        items = [product_details(s, product_id=i) for i in ids[: args.questions]]
    asked: list[tuple[str, str, Check, ProductDetails]] = []
    for d in items:
        kinds = questions_for(d)
        kind, question, check = kinds[len(asked) % len(kinds)]
        asked.append((kind, question, check, d))
        if len(asked) >= args.questions:
            break
    print(f"model {settings.llm_model}, {runner.model.__class__.__name__}, threads "
          f"{settings.llm_threads or max(1, (os.cpu_count() or 2) - 1)}, {len(asked)} questions", flush=True)

    async def answer_all() -> list[tuple[str, grounded.Answer, float, bool]]:
        out = []
        for i, (kind, question, check, d) in enumerate(asked, start=1):
            started = time.perf_counter()
            answer = await grounded.answer_product_question(d, question, runner=runner)
            seconds = time.perf_counter() - started
            out.append((kind, answer, seconds, bool(answer.text) and check(answer.text or "")))
            if i % 10 == 0:
                print(f"  {i}/{len(asked)} answered", flush=True)
        return out

    speeds = [(threads, *raw_speed(settings, threads)) for threads in (1, 2)]
    results = asyncio.run(answer_all())
    gens = list(runner.history)
    tokens = sum(g.tokens for g in gens)
    model_s = sum(g.seconds for g in gens)
    times = [r[2] for r in results]
    sources = Counter(r[1].source for r in results)
    n = len(results)
    print("\n| figure | value |\n|---|---|")
    for threads, prefill, decode in speeds:
        if decode:
            print(f"| raw speed, {threads} thread(s) | prompt {prefill:.0f} tokens/s, generation {decode:.1f} tokens/s |")
    print(f"| answers generated | {tokens} tokens in {len(gens)} calls, {model_s:.0f} s of model time "
          f"(prompt processing included) |")
    print(f"| time to answer p50 / p95 (retries included) | {percentile(times, 0.5):.1f} / {percentile(times, 0.95):.1f} s |")
    print(f"| verifier pass, first try (no fallback) | {sources['llm'] / n:.0%} |")
    print(f"| verifier pass after the one retry | {sources['llm_retry'] / n:.0%} |")
    print(f"| fallback to the template | {sources['template'] / n:.0%} |")
    print(f"| \"I don't know\" | {sources['unknown'] / n:.0%} |")
    print(f"| grounded accuracy, all final answers (rules vs the DB) | {sum(r[3] for r in results) / n:.0%} |")
    llm_only = [r for r in results if r[1].source.startswith("llm")]
    if llm_only:
        print(f"| grounded accuracy, answers worded by the LLM | {sum(r[3] for r in llm_only) / len(llm_only):.0%} "
              f"({len(llm_only)}) |")
    by_kind = Counter(r[0] for r in results)
    right = Counter(r[0] for r in results if r[3])
    print("\n| question kind | asked | right |\n|---|---|---|")
    for kind, count in sorted(by_kind.items()):
        print(f"| {kind} | {count} | {right[kind] / count:.0%} |")

    promo_figures(settings, runner, args.promos)

    # non-LLM latency idle and with 4 LLM answers in flight
    backend = get_search_backend(settings.search_backend)
    queries = ["warm jacket for hiking", "waterproof boots", "merino socks", "tent for two", "rain pants"]

    def search_once(i: int) -> float:
        started = time.perf_counter()
        with session_scope(settings.database_url) as s:
            backend.search(s, SearchQuery(text=queries[i % len(queries)], limit=5))
        return (time.perf_counter() - started) * 1000

    async def measure(calls: int, busy: bool) -> list[float]:
        loop = asyncio.get_running_loop()
        pending = []
        if busy:
            fresh = [(q, d) for (_, q, _, d) in asked[:4]]
            pending = [asyncio.create_task(grounded.answer_product_question(
                d, f"{q} Please answer briefly, case {k}.", runner=runner)) for k, (q, d) in enumerate(fresh)]
            await asyncio.sleep(0.5)
        out = []
        for i in range(calls):
            out.append(await loop.run_in_executor(None, search_once, i))
            await asyncio.sleep(0.05)
            if busy and all(t.done() for t in pending):
                break
        for task in pending:
            await task
        return out

    search_once(0)
    idle = asyncio.run(measure(60, busy=False))
    loaded = asyncio.run(measure(60, busy=True))
    print("\n| non-LLM search call | p50 | p95 | calls |\n|---|---|---|---|")
    print(f"| idle | {percentile(idle, 0.5):.1f} ms | {percentile(idle, 0.95):.1f} ms | {len(idle)} |")
    print(f"| 4 LLM answers in flight | {percentile(loaded, 0.5):.1f} ms | {percentile(loaded, 0.95):.1f} ms | {len(loaded)} |")
    print(f"| ratio loaded / idle | {percentile(loaded, 0.5) / percentile(idle, 0.5):.2f}x | "
          f"{percentile(loaded, 0.95) / percentile(idle, 0.95):.2f}x | |")
    runner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
