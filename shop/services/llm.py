"""The action server's one LLM runner, built from the settings on first use."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlsplit

from models.llm.chat import ModelOptions, chat_model, parse_model_string
from models.llm.runner import LLMRunner
from models.llm.server import ServerConfig, health, serving
from models.llm.weights import ensure_gguf, spec_for
from shop.settings import Settings, get_settings

logger = logging.getLogger(__name__)

OFF = frozenset({"", "off", "none"})


def build_runner(settings: Settings) -> LLMRunner | None:
    """An :class:`LLMRunner` for ``settings.llm_model``, or ``None`` when the LLM is
    off or misconfigured (logged), in which case every answer comes from its template.
    The model is always behind HTTP (the local llama.cpp server or another
    OpenAI-compatible one): this process never loads weights."""
    if settings.llm_model.strip().lower() in OFF:
        return None
    options = ModelOptions(server_url=settings.llm_server_url, max_tokens=settings.llm_max_tokens,
                           base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                           timeout_s=settings.llm_timeout_s)
    try:
        model = chat_model(settings.llm_model, options)
    except ValueError as exc:
        logger.error("LLM %s unavailable, answering from templates: %s", settings.llm_model, exc)
        return None
    # the server queues and batches; threads here only wait on HTTP
    return LLMRunner(model, workers=settings.llm_max_pending, timeout_s=settings.llm_timeout_s,
                     max_pending=settings.llm_max_pending, niceness=0)


@lru_cache(maxsize=1)
def get_llm_runner() -> LLMRunner | None:
    """The process-wide runner (see :func:`build_runner`)."""
    return build_runner(get_settings())


def warm_up(session: object = None) -> None:
    """Build the runner now rather than on the first question (no weights are loaded
    here: the model lives in its own server process)."""
    get_llm_runner()


@contextlib.contextmanager
def local_server(settings: Settings) -> Iterator[None]:
    """For scripts and benchmarks: when ``settings`` name a local model
    (``llamacpp/...``) and nothing answers at ``llm_server_url``, run its llama.cpp
    server there for the length of the ``with`` block (fetching the weights if needed)."""
    if settings.llm_model.strip().lower() in OFF or health(settings.llm_server_url) == "ok":
        yield
        return
    provider, name = parse_model_string(settings.llm_model)
    if provider != "llamacpp":
        yield
        return
    url = urlsplit(settings.llm_server_url)
    config = ServerConfig(binary=settings.llm_server_bin, model_path=ensure_gguf(name, settings.llm_cache_dir),
                          alias=name, host=url.hostname or "127.0.0.1", port=url.port or 5077,
                          threads=settings.llm_threads or (os.cpu_count() or 2), context=spec_for(name).context,
                          slots=settings.llm_server_slots, niceness=0)
    with serving(config):
        yield
