"""Privacy requests and conversation retention (:mod:`shop.privacy`)::

    python -m apps.cli privacy export --email X [--out FILE] [--url URL] [--tracker-url URL]
    python -m apps.cli privacy delete --email X [--url URL] [--tracker-url URL]
    python -m apps.cli privacy purge [--days N] [--tracker-url URL]

``export`` prints (or writes to ``--out``, mode 600) one JSON document of everything
held about the owner of the e-mail address; ``delete`` deletes or anonymises it and
prints what changed; ``purge`` deletes tracker-store conversations idle longer than
``--days`` (default ``SHOP_TRACKER_RETENTION_DAYS``; 0 keeps them all), for a daily
cron job. ``--url`` defaults to ``DATABASE_URL``, ``--tracker-url`` to
``SHOP_TRACKER_DB_URL``. Exit status: 0 done, 1 nothing is held for that e-mail
address, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine

from shop import privacy
from shop.cli_args import display_url, run_parsed
from shop.db.engine import session_scope
from shop.settings import get_settings

T = TypeVar("T")


def _email(value: str) -> str:
    try:
        return privacy.normalise_email(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _days(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number of days (0 keeps every conversation)")
    return int(value)


def _tracker(args: argparse.Namespace) -> Engine:
    return create_engine(args.tracker_url or get_settings().tracker_db_url, hide_parameters=True)


def _on_both_stores(args: argparse.Namespace, operation: Callable[..., T]) -> T:
    """``operation(session, tracker, email=args.email)`` over the shop database (one
    transaction) and the tracker store; the tracker engine is closed whatever happens."""
    tracker = _tracker(args)
    try:
        with session_scope(args.url or get_settings().database_url) as session:
            return operation(session, tracker, email=args.email)
    finally:
        tracker.dispose()


def _nothing(email: str) -> int:
    print(f"Nothing is held about {email}: no customer, ticket or conversation has that e-mail address.",
          file=sys.stderr)
    return 1


def _cmd_export(args: argparse.Namespace) -> int:
    data = _on_both_stores(args, privacy.export_data)
    if data is None:
        return _nothing(args.email)
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if args.out is None:
        print(text)
        return 0
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    print(f"Wrote everything held about {args.email} to {args.out} ({len(data['conversations'])} conversations).")
    return 0


def _cmd_delete(args: argparse.Namespace) -> int:
    done = _on_both_stores(args, privacy.delete_data)
    if done is None:
        return _nothing(args.email)
    changed = ", ".join(f"{name} {n}" for name, n in done.items() if n)
    print(f"Deleted or anonymised what was held about {args.email}: {changed or 'nothing left to change'}.")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    days = get_settings().tracker_retention_days if args.days is None else args.days
    if days == 0:
        print("Retention is 0 days: every conversation is kept.")
        return 0
    tracker = _tracker(args)
    try:
        removed = privacy.purge_conversations(tracker, retention_days=days, now=datetime.now(timezone.utc))
    finally:
        tracker.dispose()
    print(f"Deleted {removed} conversations idle for more than {days} days from "
          f"{display_url(args.tracker_url or get_settings().tracker_db_url)}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``privacy`` group's parser."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli privacy",
                                     description="Privacy requests (export, delete) and conversation retention.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, text in (("export", _cmd_export, "print everything held about a customer as JSON"),
                             ("delete", _cmd_delete, "delete or anonymise everything held about a customer")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--email", type=_email, required=True, help="the customer's e-mail address")
        command.add_argument("--url", help="shop database URL (default: DATABASE_URL)")
        command.add_argument("--tracker-url", help="tracker store URL (default: SHOP_TRACKER_DB_URL)")
        command.set_defaults(func=func)
        if name == "export":
            command.add_argument("--out", type=Path, help="write the JSON to this file (mode 600) instead")
    purge = commands.add_parser("purge", help="delete conversations idle longer than the retention")
    purge.add_argument("--days", type=_days, help="retention in days (default: SHOP_TRACKER_RETENTION_DAYS)")
    purge.add_argument("--tracker-url", help="tracker store URL (default: SHOP_TRACKER_DB_URL)")
    purge.set_defaults(func=_cmd_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m apps.cli privacy ...`` with ``argv``; returns the exit status."""
    return run_parsed(build_parser(), list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
