"""The dashboard and the review list as CSV, safe to open in a spreadsheet: a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
``'`` so it is never read as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from shop.analytics.figures import ConversationSummary, Dashboard, Rate

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as a CSV cell, defused when it would start a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _write(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def _rate(section: str, name: str, rate: Rate) -> list[object]:
    value = rate.value
    return [section, name, "" if value is None else f"{value:.4f}", rate.numerator, rate.denominator]


def _number(value: float | Decimal | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, Decimal) else f"{value:.2f}"


def dashboard_csv(d: Dashboard) -> str:
    """Every figure of ``d``, one a row: ``section, name, value, numerator, denominator``
    (rates: value to 4 places with their parts; counts and money: the value alone)."""
    f = d.filters
    rows: list[list[object]] = [["section", "name", "value", "numerator", "denominator"],
                                ["filters", "start", f.start], ["filters", "end", f.end],
                                ["filters", "channel", f.channel or "all"],
                                ["summary", "conversations", d.conversations],
                                _rate("summary", "containment", d.containment),
                                _rate("summary", "fallback_rate", d.fallback_rate),
                                _rate("summary", "handoff_rate", d.handoff_rate),
                                ["summary", "handoff_wait_p50_s", _number(d.handoff_wait_p50_s)],
                                ["summary", "handoff_wait_p95_s", _number(d.handoff_wait_p95_s)],
                                ["summary", "csat_average", _number(d.csat_average)],
                                _rate("summary", "csat_satisfied", d.csat_satisfied),
                                _rate("summary", "search_zero_results", d.search_zero_results),
                                _rate("summary", "llm_answer_rate", d.llm_answer_rate)]
    r = d.recommendations
    rows += [["recommendations", "impressions", r.impressions], ["recommendations", "clicks", r.clicks],
             ["recommendations", "add_to_cart", r.add_to_cart], ["recommendations", "orders", r.orders],
             ["recommendations", "revenue", _number(r.revenue)], _rate("recommendations", "ctr", r.ctr),
             _rate("recommendations", "conversion", r.conversion)]
    for arm in d.promo:
        rows += [[f"promo {arm.arm}", name, value] for name, value in (
            ("conversations", arm.conversations), ("shown", arm.shown), ("redeemed", arm.redeemed),
            ("orders", arm.orders), ("revenue", _number(arm.revenue)))]
    rows += [["top_intent", intent, count] for intent, count in d.top_intents]
    rows += [["unanswered", text, count] for text, count in d.unanswered]
    for day in d.days:
        rows += [[f"day {day.day.isoformat()}", name, value] for name, value in (
            ("conversations", day.conversations), ("contained", day.contained), ("fallbacks", day.fallbacks),
            ("handoffs", day.handoffs), ("csat_average", _number(day.csat_average)))]
    return _write(rows)


def conversations_csv(rows: Iterable[ConversationSummary]) -> str:
    """The review list: ``conversation_id, channel, started_at, turns, contained, first_message``."""
    return _write([["conversation_id", "channel", "started_at", "turns", "contained", "first_message"],
                   *([r.conversation_id, r.channel, r.started_at, r.turns, "yes" if r.contained else "no",
                      r.first_message] for r in rows)])


def _pct(rate: Rate) -> str:
    value = rate.value
    return f"{rate.numerator}/{rate.denominator}" + ("" if value is None else f" ({value:.1%})")


def dashboard_text(d: Dashboard) -> str:
    """The figures of ``d`` as lines of plain text (the ``analytics report`` command and
    the simulated week)."""
    f, r = d.filters, d.recommendations
    wait = ("-" if d.handoff_wait_p50_s is None else
            f"p50 {d.handoff_wait_p50_s:.0f} s, p95 {d.handoff_wait_p95_s or 0:.0f} s ({d.handoffs_accepted} accepted)")
    lines = [f"Analytics {f.start} to {f.end}, channel {f.channel or 'all'}",
             f"  conversations         {d.conversations}",
             f"  containment           {_pct(d.containment)}",
             f"  fallback rate         {_pct(d.fallback_rate)}",
             f"  handoff rate          {_pct(d.handoff_rate)}",
             f"  handoff wait          {wait}",
             f"  CSAT                  average {_number(d.csat_average) or '-'} of {d.csat_ratings} ratings, "
             f"satisfied {_pct(d.csat_satisfied)}",
             f"  search zero results   {_pct(d.search_zero_results)}",
             f"  LLM answer rate       {_pct(d.llm_answer_rate)}",
             f"  recommendations       {r.impressions} shown -> {r.clicks} clicked -> {r.add_to_cart} to cart -> "
             f"{r.orders} orders, {r.revenue} revenue (CTR {_pct(r.ctr)}, conversion {_pct(r.conversion)})"]
    lines += [f"  promo {a.arm:<10}      {a.conversations} conversations, {a.shown} shown, {a.redeemed} redeemed, "
              f"{a.orders} orders, {a.revenue} revenue" for a in d.promo]
    lines.append("  top intents           " + (", ".join(f"{i} {n}" for i, n in d.top_intents) or "-"))
    lines.append("  unanswered            " + ("; ".join(f"{t!r} x{n}" for t, n in d.unanswered[:5]) or "-"))
    for day in d.days:
        csat = _number(day.csat_average) or "-"
        lines.append(f"  {day.day}            {day.conversations} conversations, {day.contained} contained, "
                     f"{day.fallbacks} with a fallback, {day.handoffs} handed off, CSAT {csat}")
    return "\n".join(lines)
