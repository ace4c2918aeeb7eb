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
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.db.schema import Brand, Category, Product, ProductVariant
from tools.demo.vocab import STYLES, USE_CASES

Columns = str | list[str] | None

MAX_PRICE_CENTS = 1_000_000_00
MAX_STOCK = 10_000_000
# lengths of the database columns the importer writes
MAX_LEN = {"handle": 200, "title": 300, "sku": 80, "product_sku": 64, "size": 40, "colour": 40,
           "image_url": 500, "name": 120}


class CatalogImportError(Exception):
    """The file or the mapping can't be used at all (not CSV/UTF-8, missing columns,
    unknown mapping); nothing was imported."""


class OptionColumns(BaseModel):
    """One variant option: the column holding its name (e.g. ``"Size"``) and the column
    holding the row's value for it (e.g. ``"M"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: str


class ColumnMapping(BaseModel):
    """Which CSV column holds each of our fields.

    Every column field takes a column name, a list of names (the first non-empty value
    wins) or ``None`` (not in this CSV). ``title`` and ``price`` are required.

    Variant options come either from ``options`` (name/value column pairs, as in
    Shopify: the option *name* decides whether it is the size or the colour, matched
    case-insensitively against ``size_option_names`` / ``colour_option_names``) or from
    plain ``size`` / ``colour`` columns. Option values in ``placeholder_option_values``
    (Shopify's ``"Default Title"``) mean "no option".

    ``handle`` is the product key: rows with the same handle are one product (when
    ``group_rows_by_handle``); without a handle column, rows are grouped by title.
    ``category`` values written as a taxonomy path (``"Apparel > Clothing > Coats"``)
    use their last segment. ``description_is_html``: strip HTML from the description.
    ``status`` values in ``inactive_statuses`` import the product as inactive.
    ``weight_grams`` goes into ``attributes["weight_g"]``. ``delimiter``: CSV field
    separator (default ``","``). ``list_separator`` splits ``tags``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "custom"
    handle: Columns = None
    title: Columns
    description: Columns = None
    description_is_html: bool = True
    brand: Columns = None
    category: Columns = None
    tags: Columns = None
    price: Columns
    compare_at_price: Columns = None
    sku: Columns = None
    size: Columns = None
    colour: Columns = None
    options: list[OptionColumns] = []
    size_option_names: list[str] = ["size", "sizes", "shoe size", "taille", "größe", "talla"]
    colour_option_names: list[str] = ["colour", "color", "colours", "colors", "farbe", "couleur"]
    placeholder_option_values: list[str] = ["Default Title"]
    stock: Columns = None
    weight_grams: Columns = None
    image_url: Columns = None
    gender: Columns = None
    currency: Columns = None
    status: Columns = None
    inactive_statuses: list[str] = ["draft", "archived", "inactive", "false", "no"]
    group_rows_by_handle: bool = True
    delimiter: str = ","
    list_separator: str = ","

    @field_validator("title", "price")
    @classmethod
    def _required(cls, value: Columns) -> Columns:
        if not value:
            raise ValueError("a column name is required")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("the delimiter must be one character")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path) -> ColumnMapping:
        """Load a mapping from a YAML file whose keys are this model's fields, e.g.::

            name: my-shop
            handle: product_id
            title: name
            price: price_usd
            size: size
            colour: [colour, color]

        Raises :class:`CatalogImportError` for a missing, unreadable or invalid file.
        """
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CatalogImportError(f"mapping file {p} not found") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogImportError(f"can't read mapping file {p}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise CatalogImportError(f"mapping file {p} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise CatalogImportError(f"mapping file {p} must be a YAML mapping of field: column")
        data.setdefault("name", p.stem)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'mapping'}: {e['msg']}"
                                 for e in exc.errors())
            raise CatalogImportError(f"mapping file {p} is invalid: {problems}") from exc

    def columns(self, name: str) -> list[str]:
        """The CSV columns of field ``name`` as a list (empty when unmapped)."""
        value = getattr(self, name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)


SHOPIFY = ColumnMapping(
    name="shopify",
    handle="Handle",
    title="Title",
    description="Body (HTML)",
    brand="Vendor",
    category=["Type", "Product Category"],
    tags="Tags",
    price="Variant Price",
    compare_at_price="Variant Compare At Price",
    sku="Variant SKU",
    options=[OptionColumns(name=f"Option{i} Name", value=f"Option{i} Value") for i in (1, 2, 3)],
    stock="Variant Inventory Qty",
    weight_grams="Variant Grams",
    image_url="Image Src",
    status="Status",
)
"""Shopify's product export CSV (one row per variant or extra image, grouped by Handle)."""

