"""The local LLM in its own process: llama.cpp's ``llama-server``, started and watched
by a small supervisor, reached over its OpenAI-compatible API.

Why a process of its own: a crash in the model's native code (a CPU it was not built
for, a bad GGUF, memory) must not take the action server with it. The action server
only speaks HTTP to it (:class:`models.llm.chat.OpenAICompatChat`) and answers from
templates while it is away.

- :func:`server_command` is the command line for one :class:`ServerConfig`.
- :class:`Supervisor` starts the server, checks ``GET /health`` every second, and
  restarts it (back-off 1, 2, 4 … 30 s) when it exits (crash, out of memory) or stops
  answering (hang: ``max_failures`` health checks in a row time out, then SIGKILL).
  The server runs at a lower CPU priority (``niceness``) so short, non-LLM turns are
  served first, and dies with the supervisor (``PR_SET_PDEATHSIG``).
- :func:`smoke` runs one short generation in a child process and says plainly whether
  this build works on this CPU (``make llm-server`` runs it right after the build).

The same client settings point at any other OpenAI-compatible server instead (vLLM,
Ollama, llama.cpp on a GPU machine): see ``SHOP_LLM_MODEL=openai/...`` in the README.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from models.llm.weights import ensure_gguf, spec_for

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ServerConfig:
    """One llama-server.

    Attributes:
        binary: the ``llama-server`` executable (``var/llama.cpp/bin/llama-server``).
        model_path: the GGUF file.
        alias: the model name the server reports and accepts.
        host, port: where it listens (loopback by default).
        threads: CPU threads for generation and for prompt processing.
        context: total context in tokens, shared by the slots.
        slots: requests decoded together (continuous batching).
        niceness: how much lower than normal the server's CPU priority is (0: same).
        extra: further command-line options.
    """

    binary: Path
    model_path: Path
    alias: str
    host: str = "127.0.0.1"
    port: int = 5077
    threads: int = 2
    context: int = 4096
    slots: int = 2
    niceness: int = 10
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def config_for(name: str, *, cache_dir: Path, binary: Path, server_url: str, threads: int = 0, slots: int = 2,
               niceness: int = 10, port: int | None = None, progress: bool = False) -> ServerConfig:
    """The server for local model ``name`` at ``server_url`` (``port`` overrides its
    port; ``threads`` 0 means every core), its weights assembled first if missing."""
    url = urlsplit(server_url)
    return ServerConfig(binary=binary, model_path=ensure_gguf(name, cache_dir, progress=progress), alias=name,
                        host=url.hostname or "127.0.0.1", port=port or url.port or 5077,
                        threads=threads or (os.cpu_count() or 2), context=spec_for(name).context, slots=slots,
                        niceness=niceness)


def server_command(config: ServerConfig) -> list[str]:
    """The ``llama-server`` command line for ``config``. The prompt cache is on (the
    fixed system prompt of each request is not computed again), the web UI off, and
    idle threads sleep rather than spin."""
    return [
        str(config.binary), "--model", str(config.model_path), "--alias", config.alias,
        "--host", config.host, "--port", str(config.port),
        "--threads", str(config.threads), "--threads-batch", str(config.threads),
        "--ctx-size", str(config.context), "--parallel", str(config.slots),
        "--cache-reuse", "64", "--no-webui", "--metrics", "--log-disable",
        # threads sleep instead of spinning between steps: a spinning thread takes CPU
        # from the conversations even at a lower priority
        "--poll", "0",
        *config.extra,
    ]


def _child_setup(niceness: int) -> Callable[[], None]:
    def setup() -> None:
        if niceness > 0:
            with contextlib.suppress(OSError):
                os.nice(niceness)
        with contextlib.suppress(OSError, AttributeError):  # die with the supervisor (Linux)
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return setup


def start_server(config: ServerConfig, *, log_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start one llama-server (not supervised)."""
    if not Path(config.binary).exists():
        raise FileNotFoundError(f"{config.binary} is missing: run `make llm-server`")
    if not Path(config.model_path).exists():
        raise FileNotFoundError(f"{config.model_path} is missing: run `make llm`")
    # the log handle is the child's stdout for its whole life: the Popen owns it, not a with-block
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(server_command(config), stdout=out, stderr=subprocess.STDOUT,  # noqa: S603 - our own binary and flags
                            preexec_fn=_child_setup(config.niceness), start_new_session=False)


