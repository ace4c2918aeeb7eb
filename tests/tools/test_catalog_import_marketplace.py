"""A raw marketplace listing export (tests/fixtures/marketplace_listings.csv, invented
products): rupee prices, discount and actual price, no stock and no brand column. The
built-in ``marketplace`` mapping, stock "unknown" and the loud report, brands from
titles, currencies, --dry-run, batches and re-imports."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.engine import session_scope
from shop.db.schema import Brand, Category, Product, ProductVariant
from shop.importing.catalog_import import ImportReport, import_csv_file
from shop.importing.mapping import load_mapping
from shop.importing.missing_stock import parse_missing_stock
from shop.importing.title_brands import TitleBrands
from tests.paths import FIXTURES, ROOT

LISTINGS = FIXTURES / "marketplace_listings.csv"
NOW = datetime(2026, 12, 1, 9, 0)
# line -> reason kind, for the listings that can't be imported as they are
EXPECTED_KINDS = {
    26: "price is a word like 'Free', not an amount",
    27: "no price ('N/A', '-', 'call us')",
    28: "missing price",
    29: "spreadsheet formula in a cell",
    30: "duplicate title",
}


def _import(url: str, **kwargs: object) -> ImportReport:
    with session_scope(url) as session:
        return import_csv_file(session, path=LISTINGS, mapping="marketplace", now=NOW, **kwargs)  # type: ignore[arg-type]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def test_marketplace_export_imports_with_unknown_stock_and_says_so_loudly(db_url: str) -> None:
    report = _import(db_url)
    assert report.rows_read == 41
    assert {r.line: r.kind for r in report.rejected} == EXPECTED_KINDS
    assert (report.products_created, report.variants_created) == (36, 36)
    assert not report.stock_column and report.products_default_stock == 36
    headline = report.summary_lines()[0]
    assert headline.startswith("NO STOCK COLUMN: 36 products imported as 'available, quantity unknown'")
    assert "--missing-stock" in headline
    assert report.currencies_seen == {"₹": 36}
    assert any(n.startswith("currency: INR, from the ₹ in 36 prices") for n in report.notices)
    assert set(report.warnings) == {"link is not a web address (left out)", "price range (imported at its low end)",
                                    "rating not a number from 0 to 5 (left out)"}
    with session_scope(db_url) as s:
        assert _count(s, Product) == 36
        assert s.scalar(select(func.count()).where(ProductVariant.stock.is_(None))) == 36
        assert s.scalar(select(func.count()).select_from(ProductVariant).where(ProductVariant.in_stock)) == 36
        products = {p.title: p for p in s.scalars(select(Product))}
        tv = products["Zorvik Nova 55 inch 4K Ultra HD Smart LED TV"]
        # discount price is the price, actual price the "was" price, Indian grouping read
        assert (tv.price_cents, tv.compare_at_cents, tv.currency) == (12999900, 18999900, "INR")
        assert tv.category.name == "Televisions" and tv.brand.name == "Zorvik"
        assert (tv.rating_avg, tv.rating_count) == (4.4, 311)
        assert tv.attributes["url"] == "https://market.example.com/zorvik-nova-55"
        assert tv.image_url == "https://img.example.com/zv-nova55.jpg"
        hoodie = products["Maple Heron Unisex Hooded Sweatshirt"]  # no actual price: no "was" price
        assert (hoodie.price_cents, hoodie.compare_at_cents) == (109900, None)
        assert hoodie.brand.name == "Maple Heron"  # two words: every "Maple" title goes on with "Heron"
        book = products["Lumbra Kids' Story Book Collection Vol. 1"]  # no discount price: the actual price
        assert (book.price_cents, book.compare_at_cents, book.brand.name) == (45000, None, "Lumbra")
        puzzle = products["Lumbra Kids' Puzzle Set 100 Pieces"]
        assert (puzzle.rating_avg, puzzle.rating_count) == (None, 0)  # "Get" / "FREE Delivery" left out
        kettle = products["Orvanta Electric Kettle 1.7 L"]
        assert "url" not in kettle.attributes  # javascript: link dropped
        blender = products["Orvanta Hand Blender 400 W"]
        assert blender.price_cents == 99900  # "₹999–₹1499": the low end
        # generic first words and one-off titles give no brand
        for title in ("Wireless Charging Pad 15W Fast Charge", "Premium Leather Wallet for Men",
                      "Brindle Reading Lamp with Touch Dimmer"):
            assert products[title].brand_id is None, title
        assert {b.name for b in s.scalars(select(Brand))} == {
            "Zorvik", "Maple Heron", "Quillo", "Tessaro", "Lumbra", "Orvanta", "Saffrine", "Corvel", "Nimbra"}
        earbuds = products["Zorvik Aero 5 Wireless Earbuds with 40h Playback"]  # the first listing wins
        assert earbuds.category.name == "Headphones"


def test_dry_run_writes_nothing_and_reports_the_same(db_url: str) -> None:
    dry = _import(db_url, dry_run=True)
    assert dry.dry_run and dry.summary_lines()[0].startswith("DRY RUN: nothing was written")
    assert "would be imported as 'available, quantity unknown'" in dry.summary_lines()[1]
    assert (dry.products_created, dry.rejected_count) == (36, 5)
    with session_scope(db_url) as s:
        assert (_count(s, Product), _count(s, ProductVariant), _count(s, Brand), _count(s, Category)) == (0, 0, 0, 0)
    real = _import(db_url, batch_size=7)  # commits every 7 products: the same result
    assert (real.products_created, real.rejected_count, real.brands_created) == (36, 5, 9)
    with session_scope(db_url) as s:
        assert _count(s, Product) == 36


def test_progress_covers_both_passes_once(db_url: str) -> None:
    seen: list[tuple[int, int]] = []
    _import(db_url, progress=lambda done, size: seen.append((done, size)))
    size = LISTINGS.stat().st_size
    assert seen and all(total == size for _done, total in seen)
    done = [d for d, _total in seen]
    assert done == sorted(done) and done[-1] in (size - 1, size)  # the second pass ends at the end of the file


def test_missing_stock_can_be_zero_or_a_number_and_reimport_keeps_known_stock(db_url: str) -> None:
    zero = _import(db_url, missing_stock="zero")
    assert "imported as stock 0 (sold out: search will not show them)" in zero.summary_lines()[0]
    with session_scope(db_url) as s:
        assert set(s.scalars(select(ProductVariant.stock))) == {0}
        s.execute(ProductVariant.__table__.update().values(stock=7))
    # re-imported without a stock value and without --missing-stock: stock the shop has set stays
    again = _import(db_url)
    assert (again.products_created, again.products_updated) == (0, 36)
    with session_scope(db_url) as s:
        assert set(s.scalars(select(ProductVariant.stock))) == {7}
    # asked for explicitly, the default is applied to every variant the file has no number for
    _import(db_url, missing_stock="25")
    with session_scope(db_url) as s:
        assert set(s.scalars(select(ProductVariant.stock))) == {25}


def test_currency_other_than_asked_is_reported(db_url: str) -> None:
    report = _import(db_url, currency="usd")
    assert any(n.startswith("CURRENCY: 36 prices show ₹ (INR) but --currency is USD") and "--currency INR" in n
               for n in report.headline())
    with session_scope(db_url) as s:
        assert set(s.scalars(select(Product.currency))) == {"USD"}  # what was asked for, said loudly


def test_brand_rule_counts_prefixes_and_skips_generic_words() -> None:
    brands = TitleBrands(min_products=3)
    titles = ["Samsung Galaxy S9", "Samsung Galaxy A5", "Samsung Galaxy Tab", "Samsung Crystal TV",
              "Van Heusen Shirt", "Van Heusen Trousers", "Van Heusen Belt",
              "Cotton Shirt", "Cotton Socks", "Cotton Towel", "Soft Cotton Bedsheet", "Pure Cotton Kurta",
              "Linen Shirt", "Summer Linen Dress", "Blue Linen Trousers", "Linen Shorts", "Organic Linen Towel",
              "Linen Cap", "Linen Scarf", "New Arrivals Tee", "New Arrivals Cap", "New Arrivals Bag",
              "Solo Lamp", "Solo Lamp Two", "1 Pack Pens", "2 Pack Pens", "3 Pack Pens",
              "Men's Jacket", "Men's Jeans", "Men's Shirt"]
    for t in titles:
        brands.add(t)
    assert brands.brand_for("Samsung Galaxy S10") == "Samsung"  # Galaxy follows in 3 of 4, not 90%
    assert brands.brand_for("Van Heusen Blazer") == "Van Heusen"
    assert brands.brand_for("Cotton Shirt") is None  # inside more titles than it starts: a common word
    assert brands.brand_for("Linen Shirt") == "Linen"  # starts 5, inside 3: the data says brand
    assert brands.brand_for("New Arrivals Tee") is None  # generic
    assert brands.brand_for("Solo Lamp") is None  # only 2 titles
    assert brands.brand_for("1 Pack Pens") is None  # no letter
    assert brands.brand_for("Men's Jacket") is None
    assert brands.brand_for("") is None
    with pytest.raises(ValueError, match="never guessed from one product"):
        TitleBrands(min_products=1)


def test_missing_stock_values() -> None:
    assert [parse_missing_stock(v) for v in ("unknown", "Unknown ", "zero", "0", "12")] == [None, None, 0, 0, 12]
    for bad in ("-1", "lots", "1.5", "99999999999", ""):
        with pytest.raises(ValueError, match="'unknown', 'zero' or a whole number"):
            parse_missing_stock(bad)


def test_marketplace_mapping_is_built_in() -> None:
    mapping = load_mapping("marketplace")
    assert mapping.columns("price") == ["discount_price", "actual_price"]
    assert mapping.columns("category") == ["sub_category", "main_category"]
    assert mapping.brand_from_title and mapping.missing_stock == "unknown"


def test_cli_dry_run_with_progress_and_brands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run = subprocess.run([sys.executable, "-m", "apps.cli", "catalog", "import", str(LISTINGS), "--mapping",
                          "marketplace", "--dry-run", "--url", url], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=180)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Checked (dry run, nothing written)")
    assert lines[1].strip().startswith("DRY RUN") and lines[2].strip().startswith("NO STOCK COLUMN: 36 products")
    assert "brands read from titles: 29 products" in run.stdout
    assert "e.g. line 29: column 'name' holds a spreadsheet formula" in run.stdout
    assert "importing" in run.stderr  # the progress bar
    with session_scope(url) as s:
        assert _count(s, Product) == 0
