"""Shopify ids in one form: the Admin GraphQL API's global id, ``gid://shopify/<Type>/<n>``.

The GraphQL API answers with these; webhook bodies (REST format) carry the number and,
for most resources, ``admin_graphql_api_id``. Every ``external_id`` the connector hands
to the mirror is the gid, so a record has the same id whichever way it arrived.
"""

from __future__ import annotations

import re

_GID_RE = re.compile(r"^gid://shopify/(?P<kind>[A-Za-z]+)/(?P<num>[0-9]{1,20})(\?.*)?$")

KINDS = frozenset({"Product", "ProductVariant", "Customer", "Order", "LineItem", "InventoryItem",
                   "Fulfillment", "FulfillmentLineItem", "Return", "Job", "Location"})


def gid(kind: str, value: object) -> str:
    """The gid of a ``kind`` from a number, a numeric string or a gid of that kind.

    Raises:
        ValueError: ``value`` is neither (the message says what is accepted).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown Shopify id kind {kind!r}")
    if isinstance(value, bool):
        raise ValueError(f"a Shopify {kind} id must be a number or gid://shopify/{kind}/<number>")
    if isinstance(value, int) and value > 0:
        return f"gid://shopify/{kind}/{value}"
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) <= 20 and int(text) > 0:
            return f"gid://shopify/{kind}/{int(text)}"
        match = _GID_RE.match(text)
        if match and match["kind"] == kind:
            return f"gid://shopify/{kind}/{int(match['num'])}"
    raise ValueError(f"a Shopify {kind} id must be a number or gid://shopify/{kind}/<number>, "
                     f"not {str(value)[:60]!r}")


def optional_gid(kind: str, value: object) -> str | None:
    """:func:`gid`, or ``None`` for a missing (``None``, ``0``, empty) value."""
    if value in (None, "", 0):
        return None
    return gid(kind, value)
