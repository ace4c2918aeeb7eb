"""Hostile catalog files: formula injection, a 10 MB cell, a cell over the CSV reader's
limit, invalid UTF-8, NUL bytes, negative and huge prices, duplicate handles with
conflicting data, a mapping naming columns the file lacks. Each bad row gets a clear
reason and every other row is imported."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Product, ProductVariant
from shop.importing.catalog_import import CatalogImportError, ColumnMapping, import_csv_file
from shop.importing.csv_file import MAX_FIELD_BYTES
from shop.importing.values import MAX_CELL_CHARS

NOW = datetime(2026, 12, 1, 9, 0)
MAPPING = ColumnMapping(name="plain", handle="handle", title="title", price="price", sku="sku", size="size",
                        stock="stock", description="description", description_is_html=False, brand="brand",
                        image_url="image")
HEADER = ["handle", "title", "price", "sku", "size", "stock", "description", "brand", "image"]


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    upgrade(url)
    with session_scope(url) as s:
        yield s
    get_engine(url).dispose()


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _row(handle: str, title: str, price: str = "10.00", **cells: str) -> list[str]:
    values = {"handle": handle, "title": title, "price": price, "sku": cells.get("sku", f"SKU-{handle}"),
              "size": cells.get("size", ""), "stock": cells.get("stock", "5"),
              "description": cells.get("description", "A fine thing."), "brand": cells.get("brand", "Acme"),
              "image": cells.get("image", "")}
    return [values[c] for c in HEADER]


def _handles(session: Session) -> set[str]:
    return set(session.scalars(select(Product.handle)))


def test_formula_cells_are_rejected_and_plain_dashes_are_not(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "formulas.csv"
    path.write_bytes(_csv([
        _row("ok-1", "Camp Mug"),
        _row("f-1", "=cmd|' /C calc'!A0"),
        _row("f-2", "Lamp", description="+HYPERLINK(\"http://evil.example\",\"click\")"),
        _row("f-3", "Tent", brand="@SUM(1+1)"),
        _row("f-4", "Stove", sku="-cmd|' /C notepad'!A0"),
        _row("f-5", "Cup", image="=IMAGE(\"http://evil.example/x.png\")"),
        _row("ok-2", "Trail Bottle", description="- leak-proof lid\n- 750 ml"),  # a list, not a formula
        _row("ok-3", "-5 Degree Sleeping Bag"),
    ]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert {r.line: r.kind for r in report.rejected} == {
        line: "spreadsheet formula in a cell" for line in (3, 4, 5, 6, 7)}
    assert "column 'title' holds a spreadsheet formula" in report.rejected[0].reason
    assert _handles(session) == {"ok-1", "ok-2", "ok-3"}
    assert session.scalar(select(Product.description).where(Product.handle == "ok-2")) == "- leak-proof lid\n- 750 ml"


def test_a_10_mb_cell_rejects_its_row_only(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "big-cell.csv"
    path.write_bytes(_csv([_row("a", "Alpha"), _row("big", "Big", description="x" * (10 * 1024 * 1024)),
                           _row("b", "Beta")]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert [(r.line, r.kind) for r in report.rejected] == [(3, "cell too long")]
    assert f"at most {MAX_CELL_CHARS:,}" in report.rejected[0].reason
    assert _handles(session) == {"a", "b"}


def test_a_cell_over_the_csv_reader_limit_is_reported_and_reading_goes_on(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "huge-cell.csv"
    path.write_bytes(_csv([_row("a", "Alpha"), _row("huge", "Huge", description="y" * (MAX_FIELD_BYTES + 10)),
                           _row("b", "Beta")]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert [(r.line, r.kind) for r in report.rejected] == [(3, "not a valid CSV row")]
    assert "field larger than field limit" in report.rejected[0].reason
    assert _handles(session) == {"a", "b"}
    assert csv.field_size_limit() == 131072  # the reader's limit is restored


def test_invalid_utf8_and_nul_bytes_reject_their_rows(session: Session, tmp_path: Path) -> None:
    good = _csv([_row("a", "Alpha"), _row("b", "Beta")])
    padding = b"".join(b"pad-%d,Padding %d,1.00,PAD-%d,,1,,,\n" % (i, i, i) for i in range(3000))  # > 64 KB
    body = (good + b"bad,Caf\xe9 \xff Mug,9.99,SKU-bad,,1,,,\n" + b"c,Gamma,3.00,SKU-c,,1,,,\n" + padding
            + b"nul,Nul\x00Mug,9.99,SKU-nul,,1,,,\n" + b"d,Delta,4.00,SKU-d,,1,,,\n")
    path = tmp_path / "bytes.csv"
    path.write_bytes(body)
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert [(r.line, r.kind) for r in report.rejected] == [(4, "not valid UTF-8 text"), (3006, "NUL byte in a cell")]
    assert "byte 0xe9" in report.rejected[0].reason
    assert {"a", "b", "c", "d"} <= _handles(session) and report.products_created == 3004


@pytest.mark.parametrize(
    ("price", "kind"),
    [("-5.00", "negative price"), ("-₹1,299", "negative price"), ("99999999999", "price too large"),
     ("$ 10,000,001.00", "price too large"), ("1e308", "price is not a number"), ("Free", None),
     ("", "missing price")],
)
def test_negative_and_huge_prices(session: Session, tmp_path: Path, price: str, kind: str | None) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(_csv([_row("a", "Alpha"), _row("x", "Odd", price=price), _row("b", "Beta")]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert report.rejected_count == 1 and report.rejected[0].line == 3
    assert report.rejected[0].kind == (kind or "price is a word like 'Free', not an amount")
    assert _handles(session) == {"a", "b"}
    assert session.scalar(select(func.max(Product.price_cents))) == 1000


def test_duplicate_handles_with_conflicting_data(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    path.write_bytes(_csv([
        _row("tee", "Trail Tee", size="M", sku="TEE-M"),
        _row("tee", "Trail Tee", size="L", sku="TEE-L"),
        _row("tee", "Totally Other Product", price="99.00", size="XL", sku="TEE-XL"),  # same handle, other title
        _row("tee", "Trail Tee", price="12.00", size="M", sku="TEE-M2"),  # same options again, other price
        _row("mug", "Camp Mug", sku="MUG"),
        _row("tee", "Trail Tee Again", price="1.00", size="S", sku="TEE-S"),  # the handle comes back later
        _row("cup", "Cup", sku="TEE-L"),  # another product's SKU
    ]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert {r.line: r.kind for r in report.rejected} == {
        4: "conflicting rows for one handle", 5: "duplicate variant",
        7: "handle already imported (rows not together)", 8: "SKU used twice"}
    assert "differs from 'Trail Tee' on line 2" in report.rejected[0].reason
    assert "already imported from line 2" in next(r.reason for r in report.rejected if r.line == 7)
    tee = session.scalar(select(Product).where(Product.handle == "tee"))
    assert tee.title == "Trail Tee" and tee.price_cents == 1000
    assert {(v.size, v.sku) for v in tee.variants} == {("M", "TEE-M"), ("L", "TEE-L")}
    assert _handles(session) == {"tee", "mug"}


def test_a_batch_the_database_refuses_is_written_product_by_product(session: Session, tmp_path: Path) -> None:
    # no SKU column: "a-b" size C and "a" size B-C both generate SKU A-B-C, so the batch insert
    # breaks the unique SKU; written one by one, the second product's row is refused with a reason
    path = tmp_path / "clash.csv"
    path.write_bytes(b"handle,title,price,size\nfirst,First,1.00,x\na-b,AB,2.00,C\na,A,3.00,B-C\nlast,Last,4.00,y\n")
    mapping = ColumnMapping(handle="handle", title="title", price="price", size="size")
    report = import_csv_file(session, path=path, mapping=mapping, now=NOW)
    assert [(r.line, r.reason) for r in report.rejected] == [(4, "SKU 'A-B-C' already belongs to product 'a-b'")]
    assert _handles(session) == {"first", "a-b", "last"}
    assert report.products_created == 3


def test_mapping_naming_missing_columns(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "few.csv"
    path.write_bytes(_csv([_row("a", "Alpha"), _row("b", "Beta")]))
    wide = MAPPING.model_copy(update={"colour": "colour", "weight_grams": ["grams", "weight"], "stock": "qty"})
    report = import_csv_file(session, path=path, mapping=wide, now=NOW)
    assert report.products_created == 2 and report.rejected_count == 0
    assert report.missing_columns == ["colour", "qty", "grams", "weight"]
    assert "columns not in the file (left empty): colour, qty, grams, weight" in report.summary_lines()
    # the named stock column is missing: the loud default applies
    assert not report.stock_column and report.headline()[0].startswith("NO STOCK COLUMN: 2 products")
    assert set(session.scalars(select(ProductVariant.stock))) == {None}
    no_price = MAPPING.model_copy(update={"price": ["cost", "amount"]})
    with pytest.raises(CatalogImportError, match="no price column \\(expected 'cost' or 'amount'"):
        import_csv_file(session, path=path, mapping=no_price, now=NOW)


def test_short_long_and_blank_rows(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_bytes(_csv([_row("a", "Alpha")]) + b"short,Short\n\n\nlong,Long,1.00,L,,1,,,,extra,more\n"
                     + b",,,,,,,,\n" + b"b,Beta,2.00,SKU-b,,1,,,\n")
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert {r.line: r.kind for r in report.rejected} == {3: "wrong number of columns", 6: "wrong number of columns"}
    assert _handles(session) == {"a", "b"}


def test_links_that_are_not_web_addresses_are_left_out(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_bytes(_csv([_row("a", "Alpha", image="javascript:alert(1)"),
                           _row("b", "Beta", image="https://img.example.com/b.jpg"),
                           _row("c", "Gamma", image="data:image/png;base64,AAAA"),
                           _row("d", "Delta", image="/files/d.jpg")]))
    report = import_csv_file(session, path=path, mapping=MAPPING, now=NOW)
    assert report.rejected_count == 0
    assert report.warnings["image is not a web address (left out)"].count == 2
    images = {handle: url for handle, url in session.execute(select(Product.handle, Product.image_url))}
    assert images == {"a": None, "b": "https://img.example.com/b.jpg", "c": None, "d": "/files/d.jpg"}
