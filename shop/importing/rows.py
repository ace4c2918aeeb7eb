"""Validating catalog CSV rows into products and variants, as a stream.

Rows of one product (the same handle; without a handle column, the same title) must be
next to each other, as every export writes them: :meth:`RowParser.products` keeps only
the current product's rows and the handles already seen. Options are read as sizes and
colours; prices (:mod:`shop.importing.prices`), stock, weights and ratings are parsed.
Nothing here touches the database; every bad row is reported with its line, a reason
and the reason's kind (for the summary by reason).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from shop.importing.csv_file import CsvRow
from shop.importing.import_report import ImportReport
from shop.importing.mapping import ColumnMapping, OptionColumns
from shop.importing.prices import Price, PriceError, parse_price
from shop.importing.title_brands import TitleBrands
from shop.importing.values import (
    MAX_CELL_CHARS,
    MAX_LEN,
    MAX_PRICE_CENTS,
    MAX_STOCK,
    first_value,
    fit_length,
    guess_gender,
    looks_like_formula,
    parse_decimal,
    parse_int,
    slugify,
    strip_html,
    undecodable_byte,
    web_link,
)

# fields whose cells are numbers: a leading "-" there is a sign, checked by their parsers
NUMBER_FIELDS = ("price", "compare_at_price", "stock", "weight_grams", "rating_avg", "rating_count")
TEXT_FIELDS = ("handle", "title", "description", "brand", "category", "tags", "sku", "size", "colour",
               "image_url", "gender", "currency", "status", "url")


@dataclass
class ParsedVariant:
    """A validated variant row. ``stock`` is ``None`` for "available, quantity unknown";
    ``stock_given``: the row had a stock value (else the missing-stock default was used)."""

    line: int
    sku: str | None
    size: str | None
    colour: str | None
    price_cents: int
    compare_at_cents: int | None
    stock: int | None
    weight_g: int | None
    stock_given: bool = True
    currency: str | None = None


@dataclass
class ParsedProduct:
    """A validated product (from its head row) with its accepted variants."""

    line: int
    handle: str
    title: str
    description: str
    brand: str
    category: str
    tags: list[str]
    gender: str
    currency: str
    images: list[str]
    is_active: bool
    variants: list[ParsedVariant]
    rating_avg: float | None = None
    rating_count: int | None = None
    url: str | None = None
    use_cases: list[str] = field(default_factory=list)
    style: str | None = None
    brand_from_title: bool = False


class RowError(ValueError):
    """A row can't be imported; the message is the reason shown to the merchant and
    ``kind`` the reason without the row's values."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or message


def column_count_problem(row: dict[object, object]) -> str | None:
    """Why a short or long row (``None`` cells or a ``None`` key) can't be used, else ``None``."""
    if None in row:
        extra = row[None]
        n_extra = len(extra) if isinstance(extra, list) else 1
        return f"row has {len(row) - 1 + n_extra} columns but the header has {len(row) - 1}"
    missing = sum(1 for v in row.values() if v is None)
    if missing:
        return f"row has {len(row) - missing} columns but the header has {len(row)}"
    return None


