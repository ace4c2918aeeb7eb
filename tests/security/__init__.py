"""Hostile tests: each asserts facts (rows, codes, events, statuses) after an attack (issue 15)."""
