"""CSV catalog import (shop.importing): the Shopify mapping, custom YAML mappings, bad rows,
bad files, the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import shop.importing.catalog_import as ci
from apps.cli import catalog_commands
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import Brand, Category, Product, ProductVariant
from shop.importing.catalog_import import (
    SHOPIFY,
    CatalogImportError,
    ColumnMapping,
    ImportReport,
    import_catalog,
    import_csv_file,
    load_mapping,
)
from shop.importing.values import strip_html
from tests.paths import FIXTURES, ROOT
from tools.demo.generate import generate_demo_shop

SHOPIFY_CSV = FIXTURES / "shopify_products.csv"
CUSTOM_CSV = FIXTURES / "custom_products.csv"
CUSTOM_MAPPING = FIXTURES / "custom_mapping.yml"
REPO = ROOT
NOW = datetime(2026, 11, 20, 12, 0)
TEE_TITLE = "Robert'); DROP TABLE products;-- Trail Tee 🏔️😀"
# an outdoor shop's Shopify mapping: its tags that name uses and styles
OUTDOOR = SHOPIFY.model_copy(update={
    "name": "outdoor-shopify",
    "use_case_tags": ["hiking", "camping", "rain", "travel", "everyday", "commuting", "summer"],
    "style_tags": ["technical", "casual", "urban", "classic"],
})

# line -> words the reason must contain, for the bad rows planted in shopify_products.csv
EXPECTED_REJECTIONS = {
    9: "price 'abc' is not a number",
    15: "negative stock",
    18: "row has 10 columns but the header has 32",
    22: "missing title",
    27: "option 'Flavor' is neither a size nor a colour",
    30: "SKU 'TH-SOCK-M' is already used on line 20",
}


def _import(url: str, path: Path = SHOPIFY_CSV, mapping: ColumnMapping | str = OUTDOOR) -> ImportReport:
    with session_scope(url) as session:
        return import_csv_file(session, path=path, mapping=mapping, now=NOW)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def sqlite_session(tmp_path: Path) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'files.db'}"
    upgrade(url)
    with session_scope(url) as session:
        yield session
    get_engine(url).dispose()


def test_shopify_export_imports_good_rows_and_reports_bad_ones(db_url: str) -> None:
    report = _import(db_url)
    assert {r.line: r.reason for r in report.rejected}.keys() == EXPECTED_REJECTIONS.keys()
    for r in report.rejected:
        assert EXPECTED_REJECTIONS[r.line] in r.reason, r
    assert report.rows_read == 27  # records, not physical lines
    assert (report.products_created, report.products_updated) == (6, 0)
    assert (report.variants_created, report.variants_updated) == (16, 0)
    assert report.missing_columns == []
    assert report.stock_column and (report.products_default_stock, report.variants_default_stock) == (1, 1)
    assert report.headline()[0].startswith("STOCK MISSING: 1 product had an empty stock cell")

    with session_scope(db_url) as s:
        assert _count(s, Product) == 6 and _count(s, ProductVariant) == 16
        products = {p.handle: p for p in s.scalars(select(Product))}
        assert "mystery-jacket" not in products and "flavour-sampler" not in products

        jacket = products["ridgeline-2-rain-jacket"]
        assert jacket.title == "Alpine Crest Ridgeline 2 Waterproof Rain Jacket"
        assert jacket.brand.name == "Alpine Crest" and jacket.category.name == "Jackets"
        assert jacket.description == ("Stay dry on the trail with a fully taped 3-layer shell.\n"
                                      "Waterproof & breathable\nPit zips")
        assert (jacket.price_cents, jacket.compare_at_cents, jacket.gender) == (18995, 22995, "men")
        assert jacket.image_url == "https://cdn.example.com/jacket-black.jpg"
        assert len(jacket.attributes["images"]) == 3
        assert jacket.attributes["use_cases"] == ["hiking", "rain"] and jacket.attributes["style"] == "technical"
        assert {(v.size, v.colour) for v in jacket.variants} == {
            ("S", "black"), ("M", "black"), ("L", "black"), ("M", "navy"), ("L", "navy")}

        hoodie = products["urban-zip-hoodie"]  # Option1 is the colour, Option2 the size
        assert {(v.size, v.colour, v.stock) for v in hoodie.variants} == {
            ("M", "grey", 8), ("M", "olive", 4), ("L", "olive", 9)}

        socks = products["merino-hiking-socks"]
        # an empty stock cell: "available, quantity unknown" (NULL), the default for a missing value
        assert {v.sku: v.stock for v in socks.variants} == {"TH-SOCK-S": 30, "TH-SOCK-M": None, "TH-SOCK-L": 14}
        assert socks.gender == "women" and socks.description == "Cushioned merino socks.\nSeamless toe."

        pack = products["summit-30-daypack"]  # "Default Title": one variant without options
        assert [(v.size, v.colour, v.sku) for v in pack.variants] == [(None, None, "SL-DAY-30")]
        assert len(pack.attributes["images"]) == 3

        sneaker = products["lumen-city-sneaker"]
        assert sorted(v.sku for v in sneaker.variants) == ["LU-SNK-10-WHT", "LU-SNK-8-WHT"]

        tee = products["robert-tables-tee"]  # SQL metacharacters and emoji, verbatim
        assert tee.title == TEE_TITLE
        assert s.scalar(select(Product.id).where(Product.title == TEE_TITLE)) == tee.id
        assert "alert" not in tee.description and "<" not in tee.description
        assert tee.description == 'Quick-dry tee.\nFits "true" to size; 100% recycled.'
        assert tee.price_cents == 2995 and tee.gender == "women"
        assert tee.brand.slug == "cedar-and-pine" and tee.category.slug == "t-shirts"


def test_reimport_updates_instead_of_duplicating(db_url: str, tmp_path: Path) -> None:
    _import(db_url)
    again = _import(db_url)
    assert (again.products_created, again.products_updated) == (0, 6)
    assert (again.variants_created, again.variants_updated) == (0, 16)
    assert (again.brands_created, again.categories_created) == (0, 0)
    assert sorted(r.line for r in again.rejected) == sorted(EXPECTED_REJECTIONS)

    changed = tmp_path / "changed.csv"
    changed.write_text(SHOPIFY_CSV.read_text(encoding="utf-8").replace(
        "LU-SNK-10-WHT,720,shopify,2,deny,manual,74.99", "LU-SNK-10-WHT,720,shopify,9,deny,manual,64.99"),
        encoding="utf-8")
    _import(db_url, changed)
    with session_scope(db_url) as s:
        assert _count(s, Product) == 6 and _count(s, ProductVariant) == 16
        variant = s.scalar(select(ProductVariant).where(ProductVariant.sku == "LU-SNK-10-WHT"))
        assert (variant.stock, variant.price_cents) == (9, 6499)
        assert variant.product.price_cents == 6499  # the product shows its cheapest variant


def test_import_into_the_demo_shop_reuses_brands_and_categories(db_url: str) -> None:
    with session_scope(db_url) as s:
        generate_demo_shop(s, seed=3, as_of=NOW, scale=0.02, progress=False)
        brands, categories = _count(s, Brand), _count(s, Category)
    report = _import(db_url)  # ORM inserts after explicit-id bulk inserts (PostgreSQL sequences)
    assert report.products_created == 6
    assert (report.brands_created, report.categories_created) == (0, 0)
    with session_scope(db_url) as s:
        assert (_count(s, Brand), _count(s, Category)) == (brands, categories)
        hoodie = s.scalar(select(Product).where(Product.handle == "urban-zip-hoodie"))
        assert hoodie.category.slug == "hoodies" and hoodie.brand.slug == "fjell"


def test_sku_of_another_product_is_rejected(db_url: str) -> None:
    with session_scope(db_url) as s:
        other = Product(sku="OTHER", handle="other", title="Other", price_cents=100, created_at=NOW,
                        updated_at=NOW)
        s.add(other)
        s.flush()
        s.add(ProductVariant(product_id=other.id, sku="AC-RJ-M-BLK", size="M", colour="red", stock=1))
    report = _import(db_url)
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[7] == "SKU 'AC-RJ-M-BLK' already belongs to product 'other'"
    assert report.variants_created == 15


def test_database_error_on_one_product_does_not_abort_the_import(db_url: str, monkeypatch) -> None:
    real_write = ci.write_product

    def flaky_write(session, parsed, **kwargs):  # type: ignore[no-untyped-def]
        done = real_write(session, parsed, **kwargs)
        if parsed.handle == "urban-zip-hoodie":
            raise IntegrityError("INSERT ...", {}, Exception("simulated constraint failure"))
        return done

    def refused_batch(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise IntegrityError("INSERT ...", {}, Exception("simulated batch failure"))

    monkeypatch.setattr(ci, "write_product", flaky_write)
    monkeypatch.setattr(ci, "write_batch", refused_batch)  # the batch fails: written one by one
    report = _import(db_url)
    assert report.products_created == 5
    refused = [r for r in report.rejected if r.handle == "urban-zip-hoodie" and "database refused" in r.reason]
    assert refused and refused[0].line == 14
    with session_scope(db_url) as s:
        assert _count(s, Product) == 5
        assert s.scalar(select(Product).where(Product.handle == "urban-zip-hoodie")) is None
        assert s.scalar(select(Brand).where(Brand.slug == "fjell")) is None  # rolled back with it


def test_custom_yaml_mapping(db_url: str) -> None:
    mapping = load_mapping(CUSTOM_MAPPING)
    assert mapping.name == "eu-shop" and mapping.delimiter == ";"
    report = _import(db_url, CUSTOM_CSV, mapping)
    assert {r.line: r.reason for r in report.rejected} == {
        5: "missing title", 6: "price 'zwölf' is not a number"}
    assert report.currencies_seen == {}  # the file's currency column says EUR; no symbols in the cells
    assert (report.products_created, report.variants_created) == (2, 3)
    with session_scope(db_url) as s:
        softshell = s.scalar(select(Product).where(Product.handle == "P-101"))
        assert softshell.title == "Küstenwind Softshell" and softshell.currency == "EUR"
        assert (softshell.price_cents, softshell.compare_at_cents, softshell.gender) == (14900, 17900, "women")
        assert softshell.brand.slug == "kustenwind" and softshell.brand.name == "Küstenwind"
        assert {(v.size, v.colour, v.stock) for v in softshell.variants} == {("M", "blue", 3), ("L", "blue", 0)}
        beanie = s.scalar(select(Product).where(Product.handle == "P-100"))
        assert beanie.category.name == "Hats & Beanies" and beanie.price_cents == 2490


def test_import_catalog_takes_plain_dict_rows(sqlite_session: Session) -> None:
    mapping = ColumnMapping(title="name", price="price", sku="sku", size="size", colour="colour")
    rows = [
        {"name": "Camp Mug", "price": "12.50", "sku": "MUG-1", "size": "", "colour": "Blue"},
        {"name": "Camp Mug", "price": "12.50", "sku": "MUG-2", "size": "", "colour": "Red"},
        {"name": "Free Sticker", "price": "-1", "sku": "ST-1", "size": "", "colour": ""},
    ]
    report = import_catalog(sqlite_session, rows=rows, mapping=mapping, now=NOW)
    assert (report.products_created, report.variants_created) == (1, 2)
    assert [(r.line, r.reason) for r in report.rejected] == [(4, "negative price '-1'")]
    mug = sqlite_session.scalar(select(Product).where(Product.handle == "camp-mug"))
    assert mug.price_cents == 1250 and mug.brand_id is None and mug.category_id is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"\x89PNG\r\n\x1a\n", "not a UTF-8 text file"),
        ("Handle,Titl\u00e9,Variant Price\ncafe,Cafe Mug,9.99\n".encode("latin-1"), "not a UTF-8 text file"),
        ("Handle,Title,Variant Price\n".encode("utf-16"), "UTF-16"),
        (b"Handle,Title,Variant Price\nmug,Mug\x00,9.99\n", "binary"),
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"Handle,Name,Variant Price\nmug,Mug,9.99\n", "no title column"),
        (b"Handle,Title,Title,Variant Price\nmug,Mug,Mug,9.99\n", "duplicate column"),
    ],
)
def test_unusable_files_give_a_clear_error(sqlite_session: Session, tmp_path: Path, content: bytes,
                                           message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CatalogImportError, match=message):
        import_csv_file(sqlite_session, path=path, mapping=SHOPIFY, now=NOW)
    assert _count(sqlite_session, Product) == 0


def test_utf8_bom_is_accepted(sqlite_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffHandle,Title,Variant Price\nmug,Café Mug,9.99\n".encode("utf-8"))
    report = import_csv_file(sqlite_session, path=path, mapping="shopify", now=NOW)
    assert report.products_created == 1 and not report.rejected
    assert "Vendor" in report.missing_columns


def test_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogImportError, match="unknown mapping .*marketplace, shopify"):
        load_mapping("woocommerce")
    with pytest.raises(CatalogImportError, match="not found"):
        load_mapping("../../etc/passwd.yml")
    for body, problem in (("title: name\nprice: p\nencoding: utf-16\n", "encoding"),
                          ("title: name\nprice: p\nmissing_stock: lots\n", "missing_stock"),
                          ("title: name\nprice: p\nbrand_min_products: 1\n", "brand_min_products"),
                          ("- title\n- price\n", "must be a YAML mapping")):
        path = tmp_path / "m.yml"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(CatalogImportError, match=problem):
            load_mapping(path)
    with pytest.raises(CatalogImportError, match="not found"):
        load_mapping(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("title: name\nprise: cost\n", encoding="utf-8")
    with pytest.raises(CatalogImportError, match="price"):
        load_mapping(bad)
    assert load_mapping("Shopify") is SHOPIFY


def test_unusable_paths_give_a_clear_error(sqlite_session: Session, tmp_path: Path) -> None:
    with pytest.raises(CatalogImportError, match="file not found"):
        import_csv_file(sqlite_session, path=tmp_path / "nope.csv", mapping=SHOPIFY, now=NOW)
    with pytest.raises(CatalogImportError, match="is a folder"):
        import_csv_file(sqlite_session, path=tmp_path, mapping=SHOPIFY, now=NOW)


def test_a_latin1_row_is_rejected_and_the_others_imported(sqlite_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Handle,Title,Variant Price\nmug,Mug,9.99\ncafe,Caf\xe9 Mug,9.99\ncup,Cup,4.50\n")
    report = import_csv_file(sqlite_session, path=path, mapping=SHOPIFY, now=NOW)
    assert report.products_created == 2
    assert [(r.line, r.kind) for r in report.rejected] == [(3, "not valid UTF-8 text")]
    assert "byte 0xe9" in report.rejected[0].reason and "CSV UTF-8" in report.rejected[0].reason
    # the same file declared as cp1252 in the mapping imports all three
    cp1252 = SHOPIFY.model_copy(update={"encoding": "cp1252"})
    again = import_csv_file(sqlite_session, path=path, mapping=cp1252, now=NOW)
    assert again.rejected_count == 0 and again.products_created == 1
    assert sqlite_session.scalar(select(Product.title).where(Product.handle == "cafe")) == "Café Mug"


def test_html_helper() -> None:
    assert strip_html("<p>A &amp; B</p><ul><li>one</li><li>two</li></ul>") == "A & B\none\ntwo"


def test_cli_refuses_bad_arguments_saying_what_is_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'args.db'}"
    for args, words in ((["--missing-stock", "plenty"], "'unknown', 'zero' or a whole number"),
                        (["--mapping", "nope"], "unknown mapping 'nope'"),
                        (["--currency", "rupees"], "3-letter ISO 4217 code")):
        try:
            status = catalog_commands.main(["import", str(SHOPIFY_CSV), "--url", url, "--no-progress", *args])
        except SystemExit as exc:  # argparse's own refusal
            status = int(exc.code or 0)
        assert status == 2 and words in capsys.readouterr().err, args


def test_cli_prints_the_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    csv_copy = tmp_path / "products.csv"
    shutil.copy(SHOPIFY_CSV, csv_copy)
    run = subprocess.run([sys.executable, "-m", "apps.cli", "catalog", "import", str(csv_copy), "--url", url],
                         cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 1, run.stderr  # imported, but some rows were rejected
    assert "products: 6 created, 0 updated" in run.stdout
    for line, reason in EXPECTED_REJECTIONS.items():
        assert f"line {line} " in run.stdout and reason in run.stdout

    custom = subprocess.run([sys.executable, "-m", "apps.cli", "catalog", "import", str(CUSTOM_CSV), "--url", url,
                             "--mapping", str(CUSTOM_MAPPING), "--no-progress"], cwd=REPO, capture_output=True,
                            text=True, check=False, timeout=120)
    assert custom.returncode == 1 and "products: 2 created" in custom.stdout

    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    bad = subprocess.run([sys.executable, "-m", "apps.cli", "catalog", "import", str(binary), "--url", url],
                         cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert bad.returncode == 2 and "looks like a binary file" in bad.stderr

    # the old entry point is gone, not half-working
    old = subprocess.run([sys.executable, "-m", "tools", "catalog", "import", str(csv_copy)], cwd=REPO,
                         capture_output=True, text=True, check=False, timeout=120)
    assert old.returncode == 2 and "invalid choice: 'catalog'" in old.stderr
