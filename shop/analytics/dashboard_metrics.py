"""The dashboard's figures (:class:`shop.analytics.figures.Dashboard`), computed in SQL
over the analytics tables and the shop's own (handoffs, CSAT ratings, recommendation
impressions, interactions, order attributions, offer decisions, orders).

Every figure counts the conversations *started* in the filter's days on its channel
(:func:`conversations_in`; conversations with no shopper message are not
conversations) and what belongs to them: a handoff, rating, impression, click, order
or offer decision belongs to a conversation when it is its sender's (its ``sender_id``,
``conversation``, ``session_id``, ``conversation_id``; or, for offer decisions, its
verified customer) and happened in ``[started_at, until_at)`` (offer decisions, joined
by customer across senders: between the conversation's first and last event). The exact definitions
are in docs/operations.md#analytics. Module name: not ``metrics.py`` (one source file
name per project: ``models/recsys/metrics.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from shop.analytics.figures import Dashboard, Day, Filters, Funnel, PromoArm, Rate
from shop.db.analytics_tables import AnalyticsConversation, AnalyticsTurn
from shop.db.schema import (
    CsatRating,
    Handoff,
    Interaction,
    OfferCode,
    OfferEvent,
    Order,
    OrderAttribution,
    OrderLineAttribution,
    RecommendationImpression,
)

TOP_INTENTS = 10
TOP_UNANSWERED = 20
SATISFIED_FROM = 4
FALLBACK_INTENT = "nlu_fallback"
CANCELLED = "cancelled"
CONTROL_ARM = "control"
ARMS = ("treatment", "control")


def day_bounds(filters: Filters) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` as naive UTC datetimes."""
    return datetime.combine(filters.start, time()), datetime.combine(filters.end + timedelta(days=1), time())


def conversations_in(filters: Filters) -> CTE:
    """The conversations the figures count: started in the filter's days, on its
    channel, with at least one shopper message; with ``handed`` (a handoff was
    requested in it) and ``contained`` (no handoff and no unresolved fallback)."""
    c = AnalyticsConversation
    low, high = day_bounds(filters)
    handed = exists().where(Handoff.sender_id == c.sender_id, Handoff.created_at >= c.started_at,
                            or_(c.until_at.is_(None), Handoff.created_at < c.until_at))
    stmt = select(c.id, c.sender_id, c.customer_id, c.started_at, c.last_event_at, c.until_at, c.fallback_turns,
                  c.searches,
                  c.zero_result_searches, c.llm_answers, c.template_answers,
                  func.date(c.started_at).label("day"),
                  case((handed, 1), else_=0).label("handed"),
                  case((and_(not_(handed), c.unresolved_fallback.is_(False)), 1), else_=0).label("contained"),
                  ).where(c.turns > 0, c.started_at >= low, c.started_at < high)
    if filters.channel is not None:
        stmt = stmt.where(c.channel == filters.channel)
    return stmt.cte("conv")


def within(conv: CTE, at: Any) -> ColumnElement[bool]:
    """``at`` falls in the conversation's ``[started_at, until_at)``."""
    return and_(at >= conv.c.started_at, or_(conv.c.until_at.is_(None), at < conv.c.until_at))


