"""The A/B report: per arm and against control, from logged offer decisions.

For each arm (offer key, or ``control``) of the decisions whose outcome is known:
offers shown, redemption rate, conversion, revenue per customer, and incremental
conversion (arm minus control) with a 95% confidence interval (normal approximation
of a difference of two proportions). :func:`attribute_outcomes` fills outcomes in
from orders once a decision's attribution window has closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from shop.db.schema import OfferCode, OfferEvent, Order

Z95 = 1.959964
ATTRIBUTION_DAYS = 14


@dataclass(frozen=True)
class ArmRow:
    """One line of the report (rates in 0..1, money in cents)."""

    arm: str
    shown: int
    redemption_rate: float
    conversion: float
    revenue_per_customer_cents: float
    incremental: float | None
    ci_low: float | None
    ci_high: float | None


def attribute_outcomes(session: Session, *, now: datetime, days: int = ATTRIBUTION_DAYS) -> int:
    """Set ``converted``/``redeemed``/``revenue_cents`` on decisions older than ``days``
    from the customer's orders in the ``days`` after them; returns how many were set."""
    done = 0
    cutoff = now - timedelta(days=days)
    for event in session.scalars(select(OfferEvent).where(OfferEvent.converted.is_(None),
                                                          OfferEvent.shown_at <= cutoff)):
        end = event.shown_at + timedelta(days=days)
        revenue = session.scalar(select(func.coalesce(func.sum(Order.total_cents), 0)).where(
            Order.customer_id == event.customer_id, Order.placed_at >= event.shown_at, Order.placed_at < end,
            Order.status != "cancelled"))
        event.revenue_cents = int(revenue or 0)
        event.converted = event.revenue_cents > 0
        event.redeemed = bool(event.code_id and session.scalar(
            select(OfferCode.redeemed_at).where(OfferCode.id == event.code_id)))
        done += 1
    session.flush()
    return done


def ab_report(session: Session, *, policy: str | None = None, since: datetime | None = None) -> list[ArmRow]:
    """Rows for every arm with known outcomes, control first (see module docstring)."""
    stmt = select(OfferEvent.arm, func.count(), func.sum(cast(OfferEvent.converted, Integer)),
                  func.sum(cast(OfferEvent.redeemed, Integer)), func.sum(OfferEvent.revenue_cents)
                  ).where(OfferEvent.converted.is_not(None)).group_by(OfferEvent.arm)
    if policy:
        stmt = stmt.where(OfferEvent.policy == policy)
    if since:
        stmt = stmt.where(OfferEvent.shown_at >= since)
    stats = {arm: (int(n), int(conv or 0), int(red or 0), int(rev or 0))
             for arm, n, conv, red, rev in session.execute(stmt)}
    control = stats.get("control")
    rows = []
    for arm in sorted(stats, key=lambda a: (a != "control", a)):
        n, conv, red, rev = stats[arm]
        rate = conv / n
        inc = low = high = None
        if control and arm != "control":
            n0, c0 = control[0], control[1]
            p0 = c0 / n0
            inc = rate - p0
            se = math.sqrt(rate * (1 - rate) / n + p0 * (1 - p0) / n0)
            low, high = inc - Z95 * se, inc + Z95 * se
        rows.append(ArmRow(arm, n, red / n, rate, rev / n, inc, low, high))
    return rows


def format_report(rows: list[ArmRow]) -> str:
    """The report as a Markdown table."""
    lines = ["| arm | shown | redeemed | conversion | revenue / customer | incremental conversion (95% CI) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        inc = "—" if r.incremental is None else f"{r.incremental:+.1%} ({r.ci_low:+.1%} to {r.ci_high:+.1%})"
        lines.append(f"| {r.arm} | {r.shown} | {r.redemption_rate:.1%} | {r.conversion:.1%} | "
                     f"${r.revenue_per_customer_cents / 100:.2f} | {inc} |")
    return "\n".join(lines)
