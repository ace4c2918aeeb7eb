"""Prometheus metrics shared by the action server, the storefront and the console.

- :class:`RequestMetrics`: plain ASGI middleware timing every HTTP request into
  ``shop_http_request_duration_seconds{method, route, status}``. ``route`` is the
  matched route's *template* (``/products/{handle}``), ``<unmatched>`` when no route
  matched, so neither a raw path (``/products/jane@example.com``) nor a query ever
  becomes a label and the label values are bounded by the app's routes. An event
  stream (``text/event-stream``) is timed to its first byte, not its end.
- :class:`HandoffQueueCollector` and :class:`StaffSessionsCollector`: gauges computed
  from the shop database when Prometheus scrapes (one grouped count each; the
  ``handoffs.status`` column is indexed).
- :func:`exposition`: the text Prometheus reads. With ``PROMETHEUS_MULTIPROC_DIR`` set
  (``Settings.prometheus_multiproc_dir``) every process of the service writes its
  samples to files there and a scrape of any one process reads them all
  (prometheus_client's multiprocess mode); without it, the scraped process's own registry.
- :func:`install_metrics`: the middleware and ``GET /metrics`` on a FastAPI app.

``/metrics`` needs no session or action token; when ``SHOP_METRICS_TOKEN`` is set it
needs ``Authorization: Bearer <token>`` (docs/security.md). No label value comes from a
shopper: routes, methods, status codes, teams, roles and statuses only.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.db.schema import Handoff, StaffSession, StaffUser
from shop.handoff.states import OPEN_STATUSES

if TYPE_CHECKING:
    from fastapi import FastAPI

    from shop.settings import Settings

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST
UNMATCHED = "<unmatched>"
#: methods kept as label values; any other (``FOO``) is counted as ``other``
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: request latency buckets (seconds): page loads, API calls, slow database moments
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
HTTP_METRIC = "shop_http_request_duration_seconds"

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class MetricsConfig:
    """``multiproc_dir``: prometheus_client's multiprocess folder (``None``: one
    process); ``token``: the bearer token ``/metrics`` requires (empty: none)."""

    multiproc_dir: Path | None = None
    token: str = ""


def metrics_config(settings: Settings) -> MetricsConfig:
    """The :class:`MetricsConfig` of ``settings`` (``PROMETHEUS_MULTIPROC_DIR``,
    ``SHOP_METRICS_TOKEN``)."""
    folder = settings.prometheus_multiproc_dir.strip()
    return MetricsConfig(multiproc_dir=Path(folder) if folder else None,
                         token=settings.metrics_token.get_secret_value())


def reset_multiprocess_dir(folder: Path) -> None:
    """Make ``folder`` and empty it of earlier runs' sample files (``*.db``), as
    prometheus_client requires before a service's processes start."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def route_label(scope: Scope, routes: Sequence[BaseRoute] = ()) -> str:
    """The template of the route that handled the request (the router puts the route,
    and FastAPI the template with its routers' prefixes, in the scope when it matches);
    a mounted app (static files), which the router does
    not name there, counts as ``<mount path>/{path}`` when the path is under a mount of
    ``routes``; anything else is ``<unmatched>``."""
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):  # FastAPI names the full template of an included router's route here
        template = getattr(fastapi_scope.get("effective_route_context"), "path_format", None)
        if isinstance(template, str) and template.startswith("/"):
            return template
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    requested = scope.get("path", "")
    for mount in routes:
        if isinstance(mount, Mount) and mount.path and requested.startswith(mount.path + "/"):
            return f"{mount.path}/{{path}}"
    return UNMATCHED


def http_histogram(registry: CollectorRegistry | None) -> Histogram:
    """``shop_http_request_duration_seconds{method, route, status}`` in ``registry``."""
    return Histogram(HTTP_METRIC, "Seconds from a request's arrival to the end of its response "
                     "(an event stream: to its first byte), by method, route template and status.",
                     ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=registry)


