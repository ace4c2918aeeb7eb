"""Importers of the files shops have (catalog CSV exports)."""
