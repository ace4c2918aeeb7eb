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
"""

from __future__ import annotations

import argparse
import hmac
import logging
from functools import partial
from typing import Any

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app_for_serve, create_ssl_config
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sanic.worker.loader import AppLoader

from actions import handoff_api
from actions.recommend import warm_up as warm_recommender
from actions.runtime import start_in_background
from protocol import redact
from shop.services.llm import get_llm_runner
from shop.services.llm import warm_up as warm_llm
from shop.services.search.backends import warm_up as warm_search
from shop.settings import get_settings

logger = logging.getLogger(__name__)

ACTION_TOKEN_HEADER = "X-Shop-Action-Token"  # noqa: S105  - a header name, not a secret
#: served without the action token: liveness and the LLM counters (``GET``), and the
#: handoff endpoints (``POST``), which check their relay signature themselves
OPEN_GET_PATHS = frozenset({"/health", "/health/llm"})
RELAY_SIGNED_POST_PATHS = frozenset({handoff_api.INBOUND_PATH, handoff_api.PENDING_PATH})


def _configure_logging(level: Any, log_file: str | None, logging_config_file: str | None) -> None:
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(level)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), log_file, level,
                                 logging_config_file)
    utils.update_sanic_log_level()
    redact.install(*logging.getLogger().handlers)  # no e-mails or phone numbers in the logs


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
    (:func:`require_action_token`, before every route), the warm-up listener and the
    handoff endpoints."""

    _configure_logging(level, log_file, logging_config_file)
    app = create_app_for_serve(executor, **kwargs)
    app.register_middleware(require_action_token, "request")
    app.register_listener(_warm_up, "after_server_start")
    app.add_route(llm_health, "/health/llm", methods=["GET"])
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
    app = loader.load()
    host = listen_host()
    if not get_settings().action_token:
        logger.error("SHOP_ACTION_TOKEN is not set: the action server answers 401 to every request. Set it here "
                     "and for the Rasa server (bot/endpoints.yml sends it as %s).", ACTION_TOKEN_HEADER)
    ssl = create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    logger.info("Action endpoint is up and running on %s://%s:%s", "https" if ssl else "http", host, args.port)
    app.prepare(host=host, port=args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
