"""The dashboard's figures (:class:`shop.analytics.figures.Dashboard`) as what the page
shows: headline cards, the funnel, the promo arms, the tables and the charts, every
number already written out (percentages with their parts, waits in minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.console.charts import Chart, FunnelBar, conversations_chart, csat_chart, every_day, funnel_bars, rates_chart
from shop.analytics.figures import Dashboard, PromoArm, Rate

NONE = "—"
MAX_TEXT = 200


@dataclass(frozen=True)
class Card:
    key: str  # data-testid suffix
    label: str
    value: str
    detail: str


def pct(rate: Rate) -> str:
    """``"62.5 %"``, or ``"—"`` when nothing was counted."""
    value = rate.value
    return NONE if value is None else f"{value * 100:.1f} %"


def parts(rate: Rate, noun: str = "") -> str:
    return f"{rate.numerator:,} of {rate.denominator:,}{' ' + noun if noun else ''}"


def duration(seconds: float | None) -> str:
    """``"45 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``; ``"—"`` for ``None``."""
    if seconds is None:
        return NONE
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def cards(d: Dashboard) -> list[Card]:
    """The headline figures, in the order the page shows them."""
    csat = NONE if d.csat_average is None else f"{d.csat_average:.2f} / 5"
    ratings = d.csat_ratings or d.csat_satisfied.denominator
    return [
        Card("conversations", "Conversations", f"{d.conversations:,}", "started in the range"),
        Card("containment", "Containment", pct(d.containment), parts(d.containment, "resolved by the bot")),
        Card("fallback", "Fallback rate", pct(d.fallback_rate), parts(d.fallback_rate, "hit a fallback")),
        Card("handoff", "Handoff rate", pct(d.handoff_rate), parts(d.handoff_rate, "asked for a person")),
        Card("wait", "Handoff wait", duration(d.handoff_wait_p50_s),
             f"median; p95 {duration(d.handoff_wait_p95_s)}"),
        Card("csat", "CSAT", csat, f"{ratings:,} ratings; {pct(d.csat_satisfied)} gave 4 or 5"),
        Card("zero-results", "Searches with no results", pct(d.search_zero_results),
             parts(d.search_zero_results, "searches")),
        Card("llm", "LLM answer rate", pct(d.llm_answer_rate),
             parts(d.llm_answer_rate, "answers worded by the LLM, the rest by templates")),
    ]


@dataclass(frozen=True)
class ArmRow:
    arm: str
    conversations: str
    shown: str
    redeemed: str
    redemption: str  # redeemed / shown
    orders: str
    order_rate: str  # orders / conversations
    revenue: str
    revenue_per_conversation: str


def arm_row(arm: PromoArm) -> ArmRow:
    per = arm.revenue / arm.conversations if arm.conversations else None
    return ArmRow(arm=arm.arm, conversations=f"{arm.conversations:,}", shown=f"{arm.shown:,}",
                  redeemed=f"{arm.redeemed:,}", redemption=pct(Rate(arm.redeemed, arm.shown)),
                  orders=f"{arm.orders:,}", order_rate=pct(Rate(arm.orders, arm.conversations)),
                  revenue=money(arm.revenue), revenue_per_conversation=NONE if per is None else money(per))


def uplift(arms: list[PromoArm]) -> str:
    """Treatment's orders per conversation minus control's, in percentage points; ``""``
    when either arm is missing or empty."""
    by_arm = {a.arm: a for a in arms}
    treatment, control = by_arm.get("treatment"), by_arm.get("control")
    if not treatment or not control or not treatment.conversations or not control.conversations:
        return ""
    diff = (treatment.orders / treatment.conversations - control.orders / control.conversations) * 100
    return f"{diff:+.1f} percentage points of orders per conversation, treatment against control"


def dashboard_view(d: Dashboard) -> dict[str, Any]:
    """What ``dashboard.html`` renders, besides the filters."""
    days = every_day(d.days, start=d.filters.start, end=d.filters.end)
    funnel = d.recommendations
    bars: list[FunnelBar] = funnel_bars([("Impressions", funnel.impressions), ("Clicks", funnel.clicks),
                                         ("Add to cart", funnel.add_to_cart), ("Orders", funnel.orders)])
    charts: list[Chart] = [conversations_chart(days), rates_chart(days), csat_chart(days)]
    return {
        "cards": cards(d),
        "charts": charts,
        "days": days,
        "funnel": bars,
        "funnel_ctr": pct(funnel.ctr), "funnel_ctr_parts": parts(funnel.ctr),
        "funnel_conversion": pct(funnel.conversion), "funnel_conversion_parts": parts(funnel.conversion),
        "funnel_revenue": money(funnel.revenue),
        "arms": [arm_row(a) for a in d.promo] if any(a.conversations for a in d.promo) else [],
        "uplift": uplift(d.promo),
        "top_intents": [(name, f"{count:,}") for name, count in d.top_intents],
        "unanswered": [(short(text), f"{count:,}") for text, count in d.unanswered],
    }
