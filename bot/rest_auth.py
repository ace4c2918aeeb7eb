"""Who may use the REST channel: it is a server-to-server channel, so every request
carries ``Authorization: Bearer <SHOP_REST_TOKEN>`` (compared in constant time).
Without a configured token the channel is disabled."""

from __future__ import annotations

import hmac

DISABLED_REASON = "REST channel disabled: set SHOP_REST_TOKEN"


def rest_refusal(authorization: str | None, *, token: str) -> tuple[int, str] | None:
    """``(status, reason)`` when a request with this ``Authorization`` header must be
    refused: 403 no token configured, 401 no bearer token sent, 403 a wrong one;
    ``None`` when it may pass."""
    if not token:
        return 403, DISABLED_REASON
    scheme, _, sent = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        return 401, "send 'Authorization: Bearer <SHOP_REST_TOKEN>'"
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        return 403, "wrong REST token"
    return None