BUILTIN_MAPPINGS: dict[str, ColumnMapping] = {"shopify": SHOPIFY}


def load_mapping(name_or_path: str | Path) -> ColumnMapping:
    """A built-in mapping by name (``"shopify"``) or a mapping read from a YAML file."""
    key = str(name_or_path).strip().lower()
    if key in BUILTIN_MAPPINGS:
        return BUILTIN_MAPPINGS[key]
    path = Path(name_or_path)
    if path.suffix.lower() not in (".yml", ".yaml") and not path.exists():
        known = ", ".join(sorted(BUILTIN_MAPPINGS))
        raise CatalogImportError(f"unknown mapping '{name_or_path}': use one of {known} or a .yml file")
    return ColumnMapping.from_yaml(path)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class RejectedRow:
    """A CSV row that was not imported: its 1-based line, product handle and why."""

    line: int
    handle: str | None
    reason: str

    def __str__(self) -> str:
        where = f" [{self.handle}]" if self.handle else ""
        return f"line {self.line}{where}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did. ``rows_read`` counts data rows (not the header);
    ``missing_columns`` lists mapped columns the file doesn't have (their fields were
    left empty)."""

    rows_read: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    brands_created: int = 0
    categories_created: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    def reject(self, line: int, handle: str | None, reason: str) -> None:
        self.rejected.append(RejectedRow(line, handle, reason))

    def summary_lines(self) -> list[str]:
        """The report as printable lines: counts, then each rejected row."""
        lines = [
            f"rows read: {self.rows_read}",
            f"products: {self.products_created} created, {self.products_updated} updated",
            f"variants: {self.variants_created} created, {self.variants_updated} updated",
            f"brands created: {self.brands_created}, categories created: {self.categories_created}",
        ]
        if self.missing_columns:
            lines.append(f"columns not in the file (left empty): {', '.join(self.missing_columns)}")
        lines.append(f"rejected rows: {len(self.rejected)}")
        lines.extend(f"  {r}" for r in sorted(self.rejected, key=lambda r: r.line))
        return lines


# --------------------------------------------------------------------------- parsing helpers


class _TextExtractor(HTMLParser):
    BLOCK = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                       "table", "section", "blockquote"})
    SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(value: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, whitespace
    collapsed, paragraphs and list items on their own lines."""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def slugify(value: str) -> str:
    """``"Cedar & Pine"`` -> ``"cedar-and-pine"``; accents folded to ASCII."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    ascii_text = ascii_text.lower().replace("&", " and ").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _fit(value: str, limit: int) -> str:
    """``value`` cut to ``limit`` characters, keeping it unique with a short hash."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha1(value.encode("utf-8")).hexdigest()[:8]
    return f"{value[:limit - 9]}-{digest}"


_MONEY_CHARS = re.compile(r"[\s$€£¥]|USD|EUR|GBP|CAD|AUD", re.IGNORECASE)


def parse_money(raw: str) -> int | None:
    """Cents from a price like ``"129.95"``, ``"$1,299.00"`` or ``"129,95"``; ``None`` if
    it is not a number. Rounds half up to whole cents."""
    text = _MONEY_CHARS.sub("", raw)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    elif re.fullmatch(r"-?\d+,\d{1,2}", text):
        text = text.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", text):
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _parse_int(raw: str) -> int | None:
    text = raw.strip().replace(",", "")
    if re.fullmatch(r"-?\d+(\.0+)?", text):
        return int(Decimal(text))
    return None


def _first(row: dict[str, Any], columns: list[str]) -> str:
    for col in columns:
        value = row.get(col)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


_WORD_RE = re.compile(r"[a-z']+")
_MEN = frozenset({"men", "mens", "men's", "male", "man", "m"})
_WOMEN = frozenset({"women", "womens", "women's", "female", "woman", "ladies", "w", "f"})


