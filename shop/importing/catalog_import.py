"""Import a product catalog from CSV: Shopify product exports, marketplace listings or
any CSV via a mapping, streamed row by row.

A :class:`ColumnMapping` says which CSV column holds each of our fields; the built-in
:data:`SHOPIFY` mapping reads Shopify's product export, ``marketplace`` (a YAML file in
``shop/importing/mappings/``) a listing export with no stock or brand column, and a
YAML file can describe any other layout (see :meth:`ColumnMapping.from_yaml`). Rows
that share a product key (the handle; without one, the title) and stand next to each
other form one product; in Shopify exports only the first of them carries the title,
body and vendor, the others are variant rows or image-only rows.

:func:`import_csv_file` reads the file as a stream (memory does not grow with the file:
it keeps the handles and SKUs seen, not the rows), writes ``batch_size`` products at a
time with a few statements each batch (a batch the database refuses is written again
product by product, each in its own savepoint, to find the one to blame) and commits
after each batch; ``dry_run`` does all of it in one transaction and rolls it back. It
upserts: products by handle, variants by SKU (or by size and colour within the
product), so re-importing the same file updates rather than duplicates. Brands and
categories are found by name or slug and created when missing. A bad row never aborts
the import: every rejected row is reported with its 1-based CSV line number and a
reason in plain words, and the report sums them up by reason.

The importer is split by step: :mod:`~shop.importing.mapping` (column mappings),
:mod:`~shop.importing.csv_file` (reading the file), :mod:`~shop.importing.prices` and
:mod:`~shop.importing.values` (cell values), :mod:`~shop.importing.title_brands` (brands
from titles), :mod:`~shop.importing.missing_stock`, :mod:`~shop.importing.rows`
(validating rows into products), :mod:`~shop.importing.writer` (the database upserts)
and :mod:`~shop.importing.import_report`. This module runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.importing.csv_file import CsvFile, CsvRow
from shop.importing.import_report import ImportReport, counted
from shop.importing.mapping import SHOPIFY, CatalogImportError, ColumnMapping, load_mapping
from shop.importing.missing_stock import describe_stock, parse_missing_stock
from shop.importing.rows import ParsedProduct, RowParser
from shop.importing.title_brands import TitleBrands
from shop.importing.values import undecodable_byte
from shop.importing.writer import NameIds, Written, write_batch, write_product

__all__ = ["SHOPIFY", "CatalogImportError", "ColumnMapping", "ImportReport", "import_catalog", "import_csv_file",
           "load_mapping"]

DEFAULT_BATCH = 500  # products per write (and per commit for files)
Progress = Callable[[int, int], None]
"""Called with (bytes read, file size) as the import goes."""

OPTIONAL_FIELDS = ("handle", "description", "brand", "category", "tags", "compare_at_price", "sku", "size", "colour",
                   "stock", "weight_grams", "image_url", "gender", "currency", "status", "rating_avg", "rating_count",
                   "url")


def _missing_stock(mapping: ColumnMapping, missing_stock: str | None) -> tuple[int | None, bool]:
    """(the default stock, whether the merchant chose it explicitly)."""
    try:
        if missing_stock is not None:
            return parse_missing_stock(missing_stock), True
        return parse_missing_stock(mapping.missing_stock), "missing_stock" in mapping.model_fields_set
    except ValueError as exc:
        raise CatalogImportError(str(exc)) from exc


def _currency(currency: str | None) -> str | None:
    if currency is None or not currency.strip():
        return None
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise CatalogImportError(f"currency '{currency}' must be a 3-letter ISO 4217 code like USD, EUR or INR")
    return code


def _begin(session: Session) -> None:
    """Open the database transaction now. pysqlite (Python's sqlite3 in its default mode)
    starts one only before INSERT/UPDATE/DELETE, so a SAVEPOINT issued first would run
    outside any transaction and its RELEASE would commit: each product would be committed
    on its own and a dry run could not be rolled back (SQLAlchemy's SQLite notes,
    "Serializable isolation / Savepoints / Transactional DDL"). Other databases: nothing."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi = connection.connection.dbapi_connection
    if dbapi is not None and not getattr(dbapi, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")


def _record(report: ImportReport, parsed: ParsedProduct, done: Written) -> None:
    for line, reason, kind in done.refused:
        report.reject(line, parsed.handle, reason, kind)
    if not done.written:
        return
    report.products_created += int(done.created)
    report.products_updated += int(not done.created)
    report.variants_created += done.variants_created
    report.variants_updated += done.variants_updated
    refused = {line for line, _r, _k in done.refused}
    defaulted = sum(1 for v in parsed.variants if not v.stock_given and v.line not in refused)
    report.variants_default_stock += defaulted
    report.products_default_stock += int(defaulted > 0)
    report.brands_from_titles += int(parsed.brand_from_title)


def _write_one_by_one(session: Session, batch: list[ParsedProduct], report: ImportReport, names: NameIds, *,
                      now: datetime, overwrite_missing_stock: bool) -> None:
    """Each product in its own savepoint: the database's refusal names one product."""
    for parsed in batch:
        try:
            with session.begin_nested():
                done = write_product(session, parsed, now=now, names=names,
                                     overwrite_missing_stock=overwrite_missing_stock)
        except SQLAlchemyError as exc:
            names.forget_new()
            detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            report.reject(parsed.line, parsed.handle, f"the database refused this product: {detail}",
                          "the database refused the product")
            continue
        _record(report, parsed, done)
        _add_created(report, names)


def _add_created(report: ImportReport, names: NameIds) -> None:
    brands, categories = names.take_created()
    report.brands_created += brands
    report.categories_created += categories


def _write_all(session: Session, products: Iterator[ParsedProduct], report: ImportReport, *,
               now: datetime, overwrite_missing_stock: bool, batch_size: int, commit: bool,
               release: bool) -> None:
    """Write products ``batch_size`` at a time, each batch in a savepoint (when the
    database refuses a batch, its products are written one by one to find the one to
    blame); after each batch, commit (when ``commit``) and, when ``release``, let the
    session forget every object it holds, so memory stays flat however long the file is."""
    names = NameIds(session)
    _begin(session)
    batch: list[ParsedProduct] = []

    def flush_batch() -> None:
        try:
            with session.begin_nested():
                results = write_batch(session, batch, now=now, names=names,
                                      overwrite_missing_stock=overwrite_missing_stock)
        except SQLAlchemyError:
            names.forget_new()
            _write_one_by_one(session, batch, report, names, now=now, overwrite_missing_stock=overwrite_missing_stock)
        else:
            for parsed, done in zip(batch, results, strict=True):
                _record(report, parsed, done)
            _add_created(report, names)
        batch.clear()
        if commit:
            session.commit()
            _begin(session)
        if release:
            session.expunge_all()

    for parsed in products:
        batch.append(parsed)
        if len(batch) >= batch_size:
            flush_batch()
    if batch:
        flush_batch()


def _notices(report: ImportReport, currency: str | None, mapping: ColumnMapping, header: Sequence[str]) -> None:
    currency_column = any(c in header for c in mapping.columns("currency"))
    for symbol, n in report.currencies_seen.most_common():
        codes = report.currency_codes.get(symbol, ())
        if currency and codes and currency not in codes:
            report.notices.append(
                f"CURRENCY: {counted(n, 'price')} show {symbol} ({'/'.join(codes)}) but --currency is {currency}: "
                f"they were imported as {currency}. Pass --currency {codes[0]} if {symbol} is right.")
        elif not currency and not currency_column and codes:
            other = f" ({'/'.join(codes[1:])} also write {symbol}: pass --currency to choose)" if len(codes) > 1 else ""
            report.notices.append(f"currency: {codes[0]}, from the {symbol} in {counted(n, 'price')}{other}.")
    if not report.currencies_seen and not currency and not currency_column and report.products_imported:
        report.notices.append("currency: the file names none, so prices were imported as USD "
                              "(pass --currency to choose another).")


def import_catalog(
    session: Session,
    *,
    rows: Iterable[dict[str, str]],
    mapping: ColumnMapping,
    currency: str | None = None,
    now: datetime,
    line_numbers: Sequence[int] | None = None,
    missing_stock: str | None = None,
    brand_from_title: bool | None = None,
) -> ImportReport:
    """Import catalog rows (dicts of CSV column -> text, as from ``csv.DictReader``), e.g.
    from a commerce platform's product feed.

    Args:
        session: an open session; the caller commits.
        rows: the data rows. A value of ``None`` (``DictReader``'s filler for a short
            row) or a ``None`` key (its overflow for a long row) rejects the row.
        mapping: which column holds what, e.g. :data:`SHOPIFY`.
        currency: ISO 4217 code for every product (else each row's currency column, the
            currency its prices show, or USD).
        now: timestamp for ``created_at`` / ``updated_at`` (naive UTC).
        line_numbers: the 1-based CSV line where each row starts; default: row index + 2
            (a one-line header and one line per row).
        missing_stock: ``unknown``/``zero``/N for variants without a stock value
            (default: the mapping's ``missing_stock``).
        brand_from_title: read brands from titles (default: the mapping's setting);
            the rows are then held in memory for the counting pass.

    Returns:
        An :class:`ImportReport`. Rejected rows are listed there; they never abort the
        import. Products are upserted by handle, variants by SKU, then by size/colour.

    Raises:
        CatalogImportError: ``currency`` or ``missing_stock`` is not usable.
    """
    report = ImportReport()
    code = _currency(currency)
    default_stock, explicit = _missing_stock(mapping, missing_stock)
    report.stock_default = describe_stock(default_stock)
    lines = list(line_numbers) if line_numbers is not None else None
    use_brands = mapping.brand_from_title if brand_from_title is None else brand_from_title
    data = list(rows) if use_brands else rows

    def numbered() -> Iterator[CsvRow]:
        for i, values in enumerate(data):
            line = lines[i] if lines is not None and i < len(lines) else i + 2
            yield CsvRow(line, dict(values))

    brands = None
    if use_brands:
        brands = TitleBrands(mapping.brand_min_products)
        for row in numbered():
            title = next((str(row.data.get(c) or "").strip() for c in mapping.columns("title")
                          if str(row.data.get(c) or "").strip()), "")
            if title:
                brands.add(title)
    parser = RowParser(mapping, code, report, missing_stock=default_stock, brands=brands)
    _write_all(session, parser.products(numbered()), report, now=now, overwrite_missing_stock=explicit,
               batch_size=DEFAULT_BATCH, commit=False, release=False)
    header = list(next(iter(data), {}).keys()) if isinstance(data, list) else []
    _notices(report, code, mapping, [h for h in header if isinstance(h, str)])
    return report


def _count_title_words(path: Path, mapping: ColumnMapping, progress: Progress | None) -> TitleBrands:
    """The first pass for brands from titles: every readable title in the file."""
    brands = TitleBrands(mapping.brand_min_products)
    with CsvFile(path, delimiter=mapping.delimiter, encoding=mapping.encoding) as data:
        columns = [c for c in mapping.columns("title") if c in data.header]
        for i, row in enumerate(data.rows(), start=1):
            if progress is not None and i % 1024 == 0:
                progress(data.bytes_read, data.size)
            title = next((str(row.data.get(c) or "").strip() for c in columns if str(row.data.get(c) or "").strip()),
                         "")
            if title and undecodable_byte(title) is None:
                brands.add(title)
    return brands


def import_csv_file(
    session: Session,
    *,
    path: str | Path,
    mapping: ColumnMapping | str | Path = "shopify",
    currency: str | None = None,
    now: datetime,
    missing_stock: str | None = None,
    brand_from_title: bool | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> ImportReport:
    """Stream ``path`` into the catalog with ``mapping`` (a :class:`ColumnMapping`, a
    built-in name like ``"shopify"`` or ``"marketplace"``, or a YAML mapping file).

    Commits ``session`` every ``batch_size`` products and at the end; with ``dry_run``
    nothing is committed and the transaction (anything pending in ``session`` included)
    is rolled back at the end, so the report says what the import *would* do, database
    refusals included. ``progress`` is called with (bytes read, file size). See
    :func:`import_catalog` for ``currency``, ``missing_stock`` and ``brand_from_title``.

    Raises :class:`CatalogImportError` when the file can't be read as a CSV, the mapping
    can't be loaded or is missing a title or price column in this file, or
    ``currency``/``missing_stock`` is not usable; nothing was imported then.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    resolved = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
    code = _currency(currency)
    default_stock, explicit = _missing_stock(resolved, missing_stock)
    report = ImportReport(dry_run=dry_run, stock_default=describe_stock(default_stock))
    with CsvFile(path, delimiter=resolved.delimiter, encoding=resolved.encoding) as data:
        present = set(data.header)
        for required in ("title", "price"):
            cols = resolved.columns(required)
            if not any(c in present for c in cols):
                raise CatalogImportError(
                    f"{path}: no {required} column (expected {' or '.join(repr(c) for c in cols)} "
                    f"for the '{resolved.name}' mapping); the header has: {', '.join(data.header[:40])}"
                )
        missing: list[str] = []
        groups = [resolved.columns(name) for name in OPTIONAL_FIELDS]
        groups += [[opt.name, opt.value] for opt in resolved.options]
        for cols in groups:
            if cols and not any(c in present for c in cols):
                missing.extend(cols)
        report.missing_columns = missing
        report.stock_column = any(c in present for c in resolved.columns("stock"))
        use_brands = resolved.brand_from_title if brand_from_title is None else brand_from_title
        # with brands from titles the file is read twice: each pass is half of the progress
        first: Progress | None = None
        second = progress
        if use_brands and progress is not None:
            report_to = progress

            def first(done: int, size: int) -> None:
                report_to(done // 2, size)

            def second(done: int, size: int) -> None:
                report_to(size // 2 + done // 2, size)

        brands = _count_title_words(Path(path), resolved, first) if use_brands else None
        parser = RowParser(resolved, code, report, missing_stock=default_stock, brands=brands)

        def tracked() -> Iterator[CsvRow]:
            for i, row in enumerate(data.rows(), start=1):
                if second is not None and i % 256 == 0:
                    second(data.bytes_read, data.size)
                yield row
            if second is not None:
                second(data.bytes_read, data.size)

        try:
            _write_all(session, parser.products(tracked()), report, now=now,
                       overwrite_missing_stock=explicit, batch_size=batch_size, commit=not dry_run, release=True)
        except BaseException:
            session.rollback()
            raise
        if dry_run:
            session.rollback()
        else:
            session.commit()
        _notices(report, code, resolved, data.header)
    return report
