"""Argument types and display helpers shared by the command lines (``apps.cli`` and
``tools``): dates, positive numbers, and database URLs shown without their password."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from sqlalchemy.engine import make_url


def display_url(url: str) -> str:
    """``url`` with any password hidden, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def parse_as_of(value: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO date-time; aware values are converted to naive UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-11-20") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def positive_float(value: str) -> float:
    """A number greater than 0."""
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from exc
    if not number > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number
