"""Reading catalog CSV files as a stream: one row at a time, never the whole file.

:class:`CsvFile` opens the file, reads the header and then yields :class:`CsvRow` s with
the line where each starts. Bytes that are not valid text in the file's encoding are
kept as lone surrogates (``errors="surrogateescape"``) so the row that holds them can be
rejected with its line number while every other row is read; a row the CSV reader
can't parse (a cell over :data:`MAX_FIELD_BYTES`) comes back as a row with a ``problem``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from shop.importing.mapping import CatalogImportError
from shop.importing.values import undecodable_byte

MAX_FIELD_BYTES = 16 * 1024 * 1024  # the CSV reader's limit for one cell while importing
SNIFF_BYTES = 64 * 1024  # NUL bytes here mean a binary file, not a CSV


@dataclass
class CsvRow:
    """One CSV data row: its 1-based starting line and column -> cell. Short rows have
    ``None`` for their missing cells, long rows keep their extra cells under the key
    ``None`` (like ``csv.DictReader``); ``problem`` is set when the row couldn't be parsed."""

    line: int
    data: dict[Any, Any]
    problem: str | None = None


class CsvFile:
    """A CSV file opened for streaming (use as a context manager).

    Attributes:
        header: the column names (stripped), from the first non-blank record.
        size: the file's size in bytes; ``bytes_read``: how far reading has got.

    Raises :class:`CatalogImportError` on opening for a missing or unreadable file, a
    binary file (NUL bytes near the start), a UTF-16 file, an undecodable or empty
    header, or duplicate column names.
    """

    def __init__(self, path: str | Path, *, delimiter: str = ",", encoding: str = "utf-8") -> None:
        self.path = Path(path)
        self.delimiter = delimiter
        self.encoding = encoding
        self.bytes_read = 0
        self.header: list[str] = []
        self._line = 0
        try:
            self.size = self.path.stat().st_size
            self._file: IO[bytes] = self.path.open("rb")
        except FileNotFoundError as exc:
            raise CatalogImportError(f"{self.path}: file not found") from exc
        except IsADirectoryError as exc:
            raise CatalogImportError(f"{self.path} is a folder, not a CSV file") from exc
        except OSError as exc:
            raise CatalogImportError(f"{self.path}: can't read the file ({exc.strerror or exc})") from exc
        try:
            self._open()
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> None:
        start = self._file.read(SNIFF_BYTES)
        self._file.seek(0)
        if start.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise CatalogImportError(f"{self.path} is a UTF-16 text file; save the CSV as 'CSV UTF-8' and try again")
        if b"\x00" in start:
            raise CatalogImportError(f"{self.path} contains NUL bytes: it looks like a binary file, not a CSV")
        self._records = csv.reader(self._lines(), delimiter=self.delimiter)
        first = self._next_record()
        while first is not None and (not first[1] or all(not c.strip() for c in first[1])):
            first = self._next_record()
        if first is None:
            raise CatalogImportError(f"{self.path} is empty: expected a header row and product rows")
        cells = first[1]
        for c in cells:
            if undecodable_byte(c) is not None:
                raise CatalogImportError(
                    f"{self.path} is not a {self.encoding.upper()} text file (byte 0x{undecodable_byte(c):02x} in the "
                    "header can't be decoded); save the CSV as 'CSV UTF-8' and try again")
        self.header = [c.strip() for c in cells]
        duplicates = sorted({c for c in self.header if c and self.header.count(c) > 1})
        if duplicates:
            raise CatalogImportError(f"{self.path}: duplicate column(s) in the header: {', '.join(duplicates)}")

    def _lines(self) -> Iterator[str]:
        first = True
        for raw in self._file:
            self.bytes_read += len(raw)
            if first and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            first = False
            yield raw.decode(self.encoding, errors="surrogateescape")

    def _next_record(self) -> tuple[int, list[str]] | None:
        """(starting line, cells) of the next record; a record the CSV reader refuses
        comes back as (line, ``["\\x00error", message]``)."""
        old = csv.field_size_limit(MAX_FIELD_BYTES)
        try:
            cells = next(self._records)
        except StopIteration:
            return None
        except csv.Error as exc:
            start, self._line = self._line + 1, self._records.line_num
            return start, ["\x00error", str(exc)]
        finally:
            csv.field_size_limit(old)
        start, self._line = self._line + 1, self._records.line_num
        return start, cells

    def rows(self) -> Iterator[CsvRow]:
        """The data rows, in file order; blank lines are skipped."""
        header = self.header
        while True:
            record = self._next_record()
            if record is None:
                return
            start, cells = record
            if len(cells) == 2 and cells[0] == "\x00error":
                yield CsvRow(start, {}, problem=f"not a valid CSV row ({cells[1]})")
                continue
            if not cells or all(not c.strip() for c in cells):
                continue
            row: dict[Any, Any] = {col: (cells[i] if i < len(cells) else None) for i, col in enumerate(header)}
            if len(cells) > len(header):
                row[None] = cells[len(header):]
            yield CsvRow(start, row)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

