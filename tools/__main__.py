"""The tools' command line: ``python -m tools <group> <command> [options]``.

Commands::

    python -m tools demo generate [--url URL] [--seed 7] [--as-of YYYY-MM-DD] [--scale 1.0]
                                  [--replace] [--truth-out PATH] [--no-progress]
``--url`` defaults to ``Settings.database_url`` (``DATABASE_URL`` in the environment,
else ``var/shop.db``). Catalog files are imported by the apps' command line:
``python -m apps.cli catalog import FILE`` (:mod:`shop.importing`).

Exit status: 0 on success (``demo generate`` on an already generated shop also exits 0
and says so); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.cli_args import display_url, parse_as_of, positive_float, run_parsed
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Customer, Order
from shop.settings import get_settings
from tools.demo.generate import clear_shop, generate_demo_shop, shop_product_count


def _print_persona_orders(session: Session) -> None:
    """The demo persona's latest orders, so a newcomer has something to ask about."""
    customer = session.get(Customer, 1)
    if customer is None:
        return
    print(f"Demo persona: customer 1, {customer.email}. Latest orders:")
    for order in session.scalars(select(Order).where(Order.customer_id == 1).order_by(Order.placed_at.desc()).limit(6)):
        when = f", delivered {order.delivered_at:%Y-%m-%d}" if order.delivered_at else ""
        print(f"  #{order.number}  {order.status}{when}")


def _cmd_demo_generate(args: argparse.Namespace) -> int:
    url = args.url or get_settings().database_url
    as_of = args.as_of or datetime.now(timezone.utc).replace(
        tzinfo=None, hour=0, minute=0, second=0, microsecond=0
    )
    upgrade(url)
    started = time.perf_counter()
    with session_scope(url) as session:
        existing = shop_product_count(session)
        if existing and not args.replace:
            print(f"The database at {display_url(url)} already has {existing} products (the demo shop or an "
                  "imported catalog); no demo generated. Use --replace to generate the demo shop again.")
            _print_persona_orders(session)
            if args.truth_out:
                print("No truth file written: the hidden profiles only come with a fresh generation.")
            return 0
        if existing:
            print(f"Removing the existing shop data ({existing} products)...")
            clear_shop(session)
        stats = generate_demo_shop(session, seed=args.seed, as_of=as_of, scale=args.scale,
                                   progress=not args.no_progress)
    elapsed = time.perf_counter() - started
    print(f"Generated the demo shop at {display_url(url)} in {elapsed:.1f} s "
          f"(seed {stats.seed}, scale {stats.scale:g}, as of {stats.as_of:%Y-%m-%d %H:%M}).")
    for table, count in stats.counts.items():
        print(f"  {table:<22} {count:>8,}")
    print(f"Demo persona: customer {stats.persona_customer_id}, {stats.persona_email}")
    for role, number in stats.persona_orders.items():
        print(f"  {role:<11} order #{number}")
    if args.truth_out:
        path = stats.write_truth(args.truth_out)
        print(f"Hidden customer profiles written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m tools``."""
    parser = argparse.ArgumentParser(prog="python -m tools", description="Demo shop data.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{demo}")
    url_help = "SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)"

    demo = groups.add_parser("demo", help="demo shop data").add_subparsers(dest="command", required=True)
    gen = demo.add_parser("generate", help="migrate, then fill an empty shop with the deterministic demo data")
    gen.add_argument("--url", help=url_help)
    gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    gen.add_argument("--as-of", type=parse_as_of, default=None,
                     help="the demo's 'now', YYYY-MM-DD or ISO date-time in UTC (default: today 00:00 UTC)")
    gen.add_argument("--scale", type=positive_float, default=1.0,
                     help="multiplies the row counts (default 1.0: ~5,200 products, 10,600 orders)")
    gen.add_argument("--replace", action="store_true", help="delete an existing shop's data and generate again")
    gen.add_argument("--truth-out", metavar="PATH", help="write the hidden customer profiles as JSON here")
    gen.add_argument("--no-progress", action="store_true", help="no progress bars")
    gen.set_defaults(func=_cmd_demo_generate)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tools' CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    return run_parsed(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
