"""Chat models behind one ``provider/model`` string, all on ``langchain-core``'s
:class:`~langchain_core.language_models.BaseChatModel` interface.

Providers (:func:`chat_model`):

- ``llamacpp/<name>``: a local GGUF (:mod:`models.llm.weights`) served by our own
  supervised llama.cpp server (:mod:`models.llm.server`) at ``server_url``, reached
  through the same OpenAI-compatible client: this process never loads weights.
- ``openai/<model>``: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM,
  Ollama, llama.cpp on another machine) at ``base_url`` (:class:`OpenAICompatChat`,
  over httpx).
- ``fake/<mode>``: :class:`FakeChat`, deterministic, for tests: ``fake/echo`` repeats
  the last human message; tests pass their own ``responder``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httpx
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from models.llm.weights import spec_for

PROVIDERS = ("llamacpp", "openai", "fake")
OFF = frozenset({"", "off", "none"})  # model strings that mean "no LLM: templates only"


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


class ModelServerError(RuntimeError):
    """The model server could not be reached, failed, or answered something unreadable."""


class OpenAICompatChat(BaseChatModel):
    """Any OpenAI-compatible chat endpoint (``POST {base_url}/chat/completions``).

    Attributes:
        model: the model name the server knows.
        base_url: e.g. ``http://127.0.0.1:5077/v1``.
        api_key: sent as a bearer token when set.
        max_tokens: most tokens per answer (default 256).
        temperature: 0 (default) decodes greedily, so answers are repeatable.
        timeout_s: HTTP timeout in seconds.

    Any transport error, error status or malformed body raises :class:`ModelServerError`.
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
        try:
            response = httpx.post(f"{self.base_url.rstrip('/')}/chat/completions", json=body, headers=headers,
                                  timeout=self.timeout_s)
            response.raise_for_status()
            data = response.json()
            text = str(data["choices"][0]["message"].get("content") or "")
        except httpx.HTTPError as exc:
            raise ModelServerError(f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ModelServerError(f"unreadable answer from the model server: {exc}") from exc
        usage = dict(data.get("usage") or {})
        usage["seconds"] = time.perf_counter() - started
        timings = data.get("timings") or {}
        if timings:  # llama.cpp's own figures: prompt tokens computed (not from cache), speeds
            usage["timings"] = {k: timings[k] for k in ("prompt_n", "prompt_ms", "predicted_n", "predicted_ms")
                                if k in timings}
        return _result(text, usage)


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
        server_url: the local llama.cpp server that serves ``llamacpp/...`` models
            (``http://127.0.0.1:5077``).
        max_tokens: most tokens per answer.
        base_url, api_key: for ``openai/...``.
        timeout_s: HTTP timeout.
    """

    server_url: str = "http://127.0.0.1:5077"
    max_tokens: int = 256
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 30.0


def parse_model_string(value: str) -> tuple[str, str]:
    """``"llamacpp/qwen2.5-coder-1.5b-instruct-q4_k_m"`` -> ``("llamacpp", "qwen2...")``.

    Raises:
        ValueError: when the provider is unknown or the model part is empty.
    """
    provider, _, name = (value or "").strip().partition("/")
    if provider not in PROVIDERS or not name:
        raise ValueError(f"LLM model must be 'provider/model' with provider one of {', '.join(PROVIDERS)}; "
                         f"got {value!r}")
    return provider, name


def is_off(value: str) -> bool:
    """Whether ``value`` (``SHOP_LLM_MODEL``) turns the LLM off."""
    return (value or "").strip().lower() in OFF


def local_model_name(value: str) -> str | None:
    """The GGUF name in ``llamacpp/<name>``; ``None`` when the LLM is off or served by
    another provider.

    Raises:
        ValueError: for a malformed string (see :func:`parse_model_string`).
    """
    if is_off(value):
        return None
    provider, name = parse_model_string(value)
    return name if provider == "llamacpp" else None


@lru_cache(maxsize=4)
def chat_model(model: str, options: ModelOptions) -> BaseChatModel:
    """The chat model named by ``model`` (``provider/model``), built once per process
    for each distinct (model, options). Nothing is loaded: every provider but ``fake``
    is an HTTP client.

    Raises:
        ValueError: for a malformed string, an unknown local model, or ``openai/...``
            without ``base_url``.
    """

    provider, name = parse_model_string(model)
    if provider == "fake":
        return FakeChat()
    if provider == "openai":
        if not options.base_url:
            raise ValueError("openai/... models need a base URL (SHOP_LLM_BASE_URL)")
        return OpenAICompatChat(model=name, base_url=options.base_url, api_key=options.api_key,
                                max_tokens=options.max_tokens, timeout_s=options.timeout_s)
    spec_for(name)  # an unknown local model is an error here, not at the first question
    return OpenAICompatChat(model=name, base_url=f"{options.server_url.rstrip('/')}/v1",
                            max_tokens=options.max_tokens, timeout_s=options.timeout_s)
