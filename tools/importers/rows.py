"""Validating catalog CSV rows into products and variants: rows are grouped by product
key (the handle), options are read as sizes and colours, and prices, stock and weights
are parsed. Nothing here touches the database; every bad row is reported with its line
and a reason."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tools.importers.import_report import ImportReport
from tools.importers.mapping import ColumnMapping, OptionColumns
from tools.importers.values import (
    MAX_LEN,
    MAX_PRICE_CENTS,
    MAX_STOCK,
    first_value,
    fit_length,
    guess_gender,
    parse_int,
    parse_money,
    slugify,
    strip_html,
)


@dataclass
class CsvRow:
    """One CSV data row: its 1-based starting line and column -> cell."""

    line: int
    data: dict[Any, Any]


@dataclass
class ParsedVariant:
    """A validated variant row."""

    line: int
    sku: str | None
    size: str | None
    colour: str | None
    price_cents: int
    compare_at_cents: int | None
    stock: int
    weight_g: int | None


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


class RowError(ValueError):
    """A row can't be imported; the message is the reason shown to the merchant."""


def column_count_problem(row: dict[Any, Any]) -> str | None:
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

    def get(self, row: CsvRow, name: str) -> str:
        return first_value(row.data, self.m.columns(name))

    def group(self, rows: Iterable[CsvRow]) -> dict[str, list[CsvRow]]:
        groups: dict[str, list[CsvRow]] = {}
        for row in rows:
            self.report.rows_read += 1
            problem = column_count_problem(row.data)
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

    def product(self, rows: list[CsvRow]) -> ParsedProduct | None:
        first = rows[0]
        head = next((r for r in rows if self.get(r, "title")), None)
        handle = self.get(first, "handle")
        if head is None:
            extra = f" (its {len(rows)} rows were skipped)" if len(rows) > 1 else ""
            self.report.reject(first.line, handle or None, f"missing title{extra}")
            return None
        title = self.get(head, "title")
        if not handle:
            handle = slugify(title) or fit_length(title, MAX_LEN["handle"])
        try:
            if len(handle) > MAX_LEN["handle"]:
                raise RowError(f"handle is longer than {MAX_LEN['handle']} characters")
            if len(title) > MAX_LEN["title"]:
                raise RowError(f"title is longer than {MAX_LEN['title']} characters")
            currency = (self.get(head, "currency") or self.currency).upper()
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise RowError(f"currency '{currency}' is not a 3-letter code")
            roles = self._option_roles(rows, head)
        except RowError as exc:
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
        product = ParsedProduct(
            line=head.line, handle=handle, title=title, description=description,
            brand=self.get(head, "brand")[:MAX_LEN["name"]], category=category[:MAX_LEN["name"]],
            tags=tags, gender=guess_gender(self.get(head, "gender"), title, tags), currency=currency,
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
                    raise RowError(f"duplicate variant {self._label(variant)} (already on line {seen_options[key]})")
                if variant.sku and variant.sku in self.skus:
                    raise RowError(f"SKU '{variant.sku}' is already used on line {self.skus[variant.sku]}")
            except RowError as exc:
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
                raise RowError(f"option values in column '{opt.value}' but no option name in '{opt.name}'")
            else:
                raise RowError(
                    f"option '{name}' is neither a size nor a colour "
                    "(add it to size_option_names or colour_option_names in the mapping)"
                )
        taken = [r for _o, r in roles if r != "ignore"]
        for role in ("size", "colour"):
            if taken.count(role) > 1:
                raise RowError(f"more than one {role} option")
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

    def _variant(self, row: CsvRow, roles: list[tuple[OptionColumns, str]], handle: str) -> ParsedVariant:
        size = self._option_value(row, roles, "size")
        colour = self._option_value(row, roles, "colour")
        colour = colour.lower() if colour else None
        for label, value in (("size", size), ("colour", colour)):
            if value and len(value) > MAX_LEN[label]:
                raise RowError(f"{label} '{value[:50]}' is longer than {MAX_LEN[label]} characters")
        raw_price = self.get(row, "price")
        if not raw_price:
            raise RowError("missing price")
        price = parse_money(raw_price)
        if price is None:
            raise RowError(f"price '{raw_price}' is not a number")
        if price < 0:
            raise RowError(f"negative price '{raw_price}'")
        if price > MAX_PRICE_CENTS:
            raise RowError(f"price '{raw_price}' is too large")
        compare_at = None
        raw_compare = self.get(row, "compare_at_price")
        if raw_compare:
            compare_at = parse_money(raw_compare)
            if compare_at is None:
                raise RowError(f"compare-at price '{raw_compare}' is not a number")
            if compare_at <= price or compare_at > MAX_PRICE_CENTS:
                compare_at = None
        stock = 0
        raw_stock = self.get(row, "stock")
        if raw_stock:
            parsed = parse_int(raw_stock)
            if parsed is None:
                raise RowError(f"stock '{raw_stock}' is not a whole number")
            if parsed < 0:
                raise RowError(f"negative stock {parsed}")
            if parsed > MAX_STOCK:
                raise RowError(f"stock {parsed} is implausibly large")
            stock = parsed
        weight = None
        raw_weight = self.get(row, "weight_grams")
        if raw_weight:
            grams = parse_money(raw_weight)
            if grams is None or grams < 0:
                raise RowError(f"weight '{raw_weight}' is not a number of grams")
            weight = round(grams / 100)
        sku = self.get(row, "sku") or None
        if sku and len(sku) > MAX_LEN["sku"]:
            raise RowError(f"SKU '{sku[:40]}...' is longer than {MAX_LEN['sku']} characters")
        return ParsedVariant(row.line, sku, size, colour, price, compare_at, stock, weight)