def _gender(explicit: str, title: str, tags: list[str]) -> str:
    if explicit:
        word = explicit.strip().lower()
        if word in _MEN:
            return "men"
        if word in _WOMEN:
            return "women"
        if word in ("unisex", "all", "u"):
            return "unisex"
    words = set(_WORD_RE.findall(" ".join([title, *tags]).lower()))
    men, women = bool(words & (_MEN - {"m"})), bool(words & (_WOMEN - {"w", "f"}))
    if men and not women:
        return "men"
    if women and not men:
        return "women"
    return "unisex"


# --------------------------------------------------------------------------- parsed structures


@dataclass
class _Row:
    line: int
    data: dict[Any, Any]


@dataclass
class _ParsedVariant:
    line: int
    sku: str | None
    size: str | None
    colour: str | None
    price_cents: int
    compare_at_cents: int | None
    stock: int
    weight_g: int | None


@dataclass
class _ParsedProduct:
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
    variants: list[_ParsedVariant]


class _RowError(ValueError):
    """A row can't be imported; the message is the reason shown to the merchant."""


def _column_count_problem(row: dict[Any, Any]) -> str | None:
    if None in row:
        extra = row[None]
        n_extra = len(extra) if isinstance(extra, list) else 1
        return f"row has {len(row) - 1 + n_extra} columns but the header has {len(row) - 1}"
    missing = sum(1 for v in row.values() if v is None)
    if missing:
        return f"row has {len(row) - missing} columns but the header has {len(row)}"
    return None


