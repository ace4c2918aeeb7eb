"""The commerce webhook receiver: ``create_webhook_app(config)``.

``POST /webhooks/commerce/{backend}`` takes one delivery from the configured platform
(``shopify`` or ``woocommerce``, ``SHOP_COMMERCE_BACKEND``):

1. a backend that isn't the configured one (or the built-in database): 404;
2. the raw body is read up to ``max_body_bytes`` (1 MiB): larger, by its
   ``Content-Length`` or as it streams in: 413, nothing parsed;
3. the connector's ``parse_webhook`` checks the platform's signature over the raw body
   and parses it; a missing or wrong signature, an unknown topic or a malformed body
   answers with the rejection's status (401 or 400) and changes nothing;
4. :func:`shop.commerce.webhooks.apply_webhook` writes it into the mirror in one
   database transaction together with its delivery id, so a redelivery (or a replayed
   request) is answered 200 ``{"status": "duplicate"}`` and changes nothing; a first
   delivery 200 ``{"status": "applied"}``;
5. the database failing answers 503: nothing was written, and the platform delivers
   again later (both retry non-2xx answers).

The mirror moves each changed product's ``updated_at``, so the action server's search
index picks the change up at its next sync (``SHOP_SEARCH_INDEX_SYNC_S``); new orders
add the purchase interactions the recommender trains on. ``GET /health`` answers
``{"status": "ok", "backend": ...}``. The app has no API docs pages, and bodies are never
logged (they hold customers' names and addresses). It is served on 127.0.0.1 by
``python -m apps.cli commerce webhooks``; the platform reaches it through the shop's
TLS proxy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from shop.commerce.errors import WebhookRejected
from shop.commerce.platform import CommercePlatform
from shop.commerce.webhooks import WebhookOutcome, apply_webhook
from shop.db.engine import session_scope

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


def utcnow() -> datetime:
    """Now as naive UTC, with microseconds (the search index compares ``updated_at`` stamps)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class WebhookConfig:
    """What the receiver needs: the shop database, the configured platform (``None``:
    the built-in database, every delivery is 404), the body cap and a clock."""

    database_url: str
    platform: CommercePlatform | None
    max_body_bytes: int = MAX_BODY_BYTES
    clock: Callable[[], datetime] = field(default=utcnow)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (:class:`_TooLarge`) more than ``limit`` bytes: by the
    declared length before reading, and while streaming (chunked bodies declare none)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _answer(code: int, **content: str) -> JSONResponse:
    return JSONResponse(content, status_code=code)


def create_webhook_app(config: WebhookConfig) -> FastAPI:
    """The receiver app for ``config`` (see the module docstring)."""
    app = FastAPI(title="Commerce webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    platform = config.platform

    def apply(target: CommercePlatform, headers: Mapping[str, str], body: bytes) -> tuple[str, WebhookOutcome]:
        event = target.parse_webhook(headers=headers, body=body)
        if event.source != target.name:
            raise WebhookRejected(f"delivery parsed as {event.source!r}, not {target.name!r}", status=400)
        with session_scope(config.database_url) as session:
            return event.topic, apply_webhook(session, event=event, now=config.clock())

    @app.post("/webhooks/commerce/{backend}")
    async def receive(backend: str, request: Request) -> JSONResponse:
        if platform is None or backend != platform.name:
            return _answer(404, detail="no such webhook endpoint")
        try:
            body = await _read_body(request, config.max_body_bytes)
        except _TooLarge:
            log.warning("%s webhook refused: body over %d bytes", backend, config.max_body_bytes)
            return _answer(413, detail=f"body larger than {config.max_body_bytes} bytes")
        try:
            topic, outcome = await run_in_threadpool(apply, platform, request.headers, body)
        except WebhookRejected as exc:
            log.warning("%s webhook rejected (%d): %s", backend, exc.status, exc)
            return _answer(exc.status if 400 <= exc.status < 600 else 400, detail=str(exc)[:200])
        except SQLAlchemyError as exc:
            log.error("%s webhook not applied, database unavailable: %s", backend, type(exc).__name__)
            return JSONResponse({"detail": "database unavailable, deliver again later"}, status_code=503,
                                headers={"Retry-After": "30"})
        except ValueError as exc:  # a record the mirror can't store (a connector bug): say so, keep nothing
            log.error("%s webhook not applied: %s", backend, exc)
            return _answer(422, detail="delivery could not be applied")
        changes = outcome.changes
        log.info("%s webhook %s: %s (%d products, %d orders, %d customers changed)", backend, topic,
                 "duplicate" if outcome.duplicate else "applied", len(changes.products), len(changes.orders),
                 len(changes.customers))
        return _answer(200, status="duplicate" if outcome.duplicate else "applied")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "backend": platform.name if platform is not None else "builtin"}

    return app
