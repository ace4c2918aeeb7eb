"""Catalog file imports (:mod:`shop.importing`)::

    python -m apps.cli catalog import FILE [--mapping shopify|marketplace|PATH.yml] [--currency CODE]
                                           [--dry-run] [--missing-stock unknown|zero|N]
                                           [--brand-from-title] [--url URL] [--no-progress]
    python -m apps.cli catalog mappings

``import`` migrates the database, streams the file into the catalog (committing every
500 products) and prints the report: notices first (no stock column, a currency other
than ``--currency``, a dry run), then counts, then rejected rows and warnings by reason
with three example lines each. A progress bar goes to stderr. ``--dry-run`` validates
and writes everything in a transaction that is rolled back. ``mappings`` lists the
built-in mappings. ``--url`` defaults to ``DATABASE_URL``.

Exit status: 0 every row imported; 1 imported, but some rows were rejected (the good
rows are imported and committed); 2 unusable input (bad arguments, a file that isn't a
CSV, an unknown or invalid mapping, a mapping whose title or price column is not in the
file).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from shop.cli_args import display_url, run_parsed
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.importing.catalog_import import import_csv_file
from shop.importing.mapping import CatalogImportError, builtin_names, load_mapping
from shop.importing.missing_stock import parse_missing_stock
from shop.settings import get_settings


def _missing_stock(value: str) -> str:
    try:
        parse_missing_stock(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def _progress_bar(enabled: bool, total: int) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A tqdm bar over the file's bytes on stderr, or nothing."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm  # only the import command needs it

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="importing", file=sys.stderr,
               leave=False, dynamic_ncols=True)

    def update(done: int, _size: int) -> None:
        bar.update(max(0, done - bar.n))

    return update, bar.close


def _cmd_import(args: argparse.Namespace) -> int:
    url = args.url or get_settings().database_url
    try:
        mapping = load_mapping(args.mapping)
    except CatalogImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    upgrade(url)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    try:
        size = max(1, os.path.getsize(args.file))
    except OSError:
        size = 1  # the importer says what is wrong with the path
    progress, close = _progress_bar(not args.no_progress, size)
    try:
        with session_scope(url) as session:
            report = import_csv_file(
                session, path=args.file, mapping=mapping, currency=args.currency, now=now,
                missing_stock=args.missing_stock, brand_from_title=True if args.brand_from_title else None,
                dry_run=args.dry_run, progress=progress)
    except CatalogImportError as exc:
        close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    close()
    verb = "Checked (dry run, nothing written)" if args.dry_run else "Imported"
    print(f"{verb} {args.file} with the '{mapping.name}' mapping into {display_url(url)}:")
    for line in report.summary_lines():
        print(f"  {line}")
    return 1 if report.rejected_count else 0


def _cmd_mappings(_args: argparse.Namespace) -> int:
    for name in builtin_names():
        mapping = load_mapping(name)
        print(f"{name}: title {mapping.columns('title')}, price {mapping.columns('price')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m apps.cli catalog``."""
    parser = argparse.ArgumentParser(prog="python -m apps.cli catalog", description="Import product catalog files.")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import products from a CSV file (streamed; report by reason)")
    imp.add_argument("file", help="the CSV file (UTF-8 unless the mapping says otherwise)")
    imp.add_argument("--mapping", default="shopify",
                     help=f"a built-in mapping ({', '.join(builtin_names())}; default shopify) or a YAML file "
                          "mapping our fields to the file's columns")
    imp.add_argument("--currency", default=None,
                     help="ISO code of the prices (default: the file's currency column, else the currency "
                          "symbol in the prices, else USD); the report says when the prices show another")
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing (rolled back)")
    imp.add_argument("--missing-stock", type=_missing_stock, default=None, metavar="unknown|zero|N",
                     help="stock of variants the file gives none for (default: the mapping's, 'unknown' = "
                          "available, quantity unknown)")
    imp.add_argument("--brand-from-title", action="store_true",
                     help="without a brand cell, take the brand from title prefixes that recur (see docs)")
    imp.add_argument("--url", help="shop database URL (default: DATABASE_URL or var/shop.db)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(func=_cmd_import)
    maps = commands.add_parser("mappings", help="list the built-in mappings")
    maps.set_defaults(func=_cmd_mappings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m apps.cli catalog`` with ``argv``; returns the exit status."""
    return run_parsed(build_parser(), argv)
