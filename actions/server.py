"""Serving the actions: rasa-sdk's server with a warm-up in every worker.

Sanic (25) serves from worker processes it *spawns*, so anything loaded in the process
that parses the command line is not what requests use, and that process's logging
setup doesn't reach the workers. :func:`serve` therefore does what
``rasa_sdk.__main__.main_from_args`` does, with one difference: the app factory the
workers run (:func:`create_app`, module-level so it can be pickled) also configures
logging at the chosen level, registers an ``after_server_start`` listener that
starts the warm-ups in the worker's service pool, adds the handoff endpoints
``POST /handoff/inbound`` and ``POST /handoff/pending`` (:mod:`actions.handoff_api`)
and puts every route behind the action token (:func:`token_refusal`).

Access (docs/security.md): the server listens on ``SHOP_ACTION_HOST`` (default
``127.0.0.1``; rasa-sdk's ``SANIC_HOST`` is not read). Every request must carry
``X-Shop-Action-Token`` equal to ``SHOP_ACTION_TOKEN`` (the Rasa server sends it from
``bot/endpoints.yml``), 401 otherwise, and 401 to everyone while the token is unset,
except ``GET /health`` and ``GET /health/llm`` (liveness and LLM counters, no shop
data) and ``/handoff/*``, which the Rasa server signs with ``SHOP_RELAY_SECRET``
instead (timestamped, single-use HMAC, :mod:`protocol.handoff`).

Observability (docs/operations.md#metrics-logs-and-tracing): ``GET /metrics`` serves
the Prometheus metrics of :mod:`actions.action_metrics` and :mod:`apps.http_metrics` without the
action token (aggregate counts and timings under code-defined labels; with
``SHOP_METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``), in
prometheus_client's multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set. Every
request runs in its own log context, which for ``/webhook`` names the tracker's
``sender_id``; ``SHOP_LOG_FORMAT=json`` writes one JSON object per log line
(:mod:`shop.logging_setup`).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json as jsonlib
import logging
import os
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import partial
from typing import Any

from prometheus_client.multiprocess import mark_process_dead
from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader

from actions import action_metrics, handoff_api
from actions.recommend import warm_up as warm_recommender
from actions.runtime import start_in_background
from apps.http_metrics import (
    CONTENT_TYPE,
    UNMATCHED,
    HandoffQueueCollector,
    exposition,
    method_label,
    metrics_config,
    reset_multiprocess_dir,
)
from apps.http_metrics import token_refusal as metrics_refusal
from shop.db.engine import session_scope
from shop.logging_setup import bind_conversation, close_context, open_context, use_format
from shop.services.llm import get_llm_runner
from shop.services.llm import warm_up as warm_llm
from shop.services.search.backends import warm_up as warm_search
from shop.settings import get_settings

logger = logging.getLogger(__name__)

ACTION_TOKEN_HEADER = "X-Shop-Action-Token"  # noqa: S105  - a header name, not a secret
#: served without the action token: liveness, the LLM counters and the Prometheus metrics
#: (``GET``), and the handoff endpoints (``POST``), which check their relay signature themselves
OPEN_GET_PATHS = frozenset({"/health", "/health/llm", "/metrics"})
RELAY_SIGNED_POST_PATHS = frozenset({handoff_api.INBOUND_PATH, handoff_api.PENDING_PATH})


def _configure_logging(level: Any, log_file: str | None, logging_config_file: str | None) -> None:
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(level)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), log_file, level,
                                 logging_config_file)
    utils.update_sanic_log_level()
    # no e-mails or phone numbers in the logs; one JSON object a line with SHOP_LOG_FORMAT=json
    use_format(get_settings().log_format, *logging.getLogger().handlers,
               *logging.getLogger(APPLICATION_ROOT_LOGGER_NAME).handlers)


async def _warm_up(app: Sanic, _loop: Any) -> None:
    """Load the search backend, the served recommendation model and the LLM's weights
    in the background (the server answers meanwhile; a failure is logged, never raised)."""

    start_in_background(warm_search, name=get_settings().search_backend)
    start_in_background(warm_recommender)
    start_in_background(warm_llm)


async def llm_health(request: Request) -> HTTPResponse:
    """``GET /health/llm``: this worker's LLM answers, cache hits, failures, timeouts and
    refusals, and whether the breaker is open (``{"llm": null}`` when the LLM is off)."""
    runner = get_llm_runner()
    return json({"llm": runner.status() if runner is not None else None})


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _handoff_queue() -> HandoffQueueCollector:
    url = get_settings().database_url
    return HandoffQueueCollector(lambda: session_scope(url), clock=_utcnow)


def _sync_llm_metrics() -> None:
    runner = get_llm_runner()
    action_metrics.sync_llm(runner.status() if runner is not None else None)


async def metrics(request: Request) -> HTTPResponse:
    """``GET /metrics``: the Prometheus text of this action server (every worker's in
    multiprocess mode) and the handoff queue, read from the database in a thread."""
    config = metrics_config(get_settings())
    refused = metrics_refusal(config, request.headers.get("authorization"))
    if refused:
        return json({"error": refused}, status=401)
    _sync_llm_metrics()
    body = await asyncio.to_thread(exposition, config, action_metrics.REGISTRY, [_handoff_queue()])
    return HTTPResponse(body, content_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def _action_call(request: Request) -> dict[str, Any] | None:
    """The action call a ``/webhook`` request carries (plain or deflated JSON), or
    ``None`` when it is not a JSON object (rasa-sdk then answers 400 itself)."""
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call = jsonlib.loads(zlib.decompress(request.body))
        else:
            call = request.json
    except (ValueError, zlib.error, SanicException):
        return None
    return call if isinstance(call, dict) else None


async def start_request(request: Request) -> None:
    """Request middleware, first: start the clock and a fresh log context."""
    request.ctx.started = time.perf_counter()
    request.ctx.log_token = open_context()
    request.ctx.action = None


def read_action_call(known: Callable[[], Any]) -> Callable[[Request], Awaitable[None]]:
    """Request middleware, after the token check: for ``POST /webhook``, the action
    (a name of ``known()``, else ``unknown``), when the shopper's message came and the
    conversation (``sender_id``) the log lines of this call carry."""

    async def read(request: Request) -> None:
        if request.method != "POST" or request.path != "/webhook":
            return
        call = _action_call(request) or {}
        given = call.get("tracker")
        tracker: dict[str, Any] = given if isinstance(given, dict) else {}
        sender = tracker.get("sender_id") or call.get("sender_id")
        if isinstance(sender, str):
            bind_conversation(sender)
        request.ctx.action = action_metrics.action_label(call.get("next_action"), known())
        request.ctx.received_at = action_metrics.message_received_at(tracker)

    return read


async def finish_request(request: Request, response: HTTPResponse) -> None:
    """Response middleware: time the request (and the action), close its log context."""
    started = getattr(request.ctx, "started", None)
    if started is None:  # no route matched: the request middleware never ran
        return
    elapsed = time.perf_counter() - started
    route = f"/{request.route.path.lstrip('/')}" if request.route is not None else UNMATCHED
    action_metrics.HTTP_SECONDS.labels(method_label(request.method), route, str(response.status)).observe(elapsed)
    if request.ctx.action is not None:
        action_metrics.observe_action(request.ctx.action, response.status, elapsed,
                                      received_at=request.ctx.received_at, now=time.time())
        _sync_llm_metrics()
    close_context(request.ctx.log_token)


async def _mark_worker_dead(app: Sanic, _loop: Any) -> None:
    """Multiprocess mode: this worker's live gauges (LLM calls pending) stop counting."""
    folder = metrics_config(get_settings()).multiproc_dir
    if folder is not None:
        mark_process_dead(os.getpid(), str(folder))


