"""The storefront's configuration (:class:`StorefrontConfig`), built from the settings by
``python -m apps.cli web``; the app reads nothing from the environment itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apps.http_metrics import MetricsConfig


@dataclass(frozen=True)
class StorefrontConfig:
    """``database_url``: the shop database; ``rasa_url``: the Rasa server as the
    browser reaches it; ``widget_bundle``: the built widget file; ``identity_secret``:
    signs customer ids for the widget (empty: no sign-in); ``demo_customer_id``: who
    the demo sign-in signs in as; ``shop_name``: the name the pages show; ``metrics``:
    ``/metrics`` settings (``apps.http_metrics``).

    Checkout and the recommendation API: ``session_secret``: the Rasa server's
    ``SHOP_SESSION_SECRET``, to check the widget's session token (empty: checkout is
    off); ``recommend_api_token``: the bearer token ``GET /recommend`` needs (empty:
    the API is off); ``recommend_model_dir`` / ``recommend_check_s``: the served
    recommender versions (``None``: bestsellers only), as the action server serves them;
    ``recommend_count``: ``k`` when a request gives none."""

    database_url: str
    rasa_url: str
    widget_bundle: Path
    identity_secret: str = ""
    demo_customer_id: int = 1
    shop_name: str = "Ridgeline Outfitters"
    metrics: MetricsConfig = MetricsConfig()
    session_secret: str = ""
    recommend_api_token: str = ""
    recommend_model_dir: Path | None = None
    recommend_check_s: float = 10.0
    recommend_count: int = 5
