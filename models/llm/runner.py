"""Running a chat model off the event loop: a bounded worker pool, a timeout per call,
a limit on waiting work, and a cache of identical requests (:mod:`models.llm.answer_cache`:
in this process, or in Redis shared by every action-server process; keyed by the model
and the whole prompt, so an answer is only reused for the very same facts).

The action server awaits :meth:`LLMRunner.generate`; the model call (an HTTP request
to the model server) runs in one of ``workers`` threads, so other conversations keep
being served. A call that would wait behind more than ``max_pending`` others, or that
takes longer than its timeout, raises :class:`LLMUnavailable` at once and the caller
answers from its template: a slow model costs a shopper nothing but the wording.

When the model server is down (crashed, restarting, hung), a breaker opens after
``break_after`` failures in a row: for ``break_s`` seconds calls get
:class:`LLMUnavailable` at once instead of each waiting for its own timeout; then one
call tries again, and the first success closes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from models.llm.answer_cache import AnswerCache, MemoryAnswerCache, request_key

logger = logging.getLogger(__name__)


def _lower_priority(niceness: int) -> None:
    """Pool initializer: lower this worker thread's CPU priority (Linux schedules
    threads as tasks, so ``setpriority`` on the thread id affects this thread only).
    llama.cpp with one thread computes on the calling thread, so conversations that
    need the CPU briefly are served first. Without permission or off Linux, nothing."""
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError as exc:
        logger.info("could not lower the LLM thread's priority: %s", exc)


class LLMUnavailable(RuntimeError):
    """The model timed out, failed, or had too much work waiting; use the template."""


@dataclass(frozen=True)
class Generation:
    """One answer: ``text``, ``tokens`` generated, ``seconds`` of model time, and
    whether it came from the cache."""

    text: str
    tokens: int
    seconds: float
    cached: bool = False


class LLMRunner:
    """Calls ``model`` in ``workers`` threads with ``timeout_s`` per call.

    Args:
        model: any LangChain chat model.
        workers: threads running the model (1 for one local model: llama.cpp runs one
            request at a time anyway).
        timeout_s: seconds a caller waits for an answer (default 20).
        max_pending: calls allowed to wait or run at once before new ones are refused
            (default 4).
        cache_size: identical requests remembered in this process (default 256; 0 turns
            it off) when no ``cache`` is given.
        cache: where answers are remembered instead (:class:`~models.llm.answer_cache.RedisAnswerCache`
            to share them between processes).
        niceness: how much lower the model's worker threads run than the rest of the
            process (Linux ``nice`` steps, default 10; 0 leaves them alone).
    """

    def __init__(self, model: BaseChatModel, *, workers: int = 1, timeout_s: float = 20.0,
                 max_pending: int = 4, cache_size: int = 256, niceness: int = 10,
                 break_after: int = 2, break_s: float = 3.0, cache: AnswerCache | None = None) -> None:
        self.model = model
        self.model_name = str(getattr(model, "model", None) or type(model).__name__)
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.cache_size = cache_size
        self.break_after = break_after
        self.break_s = break_s
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm",
                                        initializer=_lower_priority, initargs=(niceness,))
        self.cache: AnswerCache = cache if cache is not None else MemoryAnswerCache(cache_size)
        self._lock = threading.Lock()
        self._pending = 0
        self._failures_in_row = 0
        self._open_until = 0.0
        # breaker_opened: calls refused at once while the breaker was open
        self.counts = {"answered": 0, "cached": 0, "failed": 0, "timed_out": 0, "busy": 0, "breaker_opened": 0}
        self.history: deque[Generation] = deque(maxlen=10_000)  # model calls made (not cache hits)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _failed(self) -> None:
        with self._lock:
            self._failures_in_row += 1
            if self._failures_in_row >= self.break_after:
                self._open_until = time.monotonic() + self.break_s

    def _succeeded(self) -> None:
        with self._lock:
            self._failures_in_row = 0
            self._open_until = 0.0

    def status(self) -> dict[str, object]:
        """Counts of answers, cache hits, failures, timeouts and refusals, and whether
        the breaker is open (for the action server's ``/health/llm``)."""
        with self._lock:
            return {"model": self.model_name, **self.counts,
                    "pending": self._pending, "breaker_open": time.monotonic() < self._open_until}

    def key(self, messages: list[BaseMessage], max_tokens: int | None) -> str:
        """The cache key of a request: this model, every message's role and text, the token limit."""
        return request_key(self.model_name, [(m.type, str(m.content)) for m in messages], max_tokens)

    def _cached(self, key: str) -> Generation | None:
        hit = self.cache.get(key)
        return None if hit is None else Generation(hit[0], hit[1], 0.0, cached=True)

    def _remember(self, key: str, generation: Generation) -> None:
        self.cache.put(key, generation.text, generation.tokens)

    def _run(self, messages: list[BaseMessage], max_tokens: int | None) -> Generation:
        started = time.perf_counter()
        try:
            kwargs: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
            result = self.model.generate([messages], **kwargs)
        finally:
            with self._lock:
                self._pending -= 1
        first = result.generations[0][0]
        usage = (first.generation_info or {}).get("usage") or {}
        generation = Generation(text=first.text, tokens=int(usage.get("completion_tokens") or 0),
                                seconds=float(usage.get("seconds") or time.perf_counter() - started))
        self.history.append(generation)
        return generation

    def _admit(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                self.counts["breaker_opened"] += 1
                raise LLMUnavailable("the model server is down (breaker open)")
            if self._failures_in_row >= self.break_after:  # half open: let this one try
                self._open_until = now + self.break_s
            if self._pending >= self.max_pending:
                self.counts["busy"] += 1
                raise LLMUnavailable(f"{self._pending} LLM calls already waiting")
            self._pending += 1

    async def generate(self, messages: list[BaseMessage], *, max_tokens: int | None = None,
                       timeout_s: float | None = None) -> Generation:
        """The model's answer to ``messages``, without blocking the event loop.

        Raises:
            LLMUnavailable: on timeout (the model finishes in the background and its
                answer is cached), on too much waiting work, or on a model error.
        """
        key = self.key(messages, max_tokens)
        hit = self._cached(key)
        if hit is not None:
            self._count("cached")
            return hit
        self._admit()
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._run, messages, max_tokens)

        def remember(done: asyncio.Future[Generation]) -> None:
            if not done.cancelled() and done.exception() is None:
                self._remember(key, done.result())

        future.add_done_callback(remember)
        try:
            generation = await asyncio.wait_for(asyncio.shield(future), timeout_s or self.timeout_s)
        except asyncio.TimeoutError as exc:
            logger.warning("LLM call timed out after %.1fs; answering from the template", timeout_s or self.timeout_s)
            self._count("timed_out")
            self._failed()
            raise LLMUnavailable("timeout") from exc
        except (RuntimeError, ValueError, OSError, KeyError, IndexError) as exc:
            logger.error("LLM call failed: %s", exc)
            self._count("failed")
            self._failed()
            raise LLMUnavailable(str(exc)) from exc
        self._succeeded()
        self._count("answered")
        return generation

    def generate_sync(self, messages: list[BaseMessage], *, max_tokens: int | None = None) -> Generation:
        """The same as :meth:`generate` for scripts and benchmarks (no timeout, cached)."""
        key = self.key(messages, max_tokens)
        hit = self._cached(key)
        if hit is not None:
            return hit
        self._admit()
        generation = self._run(messages, max_tokens)
        self._remember(key, generation)
        return generation

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
