"""Column mappings of the catalog importer: which CSV column holds each of our fields.

The built-in :data:`SHOPIFY` mapping reads Shopify's product export and the built-in
YAML mappings in ``shop/importing/mappings/`` (``marketplace``: a marketplace listing
export with no stock or brand column) are found by name; a YAML file can describe any
other layout (see :meth:`ColumnMapping.from_yaml`). :func:`load_mapping` finds either by
name or path.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shop.importing.missing_stock import parse_missing_stock

Columns = str | list[str] | None
MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
ENCODINGS = ("utf-8", "cp1252", "latin-1", "iso-8859-15")


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

    ``price`` may list several columns (``[discount_price, actual_price]``): the first
    non-empty one is the price; ``compare_at_price`` is the "was" price, kept only when
    it is higher. ``rating_avg`` (0-5) and ``rating_count`` fill the product's rating;
    ``url`` (the product's page elsewhere) goes into ``attributes["url"]``.
    ``use_case_tags`` / ``style_tags``: tags that name what a product is for ("hiking")
    or its style ("technical"); matching tags go into ``attributes["use_cases"]`` and
    ``attributes["style"]``, which search filters and answers read. ``brand_from_title``:
    take the brand from the first word(s) of the title when there is no brand cell
    (the rule is :mod:`shop.importing.title_brands`); ``brand_min_products``: how many
    titles must share the prefix. ``missing_stock``: a variant's stock when the file has
    no stock value for it (``unknown``, ``zero`` or a whole number, see
    :mod:`shop.importing.missing_stock`). ``encoding``: the file's text encoding
    (``utf-8`` unless the file was saved as ``cp1252``/``latin-1``/``iso-8859-15``).
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
    rating_avg: Columns = None
    rating_count: Columns = None
    url: Columns = None
    use_case_tags: list[str] = []
    style_tags: list[str] = []
    brand_from_title: bool = False
    brand_min_products: int = Field(default=3, ge=2, le=1000)
    missing_stock: str = "unknown"
    group_rows_by_handle: bool = True
    delimiter: str = ","
    list_separator: str = ","
    encoding: str = "utf-8"

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

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        normal = value.strip().lower().replace("_", "-")
        normal = {"utf8": "utf-8", "windows-1252": "cp1252", "latin1": "latin-1", "iso-8859-1": "latin-1"}.get(
            normal, normal)
        if normal not in ENCODINGS:
            raise ValueError(f"encoding '{value}' is not one of {', '.join(ENCODINGS)}")
        return normal

    @field_validator("missing_stock")
    @classmethod
    def _stock_default(cls, value: str) -> str:
        parse_missing_stock(value)
        return value.strip().lower()

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


def builtin_names() -> list[str]:
    """Names of the built-in mappings: :data:`BUILTIN_MAPPINGS` and the YAML files in ``mappings/``."""
    return sorted({*BUILTIN_MAPPINGS, *(p.stem for p in MAPPINGS_DIR.glob("*.yml"))})


def load_mapping(name_or_path: str | Path) -> ColumnMapping:
    """A built-in mapping by name (``"shopify"``, ``"marketplace"``) or a mapping read
    from a YAML file."""
    key = str(name_or_path).strip().lower()
    if key in BUILTIN_MAPPINGS:
        return BUILTIN_MAPPINGS[key]
    if re.fullmatch(r"[a-z0-9_-]+", key) and (MAPPINGS_DIR / f"{key}.yml").is_file():
        return ColumnMapping.from_yaml(MAPPINGS_DIR / f"{key}.yml")
    path = Path(name_or_path)
    if path.suffix.lower() not in (".yml", ".yaml") and not path.exists():
        known = ", ".join(builtin_names())
        raise CatalogImportError(f"unknown mapping '{name_or_path}': use one of {known} or a .yml file")
    return ColumnMapping.from_yaml(path)