class _Parser:
    """Validates rows into products; nothing touches the database here."""

    def __init__(self, mapping: ColumnMapping, currency: str, report: ImportReport) -> None:
        self.m = mapping
        self.currency = currency.upper()
        self.report = report
        self.size_names = {n.strip().lower() for n in mapping.size_option_names}
        self.colour_names = {n.strip().lower() for n in mapping.colour_option_names}
        self.placeholders = {v.strip().lower() for v in mapping.placeholder_option_values}
        self.inactive = {v.strip().lower() for v in mapping.inactive_statuses}
        self.skus: dict[str, int] = {}  # SKU -> line of the accepted row that used it

    def get(self, row: _Row, name: str) -> str:
        return _first(row.data, self.m.columns(name))

    def group(self, rows: Iterable[_Row]) -> dict[str, list[_Row]]:
        groups: dict[str, list[_Row]] = {}
        for row in rows:
            self.report.rows_read += 1
            problem = _column_count_problem(row.data)
            if problem:
                self.report.reject(row.line, self.get(row, "handle") or None, problem)
                continue
            handle = self.get(row, "handle")
            if not self.m.group_rows_by_handle:
                key = f"\x00line{row.line}"
            elif handle:
                key = handle
            else:
                title = self.get(row, "title")
                if not title:
                    self.report.reject(row.line, None, "missing handle and title")
                    continue
                key = f"\x00title:{slugify(title) or title}"
            groups.setdefault(key, []).append(row)
        return groups

    def product(self, rows: list[_Row]) -> _ParsedProduct | None:
        first = rows[0]
        head = next((r for r in rows if self.get(r, "title")), None)
        handle = self.get(first, "handle")
        if head is None:
            extra = f" (its {len(rows)} rows were skipped)" if len(rows) > 1 else ""
            self.report.reject(first.line, handle or None, f"missing title{extra}")
            return None
        title = self.get(head, "title")
        if not handle:
            handle = slugify(title) or _fit(title, MAX_LEN["handle"])
        try:
            if len(handle) > MAX_LEN["handle"]:
                raise _RowError(f"handle is longer than {MAX_LEN['handle']} characters")
            if len(title) > MAX_LEN["title"]:
                raise _RowError(f"title is longer than {MAX_LEN['title']} characters")
            currency = (self.get(head, "currency") or self.currency).upper()
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise _RowError(f"currency '{currency}' is not a 3-letter code")
            roles = self._option_roles(rows, head)
        except _RowError as exc:
            self.report.reject(head.line, handle, str(exc))
            return None
        description = self.get(head, "description")
        if description and self.m.description_is_html:
            description = strip_html(description)
        tags = [t.strip() for t in self.get(head, "tags").split(self.m.list_separator) if t.strip()]
        category = self.get(head, "category")
        if ">" in category:
            category = category.split(">")[-1].strip()
        status = self.get(head, "status").lower()
        product = _ParsedProduct(
            line=head.line, handle=handle, title=title, description=description,
            brand=self.get(head, "brand")[:MAX_LEN["name"]], category=category[:MAX_LEN["name"]],
            tags=tags, gender=_gender(self.get(head, "gender"), title, tags), currency=currency,
            images=[], is_active=status not in self.inactive, variants=[],
        )
        seen_options: dict[tuple[str | None, str | None], int] = {}
        variant_rows = 0
        for row in rows:
            image = self.get(row, "image_url")
            if image and image not in product.images and len(image) <= MAX_LEN["image_url"]:
                product.images.append(image)
            if not self._is_variant_row(row, roles):
                continue
            variant_rows += 1
            try:
                variant = self._variant(row, roles, handle)
                key = (variant.size, variant.colour)
                if key in seen_options:
                    raise _RowError(f"duplicate variant {self._label(variant)} (already on line {seen_options[key]})")
                if variant.sku and variant.sku in self.skus:
                    raise _RowError(f"SKU '{variant.sku}' is already used on line {self.skus[variant.sku]}")
            except _RowError as exc:
                self.report.reject(row.line, handle, str(exc))
                continue
            seen_options[key] = row.line
            if variant.sku:
                self.skus[variant.sku] = row.line
            product.variants.append(variant)
        if variant_rows == 0:
            self.report.reject(head.line, handle, "no variant rows: a product needs at least one row with a price")
            return None
        return product if product.variants else None

    def _option_roles(self, rows: list[_Row], head: _Row) -> list[tuple[OptionColumns, str]]:
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
                raise _RowError(f"option values in column '{opt.value}' but no option name in '{opt.name}'")
            else:
                raise _RowError(
                    f"option '{name}' is neither a size nor a colour "
                    "(add it to size_option_names or colour_option_names in the mapping)"
                )
        taken = [r for _o, r in roles if r != "ignore"]
        for role in ("size", "colour"):
            if taken.count(role) > 1:
                raise _RowError(f"more than one {role} option")
        return roles

    def _is_variant_row(self, row: _Row, roles: list[tuple[OptionColumns, str]]) -> bool:
        if any(self.get(row, f) for f in ("price", "sku", "size", "colour", "stock", "compare_at_price")):
            return True
        return any((row.data.get(opt.value) or "").strip() for opt, role in roles if role != "ignore")

    def _option_value(self, row: _Row, roles: list[tuple[OptionColumns, str]], role: str) -> str | None:
        for opt, r in roles:
            if r == role:
                value = (row.data.get(opt.value) or "").strip()
                if value and value.lower() not in self.placeholders:
                    return value
        direct = self.get(row, role)
        return direct if direct and direct.lower() not in self.placeholders else None

    @staticmethod
    def _label(v: _ParsedVariant) -> str:
        parts = [f"size {v.size}" if v.size else "", f"colour {v.colour}" if v.colour else ""]
        return " / ".join(p for p in parts if p) or "(no options)"

    def _variant(self, row: _Row, roles: list[tuple[OptionColumns, str]], handle: str) -> _ParsedVariant:
        size = self._option_value(row, roles, "size")
        colour = self._option_value(row, roles, "colour")
        colour = colour.lower() if colour else None
        for label, value in (("size", size), ("colour", colour)):
            if value and len(value) > MAX_LEN[label]:
                raise _RowError(f"{label} '{value[:50]}' is longer than {MAX_LEN[label]} characters")
        raw_price = self.get(row, "price")
        if not raw_price:
            raise _RowError("missing price")
        price = parse_money(raw_price)
        if price is None:
            raise _RowError(f"price '{raw_price}' is not a number")
        if price < 0:
            raise _RowError(f"negative price '{raw_price}'")
        if price > MAX_PRICE_CENTS:
            raise _RowError(f"price '{raw_price}' is too large")
        compare_at = None
        raw_compare = self.get(row, "compare_at_price")
        if raw_compare:
            compare_at = parse_money(raw_compare)
            if compare_at is None:
                raise _RowError(f"compare-at price '{raw_compare}' is not a number")
            if compare_at <= price or compare_at > MAX_PRICE_CENTS:
                compare_at = None
        stock = 0
        raw_stock = self.get(row, "stock")
        if raw_stock:
            parsed = _parse_int(raw_stock)
            if parsed is None:
                raise _RowError(f"stock '{raw_stock}' is not a whole number")
            if parsed < 0:
                raise _RowError(f"negative stock {parsed}")
            if parsed > MAX_STOCK:
                raise _RowError(f"stock {parsed} is implausibly large")
            stock = parsed
        weight = None
        raw_weight = self.get(row, "weight_grams")
        if raw_weight:
            grams = parse_money(raw_weight)
            if grams is None or grams < 0:
                raise _RowError(f"weight '{raw_weight}' is not a number of grams")
            weight = round(grams / 100)
        sku = self.get(row, "sku") or None
        if sku and len(sku) > MAX_LEN["sku"]:
            raise _RowError(f"SKU '{sku[:40]}...' is longer than {MAX_LEN['sku']} characters")
        return _ParsedVariant(row.line, sku, size, colour, price, compare_at, stock, weight)


