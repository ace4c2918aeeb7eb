"""The shop command line: ``python -m shop <group> <command> [options]``.

Commands::

    python -m shop db upgrade [--url URL]
    python -m shop demo generate [--url URL] [--seed 7] [--as-of YYYY-MM-DD] [--scale 1.0]
                                 [--replace] [--truth-out PATH] [--no-progress]
    python -m shop catalog import FILE.csv [--url URL] [--mapping shopify|PATH.yml] [--currency USD]
    python -m shop promo report [--url URL] [--policy NAME] [--since YYYY-MM-DD] [--attribute]
    python -m shop web [--url URL] [--host 127.0.0.1] [--port 8000]
    python -m shop console [--url URL] [--host 127.0.0.1] [--port 8001]

``--url`` defaults to ``Settings.database_url`` (``DATABASE_URL`` in the environment,
else ``var/shop.db``); settings are the only place the environment is read.

Exit status: 0 on success (``demo generate`` on an already generated shop also exits 0
and says so); 1 when ``catalog import`` finished but rejected some rows (the good rows are
imported and committed); 2 for unusable input (bad arguments, a file that isn't a UTF-8
CSV, an unknown or invalid mapping).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any


def _default_url() -> str:
    from shop.settings import get_settings

    return get_settings().database_url


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _parse_as_of(value: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO date-time; aware values are converted to naive UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-11-20") from exc
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number") from exc
    if not number > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return number


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from shop.db.migrate import upgrade

    url = args.url or _default_url()
    upgrade(url)
    print(f"Database at {_display_url(url)} is at the latest schema.")
    return 0


def _print_persona_orders(session: Any) -> None:
    """The demo persona's latest orders, so a newcomer has something to ask about."""
    from sqlalchemy import select

    from shop.db.schema import Customer, Order

    customer = session.get(Customer, 1)
    if customer is None:
        return
    print(f"Demo persona: customer 1, {customer.email}. Latest orders:")
    for order in session.scalars(select(Order).where(Order.customer_id == 1).order_by(Order.placed_at.desc()).limit(6)):
        when = f", delivered {order.delivered_at:%Y-%m-%d}" if order.delivered_at else ""
        print(f"  #{order.number}  {order.status}{when}")


