"""The commerce platform commands (``python -m apps.cli commerce ...``)::

    python -m apps.cli commerce sync [--full] [--url URL]
    python -m apps.cli commerce webhooks [--host 127.0.0.1] [--port 8002] [--url URL]

``sync`` copies the configured platform's (``SHOP_COMMERCE_BACKEND``) products,
customers and orders into the shop database (:func:`shop.commerce.sync.sync_platform`):
the first run everything, later runs only what changed since the last one (``--full``:
everything again), with a progress bar per resource and a summary at the end. It commits
every 200 records, so an interrupted sync keeps what it copied and the next run goes on
from the last finished resource. ``webhooks`` serves the webhook receiver
(:mod:`apps.webhooks.webhook_app`) with uvicorn, on loopback by default (the platform reaches it
through the shop's TLS proxy).

``--url`` defaults to ``DATABASE_URL``; the platform's settings come from
``shop.settings`` (``SHOP_SHOPIFY_*``, ``SHOP_WOOCOMMERCE_*``). Exit status: 0 done, 1 the
platform could not be reached (sync) or the backend is the built-in database, 2 bad
arguments or settings.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import TypeVar

import uvicorn
from pydantic import ValidationError
from tqdm import tqdm

from apps.webhooks.webhook_app import WebhookConfig, create_webhook_app
from shop.cli_args import display_url, run_parsed
from shop.commerce.errors import PlatformConfigError, PlatformUnavailable
from shop.commerce.factory import platform_from_settings
from shop.commerce.platform import CommercePlatform
from shop.commerce.sync import sync_platform
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.settings import Settings, get_settings

T = TypeVar("T")
BUILTIN = ("SHOP_COMMERCE_BACKEND is 'builtin': the shop's own database is the catalog, so there is nothing to "
           "{what}. Set SHOP_COMMERCE_BACKEND=shopify or woocommerce and its settings (docs/onboarding.md).")


def _settings_and_platform(what: str) -> tuple[Settings, CommercePlatform] | int:
    """The settings and the configured platform, or the exit status after saying why not."""
    try:
        settings = get_settings()
        platform = platform_from_settings(settings)
    except ValidationError as exc:
        print(f"settings: {'; '.join(str(e['msg']) for e in exc.errors())}", file=sys.stderr)
        return 2
    except PlatformConfigError as exc:
        print(f"commerce settings: {exc}", file=sys.stderr)
        return 2
    if platform is None:
        print(BUILTIN.format(what=what), file=sys.stderr)
        return 1
    return settings, platform


def _progress(items: Iterable[T], label: str) -> Iterator[T]:
    """A tqdm bar on stderr (hidden when stderr is not a terminal)."""
    yield from tqdm(items, desc=label, unit=" records", file=sys.stderr, disable=None)


def _cmd_sync(args: argparse.Namespace) -> int:
    found = _settings_and_platform("sync")
    if isinstance(found, int):
        return found
    settings, platform = found
    url = args.url or settings.database_url
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    started = time.perf_counter()
    kind = "full" if args.full else "incremental (everything on the first run)"
    print(f"Syncing {platform.name} into {display_url(url)}: {kind}.")
    try:
        with session_scope(url) as session:
            changes = sync_platform(session, platform=platform, now=now, full=args.full,
                                    progress=_progress)
    except PlatformUnavailable as exc:
        print(f"Stopped: {platform.name} could not be reached ({exc}). What was copied so far is kept; "
              "run the command again to go on.", file=sys.stderr)
        return 1
    print(f"Done in {time.perf_counter() - started:.1f} s: {len(changes.products)} products new or changed; "
          f"{len(changes.customers)} customers and {len(changes.orders)} orders copied (new, or updated since "
          f"the last sync); {changes.interactions} purchases recorded for the recommender.")
    if changes.products:
        print(f"The action server's search index picks the product changes up within "
              f"{settings.search_index_sync_s:g} s (SHOP_SEARCH_INDEX_SYNC_S); "
              "`python -m apps.cli index sync` applies them now, `index build` after a first sync.")
    return 0


def _cmd_webhooks(args: argparse.Namespace) -> int:
    found = _settings_and_platform("receive")
    if isinstance(found, int):
        return found
    settings, platform = found
    port = args.port or settings.commerce_webhook_port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = args.url or settings.database_url
    upgrade(url)  # the mirror's tables (and webhook_deliveries) exist before the first delivery
    app = create_webhook_app(WebhookConfig(database_url=url, platform=platform))
    print(f"Commerce webhooks ({platform.name}): http://{args.host}:{port}/webhooks/commerce/{platform.name}",
          flush=True)
    uvicorn.run(app, host=args.host, port=port, log_level="warning")
    return 0


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port number") from exc
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 1 to 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m apps.cli commerce",
                                     description="Sync from and receive webhooks of the shop's commerce platform.")
    commands = parser.add_subparsers(dest="command", required=True)
    url_help = "SQLAlchemy database URL (default: DATABASE_URL or var/shop.db)"
    sync = commands.add_parser("sync", help="copy the platform's products, customers and orders into the shop "
                                            "database (only what changed since the last sync)")
    sync.add_argument("--full", action="store_true", help="copy everything again, not only what changed")
    sync.add_argument("--url", help=url_help)
    sync.set_defaults(func=_cmd_sync)
    hooks = commands.add_parser("webhooks", help="serve the webhook receiver the platform posts changes to")
    hooks.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    hooks.add_argument("--port", type=_port, help="port (default SHOP_COMMERCE_WEBHOOK_PORT, 8002)")
    hooks.add_argument("--url", help=url_help)
    hooks.set_defaults(func=_cmd_webhooks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m apps.cli commerce`` with ``argv``; returns the exit status."""
    return run_parsed(build_parser(), argv)