class RequestMetrics:
    """ASGI middleware: times each HTTP request into ``histogram`` (see the module
    docstring); an exception from the app counts as status 500 and is re-raised."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.histogram = histogram
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "done": False}

        def observe() -> None:
            if not state["done"]:
                state["done"] = True
                self.histogram.labels(method_label(scope.get("method", "")), route_label(scope, self.routes),
                                      str(state["status"])).observe(time.perf_counter() - started)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = int(message.get("status", 500))
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    observe()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                observe()

        try:
            await self.app(scope, receive, timed_send)
        finally:
            observe()


class HandoffQueueCollector(Collector):
    """``shop_handoff_queue{team, status}``: open handoffs (queued, active, waiting for a
    ticket) per team, and ``shop_handoff_oldest_queued_seconds{team}``: how long the
    oldest still-queued one has waited, read from the database at each scrape.
    ``clock`` -> naive UTC now (the database's times)."""

    def __init__(self, open_session: SessionFactory, *, clock: Callable[[], datetime]) -> None:
        self.open_session = open_session
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        queue = GaugeMetricFamily("shop_handoff_queue", "Open handoffs by team and status.",
                                  labels=["team", "status"])
        oldest = GaugeMetricFamily("shop_handoff_oldest_queued_seconds",
                                   "Seconds the oldest queued handoff of each team has waited.", labels=["team"])
        try:
            with self.open_session() as session:
                counts = session.execute(select(Handoff.team, Handoff.status, func.count())
                                         .where(Handoff.status.in_(OPEN_STATUSES))
                                         .group_by(Handoff.team, Handoff.status)).all()
                firsts = session.execute(select(Handoff.team, func.min(Handoff.created_at))
                                         .where(Handoff.status == "queued").group_by(Handoff.team)).all()
        except SQLAlchemyError as exc:
            logger.warning("handoff queue metrics unavailable: %s", exc)
            return
        seen = {(team, status): n for team, status, n in counts}
        for team in sorted({team for team, _ in seen}):
            for status in OPEN_STATUSES:
                queue.add_metric([team, status], seen.get((team, status), 0))
        now = self.clock()
        for team, first in firsts:
            if first is not None:
                oldest.add_metric([team], max(0.0, (now - first).total_seconds()))
        yield queue
        yield oldest


class StaffSessionsCollector(Collector):
    """``shop_console_staff_sessions{role}``: console sessions live now (not ended, not
    past their end, seen within ``idle_s``), by staff role, read at each scrape."""

    def __init__(self, open_session: SessionFactory, *, clock: Callable[[], datetime], idle_s: int) -> None:
        self.open_session = open_session
        self.clock = clock
        self.idle_s = idle_s

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("shop_console_staff_sessions", "Live staff console sessions by role.",
                                  labels=["role"])
        now = self.clock()
        try:
            with self.open_session() as session:
                rows = session.execute(
                    select(StaffUser.role, func.count()).join(StaffSession, StaffSession.user_id == StaffUser.id)
                    .where(StaffSession.ended_at.is_(None), StaffSession.expires_at > now,
                           StaffSession.last_seen_at >= now - timedelta(seconds=self.idle_s),
                           StaffUser.is_active.is_(True))
                    .group_by(StaffUser.role)).all()
        except SQLAlchemyError as exc:
            logger.warning("staff session metrics unavailable: %s", exc)
            return
        for role, n in rows:
            gauge.add_metric([role], n)
        yield gauge


class _Forward(Collector):
    """Serves another registry's metrics from a scrape-time registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


def exposition(config: MetricsConfig, registry: CollectorRegistry, collectors: Sequence[Collector] = ()) -> bytes:
    """The Prometheus text of ``registry`` (in multiprocess mode: every process's
    samples in ``config.multiproc_dir``) and ``collectors`` (computed now)."""
    scrape = CollectorRegistry()
    if config.multiproc_dir is not None:
        MultiProcessCollector(scrape, path=str(config.multiproc_dir))
    else:
        scrape.register(_Forward(registry))
    for collector in collectors:
        scrape.register(collector)
    return generate_latest(scrape)


def token_refusal(config: MetricsConfig, authorization: str | None) -> str | None:
    """Why a scrape with this ``Authorization`` header may not read the metrics, or
    ``None`` (no token configured, or ``Bearer <token>``, compared in constant time)."""
    if not config.token:
        return None
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), config.token.encode()):
        return "missing or wrong bearer token (SHOP_METRICS_TOKEN)"
    return None


def install_metrics(app: FastAPI, config: MetricsConfig, *, collectors: Sequence[Collector] = ()) -> None:
    """Time every request of ``app`` (:class:`RequestMetrics`, outermost) and serve
    ``GET /metrics`` with its registry and ``collectors`` (run in a worker thread, as
    the collectors query the database)."""
    registry = CollectorRegistry()
    app.add_middleware(RequestMetrics, histogram=http_histogram(registry), routes=app.routes)

    def metrics(request: Request) -> Response:
        refused = token_refusal(config, request.headers.get("authorization"))
        if refused:
            return JSONResponse({"error": refused}, status_code=401)
        return Response(exposition(config, registry, collectors), media_type=CONTENT_TYPE,
                        headers={"Cache-Control": "no-store"})

    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
