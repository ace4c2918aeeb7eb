"""Agent-assist figures on the demo shop, as the staff console gets them (same runner,
prompts, verifier, retry and templates as :mod:`shop.assist.suggested_replies`):

- customer panel time (database reads, recommendations with the served preference
  model, eligible offers);
- summary latency p50/p95 and how often the summary is the LLM's (first try, retry)
  or the template;
- suggestion latency (three suggestions for one handoff, and per draft) p50/p95, the
  verifier's first-pass rate over LLM drafts, the retry pass rate and the template
  fallback rate, with the most common rejection reasons.

Handoffs (``--handoffs``, default 20) are created in a temporary copy of
``var/shop.db`` (``make db``), from ten realistic conversation scenarios filled with
real customers, orders and products: where is my order, cancel, return, refund
status, a recommendation, a discount, an angry late delivery, a double charge, a
bot that did not understand, and an anonymous shopper.

    .venv/actions/bin/python -m bench.assist_suggestions [--handoffs 20] [--model llamacpp/...]

``SHOP_LLM_MODEL`` (or ``--model``) picks the model; default the local Qwen2.5-Coder
1.5B. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.stats import percentile
from shop.assist import suggested_replies as replies
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Order, Return
from shop.handoff.states import record_message, start_handoff
from shop.services.llm import build_runner, local_server
from shop.services.recommendations import get_model_holder
from shop.settings import Settings, get_settings


def _customer_with(session: Session, *, status: str, skip: int) -> tuple[Customer, Order] | None:
    order = session.scalars(select(Order).where(Order.status == status).order_by(Order.placed_at.desc())
                            .offset(skip).limit(1)).first()
    return (order.customer, order) if order is not None else None


def scenarios(session: Session, *, n: int) -> list[tuple[int | None, str, list[tuple[str, str]]]]:
    """``n`` ``(customer_id, reason, [(author, text)])`` conversations."""
    out: list[tuple[int | None, str, list[tuple[str, str]]]] = []
    for i in range(n):
        kind, skip = i % 10, i // 10
        shipped = _customer_with(session, status="shipped", skip=skip)
        processing = _customer_with(session, status="processing", skip=skip)
        delivered = _customer_with(session, status="delivered", skip=skip)
        ret = session.scalars(select(Return).order_by(Return.requested_at.desc()).offset(skip).limit(1)).first()
        if kind == 0 and shipped:
            c, o = shipped
            out.append((c.id, "request", [
                ("shopper", f"hi, where is my order {o.number}?"),
                ("bot", "I can check that. What's the email address on the order?"),
                ("shopper", "it's the one on my account. can I just talk to a person?")]))
        elif kind == 1 and processing:
            c, o = processing
            out.append((c.id, "fallback", [
                ("shopper", f"I need to cancel order {o.number}, I ordered the wrong thing"),
                ("bot", "Sorry, I didn't quite get that. Could you rephrase?"),
                ("shopper", "CANCEL. MY. ORDER."),
                ("bot", "Sorry, I still didn't understand. Let me get a person to help.")]))
        elif kind == 2 and delivered:
            c, o = delivered
            title = o.items[0].title if o.items else "jacket"
            out.append((c.id, "request", [
                ("shopper", f"the {title} is too small, how do I return it?"),
                ("bot", "You can return unworn items within 30 days of delivery for a full refund."),
                ("shopper", "ok but can I swap it for a bigger size instead? talk to someone please")]))
        elif kind == 3 and ret is not None:
            out.append((ret.customer_id, "sentiment", [
                ("shopper", "I sent my return back weeks ago and still no refund"),
                ("bot", "I can look up your return if you tell me the order number."),
                ("shopper", "this is ridiculous, I've asked twice already. where is my money")]))
        elif kind == 4:
            out.append((None, "request", [
                ("shopper", "I need a warm jacket for winter hiking, what do you recommend?"),
                ("bot", "Here are some warm jackets you might like."),
                ("shopper", "hmm none of those really, can a real person help me choose?")]))
        elif kind == 5 and delivered:
            c, _o = delivered
            out.append((c.id, "request", [
                ("shopper", "is there any discount at the moment? the jackets are a bit expensive for me"),
                ("bot", "I can't see a sale on jackets right now."),
                ("shopper", "can I ask a human? I'm a regular customer")]))
        elif kind == 6 and shipped:
            c, o = shipped
            out.append((c.id, "sentiment", [
                ("shopper", f"order {o.number} should have arrived by now"),
                ("bot", "I can check that. What's the email address on the order?"),
                ("shopper", "I already told you, this is terrible, I need it for my trip on friday!!")]))
        elif kind == 7 and delivered:
            c, o = delivered
            out.append((c.id, "topic", [
                ("shopper", f"I think I was charged twice for order {o.number}"),
                ("bot", "I'll connect you with our payments team.")]))
        elif kind == 8:
            out.append((delivered[0].id if delivered else None, "fallback", [
                ("shopper", "the thingy on the strap snapped off, the little plastic clip"),
                ("bot", "Sorry, I didn't quite get that. Could you rephrase?"),
                ("shopper", "the buckle on my backpack broke. what do I do")]))
        else:
            out.append((None, "request", [
                ("shopper", "where's my order? placed it last week"),
                ("bot", "I can check that. What's your order number and the email address on it?"),
                ("shopper", "I don't have the number, I want a person")]))
    return out


async def run(settings: Settings, url: str, *, n: int, now: datetime) -> None:
    runner = build_runner(settings)
    if runner is None:
        raise SystemExit(f"no LLM for {settings.llm_model!r}: run `make llm` or set SHOP_LLM_MODEL")
    holder = get_model_holder(str(settings.recommend_model_dir), settings.recommend_check_s)
    contexts = []
    panel_s: list[float] = []
    with session_scope(url) as s:
        for i, (customer_id, reason, messages) in enumerate(scenarios(s, n=n)):
            handoff = start_handoff(s, sender_id=f"bench-assist-{i}", channel="socketio", reason=reason,
                                    team="support", now=now, customer_id=customer_id)
            for j, (author, text) in enumerate(messages):
                record_message(s, handoff_id=handoff.id, author=author, text=text, now=now + timedelta(seconds=j))
            started = time.perf_counter()
            contexts.append(replies.load_context(s, handoff_id=handoff.id, now=now, holder=holder))
            panel_s.append(time.perf_counter() - started)
    print(f"model {settings.llm_model}, {n} handoffs, runner timeout {settings.llm_timeout_s:.0f}s, "
          f"server threads {settings.llm_threads or os.cpu_count()}\n")
    summary_s: list[float] = []
    suggest_s: list[float] = []
    summaries: Counter[str] = Counter()
    drafts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    examples: list[str] = []
    for k, ctx in enumerate(contexts):
        started = time.perf_counter()
        summary = await replies.summarize(transcript=ctx.transcript, panel=ctx.panel, runner=runner)
        summary_s.append(time.perf_counter() - started)
        summaries[summary.source] += 1
        started = time.perf_counter()
        out = await replies.suggest_replies(transcript=ctx.transcript, panel=ctx.panel, runner=runner,
                                            policies=ctx.policies)
        suggest_s.append(time.perf_counter() - started)
        for x in out:
            drafts[x.source] += 1
            for p in x.problems:
                reasons[p.split(" is not")[0].split(":")[0][:40] if "not in the facts" in p else p[:60]] += 1
        if k < 3:
            examples.append(f"- summary ({summary.source}): {summary.text}\n" +
                            "\n".join(f"  - {x.source}: {x.text}" for x in out))
        print(f"  handoff {k + 1}/{len(contexts)}: summary {summary_s[-1]:.1f}s ({summary.source}), "
              f"suggestions {suggest_s[-1]:.1f}s ({', '.join(x.source for x in out)})", file=sys.stderr)
    total = sum(drafts.values())
    print("| figure | value |\n|---|---|")
    print(f"| customer panel (DB, recommendations, offers), p50 / p95 | {percentile(panel_s, .5) * 1000:.0f} / "
          f"{percentile(panel_s, .95) * 1000:.0f} ms |")
    print(f"| summary latency, p50 / p95 | {percentile(summary_s, .5):.1f} / {percentile(summary_s, .95):.1f} s |")
    print(f"| summary: LLM first try / LLM after retry / template | {summaries['llm']} / {summaries['llm_retry']} / "
          f"{summaries['template']} of {len(summary_s)} |")
    print(f"| 3 suggestions for a handoff, p50 / p95 | {percentile(suggest_s, .5):.1f} / "
          f"{percentile(suggest_s, .95):.1f} s |")
    print(f"| per suggestion (mean) | {sum(suggest_s) / max(1, total):.1f} s |")
    print(f"| suggestions: LLM first try (verifier first-pass) | {drafts['llm']} of {total} "
          f"({drafts['llm'] / max(1, total):.0%}) |")
    print(f"| suggestions: LLM after the retry | {drafts['llm_retry']} ({drafts['llm_retry'] / max(1, total):.0%}) |")
    print(f"| suggestions: template fallback | {drafts['template']} ({drafts['template'] / max(1, total):.0%}) |")
    print(f"| LLM calls, mean seconds per call | {len(runner.history)}, "
          f"{sum(g.seconds for g in runner.history) / max(1, len(runner.history)):.1f} s |")
    print("\nMost common rejection reasons: " + "; ".join(f"{r} ({n})" for r, n in reasons.most_common(6)))
    print("\nExamples:\n" + "\n".join(examples))
    runner.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handoffs", type=int, default=20)
    parser.add_argument("--model", default=None, help="provider/model (default: SHOP_LLM_MODEL)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.model:
        settings = settings.model_copy(update={"llm_model": args.model})
    source = settings.database_url.removeprefix("sqlite:///") if settings.database_url.startswith("sqlite:///") else ""
    if not source or not Path(source).exists():
        raise SystemExit("needs the demo shop in SQLite: run `make db`")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "shop.db"
        shutil.copyfile(source, copy)
        upgrade(f"sqlite:///{copy}")  # the copy gets the handoff tables if the demo DB predates them
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        with local_server(settings):  # the model's own server, unless one already answers
            asyncio.run(run(settings, f"sqlite:///{copy}", n=args.handoffs, now=now))


if __name__ == "__main__":
    main()
