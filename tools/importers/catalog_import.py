"""Import a product catalog from CSV: Shopify product exports or any CSV via a mapping.

A :class:`ColumnMapping` says which CSV column holds each of our fields; the built-in
:data:`SHOPIFY` mapping reads Shopify's product export, and a YAML file can describe
any other layout (see :meth:`ColumnMapping.from_yaml`). Rows that share a product key
(the handle) form one product; in Shopify exports only the first of them carries the
title, body and vendor, the others are variant rows or image-only rows.

:func:`import_catalog` upserts: products by handle, variants by SKU (or by size and
colour within the product), so re-importing the same file updates rather than
duplicates. Brands and categories are found by name or slug and created when missing.
A bad row never aborts the import: it is validated before anything is written, each
product is written inside its own savepoint, and every rejected row is reported with
its 1-based CSV line number and a reason in plain words.

The importer is split by step: :mod:`tools.importers.mapping` (column mappings),
:mod:`tools.importers.csv_file` (reading the file), :mod:`tools.importers.values` (cell
values), :mod:`tools.importers.rows` (validating rows into products),
:mod:`tools.importers.writer` (the database upserts) and :mod:`tools.importers.import_report`.
This module runs them and keeps the public names other code imports from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from tools.importers.csv_file import CsvRows, read_csv_rows
from tools.importers.import_report import ImportReport, RejectedRow
from tools.importers.mapping import (
    BUILTIN_MAPPINGS,
    SHOPIFY,
    CatalogImportError,
    ColumnMapping,
    OptionColumns,
    load_mapping,
)
from tools.importers.rows import CsvRow, RowParser
from tools.importers.values import MAX_LEN, MAX_PRICE_CENTS, MAX_STOCK, parse_money, slugify, strip_html
from tools.importers.writer import NameIds, write_product

__all__ = [
    "BUILTIN_MAPPINGS",
    "MAX_LEN",
    "MAX_PRICE_CENTS",
    "MAX_STOCK",
    "SHOPIFY",
    "CatalogImportError",
    "ColumnMapping",
    "CsvRows",
    "ImportReport",
    "OptionColumns",
    "RejectedRow",
    "import_catalog",
    "import_csv_file",
    "load_mapping",
    "parse_money",
    "read_csv_rows",
    "slugify",
    "strip_html",
]

_COUNTERS = ("products_created", "products_updated", "variants_created", "variants_updated",
             "brands_created", "categories_created")


def import_catalog(
    session: Session,
    *,
    rows: Iterable[dict[str, str]],
    mapping: ColumnMapping,
    currency: str = "USD",
    now: datetime,
    line_numbers: Sequence[int] | None = None,
) -> ImportReport:
    """Import catalog rows (dicts of CSV column -> text, as from ``csv.DictReader``).

    Args:
        session: an open session; the caller commits.
        rows: the data rows. A value of ``None`` (``DictReader``'s filler for a short
            row) or a ``None`` key (its overflow for a long row) rejects the row.
        mapping: which column holds what, e.g. :data:`SHOPIFY`.
        currency: ISO 4217 code used when the mapping has no currency column.
        now: timestamp for ``created_at`` / ``updated_at`` (naive UTC).
        line_numbers: the 1-based CSV line where each row starts; default: row index + 2
            (a one-line header and one line per row).

    Returns:
        An :class:`ImportReport`. Rejected rows are listed there; they never abort the
        import. Products are upserted by handle, variants by SKU, then by size/colour.
    """
    report = ImportReport()
    lines = list(line_numbers) if line_numbers is not None else None

    def numbered() -> Iterator[CsvRow]:
        for i, data in enumerate(rows):
            line = lines[i] if lines is not None and i < len(lines) else i + 2
            yield CsvRow(line, data)

    parser = RowParser(mapping, currency, report)
    names = NameIds(session, report)
    for group in parser.group(numbered()).values():
        parsed = parser.product(group)
        if parsed is None:
            continue
        counters = {name: getattr(report, name) for name in _COUNTERS}
        n_rejected = len(report.rejected)
        try:
            with session.begin_nested():
                write_product(session, parsed, now=now, report=report, names=names)
        except SQLAlchemyError as exc:
            names.forget_new()
            for name, value in counters.items():
                setattr(report, name, value)
            del report.rejected[n_rejected:]
            detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            report.reject(parsed.line, parsed.handle, f"the database refused this product: {detail}")
    return report



def import_csv_file(
    session: Session,
    *,
    path: str | Path,
    mapping: ColumnMapping | str | Path = "shopify",
    currency: str = "USD",
    now: datetime,
) -> ImportReport:
    """Read ``path`` and import it with ``mapping`` (a :class:`ColumnMapping`, a built-in
    name like ``"shopify"`` or a YAML mapping file). See :func:`import_catalog`.

    Raises :class:`CatalogImportError` when the file can't be read as a UTF-8 CSV, the
    mapping can't be loaded, or the header lacks the title or price column.
    """
    resolved = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
    data = read_csv_rows(path, delimiter=resolved.delimiter)
    present = set(data.header)
    for required in ("title", "price"):
        cols = resolved.columns(required)
        if not any(c in present for c in cols):
            raise CatalogImportError(
                f"{path}: no {required} column (expected {' or '.join(repr(c) for c in cols)} "
                f"for the '{resolved.name}' mapping); the header has: {', '.join(data.header[:40])}"
            )
    missing: list[str] = []
    groups = [resolved.columns(name) for name in (
        "handle", "description", "brand", "category", "tags", "compare_at_price", "sku", "size", "colour",
        "stock", "weight_grams", "image_url", "gender", "currency", "status")]
    groups += [[opt.name, opt.value] for opt in resolved.options]
    for cols in groups:
        if cols and not any(c in present for c in cols):
            missing.extend(cols)
    report = import_catalog(session, rows=data.rows, mapping=resolved, currency=currency, now=now,
                            line_numbers=data.line_numbers)
    report.missing_columns = missing
    return report