def token_refusal(*, method: str, path: str, token: str | None, expected: str) -> str | None:
    """Why a request to ``path`` may not pass the action-token check, or ``None``.
    ``GET`` of :data:`OPEN_GET_PATHS` and ``POST`` of :data:`RELAY_SIGNED_POST_PATHS` pass;
    everything else needs ``token`` == ``expected`` (compared in constant time), and
    nothing passes while ``expected`` is empty."""
    if (method == "GET" and path in OPEN_GET_PATHS) or (method == "POST" and path in RELAY_SIGNED_POST_PATHS):
        return None
    if not expected:
        return "the action server refuses every request: SHOP_ACTION_TOKEN is not set"
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        return f"missing or wrong {ACTION_TOKEN_HEADER}"
    return None


async def require_action_token(request: Request) -> HTTPResponse | None:
    """Request middleware: 401 unless :func:`token_refusal` lets the request pass."""
    refused = token_refusal(method=request.method, path=request.path,
                            token=request.headers.get(ACTION_TOKEN_HEADER), expected=get_settings().action_token)
    if refused:
        return json({"error": refused}, status=401)
    return None


def listen_host() -> str:
    """The address to listen on: ``SHOP_ACTION_HOST`` (default ``127.0.0.1``)."""
    return get_settings().action_host


def create_app(executor: ActionExecutor, *, level: Any, log_file: str | None, logging_config_file: str | None,
               **kwargs: Any) -> Sanic:
    """rasa-sdk's app for one worker, with logging configured, the action-token check
    (:func:`require_action_token`, before every route), the warm-up listener, the
    handoff endpoints, ``/metrics`` and the request timing and log context."""

    _configure_logging(level, log_file, logging_config_file)
    app = create_app_for_serve(executor, **kwargs)
    app.register_middleware(start_request, "request")
    app.register_middleware(require_action_token, "request")
    app.register_middleware(read_action_call(lambda: executor.actions), "request")
    app.register_middleware(finish_request, "response")
    app.register_listener(_warm_up, "after_server_start")
    app.register_listener(_mark_worker_dead, "after_server_stop")
    app.add_route(llm_health, "/health/llm", methods=["GET"])
    app.add_route(metrics, "/metrics", methods=["GET"])
    handoff_api.register(app)
    return app


def serve(args: argparse.Namespace) -> None:
    """Run the action server with rasa-sdk's options ``args`` (REST only; no gRPC)."""
    _configure_logging(args.loglevel, args.log_file, args.logging_config_file)
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(factory=partial(
        create_app, executor, level=args.loglevel, log_file=args.log_file,
        logging_config_file=args.logging_config_file, cors_origins=args.cors, auto_reload=args.auto_reload,
        endpoints=args.endpoints))
    folder = metrics_config(get_settings()).multiproc_dir
    if folder is not None:  # before any worker writes: last run's samples go
        reset_multiprocess_dir(folder)
        logger.info("Prometheus multiprocess mode: every worker's samples in %s", folder)
    app = loader.load()
    host = listen_host()
    if not get_settings().action_token:
        logger.error("SHOP_ACTION_TOKEN is not set: the action server answers 401 to every request. Set it here "
                     "and for the Rasa server (bot/endpoints.yml sends it as %s).", ACTION_TOKEN_HEADER)
    ssl = create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    logger.info("Action endpoint is up and running on %s://%s:%s", "https" if ssl else "http", host, args.port)
    app.prepare(host=host, port=args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