def stop_process(proc: subprocess.Popen[bytes], *, timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout_s``; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def health(url: str, *, timeout_s: float = 2.0) -> str:
    """``"ok"``, ``"loading"`` (503 while the model loads) or ``"down"``."""
    try:
        response = httpx.get(f"{url}/health", timeout=timeout_s)
    except httpx.HTTPError:
        return "down"
    if response.status_code == 200:
        return "ok"
    return "loading" if response.status_code == 503 else "down"


def signal_name(returncode: int | None) -> str:
    """``"SIGSEGV"`` for ``-11``, ``"exit 1"`` for ``1``."""
    if returncode is None:
        return "running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


@dataclass
class Supervisor:
    """Keeps one llama-server answering: see the module docstring.

    Attributes:
        config: the server.
        log_path: the server's own output is appended here.
        pid_file: where the running server's pid is written (for operators and tests).
        health_interval_s: seconds between health checks.
        health_timeout_s: a health check slower than this counts as failed.
        max_failures: failed health checks in a row that make a running server hung.
        start_timeout_s: seconds a new server may take to load its model.
    """

    config: ServerConfig
    log_path: Path | None = None
    pid_file: Path | None = None
    health_interval_s: float = 1.0
    health_timeout_s: float = 2.0
    max_failures: int = 3
    start_timeout_s: float = 180.0
    restarts: int = 0
    ready: bool = False  # the current server has answered its health check
    stop_event: threading.Event = field(default_factory=threading.Event)
    _proc: subprocess.Popen[bytes] | None = None

    def _watch(self, proc: subprocess.Popen[bytes]) -> str:
        """Until the server exits (``"exited"``), hangs (``"hung"``) or we stop (``"stopped"``)."""
        started = time.monotonic()
        healthy_once, failures = False, 0
        while not self.stop_event.is_set():
            if proc.poll() is not None:
                return "exited"
            state = health(self.config.url, timeout_s=self.health_timeout_s)
            if state == "ok":
                if not healthy_once:
                    logger.info("LLM server ready (pid %s, %.1f s)", proc.pid, time.monotonic() - started)
                healthy_once, failures = True, 0
                self.ready = True
            elif healthy_once or time.monotonic() - started > self.start_timeout_s:
                failures += 1
                if failures >= self.max_failures:
                    return "hung"
            self.stop_event.wait(self.health_interval_s)
        return "stopped"

    def run(self) -> None:
        """Supervise until :meth:`stop` (blocking)."""
        backoff = 1.0
        while not self.stop_event.is_set():
            began = time.monotonic()
            try:
                proc = start_server(self.config, log_path=self.log_path)
            except (FileNotFoundError, OSError) as exc:
                logger.error("cannot start the LLM server: %s", exc)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self._proc, self.ready = proc, False
            if self.pid_file:
                self.pid_file.write_text(f"{proc.pid}\n")
            outcome = self._watch(proc)
            if outcome == "hung":
                logger.error("LLM server (pid %s) stopped answering; killing it", proc.pid)
                proc.kill()
            stop_process(proc)
            if outcome == "stopped":
                break
            self.restarts += 1
            if time.monotonic() - began > 60:
                backoff = 1.0
            logger.error("LLM server ended (%s, %s); restart %d in %.0f s", outcome, signal_name(proc.returncode),
                         self.restarts, backoff)
            self.stop_event.wait(backoff)
            backoff = min(backoff * 2, 30.0)
        if self.pid_file:
            with contextlib.suppress(OSError):
                self.pid_file.unlink()

    def stop(self) -> None:
        self.stop_event.set()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SmokeResult:
    """``ok``; ``detail``: what happened in words; tokens/s of prompt and generation."""

    ok: bool
    detail: str
    prompt_tps: float = 0.0
    generation_tps: float = 0.0


def smoke(binary: Path, model_path: Path, *, threads: int = 2, tokens: int = 8,
          timeout_s: float = 120.0) -> SmokeResult:
    """Start ``binary`` on ``model_path`` in a child process, ask for ``tokens`` tokens,
    stop it. A crash (SIGSEGV, SIGILL) is reported, not raised."""
    config = ServerConfig(binary=binary, model_path=model_path, alias="smoke", port=free_port(), threads=threads,
                          context=1024, slots=1, niceness=0)
    try:
        proc = start_server(config)
    except (FileNotFoundError, OSError) as exc:
        return SmokeResult(False, str(exc))
    try:
        deadline = time.monotonic() + timeout_s
        while health(config.url) != "ok":
            if proc.poll() is not None:
                return SmokeResult(False, f"llama-server died while loading the model ({signal_name(proc.returncode)})")
            if time.monotonic() > deadline:
                return SmokeResult(False, f"llama-server did not load the model within {timeout_s:.0f} s")
            time.sleep(0.3)
        try:
            response = httpx.post(f"{config.url}/v1/chat/completions", timeout=timeout_s, json={
                "model": "smoke", "max_tokens": tokens, "temperature": 0,
                "messages": [{"role": "user", "content": "Say hello to a shopper."}]})
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            time.sleep(0.5)
            if proc.poll() is not None:
                return SmokeResult(False, f"llama-server crashed while generating ({signal_name(proc.returncode)})")
            return SmokeResult(False, f"llama-server did not answer: {exc}")
        text = (data.get("choices") or [{}])[0].get("message", {}).get("content")
        timings = data.get("timings") or {}
        if response.status_code != 200 or text is None:
            return SmokeResult(False, f"llama-server answered {response.status_code}: {str(data)[:200]}")
        said = f"generated {timings.get('predicted_n', '?')} tokens: {text.strip()[:60]!r}"
        prompt_tps = float(timings.get("prompt_per_second") or 0)
        return SmokeResult(True, said, prompt_tps, float(timings.get("predicted_per_second") or 0))
    finally:
        stop_process(proc)


@contextlib.contextmanager
def serving(config: ServerConfig, *, timeout_s: float = 300.0, log_path: Path | None = None) -> Iterator[str]:
    """One unsupervised llama-server for the length of a ``with`` block (benchmarks,
    tests): yields its base URL once it answers; stopped afterwards.

    Raises:
        RuntimeError: it exited or did not load its model within ``timeout_s``.
    """
    proc = start_server(config, log_path=log_path)
    try:
        deadline = time.monotonic() + timeout_s
        while health(config.url) != "ok":
            if proc.poll() is not None:
                raise RuntimeError(f"llama-server exited while loading ({signal_name(proc.returncode)})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server did not load {config.model_path} within {timeout_s:.0f} s")
            time.sleep(0.2)
        yield config.url
    finally:
        stop_process(proc)
