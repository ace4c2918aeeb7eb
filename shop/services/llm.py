"""The action server's one LLM runner, built from the settings on first use."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import lru_cache

from models.llm.chat import ModelOptions, chat_model, is_off, local_model_name
from models.llm.runner import LLMRunner
from models.llm.server import config_for, health, serving
from shop.settings import Settings, get_settings
from shop.shared_counters import get_llm_cache

logger = logging.getLogger(__name__)


def build_runner(settings: Settings) -> LLMRunner | None:
    """An :class:`LLMRunner` for ``settings.llm_model``, or ``None`` when the LLM is
    off or misconfigured (logged), in which case every answer comes from its template.
    The model is always behind HTTP (the local llama.cpp server or another
    OpenAI-compatible one): this process never loads weights."""
    if is_off(settings.llm_model):
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
                     max_pending=settings.llm_max_pending, niceness=0, cache=get_llm_cache(settings.redis_url))


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
    name = local_model_name(settings.llm_model)
    if name is None or health(settings.llm_server_url) == "ok":
        yield
        return
    config = config_for(name, cache_dir=settings.llm_cache_dir, binary=settings.llm_server_bin,
                        server_url=settings.llm_server_url, threads=settings.llm_threads,
                        slots=settings.llm_server_slots, niceness=0, progress=True)
    with serving(config):
        yield
