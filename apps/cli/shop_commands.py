"""The shop's own commands, run through ``python -m apps.cli``::

    python -m apps.cli db upgrade [--url URL]
    python -m apps.cli promo report [--url URL] [--policy NAME] [--since YYYY-MM-DD] [--attribute]
    python -m apps.cli promo retrain [--url URL] [...]   (apps.cli.promo_commands)
    python -m apps.cli web [--url URL] [--host 127.0.0.1] [--port 8000]
    python -m apps.cli console [--url URL] [--host 127.0.0.1] [--port 8001]

``--url`` defaults to ``Settings.database_url`` (``DATABASE_URL`` in the environment,
else ``var/shop.db``); settings are the only place the environment is read.
Exit status: 0 on success, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import uvicorn

from apps.cli.promo_commands import add_promo_retrain
from apps.console.app import create_console_app
from apps.console.auth import LoginLimit, SessionPolicy
from apps.console.staff import ensure_demo_staff
from apps.console.wiring import ConsoleConfig
from apps.http_metrics import MetricsConfig, metrics_config, reset_multiprocess_dir
from apps.storefront.pages import StorefrontConfig, create_app
from shop.cli_args import display_url, parse_as_of, run_parsed
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.handoff.handoff_config import load_config
from shop.handoff.mailer import smtp_config
from shop.logging_setup import configure_logging
from shop.promo.report import ab_report, attribute_outcomes, format_report
from shop.settings import Settings, get_settings


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = args.url or get_settings().database_url
    upgrade(url)
    print(f"Database at {display_url(url)} is at the latest schema.")
    return 0


def _cmd_promo_report(args: argparse.Namespace) -> int:
    url = args.url or get_settings().database_url
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with session_scope(url) as session:
        if args.attribute:
            print(f"Outcomes attributed to {attribute_outcomes(session, now=now)} decisions from orders.")
        rows = ab_report(session, policy=args.policy, since=args.since)
    if not rows:
        print("No offer decisions with known outcomes yet.")
        return 0
    print(f"Offers against control at {display_url(url)}" + (f", policy {args.policy}" if args.policy else "") + ":")
    print(format_report(rows))
    return 0


def serving_metrics(settings: Settings) -> MetricsConfig:
    """Logging as ``SHOP_LOG_FORMAT`` says (uvicorn's loggers included) and the
    ``/metrics`` settings, with last run's multiprocess samples removed."""
    configure_logging(log_format=settings.log_format)
    metrics = metrics_config(settings)
    if metrics.multiproc_dir is not None:
        reset_multiprocess_dir(metrics.multiproc_dir)
    return metrics


def _cmd_web(args: argparse.Namespace) -> int:
    settings = get_settings()
    config = StorefrontConfig(database_url=args.url or settings.database_url, rasa_url=settings.widget_server_url,
                              widget_bundle=settings.widget_bundle, identity_secret=settings.identity_secret,
                              demo_customer_id=settings.demo_customer_id, shop_name=settings.shop_name,
                              metrics=serving_metrics(settings),
                              session_secret=settings.session_secret.get_secret_value(),
                              recommend_api_token=settings.recommend_api_token.get_secret_value(),
                              recommend_model_dir=settings.recommend_model_dir,
                              recommend_check_s=settings.recommend_check_s,
                              recommend_count=settings.recommend_count)
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="warning", log_config=None)
    return 0


def seed_demo_staff(url: str, *, path: Path, handoff_config: Path) -> list[str]:
    """Create the demo staff logins on first run (``ensure_demo_staff``): their passwords
    go only to ``path`` (mode 600), never to stdout or a log, which ``scripts/run_stack.sh``
    sends to ``var/log/console.log``. Prints where they are; returns the emails created."""
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    with session_scope(url) as session:
        logins = ensure_demo_staff(session, path=path, now=now,
                                   agent_teams=(load_config(handoff_config).default_team,))
    if logins:
        print(f"Created the demo staff logins {', '.join(email for email, _ in logins)}; "
              f"their passwords are in {path} (mode 600).")
    elif path.is_file():
        print(f"Staff logins exist; the demo ones are in {path}.")
    return [email for email, _ in logins]


def login_limit(settings: Settings) -> LoginLimit:
    """The console's :class:`LoginLimit` from ``Settings.console_login_*`` and ``redis_url``."""
    return LoginLimit(per_address=settings.console_login_failures_per_ip,
                      concurrency=settings.console_login_concurrency, redis_url=settings.redis_url)


def _cmd_console(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = args.url or settings.database_url
    upgrade(url)
    seed_demo_staff(url, path=settings.console_demo_login_file, handoff_config=settings.handoff_config)
    config = ConsoleConfig(database_url=url, rasa_url=settings.rasa_url, relay_secret=settings.relay_secret,
                           bundle=settings.console_bundle,
                           session=SessionPolicy(idle_s=settings.console_session_idle_s,
                                                 max_s=settings.console_session_max_s),
                           login_limit=login_limit(settings),
                           cookie_secure=settings.console_cookie_secure, assist_timeout_s=settings.llm_timeout_s,
                           promo_code_days=settings.promo_code_days, shop_name=settings.shop_name,
                           metrics=serving_metrics(settings), smtp=smtp_config(settings))
    print(f"Staff console: http://{args.host}:{args.port}/")
    uvicorn.run(create_console_app(config), host=args.host, port=args.port, log_level="warning", log_config=None)
    return 0


GROUPS_EPILOG = ("more groups: index (search index: build, sync, info, search), recommender (train, evaluate), "
                 "llm (fetch, list, serve, smoke), privacy (export, delete, purge), commerce (sync, webhooks), "
                 "catalog (import), vocabulary (build), admin (create-user), policy (list, show, set), "
                 "offer (list, create, pause, resume, end), retrain (preference and uplift models, one run at a time); "
                 "`python -m apps.cli GROUP --help` for each")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the shop's own commands."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli", description="The shop assistant's command line.",
                                     epilog=GROUPS_EPILOG)
    groups = parser.add_subparsers(dest="group", required=True,
                                   metavar="{db,promo,web,console,index,recommender,llm,privacy,commerce,catalog,vocabulary,admin,policy,"
                                           "offer}")

    url_help = "SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)"

    db = groups.add_parser("db", help="database schema").add_subparsers(dest="command", required=True)
    up = db.add_parser("upgrade", help="migrate the database to the latest schema")
    up.add_argument("--url", help=url_help)
    up.set_defaults(func=_cmd_db_upgrade)

    promo = groups.add_parser("promo", help="promo engine").add_subparsers(dest="command", required=True)
    rep = promo.add_parser("report", help="A/B report: each offer against the control group")
    rep.add_argument("--url", help=url_help)
    rep.add_argument("--policy", help="only decisions of this policy (uplift, random, ...)")
    rep.add_argument("--since", type=parse_as_of, default=None, help="only decisions from this date (UTC)")
    rep.add_argument("--attribute", action="store_true",
                     help="first fill in outcomes of decisions whose 14-day window has closed, from orders")
    rep.set_defaults(func=_cmd_promo_report)
    add_promo_retrain(promo, url_help=url_help)

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
    return run_parsed(build_parser(), argv)

