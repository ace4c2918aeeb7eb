"""Catalog imports: product files as shops have them (Shopify exports, marketplace
listings, any CSV through a YAML mapping) streamed into the shop database. Start at
:mod:`shop.importing.catalog_import`; the command line is ``python -m apps.cli catalog import``."""