# --------------------------------------------------------------------------- writing


class _Names:
    """Brands and categories by name, found or created once per import."""

    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report
        self.cache: dict[tuple[str, str], int] = {}

    def id_for(self, model: type[Brand | Category], name: str) -> int | None:
        if not name:
            return None
        kind = model.__tablename__
        key = (kind, name.lower())
        if key in self.cache:
            return self.cache[key]
        slug = slugify(name) or f"{kind[:-1]}-{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}"
        slug = _fit(slug, 80)
        found = self.session.scalar(select(model.id).where(func.lower(model.name) == name.lower()).order_by(model.id))
        if found is None:
            found = self.session.scalar(select(model.id).where(model.slug == slug))
        if found is None:
            obj = model(slug=slug, name=name)
            self.session.add(obj)
            self.session.flush()
            found = obj.id
            if model is Brand:
                self.report.brands_created += 1
            else:
                self.report.categories_created += 1
        self.cache[key] = found
        return found

    def forget_new(self) -> None:
        """After a rolled-back savepoint, ids created inside it are gone."""
        self.cache.clear()


def _generated_sku(handle: str, size: str | None, colour: str | None) -> str:
    parts = [handle, slugify(size or ""), slugify(colour or "")]
    return _fit("-".join(p for p in parts if p).upper(), MAX_LEN["sku"])


def _write_product(session: Session, parsed: _ParsedProduct, *, now: datetime, report: ImportReport,
                   names: _Names) -> None:
    """Upsert one validated product and its variants (inside the caller's savepoint)."""
    # SKUs that belong to other products are rejected row by row.
    skus: dict[str, _ParsedVariant] = {}
    for v in parsed.variants:
        sku = v.sku or _generated_sku(parsed.handle, v.size, v.colour)
        if sku in skus:  # two option spellings with the same slug ("M" and "m")
            sku = _fit(f"{sku}-L{v.line}", MAX_LEN["sku"])
        skus[sku] = v
    owners = dict(session.execute(
        select(ProductVariant.sku, Product.handle)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.sku.in_(list(skus)))
    ).all())
    variants: list[tuple[str, _ParsedVariant]] = []
    for sku, v in skus.items():
        owner = owners.get(sku)
        if owner is not None and owner != parsed.handle:
            report.reject(v.line, parsed.handle, f"SKU '{sku}' already belongs to product '{owner}'")
            continue
        variants.append((sku, v))
    if not variants:
        return
    cheapest = min((v for _s, v in variants), key=lambda v: (v.price_cents, v.line))
    weight = next((v.weight_g for _s, v in variants if v.weight_g is not None), None)
    brand_id = names.id_for(Brand, parsed.brand)
    category_id = names.id_for(Category, parsed.category)
    attributes: dict[str, Any] = {
        "tags": parsed.tags,
        "use_cases": [t.lower() for t in parsed.tags if t.lower() in USE_CASES],
        "source": "csv import",
    }
    style = next((t.lower() for t in parsed.tags if t.lower() in STYLES), None)
    if style:
        attributes["style"] = style
    if weight is not None:
        attributes["weight_g"] = weight
    if len(parsed.images) > 1:
        attributes["images"] = parsed.images
    fields = {
        "title": parsed.title, "description": parsed.description, "brand_id": brand_id,
        "category_id": category_id, "gender": parsed.gender, "price_cents": cheapest.price_cents,
        "compare_at_cents": cheapest.compare_at_cents, "currency": parsed.currency,
        "image_url": parsed.images[0] if parsed.images else None, "is_active": parsed.is_active,
        "updated_at": now,
    }
    product = session.scalar(select(Product).where(Product.handle == parsed.handle))
    created = product is None
    if product is None:
        product_sku = _fit(parsed.handle, MAX_LEN["product_sku"])
        if session.scalar(select(Product.id).where(Product.sku == product_sku)) is not None:
            product_sku = _fit(f"{parsed.handle}-import", MAX_LEN["product_sku"])
        product = Product(handle=parsed.handle, sku=product_sku, created_at=now, rating_count=0,
                          attributes=attributes, **fields)
        session.add(product)
        session.flush()
    else:
        for key, value in fields.items():
            setattr(product, key, value)
        product.attributes = {**(product.attributes or {}), **attributes}
    existing = list(session.scalars(select(ProductVariant).where(ProductVariant.product_id == product.id)))
    by_sku = {v.sku: v for v in existing}
    by_options = {(v.size, v.colour): v for v in existing}
    v_created = v_updated = 0
    for sku, v in variants:
        row = by_sku.get(sku) or by_options.get((v.size, v.colour))
        if row is None:
            session.add(ProductVariant(product_id=product.id, sku=sku, size=v.size, colour=v.colour,
                                       price_cents=v.price_cents, stock=v.stock))
            v_created += 1
        else:
            row.sku, row.size, row.colour = sku, v.size, v.colour
            row.price_cents, row.stock = v.price_cents, v.stock
            v_updated += 1
    session.flush()
    report.products_created += int(created)
    report.products_updated += int(not created)
    report.variants_created += v_created
    report.variants_updated += v_updated


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

    def numbered() -> Iterator[_Row]:
        for i, data in enumerate(rows):
            line = lines[i] if lines is not None and i < len(lines) else i + 2
            yield _Row(line, data)

    parser = _Parser(mapping, currency, report)
    names = _Names(session, report)
    for group in parser.group(numbered()).values():
        parsed = parser.product(group)
        if parsed is None:
            continue
        counters = {name: getattr(report, name) for name in _COUNTERS}
        n_rejected = len(report.rejected)
        try:
            with session.begin_nested():
                _write_product(session, parsed, now=now, report=report, names=names)
        except SQLAlchemyError as exc:
            names.forget_new()
            for name, value in counters.items():
                setattr(report, name, value)
            del report.rejected[n_rejected:]
            detail = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
            report.reject(parsed.line, parsed.handle, f"the database refused this product: {detail}")
    return report


