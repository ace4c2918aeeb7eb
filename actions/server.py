"""Serving the actions: rasa-sdk's server with a warm-up in every worker.

Sanic (25) serves from worker processes it *spawns*, so anything loaded in the process
that parses the command line is not what requests use, and that process's logging
setup doesn't reach the workers. :func:`serve` therefore does what
``rasa_sdk.__main__.main_from_args`` does, with one difference: the app factory the
workers run (:func:`create_app`, module-level so it can be pickled) also configures
logging at the chosen level, registers an ``after_server_start`` listener that
starts the warm-ups in the worker's service pool, and adds the handoff gate's
endpoint ``POST /handoff/inbound`` (:mod:`actions.handoff_api`).
"""

from __future__ import annotations

import argparse
import logging
import os
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
from shop.services.llm import get_llm_runner
from shop.services.llm import warm_up as warm_llm
from shop.services.search.backends import warm_up as warm_search
from shop.settings import get_settings

logger = logging.getLogger(__name__)


def _configure_logging(level: Any, log_file: str | None, logging_config_file: str | None) -> None:
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(level)
    utils.configure_file_logging(logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), log_file, level,
                                 logging_config_file)
    utils.update_sanic_log_level()


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


def create_app(executor: ActionExecutor, *, level: Any, log_file: str | None, logging_config_file: str | None,
               **kwargs: Any) -> Sanic:
    """rasa-sdk's app for one worker, with logging configured, the warm-up listener and
    the handoff gate's endpoint."""

    _configure_logging(level, log_file, logging_config_file)
    app = create_app_for_serve(executor, **kwargs)
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
    host = os.environ.get("SANIC_HOST", "0.0.0.0")  # noqa: S104  - rasa-sdk's default; SANIC_HOST narrows it
    ssl = create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    logger.info("Action endpoint is up and running on %s://%s:%s", "https" if ssl else "http", host, args.port)
    app.prepare(host=host, port=args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    Sanic.serve(primary=app, app_loader=loader)
