"""The filters of the console's analytics pages (``/dashboard``,
``/conversations/review``) read from the query string: :func:`parse_filters` and
:func:`parse_review` (:class:`FilterError` says what is allowed; the pages answer 400
with it), :func:`filter_query` (links that keep them), :func:`csv_name` and
:func:`csv_response` (the exports)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from fastapi.responses import Response

from shop.analytics.figures import Filters

#: Rasa's input channel names the shop runs, with what the pages call them
CHANNELS = {"socketio": "Web chat", "rest": "REST", "telegram": "Telegram", "slack": "Slack",
            "twilio": "WhatsApp / SMS (Twilio)"}
DEFAULT_DAYS = 7
MAX_DAYS = 366
MAX_QUERY = 200
MAX_PAGE = 10_000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class FilterError(ValueError):
    """A filter the pages do not accept; the message says what is allowed."""


@dataclass(frozen=True)
class ReviewQuery:
    """The review list's filters plus its text search ``q`` (``""``: none) and ``page`` (1-based)."""

    filters: Filters
    q: str = ""
    page: int = 1


def _day(name: str, value: str) -> date:
    if not _DAY.fullmatch(value):
        raise FilterError(f"{name} must be a date written YYYY-MM-DD (like 2026-11-20), not {value[:40]!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name} {value!r} is not a calendar date; write YYYY-MM-DD (like 2026-11-20).") from None


def parse_filters(*, start: str | None, end: str | None, channel: str | None, today: date) -> Filters:
    """The :class:`Filters` for the query string's ``start``, ``end`` (``YYYY-MM-DD``,
    inclusive UTC days; a missing or empty ``end`` is ``today``, a missing ``start`` the
    ``DEFAULT_DAYS`` days up to ``end``) and ``channel`` (one of :data:`CHANNELS`; empty:
    every channel). Raises :class:`FilterError` for garbage dates, ``end`` before
    ``start``, a range over :data:`MAX_DAYS` days or an unknown channel."""
    last = _day("end", end.strip()) if end and end.strip() else today
    first = _day("start", start.strip()) if start and start.strip() else last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise FilterError(f"The end date ({last}) is before the start date ({first}); choose an end on or after "
                          "the start.")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise FilterError(f"The range covers {days} days; at most {MAX_DAYS} days are allowed.")
    name = (channel or "").strip() or None
    if name is not None and name not in CHANNELS:
        allowed = ", ".join(CHANNELS)
        raise FilterError(f"Unknown channel {name[:40]!r}; allowed: {allowed}, or none for every channel.")
    return Filters(start=first, end=last, channel=name)


def parse_review(*, start: str | None, end: str | None, channel: str | None, q: str | None, page: str | None,
                 today: date) -> ReviewQuery:
    """:func:`parse_filters` plus ``q`` (at most :data:`MAX_QUERY` characters; control
    characters become spaces) and ``page`` (a whole number from 1 to :data:`MAX_PAGE`)."""
    filters = parse_filters(start=start, end=end, channel=channel, today=today)
    text = " ".join("".join(" " if ord(c) < 32 or 0x7f <= ord(c) < 0xa0 else c for c in (q or "")).split())
    if len(text) > MAX_QUERY:
        raise FilterError(f"The search text has {len(text)} characters; at most {MAX_QUERY} are allowed.")
    raw = (page or "").strip() or "1"
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise FilterError(f"page must be a whole number from 1 to {MAX_PAGE}, not {raw[:20]!r}.")
    return ReviewQuery(filters=filters, q=text, page=int(raw))


def filter_query(filters: Filters, **extra: str | int | None) -> str:
    """The query string that reproduces ``filters`` (and ``extra``, empty values left out)."""
    values: dict[str, str | int] = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.channel:
        values["channel"] = filters.channel
    values.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(values)


def csv_name(kind: str, filters: Filters) -> str:
    return f"{kind}-{filters.start}-to-{filters.end}{'-' + filters.channel if filters.channel else ''}.csv"


def csv_response(body: str, *, filename: str) -> Response:
    """``body`` as a CSV download named ``filename`` (:func:`csv_name`: dates and a known
    channel only, so it needs no quoting)."""
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
