"""The figures the analytics dashboard shows, as plain frozen dataclasses.

This module is the contract between the metrics SQL (:mod:`shop.analytics.dashboard_metrics`,
:mod:`shop.analytics.conversation_review`) and whatever shows them (the staff console, the CSV
export, ``bench/analytics_week.py``). Fields may be added; none is renamed or removed.
Every metric's exact definition is in docs/operations.md, section "Analytics".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Filters:
    """Which conversations a figure counts: those *started* between ``start`` and
    ``end`` (both inclusive, UTC days) on ``channel`` (Rasa's input channel name:
    ``socketio``, ``rest``, ``telegram``, ...; ``None``: every channel)."""

    start: date
    end: date
    channel: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.start, date) or not isinstance(self.end, date):
            raise ValueError("start and end must be dates (YYYY-MM-DD)")
        if isinstance(self.start, datetime) or isinstance(self.end, datetime):
            raise ValueError("start and end must be dates, not datetimes")
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if self.channel is not None and (not self.channel or len(self.channel) > 64):
            raise ValueError("channel must be a non-empty channel name of at most 64 characters, or None for all")


@dataclass(frozen=True)
class Rate:
    """A ratio kept with its parts, so a reader sees 3/4 and not only 0.75."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """``numerator / denominator``; ``None`` when nothing was counted."""
        if self.denominator == 0:
            return None
        return self.numerator / self.denominator


@dataclass(frozen=True)
class Funnel:
    """Recommendation impressions -> clicks -> add-to-cart -> orders (and their revenue)."""

    impressions: int
    clicks: int
    add_to_cart: int
    orders: int
    revenue: Decimal
    ctr: Rate  # clicks / impressions
    conversion: Rate  # orders / impressions


@dataclass(frozen=True)
class PromoArm:
    """One arm of the promo experiment: ``treatment`` (offers shown) or ``control``
    (the fixed control group, shown nothing)."""

    arm: str
    conversations: int
    shown: int
    redeemed: int
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class Day:
    """One UTC day of conversations (by the day they started)."""

    day: date
    conversations: int
    contained: int
    fallbacks: int  # conversations with at least one fallback
    handoffs: int  # conversations with a handoff request
    csat_average: float | None


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    conversations: int
    containment: Rate  # contained / conversations
    fallback_rate: Rate  # conversations with >=1 fallback / conversations
    handoff_rate: Rate  # conversations with a handoff request / conversations
    handoff_wait_p50_s: float | None
    handoff_wait_p95_s: float | None
    csat_average: float | None  # 1..5
    csat_satisfied: Rate  # ratings of 4-5 / ratings
    top_intents: list[tuple[str, int]]
    unanswered: list[tuple[str, int]]  # shopper texts that ended in fallback, most frequent first
    search_zero_results: Rate  # searches with no result / searches
    recommendations: Funnel
    promo: list[PromoArm]
    llm_answer_rate: Rate  # LLM-worded answers / (LLM + template-fallback answers)
    days: list[Day]
    # Added fields (after the contract's, with defaults).
    handoffs_accepted: int = 0  # handoff requests an agent took
    csat_ratings: int = 0  # ratings counted in csat_average


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation in the bot-only review list."""

    conversation_id: str
    channel: str
    started_at: datetime
    turns: int  # shopper turns
    contained: bool
    first_message: str


@dataclass(frozen=True)
class Turn:
    """One line of a transcript: a shopper's message or a bot's reply."""

    at: datetime
    author: str  # "shopper" or "bot"
    text: str
    intent: str | None
