"""Recommendation models and their metrics.

Models expose ``fit``, ``score`` and ``recommend``; metrics are plain functions in
``models.metrics``. Nothing here imports ``actions``; nothing heavy is built at
import time.
"""