def _day(value: object) -> date:
    """SQLite's ``date()`` gives text, PostgreSQL's a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _money(cents: object) -> Decimal:
    return (Decimal(_int(cents)) / 100).quantize(Decimal("0.01"))


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p`` quantile (0..1) by linear interpolation between the closest ranks
    (PostgreSQL's ``percentile_cont``); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _per_day(session: Session, conv: CTE) -> dict[date, dict[str, int]]:
    rows = session.execute(select(
        conv.c.day, func.count(), func.sum(conv.c.contained),
        func.sum(case((conv.c.fallback_turns > 0, 1), else_=0)), func.sum(conv.c.handed),
        func.sum(conv.c.searches), func.sum(conv.c.zero_result_searches), func.sum(conv.c.llm_answers),
        func.sum(conv.c.template_answers)).group_by(conv.c.day))
    names = ("conversations", "contained", "fallbacks", "handoffs", "searches", "zero", "llm", "template")
    return {_day(row[0]): dict(zip(names, (_int(v) for v in row[1:]), strict=True)) for row in rows}


def _csat_per_day(session: Session, conv: CTE) -> dict[date, tuple[int, int, int]]:
    """day -> (ratings, sum of scores, ratings of 4-5)."""
    rows = session.execute(
        select(conv.c.day, func.count(CsatRating.id), func.sum(CsatRating.score),
               func.sum(case((CsatRating.score >= SATISFIED_FROM, 1), else_=0)))
        .select_from(conv)
        .join(CsatRating, and_(CsatRating.conversation == conv.c.sender_id, within(conv, CsatRating.at)))
        .group_by(conv.c.day))
    return {_day(d): (_int(n), _int(total), _int(happy)) for d, n, total, happy in rows}


def _handoff_waits(session: Session, conv: CTE) -> list[float]:
    rows = session.execute(
        select(Handoff.created_at, Handoff.accepted_at).select_from(conv)
        .join(Handoff, and_(Handoff.sender_id == conv.c.sender_id, within(conv, Handoff.created_at)))
        .where(Handoff.accepted_at.is_not(None)))
    return [max((accepted - created).total_seconds(), 0.0) for created, accepted in rows if accepted is not None]


def _top_intents(session: Session, conv: CTE) -> list[tuple[str, int]]:
    n = func.count().label("n")
    rows = session.execute(
        select(AnalyticsTurn.intent, n).join(conv, AnalyticsTurn.conversation_pk == conv.c.id)
        .where(AnalyticsTurn.intent.is_not(None), AnalyticsTurn.intent != FALLBACK_INTENT)
        .group_by(AnalyticsTurn.intent).order_by(n.desc(), AnalyticsTurn.intent).limit(TOP_INTENTS))
    return [(str(intent), int(count)) for intent, count in rows]


def _unanswered(session: Session, conv: CTE) -> list[tuple[str, int]]:
    n = func.count().label("n")
    rows = session.execute(
        select(AnalyticsTurn.text, n).join(conv, AnalyticsTurn.conversation_pk == conv.c.id)
        .where(AnalyticsTurn.fell_back.is_(True), AnalyticsTurn.button.is_(False), AnalyticsTurn.text != "")
        .group_by(AnalyticsTurn.text).order_by(n.desc(), AnalyticsTurn.text).limit(TOP_UNANSWERED))
    return [(str(text), int(count)) for text, count in rows]


def _credited(session: Session, conv: CTE, kind: str) -> int:
    """Impressions credited with at least one ``kind`` interaction: each click (or
    add-to-cart) of the conversation is credited to the latest impression of that
    product in the conversation at or before it."""
    r = RecommendationImpression.__table__.alias("r")
    latest = (select(r.c.id).where(r.c.session_id == conv.c.sender_id, r.c.product_id == Interaction.product_id,
                                   r.c.at <= Interaction.at, r.c.at >= conv.c.started_at)
              .order_by(r.c.at.desc(), r.c.id.desc()).limit(1).correlate(conv, Interaction).scalar_subquery())
    touches = (select(latest.label("credited")).select_from(conv)
               .join(Interaction, and_(Interaction.session_id == conv.c.sender_id, Interaction.kind == kind,
                                       within(conv, Interaction.at))).subquery())
    return _int(session.scalar(select(func.count(distinct(touches.c.credited)))))


def _funnel(session: Session, conv: CTE) -> Funnel:
    imp = (select(RecommendationImpression.id).select_from(conv)
           .join(RecommendationImpression, and_(RecommendationImpression.session_id == conv.c.sender_id,
                                                within(conv, RecommendationImpression.at))).subquery())
    impressions = _int(session.scalar(select(func.count()).select_from(imp)))
    clicks = _credited(session, conv, "click")
    carts = _credited(session, conv, "add_to_cart")
    orders, revenue = session.execute(
        select(func.count(distinct(OrderLineAttribution.order_id)), func.sum(OrderLineAttribution.revenue_cents))
        .join(imp, OrderLineAttribution.impression_id == imp.c.id)
        .join(Order, Order.id == OrderLineAttribution.order_id).where(Order.status != CANCELLED)).one()
    return Funnel(impressions=impressions, clicks=clicks, add_to_cart=carts, orders=_int(orders),
                  revenue=_money(revenue), ctr=Rate(clicks, impressions), conversion=Rate(_int(orders), impressions))


def _promo(session: Session, conv: CTE) -> list[PromoArm]:
    arm = case((OfferEvent.offer_id.is_(None), literal(CONTROL_ARM)), else_=literal("treatment")).label("arm")
    decisions = (select(OfferEvent.id.label("event_id"), OfferEvent.code_id, arm, conv.c.id.label("conv_id"),
                        conv.c.sender_id, conv.c.started_at, conv.c.until_at).select_from(conv)
                 .join(OfferEvent, and_(OfferEvent.customer_id == conv.c.customer_id,
                                        OfferEvent.shown_at >= conv.c.started_at,
                                        OfferEvent.shown_at <= conv.c.last_event_at)).subquery())
    figures: dict[str, dict[str, Any]] = {a: {"conversations": 0, "shown": 0, "redeemed": 0, "orders": 0,
                                              "revenue": Decimal("0.00")} for a in ARMS}
    redeemed = case((OfferCode.redeemed_at.is_not(None), decisions.c.event_id), else_=None)
    for name, conversations, shown, used in session.execute(
            select(decisions.c.arm, func.count(distinct(decisions.c.conv_id)),
                   func.count(distinct(decisions.c.event_id)), func.count(distinct(redeemed)))
            .outerjoin(OfferCode, OfferCode.id == decisions.c.code_id).group_by(decisions.c.arm)):
        figures[name].update(conversations=_int(conversations), shown=_int(shown), redeemed=_int(used))
    in_arm = select(decisions.c.arm, decisions.c.sender_id, decisions.c.started_at, decisions.c.until_at
                    ).distinct().subquery()
    for name, orders, revenue in session.execute(
            select(in_arm.c.arm, func.count(distinct(Order.id)), func.sum(Order.total_cents))
            .join(OrderAttribution, and_(OrderAttribution.conversation_id == in_arm.c.sender_id,
                                         OrderAttribution.placed_at >= in_arm.c.started_at,
                                         or_(in_arm.c.until_at.is_(None),
                                             OrderAttribution.placed_at < in_arm.c.until_at)))
            .join(Order, Order.id == OrderAttribution.order_id).where(Order.status != CANCELLED)
            .group_by(in_arm.c.arm)):
        figures[name].update(orders=_int(orders), revenue=_money(revenue))
    return [PromoArm(arm=a, **figures[a]) for a in ARMS]


def dashboard(session: Session, *, filters: Filters) -> Dashboard:
    """Every figure of the dashboard for ``filters`` (see the module doc)."""
    conv = conversations_in(filters)
    per_day = _per_day(session, conv)
    csat = _csat_per_day(session, conv)
    total = {k: sum(d[k] for d in per_day.values()) for k in
             ("conversations", "contained", "fallbacks", "handoffs", "searches", "zero", "llm", "template")}
    ratings = sum(n for n, _, _ in csat.values())
    score_sum = sum(s for _, s, _ in csat.values())
    satisfied = sum(h for _, _, h in csat.values())
    waits = _handoff_waits(session, conv)
    days = []
    day = filters.start
    while day <= filters.end:
        d = per_day.get(day, {})
        n, s, _ = csat.get(day, (0, 0, 0))
        days.append(Day(day=day, conversations=d.get("conversations", 0), contained=d.get("contained", 0),
                        fallbacks=d.get("fallbacks", 0), handoffs=d.get("handoffs", 0),
                        csat_average=s / n if n else None))
        day += timedelta(days=1)
    conversations = total["conversations"]
    return Dashboard(
        filters=filters, conversations=conversations,
        containment=Rate(total["contained"], conversations),
        fallback_rate=Rate(total["fallbacks"], conversations),
        handoff_rate=Rate(total["handoffs"], conversations),
        handoff_wait_p50_s=percentile(waits, 0.5), handoff_wait_p95_s=percentile(waits, 0.95),
        csat_average=score_sum / ratings if ratings else None, csat_satisfied=Rate(satisfied, ratings),
        top_intents=_top_intents(session, conv), unanswered=_unanswered(session, conv),
        search_zero_results=Rate(total["zero"], total["searches"]),
        recommendations=_funnel(session, conv), promo=_promo(session, conv),
        llm_answer_rate=Rate(total["llm"], total["llm"] + total["template"]),
        days=days, handoffs_accepted=len(waits), csat_ratings=ratings)
