"""The storefront's checkout: ``GET /checkout`` (the page) and ``POST /api/checkout``.

The page is reached from the cart panel's "Checkout" button. It reads the chat's cart
(``GET /api/cart``), asks for the shipping address and, for a guest, an e-mail, takes an
optional promo code, shows the priced order (``"preview": true``) and places it.

``POST /api/checkout`` (JSON) is refused unless:

- it is **same-origin**: ``Origin`` (or, without one, ``Referer``) names this host, and
  ``Sec-Fetch-Site``, when sent, is ``same-origin`` (403);
- it carries the **CSRF token**: header ``X-CSRF-Token`` equal to the ``shop_checkout_csrf``
  cookie the page set (``SameSite=Strict``, ``HttpOnly``; double submit) (403);
- it carries the widget's **session token** (``session_token``), signed by the Rasa
  server with ``SHOP_SESSION_SECRET`` and unexpired: the cart is that conversation's,
  so no browser can check out another session's cart (403; 503 when the storefront has
  no session secret);
- its body has only the fields below, of the right types (422, saying what is allowed).

The customer is the signed-in one (the sign-in cookie, :mod:`apps.storefront.demo_sign_in`),
else a guest with ``email``. ``idempotency_key`` (16-64 of ``A-Za-z0-9_-``; the page
sends a UUID kept until the order is placed) makes a double click or a retry return the
same order. Prices come from the database only; ``expected_total_cents`` (what the
page showed) refuses a total that changed meanwhile. The work is
:func:`shop.services.checkout.checkout`.

Answers: 201 placed, 200 replayed or preview, 409 refused for the cart's or the stock's
state (``empty``, ``out_of_stock``, ``gone``, ``price_changed``, ``key_reused``,
``mixed_currency``), 422 a promo code refused (``code_refused``) or a bad body, 403
``not_your_cart`` / ``needs_sign_in``; always ``{"status", "message", "order"?}``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from apps.storefront.app_config import StorefrontConfig
from apps.storefront.demo_sign_in import signed_in
from protocol.identity import session_of
from shop.db.engine import session_scope
from shop.promo.checkout_codes import PromoCodes
from shop.services.checkout import (
    Address,
    CheckoutInputError,
    CheckoutRequest,
    CheckoutResult,
    checkout,
    preview_checkout,
)

CSRF_COOKIE = "shop_checkout_csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_BODY_BYTES = 16_384
HTTP_STATUS = {"placed": 201, "replayed": 200, "preview": 200, "empty": 409, "out_of_stock": 409, "gone": 409,
               "price_changed": 409, "key_reused": 409, "mixed_currency": 409, "code_refused": 422,
               "not_your_cart": 403, "needs_sign_in": 403}


class AddressBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    line1: StrictStr
    line2: StrictStr | None = None
    city: StrictStr
    postcode: StrictStr
    country: StrictStr


class CheckoutBody(BaseModel):
    """The JSON body of ``POST /api/checkout``; any other field is refused."""

    model_config = ConfigDict(extra="forbid")

    session_token: StrictStr
    idempotency_key: StrictStr
    address: AddressBody
    email: StrictStr | None = None
    promo_code: StrictStr | None = None
    shipping_method: StrictStr = "standard"
    quantities: dict[str, StrictInt] = {}
    expected_total_cents: StrictInt | None = None
    preview: bool = False


ALLOWED_FIELDS = ", ".join(CheckoutBody.model_fields)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": "refused", "message": message, **extra}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def same_origin_refusal(request: Request) -> str | None:
    """Why the request is not from this site's own pages (``None`` when it is)."""
    host = request.headers.get("host", "")
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return f"checkout requests must come from this site's pages (Sec-Fetch-Site: {site[:20]})"
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return "checkout requests must come from this site's pages (no Origin or Referer header)"
    if not host or urlsplit(origin).netloc != host:
        return "checkout requests must come from this site's pages (another origin)"
    return None


def _quantities(raw: dict[str, int]) -> dict[int, int]:
    out = {}
    for key, value in raw.items():
        if not key.isdigit() or len(key) > 12:
            raise CheckoutInputError("'quantities' keys must be variant ids of the cart's lines")
        out[int(key)] = value
    return out


def _utc_now() -> datetime:
    """Now, to the microsecond: the order is credited to the clicks and adds-to-cart
    before it, and one made in the same second as the order (a quick shopper) must count."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _run(config: StorefrontConfig, request: CheckoutRequest, preview: bool) -> CheckoutResult:
    with session_scope(config.database_url) as session:
        if preview:
            return preview_checkout(session, request=request, now=_utc_now(), codes=PromoCodes())
        return checkout(session, request=request, now=_utc_now(), codes=PromoCodes())


def install_checkout(app: FastAPI, config: StorefrontConfig, templates: Jinja2Templates,
                     page_context: Any) -> None:
    """Add ``GET /checkout`` and ``POST /api/checkout`` to the storefront ``app``."""

    @app.get("/checkout", response_class=HTMLResponse)
    def checkout_page(request: Request) -> Response:
        token = request.cookies.get(CSRF_COOKIE, "")
        if len(token) != 43:
            token = secrets.token_urlsafe(32)
        page = templates.TemplateResponse(request, "checkout.html", {
            **page_context(request), "csrf_token": token, "checkout_on": bool(config.session_secret)})
        page.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
        page.headers["Cache-Control"] = "no-store"
        return page

    @app.post("/api/checkout")
    async def place_order(request: Request) -> JSONResponse:
        if not config.session_secret:
            return _error(503, "Checkout is off: the storefront has no SHOP_SESSION_SECRET.")
        refusal = same_origin_refusal(request)
        if refusal is not None:
            return _error(403, refusal)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
            return _error(403, f"the {CSRF_HEADER} header must match the checkout page's token: reload the page")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
        try:
            body = CheckoutBody.model_validate(json.loads(raw or b"null"))
        except (ValueError, ValidationError) as exc:
            problems = exc.errors() if isinstance(exc, ValidationError) else []
            where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in problems[:5])
            return _error(422, f"the body must be a JSON object with {ALLOWED_FIELDS}"
                               + (f" ({where})" if where else ""))
        session_id = session_of(body.session_token, config.session_secret, now=time.time())
        if session_id is None:
            return _error(403, "the chat session token is missing, forged or expired: reopen the assistant")
        customer_id = signed_in(request, config.identity_secret)
        a = body.address
        try:
            order = CheckoutRequest(
                session_id=session_id, idempotency_key=body.idempotency_key,
                address=Address(name=a.name, line1=a.line1, line2=a.line2, city=a.city, postcode=a.postcode,
                                country=a.country),
                customer_id=customer_id, email=None if customer_id is not None else body.email,
                promo_code=body.promo_code, shipping_method=body.shipping_method,
                quantities=_quantities(body.quantities), expected_total_cents=body.expected_total_cents)
            result = await run_in_threadpool(_run, config, order, body.preview)
        except CheckoutInputError as exc:
            return _error(422, str(exc))
        except OperationalError:  # SQLite's write lock held past its busy timeout
            return _error(503, "The shop is busy: try again in a moment.", retry_after_s=2)
        payload: dict[str, Any] = {"status": result.status, "message": result.message}
        if result.order is not None:
            payload["order"] = result.order.as_dict()
        if result.total_cents is not None:
            payload["total_cents"] = result.total_cents
        return JSONResponse(payload, status_code=HTTP_STATUS[result.status], headers={"Cache-Control": "no-store"})