def _cmd_demo_generate(args: argparse.Namespace) -> int:
    from shop.db.engine import session_scope
    from shop.db.migrate import upgrade
    from shop.demo.generate import clear_shop, generate_demo_shop, shop_product_count

    url = args.url or _default_url()
    as_of = args.as_of or datetime.now(timezone.utc).replace(
        tzinfo=None, hour=0, minute=0, second=0, microsecond=0
    )
    upgrade(url)
    started = time.perf_counter()
    with session_scope(url) as session:
        existing = shop_product_count(session)
        if existing and not args.replace:
            print(f"The demo shop is already generated at {_display_url(url)} ({existing} products); "
                  "nothing to do. Use --replace to generate it again.")
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
    print(f"Generated the demo shop at {_display_url(url)} in {elapsed:.1f} s "
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


def _cmd_catalog_import(args: argparse.Namespace) -> int:
    from shop.catalog_import import CatalogImportError, import_csv_file, load_mapping
    from shop.db.engine import session_scope
    from shop.db.migrate import upgrade

    url = args.url or _default_url()
    try:
        mapping = load_mapping(args.mapping)
    except CatalogImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    try:
        with session_scope(url) as session:
            report = import_csv_file(session, path=args.file, mapping=mapping, currency=args.currency, now=now)
    except CatalogImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Imported {args.file} with the '{mapping.name}' mapping into {_display_url(url)}:")
    for line in report.summary_lines():
        print(f"  {line}")
    return 1 if report.rejected else 0


def _cmd_promo_report(args: argparse.Namespace) -> int:
    from shop.db.engine import session_scope
    from shop.db.migrate import upgrade
    from shop.promo.report import ab_report, attribute_outcomes, format_report

    url = args.url or _default_url()
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with session_scope(url) as session:
        if args.attribute:
            print(f"Outcomes attributed to {attribute_outcomes(session, now=now)} decisions from orders.")
        rows = ab_report(session, policy=args.policy, since=args.since)
    if not rows:
        print("No offer decisions with known outcomes yet.")
        return 0
    print(f"Offers against control at {_display_url(url)}" + (f", policy {args.policy}" if args.policy else "") + ":")
    print(format_report(rows))
    return 0


def _cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    from shop.settings import get_settings
    from shop.web.app import StorefrontConfig, create_app

    settings = get_settings()
    config = StorefrontConfig(database_url=args.url or settings.database_url, rasa_url=settings.widget_server_url,
                              widget_bundle=settings.widget_bundle, identity_secret=settings.identity_secret,
                              demo_customer_id=settings.demo_customer_id)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning")
    return 0


def _cmd_console(args: argparse.Namespace) -> int:
    import uvicorn

    from shop.console.app import create_console_app
    from shop.console.auth import SessionPolicy
    from shop.console.config import ConsoleConfig
    from shop.console.staff import ensure_demo_staff
    from shop.db.engine import session_scope
    from shop.db.migrate import upgrade
    from shop.handoff.config import load_config
    from shop.settings import get_settings

    settings = get_settings()
    url = args.url or settings.database_url
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    path = settings.console_demo_login_file
    with session_scope(url) as session:
        logins = ensure_demo_staff(session, path=path, now=now,
                                   agent_teams=(load_config(settings.handoff_config).default_team,))
    if logins:
        print(f"Created the demo staff logins (also in {path}, mode 600):")
        for email, password in logins:
            print(f"  {email}  {password}")
    elif path.is_file():
        print(f"Staff logins exist; the demo ones are in {path}.")
    config = ConsoleConfig(database_url=url, rasa_url=settings.rasa_url, relay_secret=settings.relay_secret,
                           bundle=settings.console_bundle,
                           session=SessionPolicy(idle_s=settings.console_session_idle_s,
                                                 max_s=settings.console_session_max_s),
                           cookie_secure=settings.console_cookie_secure, assist_timeout_s=settings.llm_timeout_s,
                           promo_code_days=settings.promo_code_days)
    print(f"Staff console: http://{args.host}:{args.port}/")
    uvicorn.run(create_console_app(config), host=args.host, port=args.port, log_level="warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m shop``."""
    parser = argparse.ArgumentParser(prog="python -m shop", description="Shop database, demo data and catalog tools.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="{db,demo,catalog,promo,web,console}")

    url_help = "SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)"

    db = groups.add_parser("db", help="database schema").add_subparsers(dest="command", required=True)
    up = db.add_parser("upgrade", help="migrate the database to the latest schema")
    up.add_argument("--url", help=url_help)
    up.set_defaults(func=_cmd_db_upgrade)

    demo = groups.add_parser("demo", help="demo shop data").add_subparsers(dest="command", required=True)
    gen = demo.add_parser("generate", help="migrate, then fill an empty shop with the deterministic demo data")
    gen.add_argument("--url", help=url_help)
    gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    gen.add_argument("--as-of", type=_parse_as_of, default=None,
                     help="the demo's 'now', YYYY-MM-DD or ISO date-time in UTC (default: today 00:00 UTC)")
    gen.add_argument("--scale", type=_positive_float, default=1.0,
                     help="multiplies the row counts (default 1.0: ~5,200 products, 10,600 orders)")
    gen.add_argument("--replace", action="store_true", help="delete an existing shop's data and generate again")
    gen.add_argument("--truth-out", metavar="PATH", help="write the hidden customer profiles as JSON here")
    gen.add_argument("--no-progress", action="store_true", help="no progress bars")
    gen.set_defaults(func=_cmd_demo_generate)

    catalog = groups.add_parser("catalog", help="product catalog").add_subparsers(dest="command", required=True)
    imp = catalog.add_parser("import", help="import products from a CSV file")
    imp.add_argument("file", help="the CSV file (UTF-8)")
    imp.add_argument("--url", help=url_help)
    imp.add_argument("--mapping", default="shopify",
                     help="'shopify' (default) or a YAML file mapping our fields to the CSV's columns")
    imp.add_argument("--currency", default="USD", help="currency when the CSV has none (default USD)")
    imp.set_defaults(func=_cmd_catalog_import)

    promo = groups.add_parser("promo", help="promo engine").add_subparsers(dest="command", required=True)
    rep = promo.add_parser("report", help="A/B report: each offer against the control group")
    rep.add_argument("--url", help=url_help)
    rep.add_argument("--policy", help="only decisions of this policy (uplift, random, ...)")
    rep.add_argument("--since", type=_parse_as_of, default=None, help="only decisions from this date (UTC)")
    rep.add_argument("--attribute", action="store_true",
                     help="first fill in outcomes of decisions whose 14-day window has closed, from orders")
    rep.set_defaults(func=_cmd_promo_report)

    web = groups.add_parser("web", help="serve the demo storefront with the chat widget")
    web.add_argument("--url", help=url_help)
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    web.set_defaults(func=_cmd_web)

    console = groups.add_parser("console", help="serve the staff console (creates demo staff logins on first run)")
    console.add_argument("--url", help=url_help)
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    console.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    console.set_defaults(func=_cmd_console)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # output piped into `head` etc.: the work is done, stop printing
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
