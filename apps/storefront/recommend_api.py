"""``GET /recommend``: the chat's recommendations for the shop's own pages, over HTTP.

It lives on the storefront app (one process less to run; the shop's server calls it on
loopback or a private network, like the REST channel). Auth, as the REST channel:
``Authorization: Bearer $SHOP_RECOMMEND_API_TOKEN``, compared in constant time; 403 when
the storefront has no token (the API is off), 401 without a bearer token, 403 for a
wrong one.

Parameters (anything else is a 400 naming the allowed ones):

- who: ``customer_id`` with ``customer_sig`` (the widget's signed identity,
  :func:`protocol.identity.sign_customer_id` with ``SHOP_IDENTITY_SECRET``; an unsigned,
  forged or expired one is served as anonymous, and the answer says
  ``"identity": "anonymous"``), and/or ``session`` (a conversation id: that
  conversation's clicks and views shape the ranking);
- context: ``product_id`` ("similar to this"), ``category`` (slug or name), ``q`` (the
  shopper's words: a category, a price ("under 150"), a gift, "like my last jacket",
  read as the chat reads them);
- constraints: ``max_price`` (in the shop's currency, like ``150`` or ``149.99``),
  ``category``, ``in_stock`` (``true``: recommendations only ever show products in
  stock);
- ``k``: how many, 1 to 50 (default ``SHOP_RECOMMEND_COUNT``).

The work is :func:`shop.services.recommendations.recommend_products`, the function the
chat's ``action_recommend_products`` calls, with the same served model (hot-swapped
versions under ``SHOP_RECOMMEND_MODEL_DIR``) and rules (constraints relaxed in order,
recent purchases left out); each item has its reason. Every item returned is logged as
an impression (``source="api"``, :mod:`shop.services.recommendation_log`) under the
``request_id`` the answer carries, joinable to later clicks, add-to-carts and orders.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from apps.storefront.app_config import StorefrontConfig
from protocol.identity import customer_sig_valid
from shop.db.engine import session_scope
from shop.db.schema import Product
from shop.services.catalog import list_categories, resolve_category
from shop.services.fallback import find_category_in_text
from shop.services.interactions import known_customer
from shop.services.recommendation_log import record_impressions
from shop.services.recommendations import (
    get_model_holder,
    is_gift,
    last_bought,
    recommend_products,
    wants_like_last_purchase,
)
from shop.services.search.query import MAX_QUERY_CHARS, SearchQuery
from shop.services.text_parse import parse_price_range

ALLOWED = ("customer_id", "customer_sig", "session", "product_id", "category", "q", "max_price", "in_stock", "k")
K_MAX = 50
SESSION_PARAM_RE = re.compile(r"^[A-Za-z0-9_:.@+-]{1,64}$")
DISABLED_REASON = "the recommendation API is off: set SHOP_RECOMMEND_API_TOKEN"


class ParamError(ValueError):
    """A query parameter the API can't use; the message says what is allowed."""


@dataclass(frozen=True)
class RecommendParams:
    customer_id: int | None
    customer_sig: str | None
    session: str | None
    product_id: int | None
    category: str | None
    q: str
    max_price_cents: int | None
    k: int


def bearer_refusal(authorization: str | None, *, token: str) -> tuple[int, str] | None:
    """``(status, reason)`` to refuse a request with this ``Authorization`` header: 403
    no token configured, 401 no bearer token sent, 403 a wrong one; ``None`` to pass."""
    if not token:
        return 403, DISABLED_REASON
    scheme, _, sent = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        return 401, "send 'Authorization: Bearer <SHOP_RECOMMEND_API_TOKEN>'"
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        return 403, "wrong recommendation API token"
    return None


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise ParamError(f"'{name}' may be given once")
    return values[0] if values else None


