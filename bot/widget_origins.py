"""Which page origins may open the web widget's socket.io connection
(``SHOP_WIDGET_ORIGINS``)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` (``None`` when it has no scheme or host)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def allowed_origins(setting: str, *, public_url: str) -> list[str] | str:
    """The socket.io server's ``cors_allowed_origins``: the comma-separated origins of
    ``setting`` (a URL counts as its origin); ``"*"`` (any page) only when ``setting`` is exactly ``*`` (logged as a
    warning); when ``setting`` is empty, only the origin of ``public_url``."""
    origins = [o.strip().rstrip("/") for o in setting.split(",") if o.strip()]
    if origins == ["*"]:
        logger.warning("SHOP_WIDGET_ORIGINS is '*': any web page may open the chat widget's connection")
        return "*"
    if "*" in origins:
        raise ValueError("SHOP_WIDGET_ORIGINS: '*' alone, or a comma-separated list of origins like "
                         "'https://shop.example'")
    if origins:
        normalised = [origin_of(o) for o in origins]
        bad = [o for o, n in zip(origins, normalised, strict=True) if n is None]
        if bad:
            raise ValueError(f"SHOP_WIDGET_ORIGINS: {bad[0]!r} is not an origin like 'https://shop.example'")
        return [n for n in normalised if n is not None]
    own = origin_of(public_url)
    if own is None:
        raise ValueError(f"SHOP_PUBLIC_URL must be an absolute URL like 'https://shop.example', not {public_url!r}")
    return [own]
