"""What a catalog import did: counts of created and updated rows, rejected CSV rows and
warnings grouped by reason (a count and the first examples of each), and the notices a
merchant must not miss (no stock column, a currency other than the one asked for, a
dry run), printed first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

EXAMPLES_PER_REASON = 3
MAX_KEPT_REJECTIONS = 1000  # rows listed one by one; the counts per reason are always complete


@dataclass(frozen=True)
class RejectedRow:
    """A CSV row that was not imported: its 1-based line, product handle, why, and the
    reason's kind (the reason without the row's own values, for the summary)."""

    line: int
    handle: str | None
    reason: str
    kind: str = ""

    def __str__(self) -> str:
        where = f" [{self.handle}]" if self.handle else ""
        return f"line {self.line}{where}: {self.reason}"


@dataclass
class ReasonSummary:
    """How many rows had one kind of problem, with the first few as examples."""

    count: int = 0
    examples: list[RejectedRow] = field(default_factory=list)

    def add(self, row: RejectedRow) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES_PER_REASON:
            self.examples.append(row)


@dataclass
class ImportReport:
    """What an import did. ``rows_read`` counts data rows (not the header);
    ``missing_columns`` lists mapped columns the file doesn't have (their fields were
    left empty). ``rejected`` keeps the first :data:`MAX_KEPT_REJECTIONS` rejected rows;
    ``rejections`` and ``warnings`` count every one by kind. ``currencies_seen`` counts
    the currency markers in price cells (``{"₹": 9591}``) and ``currency_codes`` says
    which ISO codes each can mean."""

    rows_read: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    brands_created: int = 0
    categories_created: int = 0
    brands_from_titles: int = 0
    dry_run: bool = False
    stock_column: bool = True
    stock_default: str = ""
    variants_default_stock: int = 0
    products_default_stock: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_count: int = 0
    rejections: dict[str, ReasonSummary] = field(default_factory=dict)
    warnings: dict[str, ReasonSummary] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    currencies_seen: Counter[str] = field(default_factory=Counter)
    currency_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def reject(self, line: int, handle: str | None, reason: str, kind: str | None = None) -> None:
        """Record a rejected row; ``kind`` groups it in the summary (default: ``reason``)."""
        row = RejectedRow(line, handle, reason, kind or reason)
        self.rejected_count += 1
        if len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(row)
        self.rejections.setdefault(row.kind, ReasonSummary()).add(row)

    def warn(self, line: int, handle: str | None, message: str, kind: str) -> None:
        """Record something imported differently from how the file says it (a price range,
        a link that is not a web address); the row itself was imported."""
        self.warnings.setdefault(kind, ReasonSummary()).add(RejectedRow(line, handle, message, kind))

    @property
    def products_imported(self) -> int:
        return self.products_created + self.products_updated

    def headline(self) -> list[str]:
        """The notices a merchant must read first (upper-case lead words)."""
        lines: list[str] = []
        if self.dry_run:
            lines.append("DRY RUN: nothing was written; this is what the import would do.")
        if self.products_default_stock:
            what = counted(self.products_default_stock, "product")
            if self.variants_default_stock != self.products_default_stock:
                what += f" ({counted(self.variants_default_stock, 'variant')})"
            verb = "would be imported" if self.dry_run else "imported"
            if not self.stock_column:
                lines.append(f"NO STOCK COLUMN: {what} {verb} as {self.stock_default}. "
                             + _STOCK_CONSEQUENCE.get(self.stock_default, "")
                             + "Map a stock column or pass --missing-stock zero|N to change this.")
            else:
                lines.append(f"STOCK MISSING: {what} had an empty stock cell and {verb} as "
                             f"{self.stock_default}. " + _STOCK_CONSEQUENCE.get(self.stock_default, "")
                             + "Pass --missing-stock zero|N to change this.")
        lines.extend(self.notices)
        return lines

    def summary_lines(self) -> list[str]:
        """The report as printable lines: notices, counts, then rejections and warnings by
        reason with examples."""
        lines = self.headline()
        lines += [
            f"rows read: {self.rows_read:,}",
            f"products: {self.products_created:,} created, {self.products_updated:,} updated",
            f"variants: {self.variants_created:,} created, {self.variants_updated:,} updated",
            f"brands created: {self.brands_created:,}, categories created: {self.categories_created:,}",
        ]
        if self.brands_from_titles:
            lines.append(f"brands read from titles: {self.brands_from_titles:,} products")
        if self.currencies_seen:
            seen = ", ".join(f"{symbol} in {counted(n, 'price')}" for symbol, n in self.currencies_seen.most_common())
            lines.append(f"currency markers seen: {seen}")
        if self.missing_columns:
            lines.append(f"columns not in the file (left empty): {', '.join(self.missing_columns)}")
        lines.append(f"rejected rows: {self.rejected_count:,}" + (" (by reason)" if self.rejections else ""))
        lines.extend(_by_reason(self.rejections))
        if self.warnings:
            lines.append(f"warnings: {sum(s.count for s in self.warnings.values()):,} (imported, see why)")
            lines.extend(_by_reason(self.warnings))
        return lines


_STOCK_CONSEQUENCE = {
    "'available, quantity unknown'": "They count as in stock, answers say 'in stock' without a number and "
                                     "the cart does not limit quantities. ",
}


def _by_reason(summaries: dict[str, ReasonSummary]) -> list[str]:
    lines: list[str] = []
    for kind, summary in sorted(summaries.items(), key=lambda kv: (-kv[1].count, kv[0])):
        lines.append(f"  {summary.count:>7,}  {kind}")
        lines.extend(f"             e.g. {example}" for example in summary.examples)
    return lines


def counted(count: int, noun: str) -> str:
    """``"1 product"``, ``"9,591 products"``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
