"""The signed customer id: the shop's page signs the logged-in customer's id with the
shop's secret, and the channels accept a ``customer_id`` only with a matching signature."""

from __future__ import annotations

import hashlib
import hmac


def sign_customer_id(customer_id: str, secret: str) -> str:
    """The hex HMAC-SHA256 of ``customer_id`` under ``secret`` (what the shop's page sends)."""
    return hmac.new(secret.encode(), str(customer_id).encode(), hashlib.sha256).hexdigest()
