"""The demo storefront's sign-in cookie: ``<customer id>.<expires>.<hmac>``, the same
signature the widget's identity carries (:mod:`protocol.identity`), checked in constant
time. Checkout and the pages trust a customer id only from here."""

from __future__ import annotations

import time

from fastapi import Request

from protocol.identity import customer_sig_valid

SIGN_IN_COOKIE = "shop_demo_customer"
SIGN_IN_TTL_S = 7 * 24 * 3600


def signed_in(request: Request, secret: str) -> int | None:
    """The customer id of a valid, unexpired demo sign-in cookie, or ``None``."""
    value = request.cookies.get(SIGN_IN_COOKIE, "")
    customer_id, _, sig = value.partition(".")
    if not customer_id.isdigit() or len(customer_id) > 18 or not customer_sig_valid(customer_id, sig, secret,
                                                                                    now=time.time()):
        return None
    return int(customer_id)
