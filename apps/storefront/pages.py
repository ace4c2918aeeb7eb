"""The demo storefront app (FastAPI).

Pages: ``/`` (product listing, ``?category=<slug>``), ``/products/<handle>``. Both carry
the widget's script tag; when the shopper used the demo "sign in", the tag also carries
the customer id signed with the shop's secret, valid for :data:`WIDGET_SIG_TTL_S` (the
Rasa server ignores unsigned and expired ids). The sign-in cookie carries the same kind
of signature, valid for :data:`SIGN_IN_TTL_S`, checked in constant time.

API: ``GET /api/cart?session=<widget session id>`` -> the chat session's cart
``{"lines": [...], "count": int, "total": "$0.00"}`` (the same cart the assistant's
"add to cart" writes); ``GET /health``; ``GET /metrics`` (Prometheus, :mod:`apps.http_metrics`).

Checkout: ``GET /checkout`` and ``POST /api/checkout`` (:mod:`apps.storefront.checkout_api`).
The shop's server: ``GET /recommend`` (bearer token; :mod:`apps.storefront.recommend_api`).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from pathlib import Path

from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from apps.http_metrics import install_metrics
from apps.log_context import RequestLogContext, cart_session
from apps.storefront.app_config import StorefrontConfig
from apps.storefront.checkout_api import install_checkout
from apps.storefront.demo_sign_in import SIGN_IN_COOKIE, SIGN_IN_TTL_S, signed_in
from apps.storefront.images import placeholder_svg
from apps.storefront.recommend_api import install_recommend_api
from protocol.identity import DEFAULT_CUSTOMER_TTL_S, sign_customer_id
from shop.db.engine import session_scope
from shop.db.schema import Customer
from shop.services.cart import view_cart
from shop.services.catalog import (
    browse_cards,
    list_categories,
    product_details,
    product_id_by_handle,
)

HERE = Path(__file__).resolve().parent
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
HANDLE_RE = re.compile(r"^[a-z0-9-]{1,200}$")
WIDGET_SIG_TTL_S = DEFAULT_CUSTOMER_TTL_S  # 12 h: each page load signs again

def create_app(config: StorefrontConfig) -> FastAPI:
    """The storefront for ``config``; nothing is opened until a request arrives."""
    app = FastAPI(title=f"{config.shop_name} demo storefront", docs_url=None, redoc_url=None)
    install_metrics(app, config.metrics)
    app.add_middleware(RequestLogContext, reader=cart_session)
    templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/assets", StaticFiles(directory=HERE / "static"), name="assets")

    def page_context(request: Request) -> dict[str, object]:
        customer_id = signed_in(request, config.identity_secret)
        name = None
        if customer_id is not None:
            with session_scope(config.database_url) as session:
                customer = session.get(Customer, customer_id)
                name = customer.first_name if customer is not None else None
        widget = {"server": config.rasa_url, "title": f"{config.shop_name} assistant",
                  "greeting": f"Hi! I'm the {config.shop_name} assistant. I can find products, check an order, "
                              "start a return or find you a deal."}
        if config.session_secret:  # the chat cart links to the checkout only when it is on
            widget["checkout_url"] = "/checkout"
        if customer_id is not None and name is not None:
            widget["customer_id"] = str(customer_id)
            widget["customer_sig"] = sign_customer_id(str(customer_id), config.identity_secret,
                                                      expires_at=int(time.time()) + WIDGET_SIG_TTL_S)
        return {"request": request, "shop_name": config.shop_name, "customer_name": name, "widget": widget,
                "can_sign_in": bool(config.identity_secret)}

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, category: str | None = Query(default=None, max_length=80)) -> HTMLResponse:
        with session_scope(config.database_url) as session:
            categories = list_categories(session)
            known = {slug for slug, _, _ in categories}
            chosen = category if category in known else None
            cards = browse_cards(session, category=chosen, limit=24)
        return templates.TemplateResponse(request, "index.html", {
            **page_context(request), "cards": cards, "categories": categories, "category": chosen})

    @app.get("/products/{handle}", response_class=HTMLResponse)
    def product(request: Request, handle: str) -> HTMLResponse:
        if not HANDLE_RE.match(handle):
            raise HTTPException(404, "No such product.")
        with session_scope(config.database_url) as session:
            product_id = product_id_by_handle(session, handle=handle)
            details = product_details(session, product_id=product_id) if product_id is not None else None
        if details is None:
            raise HTTPException(404, "No such product.")
        return templates.TemplateResponse(request, "product.html", {**page_context(request), "details": details})

    @app.post("/demo/sign-in")
    def sign_in(next: str = Form(default="/")) -> RedirectResponse:
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        out = RedirectResponse(target, status_code=303)
        if config.identity_secret:
            cid = str(config.demo_customer_id)
            sig = sign_customer_id(cid, config.identity_secret, expires_at=int(time.time()) + SIGN_IN_TTL_S)
            out.set_cookie(SIGN_IN_COOKIE, f"{cid}.{sig}", httponly=True, samesite="lax", max_age=SIGN_IN_TTL_S)
        return out

    @app.post("/demo/sign-out")
    def sign_out(next: str = Form(default="/")) -> RedirectResponse:
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        out = RedirectResponse(target, status_code=303)
        out.delete_cookie(SIGN_IN_COOKIE)
        return out

    @app.get("/api/cart")
    def cart(session: str = Query(min_length=1, max_length=64)) -> JSONResponse:
        if not SESSION_RE.match(session):
            return JSONResponse({"error": "'session' must be 8-64 letters, digits, '_' or '-'."}, status_code=400)
        with session_scope(config.database_url) as db:
            view = view_cart(db, session_id=session)
        return JSONResponse({"lines": [asdict(line) for line in view.lines], "count": view.count, "total": view.total},
                            headers={"Cache-Control": "no-store"})

    install_checkout(app, config, templates, page_context)
    install_recommend_api(app, config)

    @app.get("/widget/shop-assistant.js")
    def widget_bundle() -> Response:
        if not config.widget_bundle.is_file():
            return Response("console.error('shop-assistant widget is not built: run make widget');",
                            media_type="text/javascript", status_code=503)
        return FileResponse(config.widget_bundle, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"})

    @app.get("/static/products/{name}")
    def product_image(name: str) -> Response:
        handle = name.removesuffix(".svg")
        if not name.endswith(".svg") or not HANDLE_RE.match(handle):
            raise HTTPException(404, "No such image.")
        return Response(placeholder_svg(handle), media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
