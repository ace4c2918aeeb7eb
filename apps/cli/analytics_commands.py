"""Analytics commands (:mod:`shop.analytics`, docs/operations.md#analytics)::

    python -m apps.cli analytics consume [--amqp URL] [--queue NAME] [--exchange NAME] [--once]
                                         [--batch N] [--url URL]
    python -m apps.cli analytics ingest-tracker [--tracker-db URL] [--batch N] [--url URL]
    python -m apps.cli analytics report [--start YYYY-MM-DD] [--end YYYY-MM-DD] [--channel NAME]
                                        [--csv] [--url URL]

``consume`` reads Rasa's event queue on RabbitMQ (production) until stopped (Ctrl-C;
unacknowledged events go back to the queue), or with ``--once`` until the queue is
empty. ``ingest-tracker`` reads the events added to Rasa's SQL tracker store since its
last run (``make run``, no broker; run it as often as wanted, e.g. before looking at the
dashboard). ``report`` prints the dashboard's figures (``--csv``: as the console's CSV
export). Defaults: ``--amqp`` ``SHOP_ANALYTICS_AMQP_URL``, ``--queue``
``SHOP_ANALYTICS_QUEUE``, ``--exchange`` ``SHOP_ANALYTICS_EXCHANGE``, ``--tracker-db``
``SHOP_TRACKER_DB_URL``, ``--url`` ``DATABASE_URL``; ``report`` the last 7 days up to
today (UTC) on every channel. Exit status: 0 done, 1 RabbitMQ or a database could not be
reached, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone

import pika.exceptions
from sqlalchemy.exc import SQLAlchemyError

from shop.analytics.consumer import Progress, consume_queue, ingest_tracker
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.export import dashboard_csv, dashboard_text
from shop.analytics.figures import Filters
from shop.cli_args import display_url, run_parsed
from shop.db.engine import session_scope
from shop.settings import get_settings

REPORT_DAYS = 7


def _positive(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number from 1 to 10000")
    return int(value)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-11-20") from exc


def _summary(progress: Progress) -> str:
    r = progress.result
    if r is None:
        return f"{progress.messages} events read, nothing stored"
    text = (f"{progress.messages} events read: {r.stored} stored, {r.duplicates} already stored, "
            f"{r.ignored} not used, {r.skipped} skipped")
    if r.reasons:
        text += " (" + "; ".join(f"{reason}: {n}" for reason, n in r.reasons.most_common(5)) + ")"
    return text


def _cmd_consume(args: argparse.Namespace) -> int:
    settings = get_settings()
    amqp = args.amqp or settings.analytics_amqp_url.get_secret_value()
    queue = args.queue or settings.analytics_queue
    exchange = settings.analytics_exchange if args.exchange is None else args.exchange
    progress = Progress()
    stop = threading.Event()
    print(f"Consuming queue {queue!r} at {display_url(amqp)}" + (" until it is empty" if args.once else
                                                                  " (Ctrl-C stops)"), flush=True)
    try:
        consume_queue(amqp_url=amqp, queue=queue, database_url=args.url or settings.database_url, once=args.once,
                      batch_size=args.batch, exchange=exchange or None, stop=stop, progress=progress)
    except pika.exceptions.AMQPError as exc:
        print(f"RabbitMQ at {display_url(amqp)} failed: {type(exc).__name__} {exc}", file=sys.stderr)
        print(_summary(progress))
        return 1
    except SQLAlchemyError as exc:
        print(f"The shop database failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        stop.set()
    print(_summary(progress))
    return 0


def _cmd_ingest_tracker(args: argparse.Namespace) -> int:
    settings = get_settings()
    tracker = args.tracker_db or settings.tracker_db_url
    try:
        progress = ingest_tracker(tracker_url=tracker, database_url=args.url or settings.database_url,
                                  batch_size=args.batch)
    except SQLAlchemyError as exc:
        print(f"Could not read {display_url(tracker)} into the shop database: {str(exc).splitlines()[0]}",
              file=sys.stderr)
        return 1
    print(f"{display_url(tracker)}: {_summary(progress)}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    end = args.end or datetime.now(timezone.utc).date()
    start = args.start or end - timedelta(days=REPORT_DAYS - 1)
    try:
        filters = Filters(start=start, end=end, channel=args.channel or None)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with session_scope(args.url or get_settings().database_url) as session:
            figures = dashboard(session, filters=filters)
    except SQLAlchemyError as exc:
        print(f"The shop database failed: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    sys.stdout.write(dashboard_csv(figures) if args.csv else dashboard_text(figures) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``analytics`` group's parser."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli analytics",
                                     description="Conversation analytics: events in, dashboard figures out.")
    commands = parser.add_subparsers(dest="command", required=True)
    consume = commands.add_parser("consume", help="store the events of Rasa's RabbitMQ queue")
    consume.add_argument("--amqp", help="RabbitMQ URL (default: SHOP_ANALYTICS_AMQP_URL)")
    consume.add_argument("--queue", help="the queue (default: SHOP_ANALYTICS_QUEUE)")
    consume.add_argument("--exchange", help="also bind the queue to this durable fanout exchange "
                                            "(default: SHOP_ANALYTICS_EXCHANGE; empty: don't)")
    consume.add_argument("--once", action="store_true", help="stop when the queue is empty")
    consume.add_argument("--batch", type=_positive, default=200, help="events per transaction (default 200)")
    consume.add_argument("--url", help="shop database URL (default: DATABASE_URL)")
    consume.set_defaults(func=_cmd_consume)
    tracker = commands.add_parser("ingest-tracker", help="store the events added to Rasa's SQL tracker store")
    tracker.add_argument("--tracker-db", help="tracker store URL (default: SHOP_TRACKER_DB_URL)")
    tracker.add_argument("--batch", type=_positive, default=1000, help="rows per transaction (default 1000)")
    tracker.add_argument("--url", help="shop database URL (default: DATABASE_URL)")
    tracker.set_defaults(func=_cmd_ingest_tracker)
    report = commands.add_parser("report", help="print the dashboard's figures")
    report.add_argument("--start", type=_day, help="first day, YYYY-MM-DD (default: 6 days before --end)")
    report.add_argument("--end", type=_day, help="last day, YYYY-MM-DD (default: today, UTC)")
    report.add_argument("--channel", help="one input channel (socketio, rest, telegram, ...); default: all")
    report.add_argument("--csv", action="store_true", help="print the CSV export instead")
    report.add_argument("--url", help="shop database URL (default: DATABASE_URL)")
    report.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m apps.cli analytics ...`` with ``argv``; returns the exit status."""
    return run_parsed(build_parser(), list(argv) if argv is not None else None)


if __name__ == "__main__":
    sys.exit(main())