def _positive_id(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 12 or int(value) < 1:
        raise ParamError(f"'{name}' must be a positive whole number (an id)")
    return int(value)


def _price_cents(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount > 1_000_000 or amount != amount.quantize(Decimal("0.01")):
        raise ParamError("'max_price' must be an amount above 0 with at most 2 decimals, like 150 or 149.99")
    return int(amount * 100)


def parse_params(params: QueryParams, *, default_k: int) -> RecommendParams:
    """The request's parameters, checked.

    Raises:
        ParamError: naming the parameter and what it may be.
    """
    unknown = sorted(set(params) - set(ALLOWED))
    if unknown:
        raise ParamError(f"unknown parameter '{unknown[0][:40]}'; allowed: {', '.join(ALLOWED)}")
    raw_k = _one(params, "k")
    if raw_k is not None and (not raw_k.isdigit() or not 1 <= int(raw_k[:4]) <= K_MAX or len(raw_k) > 4):
        raise ParamError(f"'k' must be a whole number from 1 to {K_MAX}")
    in_stock = _one(params, "in_stock")
    if in_stock is not None and in_stock.lower() not in ("true", "1", "yes"):
        raise ParamError("'in_stock' may only be true: recommendations only ever show products in stock")
    session = _one(params, "session")
    if session is not None and not SESSION_PARAM_RE.match(session):
        raise ParamError("'session' must be a conversation id: 1-64 letters, digits or _ : . @ + -")
    sig = _one(params, "customer_sig")
    customer_id = _positive_id(_one(params, "customer_id"), "customer_id")
    if sig is not None and customer_id is None:
        raise ParamError("'customer_sig' comes with 'customer_id'")
    category = _one(params, "category")
    if category is not None and not 1 <= len(category.strip()) <= 100:
        raise ParamError("'category' must be a category's slug or name (1-100 characters)")
    q = _one(params, "q") or ""
    if len(q) > MAX_QUERY_CHARS or any(ord(c) < 32 for c in q):
        raise ParamError(f"'q' must be at most {MAX_QUERY_CHARS} printable characters")
    return RecommendParams(customer_id, sig, session, _positive_id(_one(params, "product_id"), "product_id"),
                           category.strip() if category else None, q.strip(), _price_cents(_one(params, "max_price")),
                           int(raw_k) if raw_k is not None else default_k)


def _answer(session: Session, config: StorefrontConfig, p: RecommendParams, customer: int | None) -> dict[str, Any]:
    """Read the parameters as the chat's action reads a message, recommend, log."""
    customer = known_customer(session, customer_id=customer)
    query = SearchQuery()
    if p.category is not None:
        found = resolve_category(session, value=p.category)
        if found is None:
            known = ", ".join(slug for slug, _, _ in list_categories(session)[:40])
            raise ParamError(f"unknown category '{p.category[:60]}'; known: {known}")
        query = replace(query, category=found.slug)
    low, high = parse_price_range(p.q)
    query = replace(query, price_min_cents=low, price_max_cents=p.max_price_cents if p.max_price_cents else high)
    if p.q and not query.category:
        named = find_category_in_text(session, text=p.q)
        query = replace(query, category=named.slug) if named is not None else query
    similar_to = p.product_id
    if similar_to is not None and session.get(Product, similar_to) is None:
        raise ParamError(f"'product_id' {similar_to} is not a product of this shop")
    if similar_to is None and customer is not None and wants_like_last_purchase(p.q):
        similar_to = last_bought(session, customer_id=customer, category=query.category)
    holder = get_model_holder(str(config.recommend_model_dir), config.recommend_check_s) \
        if config.recommend_model_dir is not None else None
    result = recommend_products(session, query=query, customer_id=customer, session_id=p.session, k=p.k,
                                similar_to=similar_to, gift=is_gift(p.q), holder=holder)
    request_id = record_impressions(session, result=result, source="api", session_id=p.session,
                                    customer_id=customer, now=datetime.now(timezone.utc).replace(tzinfo=None))
    return {"request_id": request_id, "identity": "verified" if customer is not None else "anonymous",
            "how": result.how, "relaxed": list(result.relaxed), "model_kind": result.model_kind,
            "model_version": result.model_version,
            "anchor": result.anchor.as_payload() if result.anchor is not None else None,
            "items": [{"position": n, "reason": r.reason, "product": r.card.as_payload()}
                      for n, r in enumerate(result.items, start=1)]}


def install_recommend_api(app: FastAPI, config: StorefrontConfig) -> None:
    """Add ``GET /recommend`` to the storefront ``app``."""

    @app.get("/recommend")
    def recommend(request: Request) -> JSONResponse:
        refusal = bearer_refusal(request.headers.get("authorization"), token=config.recommend_api_token)
        if refusal is not None:
            status, reason = refusal
            return JSONResponse({"error": reason}, status_code=status,
                                headers={"WWW-Authenticate": "Bearer"} if status == 401 else {})
        try:
            params = parse_params(request.query_params, default_k=config.recommend_count)
            customer = params.customer_id if params.customer_id is not None and customer_sig_valid(
                str(params.customer_id), params.customer_sig, config.identity_secret, now=time.time()) else None
            with session_scope(config.database_url) as session:
                body = _answer(session, config, params, customer)
        except ParamError as exc:
            return JSONResponse({"error": str(exc), "allowed": list(ALLOWED)}, status_code=400)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})
