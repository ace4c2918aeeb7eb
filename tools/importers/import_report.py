"""What a catalog import did: counts of created and updated rows and the rejected CSV
rows with their line numbers and reasons."""

from __future__ import annotations

from dataclasses import dataclass, field


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

