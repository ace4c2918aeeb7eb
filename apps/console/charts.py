"""The dashboard's charts as geometry the template draws as inline SVG (no script, no
library, nothing fetched): :func:`conversations_chart` (stacked bars per day),
:func:`rates_chart` (containment, fallback and handoff rate per day) and
:func:`csat_chart` (average rating per day, gaps where nobody rated), plus
:func:`funnel_bars`. Every text a chart carries is plain text the template escapes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from shop.analytics.figures import Day

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 30
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # CSS class
    title: str


@dataclass(frozen=True)
class Line:
    points: str  # SVG polyline points
    kind: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    kind: str
    title: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    description: str  # what the chart shows, for screen readers
    width: int = WIDTH
    height: int = HEIGHT
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)
    empty: bool = False

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM


def every_day(days: Sequence[Day], *, start: date, end: date) -> list[Day]:
    """``days`` with an empty :class:`Day` for each day from ``start`` to ``end`` that has
    none, in date order (days outside the range are dropped)."""
    known = {d.day: d for d in days}
    count = (end - start).days + 1
    return [known.get(start + timedelta(days=i)) or Day(day=start + timedelta(days=i), conversations=0,
                                                        contained=0, fallbacks=0, handoffs=0, csat_average=None)
            for i in range(max(count, 0))]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (1 for 0)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _x_geometry(count: int) -> tuple[float, float]:
    """(slot width, left edge) of ``count`` day slots across the plot."""
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return slot, LEFT


def _x_ticks(days: Sequence[Day]) -> list[Tick]:
    slot, left = _x_geometry(len(days))
    step = max(1, math.ceil(len(days) / MAX_X_LABELS))
    return [Tick(left + slot * (i + 0.5), d.day.strftime("%b %d")) for i, d in enumerate(days) if i % step == 0]


def _y(value: float, top_value: float, *, low: float = 0.0) -> float:
    span = (top_value - low) or 1.0
    return HEIGHT - BOTTOM - (value - low) / span * (HEIGHT - BOTTOM - TOP)


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def conversations_chart(days: Sequence[Day]) -> Chart:
    """Conversations per day as bars: the contained part dark, the rest light."""
    top = nice_ceiling(max((d.conversations for d in days), default=0))
    slot, left = _x_geometry(len(days))
    width = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x = left + slot * i + (slot - width) / 2
        title = f"{d.day}: {d.conversations} conversations, {d.contained} contained"
        y_all, y_contained = _y(d.conversations, top), _y(d.contained, top)
        if d.conversations > d.contained:
            bars.append(Bar(x, round(y_all, 1), round(width, 2), round(y_contained - y_all, 1), "other", title))
        if d.contained:
            bars.append(Bar(x, round(y_contained, 1), round(width, 2), round(HEIGHT - BOTTOM - y_contained, 1),
                            "contained", title))
    ticks = [Tick(round(_y(top * f, top), 1), _count(top * f)) for f in (0, 0.5, 1)]
    total = sum(d.conversations for d in days)
    return Chart(key="conversations", title="Conversations per day",
                 description=f"Bar chart of conversations per day, {total} in all; the dark part of each bar "
                             "was contained by the bot.",
                 y_ticks=ticks, x_ticks=_x_ticks(days), bars=bars,
                 legend=[("contained", "contained"), ("other", "not contained")], empty=total == 0)


def _series(days: Sequence[Day], value: Callable[[Day], float | None], *, top: float, low: float,
            kind: str, label: Callable[[Day, float], str]) -> tuple[list[Line], list[Dot]]:
    """A line through each day's ``value`` (``None`` breaks the line) and a dot per point."""
    slot, left = _x_geometry(len(days))
    lines: list[Line] = []
    dots: list[Dot] = []
    run: list[str] = []
    for i, d in enumerate(days):
        v = value(d)
        if v is None:
            if run:
                lines.append(Line(" ".join(run), kind))
            run = []
            continue
        x, y = round(left + slot * (i + 0.5), 1), round(_y(v, top, low=low), 1)
        run.append(f"{x},{y}")
        dots.append(Dot(x, y, kind, label(d, v)))
    if run:
        lines.append(Line(" ".join(run), kind))
    return lines, dots


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _rate_of(field_name: str) -> Callable[[Day], float | None]:
    """A day's ``field_name`` count as a share of its conversations."""
    return lambda d: _share(getattr(d, field_name), d.conversations)


def _rate_label(name: str, field_name: str) -> Callable[[Day, float], str]:
    return lambda d, v: f"{d.day}: {name} {v:.0%} ({getattr(d, field_name)} of {d.conversations})"


def rates_chart(days: Sequence[Day]) -> Chart:
    """Containment, fallback and handoff rate per day (0-100 %); no point on a day
    without conversations."""
    lines: list[Line] = []
    dots: list[Dot] = []
    for kind, field_name in (("containment", "contained"), ("fallback", "fallbacks"), ("handoff", "handoffs")):
        more_lines, more_dots = _series(days, _rate_of(field_name), top=1.0, low=0.0, kind=kind,
                                        label=_rate_label(kind, field_name))
        lines += more_lines
        dots += more_dots
    ticks = [Tick(round(_y(f, 1.0), 1), f"{f:.0%}") for f in (0, 0.25, 0.5, 0.75, 1)]
    return Chart(key="rates", title="Containment, fallback and handoff rate per day",
                 description="Line chart of the share of each day's conversations that were contained, "
                             "hit a fallback or asked for a person.",
                 y_ticks=ticks, x_ticks=_x_ticks(days), lines=lines, dots=dots,
                 legend=[("containment", "containment"), ("fallback", "fallback"), ("handoff", "handoff")],
                 empty=not dots)


def csat_chart(days: Sequence[Day]) -> Chart:
    """The average rating (1-5) per day; the line breaks on days nobody rated."""
    lines, dots = _series(days, lambda d: d.csat_average, top=5.0, low=1.0, kind="csat",
                          label=lambda d, v: f"{d.day}: average rating {v:.2f} of 5")
    ticks = [Tick(round(_y(v, 5.0, low=1.0), 1), str(v)) for v in (1, 2, 3, 4, 5)]
    return Chart(key="csat", title="Customer satisfaction per day",
                 description="Line chart of the average rating (1 to 5) shoppers gave each day.",
                 y_ticks=ticks, x_ticks=_x_ticks(days), lines=lines, dots=dots, legend=[("csat", "average rating")],
                 empty=not dots)


@dataclass(frozen=True)
class FunnelBar:
    label: str
    count: int
    width: float  # share of the widest stage, 0-100 (at least 0.5 when the count is not 0)
    step: str  # "" for the first stage, else the share of the stage before ("12.5 % of clicks")


def funnel_bars(stages: Sequence[tuple[str, int]]) -> list[FunnelBar]:
    """One bar per (label, count) stage, widths relative to the first stage."""
    widest = max((c for _, c in stages), default=0)
    out: list[FunnelBar] = []
    for i, (label, count) in enumerate(stages):
        width = 100.0 * count / widest if widest else 0.0
        step = ""
        if i:
            previous_label, previous = stages[i - 1]
            step = f"{count / previous:.1%} of {previous_label.lower()}" if previous else ""
        out.append(FunnelBar(label, count, round(max(width, 0.5) if count else 0.0, 2), step))
    return out
