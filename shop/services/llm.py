"""The action server's one LLM runner, built from the settings on first use."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from models.llm.chat import ModelOptions, chat_model
from models.llm.runner import LLMRunner
from models.llm.weights import WeightsError
from shop.settings import Settings, get_settings

logger = logging.getLogger(__name__)

OFF = frozenset({"", "off", "none"})


def build_runner(settings: Settings, *, fetch: bool = False) -> LLMRunner | None:
    """An :class:`LLMRunner` for ``settings.llm_model``, or ``None`` when the LLM is
    off or cannot be had (missing weights, bad model string: logged), in which case
    every answer comes from its template. ``fetch``: assemble missing local weights."""
    if settings.llm_model.strip().lower() in OFF:
        return None
    threads = settings.llm_threads or max(1, (os.cpu_count() or 2) - 1)
    options = ModelOptions(cache_dir=settings.llm_cache_dir, threads=threads, max_tokens=settings.llm_max_tokens,
                           base_url=settings.llm_base_url, api_key=settings.llm_api_key,
                           timeout_s=settings.llm_timeout_s, fetch=fetch)
    try:
        model = chat_model(settings.llm_model, options)
    except (ValueError, FileNotFoundError, WeightsError) as exc:
        logger.error("LLM %s unavailable, answering from templates: %s", settings.llm_model, exc)
        return None
    return LLMRunner(model, workers=1, timeout_s=settings.llm_timeout_s, max_pending=settings.llm_max_pending)


@lru_cache(maxsize=1)
def get_llm_runner() -> LLMRunner | None:
    """The process-wide runner (see :func:`build_runner`); weights are never fetched here."""
    return build_runner(get_settings())


def warm_up(session: object = None) -> None:
    """Load the local model's weights now rather than on the first question."""
    runner = get_llm_runner()
    loader = getattr(runner.model, "_model", None) if runner is not None else None
    if callable(loader):
        loader()
