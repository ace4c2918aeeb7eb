"""What the command lines (``apps.cli`` and ``tools``) share: argument types (dates,
positive numbers), database URLs shown without their password, and :func:`run_parsed`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
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


def at_least_one(value: str) -> int:
    """A whole number of 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def run_parsed(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command's ``func``;
    returns its exit status. Output piped into ``head`` and closed early is not an error."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader has gone: the work is done, stop printing
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open as stdout until exit
        return 0
