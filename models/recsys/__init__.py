"""Recommendation models and their metrics.

Models expose ``fit``, ``score`` and ``recommend``; metrics are plain functions in
``models.recsys.metrics``. Nothing here imports the shop's services or apps; nothing
heavy is built at import time.
"""
