"""The local LLM's own process (models/llm/server.py): the command line, the smoke test
that names a crash, the supervisor that restarts a crashed or hung server (real
llama-server with SmolLM2-135M), and the client side that turns a dead server into
template answers quickly (breaker)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from models.llm.chat import FakeChat, ModelServerError, OpenAICompatChat
from models.llm.runner import LLMRunner, LLMUnavailable
from models.llm.server import (
    ServerConfig,
    Supervisor,
    free_port,
    health,
    server_command,
    signal_name,
    smoke,
)
from shop.settings import REPO_ROOT, get_settings

FLAGS_FILE = REPO_ROOT / "requirements" / "llama-cpp.cmake"


def _ask(text: str = "hi") -> list:
    return [SystemMessage(content="be brief"), HumanMessage(content=text)]


def test_the_build_is_portable() -> None:
    """The install files fix the instruction-set level: never native, never AVX-512/AMX."""
    flags = [line.split("#")[0].strip() for line in FLAGS_FILE.read_text().splitlines()]
    flags = [f for f in flags if f]
    assert "-DGGML_NATIVE=OFF" in flags
    assert "-DGGML_AVX2=ON" in flags
    for off in ("AVX512", "AMX_TILE", "AMX_INT8", "AMX_BF16"):
        assert f"-DGGML_{off}=OFF" in flags
    script = (REPO_ROOT / "scripts" / "build_llama.sh").read_text()
    assert "march=native" not in script and "NATIVE=ON" not in script
    assert "SDIST_SHA256=" in script


def test_server_command() -> None:
    config = ServerConfig(binary=Path("/x/llama-server"), model_path=Path("/m.gguf"), alias="m", port=5999,
                          threads=3, context=2048, slots=2)
    cmd = server_command(config)
    assert cmd[0] == "/x/llama-server"
    pairs = dict(zip(cmd[1::2], cmd[2::2], strict=False))
    assert pairs["--host"] == "127.0.0.1" and pairs["--port"] == "5999" and pairs["--threads"] == "3"
    assert "--no-webui" in cmd and "--cache-reuse" in cmd
    assert config.url == "http://127.0.0.1:5999"


def test_signal_names() -> None:
    assert signal_name(-11) == "SIGSEGV" and signal_name(-4) == "SIGILL" and signal_name(1) == "exit 1"
    assert signal_name(None) == "running"


def _fake_binary(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "llama-server"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_smoke_names_a_crash(tmp_path: Path) -> None:
    """A build that dies with SIGSEGV (as the native build did on AVX-512/AMX) is
    reported as such, from a child process: the caller never crashes."""
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    result = smoke(_fake_binary(tmp_path, "kill -SEGV $$"), model, timeout_s=10)
    assert not result.ok and "SIGSEGV" in result.detail
    result = smoke(_fake_binary(tmp_path, "kill -ILL $$"), model, timeout_s=10)
    assert not result.ok and "SIGILL" in result.detail
    assert not smoke(tmp_path / "nothing-here", model).ok


def test_the_cli_smoke_fails_with_the_fix_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from apps.cli import llm_commands as cli
    from models.llm import weights

    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setattr(cli, "ensure_gguf", lambda *a, **k: model)
    settings = get_settings().model_copy(update={"llm_server_bin": _fake_binary(tmp_path, "kill -SEGV $$")})
    assert weights is not None
    assert cli._smoke(settings, "smollm2-135m-instruct-q4_1") == 1
    err = capsys.readouterr().err
    assert "SIGSEGV" in err and "requirements/llama-cpp.cmake" in err and "make llm-server" in err


@pytest.fixture
def smollm_path() -> Path:
    from models.llm.weights import ensure_gguf

    settings = get_settings()
    if not settings.llm_server_bin.exists():
        pytest.skip(f"{settings.llm_server_bin} is missing: run 'make llm-server'")
    return ensure_gguf("smollm2-135m-instruct-q4_1", settings.llm_cache_dir, progress=False)


@pytest.mark.slow
def test_smoke_with_the_real_build(smollm_path: Path) -> None:
    result = smoke(get_settings().llm_server_bin, smollm_path)
    assert result.ok, result.detail
    assert result.generation_tps > 0


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.slow
def test_the_supervisor_restarts_a_crashed_or_hung_server(smollm_path: Path, tmp_path: Path) -> None:
    config = ServerConfig(binary=get_settings().llm_server_bin, model_path=smollm_path, alias="t", port=free_port(),
                          threads=1, context=1024, slots=1)
    pid_file = tmp_path / "llm.pid"
    supervisor = Supervisor(config, pid_file=pid_file, log_path=tmp_path / "llm.log", health_timeout_s=1.0,
                            max_failures=2)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        _wait(lambda: supervisor.ready, 60, "the server did not start")
        first = int(pid_file.read_text())
        assert supervisor.pid == first
        # niced: the model yields the CPU to conversations
        assert os.getpriority(os.PRIO_PROCESS, first) >= os.getpriority(os.PRIO_PROCESS, 0) + 10

        os.kill(first, signal.SIGKILL)  # crash
        _wait(lambda: supervisor.pid not in (None, first) and supervisor.ready, 60, "no restart after kill")
        second = supervisor.pid
        assert supervisor.restarts == 1

        os.kill(second, signal.SIGSTOP)  # hang: alive, answers nothing
        _wait(lambda: supervisor.pid not in (None, second) and supervisor.ready, 60, "no restart after hang")
        assert supervisor.restarts == 2 and health(config.url) == "ok"
        with pytest.raises(ProcessLookupError):  # the hung one was killed and reaped, not left behind
            os.kill(second, 0)
    finally:
        supervisor.stop()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert health(config.url) == "down" and not pid_file.exists()


def test_a_missing_binary_is_retried_not_fatal(tmp_path: Path) -> None:
    config = ServerConfig(binary=tmp_path / "missing", model_path=tmp_path / "m.gguf", alias="t", port=free_port())
    supervisor = Supervisor(config)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    time.sleep(0.5)
    supervisor.stop()
    thread.join(timeout=5)
    assert not thread.is_alive() and supervisor.pid is None


# --- the client side ---------------------------------------------------------------


def test_a_dead_server_is_a_model_server_error_and_a_quick_template() -> None:
    port = free_port()  # nothing listens there
    chat = OpenAICompatChat(model="m", base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5)
    with pytest.raises(ModelServerError):
        chat.invoke(_ask())
    runner = LLMRunner(chat, timeout_s=5)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable):
        asyncio.run(runner.generate(_ask()))
    assert time.monotonic() - started < 2
    assert runner.status()["failed"] == 1


class _Garbage(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"choices": "not a list"}' if "bad" in self.path else b"<html>oops"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def test_a_garbled_answer_is_a_model_server_error() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for path in ("v1", "bad/v1"):
            chat = OpenAICompatChat(model="m", base_url=f"http://127.0.0.1:{server.server_port}/{path}")
            with pytest.raises(ModelServerError, match="unreadable"):
                chat.invoke(_ask())
    finally:
        server.shutdown()


def test_the_breaker_opens_on_failures_and_closes_on_success() -> None:
    state = {"down": True}

    def responder(messages: list) -> str:
        if state["down"]:
            raise ModelServerError("connection refused")
        return "fine"

    model = FakeChat(responder=responder)
    runner = LLMRunner(model, break_after=2, break_s=0.5, cache_size=0)

    async def ask(text: str) -> str:
        try:
            return (await runner.generate(_ask(text))).text
        except LLMUnavailable as exc:
            return f"unavailable: {exc}"

    async def go() -> list[str]:
        out = [await ask("a"), await ask("b")]
        calls = model.calls
        out.append(await ask("c"))  # breaker open: the model is not even asked
        assert model.calls == calls
        state["down"] = False
        await asyncio.sleep(0.6)
        out.append(await ask("d"))  # half open: one try, which succeeds and closes it
        out.append(await ask("e"))
        return out

    out = asyncio.run(go())
    assert out[0].startswith("unavailable") and out[1].startswith("unavailable")
    assert "breaker open" in out[2]
    assert out[3:] == ["fine", "fine"]
    status = runner.status()
    assert status["failed"] == 2 and status["answered"] == 2 and status["breaker_opened"] == 1
    assert status["breaker_open"] is False