# --------------------------------------------------------------------------- files


@dataclass
class CsvRows:
    """Rows of a CSV file as dicts, with the line where each starts and the header."""

    header: list[str]
    rows: list[dict[Any, Any]]
    line_numbers: list[int]


def read_csv_rows(path: str | Path, *, delimiter: str = ",") -> CsvRows:
    """Read a UTF-8 (optionally BOM-prefixed) CSV file.

    Short rows get ``None`` for their missing columns and long rows keep their extra
    cells under the key ``None`` (like ``csv.DictReader``); blank lines are skipped.

    Raises :class:`CatalogImportError` for a missing, binary, non-UTF-8 or empty file.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError as exc:
        raise CatalogImportError(f"{p}: file not found") from exc
    except OSError as exc:
        raise CatalogImportError(f"{p}: can't read the file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogImportError(
            f"{p} is not a UTF-8 text file (byte 0x{raw[exc.start]:02x} at offset {exc.start} can't be "
            "decoded); save the CSV as 'CSV UTF-8' and try again"
        ) from exc
    if "\x00" in text:
        raise CatalogImportError(f"{p} contains NUL bytes: it looks like a binary file, not a CSV")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[dict[Any, Any]] = []
    line_numbers: list[int] = []
    last_line = 0
    try:
        for cells in reader:
            start, last_line = last_line + 1, reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                duplicates = sorted({c for c in header if c and header.count(c) > 1})
                if duplicates:
                    raise CatalogImportError(f"{p}: duplicate column(s) in the header: {', '.join(duplicates)}")
                continue
            row: dict[Any, Any] = {col: (cells[i] if i < len(cells) else None) for i, col in enumerate(header)}
            if len(cells) > len(header):
                row[None] = cells[len(header):]
            rows.append(row)
            line_numbers.append(start)
    except csv.Error as exc:
        raise CatalogImportError(f"{p}, line {reader.line_num}: not a valid CSV file ({exc})") from exc
    if header is None:
        raise CatalogImportError(f"{p} is empty: expected a header row and product rows")
    return CsvRows(header, rows, line_numbers)


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
