"""The product on the page the shopper is looking at, from the widget's ``page_url``
message metadata, checked server-side.

The URL is the shopper's (or an attacker's) to forge, so it only counts when it is
plainly one of this shop's product pages: the same scheme, host and port as
``Settings.public_url``, no user info, a path of exactly ``<public path>/products/<handle>``
with a handle the storefront itself accepts, and an active product behind it. Anything
else (another host, ``//evil``, ``https://shop@evil``, ``..``, percent-escapes, a huge
string, something that is not a string) is ``None``.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from sqlalchemy.orm import Session

from shop.services.catalog import product_id_by_handle

MAX_URL_CHARS = 2_048
HANDLE_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,198}[a-z0-9])?")   # as the storefront's product route
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(parts: SplitResult) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL without user info, or ``None``."""
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or parts.username is not None or parts.password is not None:
        return None
    if "@" in parts.netloc or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def page_handle(*, page_url: object, public_url: str) -> str | None:
    """The product handle in ``page_url`` when it is one of the shop's own product
    pages (see the module text), else ``None``. No database needed."""
    if not isinstance(page_url, str) or not isinstance(public_url, str) or not 0 < len(page_url) <= MAX_URL_CHARS:
        return None
    if any(c in page_url for c in "\\%\r\n\t ") or not page_url.isascii():
        return None
    try:
        page, shop = urlsplit(page_url), urlsplit(public_url)
    except ValueError:
        return None
    page_origin, shop_origin = _origin(page), _origin(shop)
    if page_origin is None or page_origin != shop_origin:
        return None
    prefix = shop.path.rstrip("/") + "/products/"
    path = page.path
    if not path.startswith(prefix):
        return None
    handle = path[len(prefix):]
    handle = handle[:-1] if handle.endswith("/") else handle
    if ".." in handle or not HANDLE_RE.fullmatch(handle):
        return None
    return handle


def page_product(session: Session, *, page_url: object, public_url: str) -> int | None:
    """The id of the ACTIVE product whose page ``page_url`` is (on the shop at
    ``public_url``), or ``None``."""
    handle = page_handle(page_url=page_url, public_url=public_url)
    return product_id_by_handle(session, handle=handle) if handle else None
