"""Benchmarks that print their figures: run as ``python -m bench.<name>`` from the repository root (``make bench*``)."""
