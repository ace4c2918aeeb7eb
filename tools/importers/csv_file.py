"""Reading catalog CSV files: UTF-8 (optionally with a BOM) text into rows of column ->
cell, with the line where each row starts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.importers.mapping import CatalogImportError


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

