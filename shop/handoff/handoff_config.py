"""The handoff configuration (``handoff.yml``): which triggers are on, topics and the
team each routes to, business hours and the numbers behind the wait estimate."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HandoffConfigError(ValueError):
    """The configuration file is not usable; the message says what to fix."""


@dataclass(frozen=True)
class Topic:
    team: str
    phrases: tuple[str, ...]
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class HandoffConfig:
    """Attributes:
        request, fallback: whether those triggers hand over.
        sentiment: whether sustained negative sentiment hands over; ``window`` last
            messages, ``min_negative`` of them at or below ``threshold`` (VADER compound,
            -1..1).
        topics: phrase groups, each routing to a team.
        default_team: the queue for everything else.
        timezone, days, open_at, close_at, hours_text: business hours.
        average_handle_minutes: minutes one conversation takes an agent (wait estimate).
        agent_online_window_s: seconds since an agent's last request that still count
            as online.
    """

    request: bool = True
    fallback: bool = True
    sentiment: bool = True
    window: int = 3
    min_negative: int = 2
    threshold: float = -0.4
    topics: tuple[Topic, ...] = ()
    default_team: str = "support"
    timezone: str = "UTC"
    days: tuple[str, ...] = DAYS[:5]
    open_at: time = time(9)
    close_at: time = time(17)
    hours_text: str = "Mon–Fri 9:00–17:00"
    average_handle_minutes: float = 6.0
    agent_online_window_s: int = 300
    teams: tuple[str, ...] = field(default=())

    def topic_of(self, text: str) -> tuple[str, str] | None:
        """``(team, phrase)`` of the first topic ``text`` mentions, or ``None``."""
        for topic in self.topics:
            found = topic.pattern.search(text)
            if found:
                return topic.team, found.group(0).lower()
        return None

    def open_now(self, now_utc: datetime) -> bool:
        """Whether ``now_utc`` (naive UTC) is inside business hours."""
        local = now_utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(self.timezone))
        return DAYS[local.weekday()] in self.days and self.open_at <= local.time() < self.close_at


def _time(value: Any, name: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise HandoffConfigError(f"business_hours.{name} must be HH:MM, got {value!r}") from exc


def parse_config(data: dict[str, Any]) -> HandoffConfig:
    """A :class:`HandoffConfig` from the YAML's mapping; raises
    :class:`HandoffConfigError` saying what is wrong."""
    triggers = data.get("triggers") or {}
    sentiment = triggers.get("sentiment") or {}
    topics = []
    for i, group in enumerate(triggers.get("topics") or []):
        phrases = tuple(str(p).strip().lower() for p in group.get("phrases") or [] if str(p).strip())
        if not group.get("team") or not phrases:
            raise HandoffConfigError(f"triggers.topics[{i}] needs a team and at least one phrase")
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
        topics.append(Topic(str(group["team"]), phrases, pattern))
    hours = data.get("business_hours") or {}
    days = tuple(str(d).lower()[:3] for d in hours.get("days") or DAYS[:5])
    if any(d not in DAYS for d in days):
        raise HandoffConfigError(f"business_hours.days must be among {', '.join(DAYS)}")
    tz = str(hours.get("timezone", "UTC"))
    try:
        ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise HandoffConfigError(f"business_hours.timezone {tz!r} is not a known time zone") from exc
    default_team = str(data.get("default_team", "support"))
    return HandoffConfig(
        request=bool(triggers.get("request", True)),
        fallback=bool(triggers.get("fallback", True)),
        sentiment=bool(sentiment.get("enabled", True)),
        window=int(sentiment.get("window", 3)),
        min_negative=int(sentiment.get("min_negative", 2)),
        threshold=float(sentiment.get("threshold", -0.4)),
        topics=tuple(topics),
        default_team=default_team,
        timezone=tz,
        days=days,
        open_at=_time(hours.get("open", "09:00"), "open"),
        close_at=_time(hours.get("close", "17:00"), "close"),
        hours_text=str(hours.get("text", "")),
        average_handle_minutes=float(data.get("average_handle_minutes", 6)),
        agent_online_window_s=int(data.get("agent_online_window_s", 300)),
        teams=tuple(dict.fromkeys([default_team, *(t.team for t in topics)])),
    )


@lru_cache(maxsize=4)
def load_config(path: Path) -> HandoffConfig:
    """The configuration in the YAML file at ``path`` (cached per path)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise HandoffConfigError(f"cannot read handoff config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise HandoffConfigError(f"handoff config {path} must be a mapping")
    return parse_config(data)