class RowParser:
    """Validates rows into products; nothing touches the database here.

    Args:
        mapping: which column holds what.
        currency: the currency asked for (``--currency``), or ``None``: each product's
            currency column, else the currency its prices show, else USD.
        report: where rejections and warnings go.
        missing_stock: stock for variants without a stock value (``None``: unknown).
        brands: title words counted in a first pass, when brands come from titles.
    """

    def __init__(self, mapping: ColumnMapping, currency: str | None, report: ImportReport, *,
                 missing_stock: int | None = None, brands: TitleBrands | None = None) -> None:
        self.m = mapping
        self.currency = currency.upper() if currency else None
        self.report = report
        self.missing_stock = missing_stock
        self.brands = brands
        self.size_names = {n.strip().lower() for n in mapping.size_option_names}
        self.colour_names = {n.strip().lower() for n in mapping.colour_option_names}
        self.placeholders = {v.strip().lower() for v in mapping.placeholder_option_values}
        self.inactive = {v.strip().lower() for v in mapping.inactive_statuses}
        self.use_case_tags = {t.strip().lower() for t in mapping.use_case_tags}
        self.style_tags = {t.strip().lower() for t in mapping.style_tags}
        self.skus: dict[str, int] = {}  # SKU -> line of the accepted row that used it
        self.seen: dict[str, int] = {}  # handle -> line of the accepted product
        self.checked = [(name, col) for name in (*TEXT_FIELDS, *NUMBER_FIELDS) for col in mapping.columns(name)]
        self.checked += [(f"option {o.name}", c) for o in mapping.options for c in (o.name, o.value)]

    def get(self, row: CsvRow, name: str) -> str:
        return first_value(row.data, self.m.columns(name))

    def row_problem(self, row: CsvRow) -> RowError | None:
        """Why a row can't be read at all (before grouping), else ``None``: a CSV parse
        error, a wrong number of cells, or a mapped cell that is undecodable, binary,
        too long or a spreadsheet formula."""
        if row.problem:
            return RowError(row.problem, "not a valid CSV row")
        problem = column_count_problem(row.data)
        if problem:
            return RowError(problem, "wrong number of columns")
        for name, col in self.checked:
            value = row.data.get(col)
            if not value:
                continue
            bad = undecodable_byte(value)
            if bad is not None:
                return RowError(f"column '{col}' is not valid {self.m.encoding.upper()} text (byte 0x{bad:02x}); "
                                "save the file as 'CSV UTF-8' or set encoding: in the mapping",
                                f"not valid {self.m.encoding.upper()} text")
            if "\x00" in value:
                return RowError(f"column '{col}' contains a NUL byte", "NUL byte in a cell")
            if len(value) > MAX_CELL_CHARS:
                return RowError(f"column '{col}' holds {len(value):,} characters; a cell may hold at most "
                                f"{MAX_CELL_CHARS:,}", "cell too long")
            if name not in NUMBER_FIELDS and looks_like_formula(value):
                return RowError(f"column '{col}' holds a spreadsheet formula ('{value[:30]}'); formulas are "
                                "not imported", "spreadsheet formula in a cell")
        return None

    def _key(self, row: CsvRow) -> str | None:
        handle = self.get(row, "handle")
        if not self.m.group_rows_by_handle:
            return f"\x00line{row.line}"
        if handle:
            return handle
        title = self.get(row, "title")
        return f"\x00title:{slugify(title) or title}" if title else None

    def products(self, rows: Iterable[CsvRow]) -> Iterator[ParsedProduct]:
        """Validated products, one by one, from rows in file order."""
        group: list[CsvRow] = []
        group_key: str | None = None
        for row in rows:
            self.report.rows_read += 1
            problem = self.row_problem(row)
            if problem:
                handle = "" if row.problem else self.get(row, "handle")
                shown = handle[:MAX_LEN["handle"]] if handle and undecodable_byte(handle) is None else None
                self.report.reject(row.line, shown, str(problem), problem.kind)
                continue
            key = self._key(row)
            if key is None:
                self.report.reject(row.line, None, "missing handle and title", "missing title")
                continue
            if group and key != group_key:
                parsed = self.product(group)
                if parsed is not None:
                    yield parsed
                group = []
            group_key = key
            group.append(row)
        if group:
            parsed = self.product(group)
            if parsed is not None:
                yield parsed

    def product(self, rows: list[CsvRow]) -> ParsedProduct | None:
        """One product from its rows, or ``None`` (its rows rejected with reasons)."""
        first = rows[0]
        head = next((r for r in rows if self.get(r, "title")), None)
        handle = self.get(first, "handle")
        if head is None:
            extra = f" (its {len(rows)} rows were skipped)" if len(rows) > 1 else ""
            self.report.reject(first.line, handle or None, f"missing title{extra}", "missing title")
            return None
        title = self.get(head, "title")
        if not handle:
            handle = fit_length(slugify(title) or title, MAX_LEN["handle"])
        try:
            if len(handle) > MAX_LEN["handle"]:
                raise RowError(f"handle is longer than {MAX_LEN['handle']} characters", "handle too long")
            if len(title) > MAX_LEN["title"]:
                raise RowError(f"title is longer than {MAX_LEN['title']} characters", "title too long")
            if handle in self.seen:
                if self.m.columns("handle"):
                    raise RowError(f"handle '{handle}' was already imported from line {self.seen[handle]}; rows of "
                                   f"one product must be next to each other (its {len(rows)} row(s) here were "
                                   "skipped)", "handle already imported (rows not together)")
                raise RowError(f"same title as the product on line {self.seen[handle]}: skipped as a duplicate "
                               "(without a handle column a title names one product)", "duplicate title")
            column_currency = self.get(head, "currency").upper()
            if column_currency and not re.fullmatch(r"[A-Z]{3}", column_currency):
                raise RowError(f"currency '{column_currency[:20]}' is not a 3-letter code", "currency not a code")
            roles = self._option_roles(rows, head)
        except RowError as exc:
            self.report.reject(head.line, handle, str(exc), exc.kind)
            return None
        description = self.get(head, "description")
        if description and self.m.description_is_html:
            description = strip_html(description)
        tags = [t.strip() for t in self.get(head, "tags").split(self.m.list_separator) if t.strip()]
        category = self.get(head, "category")
        if ">" in category:
            category = category.split(">")[-1].strip()
        status = self.get(head, "status").lower()
        brand = self.get(head, "brand")[:MAX_LEN["name"]]
        from_title = False
        if not brand and self.brands is not None:
            brand = self.brands.brand_for(title) or ""
            from_title = bool(brand)
        product = ParsedProduct(
            line=head.line, handle=handle, title=title, description=description, brand=brand,
            category=category[:MAX_LEN["name"]], tags=tags, gender=guess_gender(self.get(head, "gender"), title, tags),
            currency=column_currency, images=[], is_active=status not in self.inactive, variants=[],
            use_cases=[t.lower() for t in tags if t.lower() in self.use_case_tags],
            style=next((t.lower() for t in tags if t.lower() in self.style_tags), None),
            brand_from_title=from_title,
        )
        self._product_extras(product, head)
        seen_options: dict[tuple[str | None, str | None], int] = {}
        variant_rows = 0
        for row in rows:
            row_title = self.get(row, "title")
            if row is not head and row_title and row_title != title and self.m.columns("handle"):
                self.report.reject(row.line, handle, f"title '{row_title[:60]}' differs from '{title[:60]}' on line "
                                   f"{head.line} for the same handle", "conflicting rows for one handle")
                continue
            image = self.get(row, "image_url")
            if image:
                link = web_link(image)
                if link is None:
                    self.report.warn(row.line, handle, f"image '{image[:60]}' is not a web address: left out",
                                     "image is not a web address (left out)")
                elif link not in product.images:
                    product.images.append(link)
            if not self._is_variant_row(row, roles):
                continue
            variant_rows += 1
            try:
                variant = self._variant(row, roles, handle)
                key = (variant.size, variant.colour)
                if key in seen_options:
                    raise RowError(f"duplicate variant {self._label(variant)} (already on line {seen_options[key]})",
                                   "duplicate variant")
                if variant.sku and variant.sku in self.skus:
                    raise RowError(f"SKU '{variant.sku}' is already used on line {self.skus[variant.sku]}",
                                   "SKU used twice")
            except RowError as exc:
                self.report.reject(row.line, handle, str(exc), exc.kind)
                continue
            seen_options[key] = row.line
            if variant.sku:
                self.skus[variant.sku] = row.line
            product.variants.append(variant)
        if variant_rows == 0 and len(rows) == 1:
            self.report.reject(head.line, handle, "missing price", "missing price")
            return None
        if variant_rows == 0:
            self.report.reject(head.line, handle, "no variant rows: a product needs at least one row with a price",
                               "no row with a price")
            return None
        if not product.variants:
            return None
        if not product.currency:
            detected = next((v.currency for v in product.variants if v.currency), None)
            product.currency = self.currency or detected or "USD"
        self.seen[handle] = head.line
        return product

    def _product_extras(self, product: ParsedProduct, head: CsvRow) -> None:
        """Rating and page link from the head row; unusable values are warnings, not rejections."""
        raw_avg, raw_count = self.get(head, "rating_avg"), self.get(head, "rating_count")
        if raw_avg:
            avg = parse_decimal(raw_avg)
            if avg is None or not Decimal(0) <= avg <= Decimal(5):
                self.report.warn(head.line, product.handle, f"rating '{raw_avg[:30]}' is not a number from 0 to 5: "
                                 "imported without a rating", "rating not a number from 0 to 5 (left out)")
            else:
                product.rating_avg = float(avg)
        if raw_count and product.rating_avg is not None:
            count = parse_int(raw_count)
            if count is None or count < 0:
                self.report.warn(head.line, product.handle, f"rating count '{raw_count[:30]}' is not a whole number: "
                                 "imported as 0", "rating count not a whole number (imported as 0)")
            else:
                product.rating_count = count
        raw_url = self.get(head, "url")
        if raw_url:
            product.url = web_link(raw_url)
            if product.url is None:
                self.report.warn(head.line, product.handle, f"link '{raw_url[:60]}' is not a web address: left out",
                                 "link is not a web address (left out)")

    def _option_roles(self, rows: list[CsvRow], head: CsvRow) -> list[tuple[OptionColumns, str]]:
        """(option columns, "size" | "colour" | "ignore") for each option in use."""
        roles: list[tuple[OptionColumns, str]] = []
        for opt in self.m.options:
            name = (head.data.get(opt.name) or "").strip()
            if not name:
                named = ((r.data.get(opt.name) or "").strip() for r in rows)
                name = next((n for n in named if n), "")
            values = [(r.data.get(opt.value) or "").strip() for r in rows]
            real = [v for v in values if v and v.lower() not in self.placeholders]
            lowered = name.lower()
            if lowered in self.size_names:
                roles.append((opt, "size"))
            elif lowered in self.colour_names:
                roles.append((opt, "colour"))
            elif not real:
                roles.append((opt, "ignore"))
            elif not name:
                raise RowError(f"values in '{opt.value}' but no option name in '{opt.name}'", "option without a name")
            else:
                raise RowError(
                    f"option '{name}' is neither a size nor a colour "
                    "(add it to size_option_names or colour_option_names in the mapping)",
                    "option is neither a size nor a colour",
                )
        taken = [r for _o, r in roles if r != "ignore"]
        for role in ("size", "colour"):
            if taken.count(role) > 1:
                raise RowError(f"more than one {role} option", f"more than one {role} option")
        return roles

    def _is_variant_row(self, row: CsvRow, roles: list[tuple[OptionColumns, str]]) -> bool:
        if any(self.get(row, f) for f in ("price", "sku", "size", "colour", "stock", "compare_at_price")):
            return True
        return any((row.data.get(opt.value) or "").strip() for opt, role in roles if role != "ignore")

    def _option_value(self, row: CsvRow, roles: list[tuple[OptionColumns, str]], role: str) -> str | None:
        for opt, r in roles:
            if r == role:
                value = (row.data.get(opt.value) or "").strip()
                if value and value.lower() not in self.placeholders:
                    return value
        direct = self.get(row, role)
        return direct if direct and direct.lower() not in self.placeholders else None

    @staticmethod
    def _label(v: ParsedVariant) -> str:
        parts = [f"size {v.size}" if v.size else "", f"colour {v.colour}" if v.colour else ""]
        return " / ".join(p for p in parts if p) or "(no options)"

    def _price(self, row: CsvRow, raw: str, handle: str) -> Price:
        try:
            price = parse_price(raw)
        except PriceError as exc:
            raise RowError(str(exc), exc.kind) from exc
        if price.cents < 0:
            raise RowError(f"negative price '{raw}'", "negative price")
        if price.cents > MAX_PRICE_CENTS:
            raise RowError(f"price '{raw}' is more than {MAX_PRICE_CENTS // 100:,}, the most the importer accepts",
                           "price too large")
        if price.symbol:
            self.report.currencies_seen[price.symbol] += 1
            self.report.currency_codes.setdefault(price.symbol, price.currencies)
        if price.range_high_cents is not None:
            self.report.warn(row.line, handle, f"price '{raw}' is a range: imported at its low end",
                             "price range (imported at its low end)")
        return price

    def _variant(self, row: CsvRow, roles: list[tuple[OptionColumns, str]], handle: str) -> ParsedVariant:
        size = self._option_value(row, roles, "size")
        colour = self._option_value(row, roles, "colour")
        colour = colour.lower() if colour else None
        for label, value in (("size", size), ("colour", colour)):
            if value and len(value) > MAX_LEN[label]:
                raise RowError(f"{label} '{value[:50]}' is longer than {MAX_LEN[label]} characters",
                               f"{label} too long")
        price = self._price(row, self.get(row, "price"), handle)
        compare_at = None
        raw_compare = self.get(row, "compare_at_price")
        if raw_compare:
            try:
                compare = parse_price(raw_compare)
            except PriceError:
                self.report.warn(row.line, handle, f"compare-at price '{raw_compare[:30]}' is not a number: left out",
                                 "compare-at price not a number (left out)")
            else:
                if price.cents < compare.cents <= MAX_PRICE_CENTS:
                    compare_at = compare.cents
        stock, stock_given = self.missing_stock, False
        raw_stock = self.get(row, "stock")
        if raw_stock:
            parsed = parse_int(raw_stock)
            if parsed is None:
                raise RowError(f"stock '{raw_stock[:30]}' is not a whole number", "stock not a whole number")
            if parsed < 0:
                raise RowError(f"negative stock {parsed}", "negative stock")
            if parsed > MAX_STOCK:
                raise RowError(f"stock {parsed} is implausibly large", "stock too large")
            stock, stock_given = parsed, True
        weight = None
        raw_weight = self.get(row, "weight_grams")
        if raw_weight:
            grams = parse_decimal(raw_weight)
            if grams is None or grams < 0 or grams > 10_000_000:
                raise RowError(f"weight '{raw_weight[:30]}' is not a number of grams", "weight not a number")
            weight = int(grams.to_integral_value())
        sku = self.get(row, "sku") or None
        if sku and len(sku) > MAX_LEN["sku"]:
            raise RowError(f"SKU '{sku[:40]}...' is longer than {MAX_LEN['sku']} characters", "SKU too long")
        return ParsedVariant(row.line, sku, size, colour, price.cents, compare_at, stock, weight, stock_given,
                             price.currency)
