"""Start the real action server and the real Rasa server for end-to-end tests and
benchmarks, on their own ports and their own databases, and talk to them over
Rasa's REST channel.

Used by ``tests/e2e`` and ``bench/turn_latency.py``.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "var" / "rasa-models" / "shop.tar.gz"
RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
ACTIONS_PY = ROOT / ".venv" / "actions" / "bin" / "python"


class StackError(RuntimeError):
    """A server did not start; the message holds the tail of its log."""


def missing_prerequisites() -> str | None:
    """Why the stack cannot start here, or ``None``."""
    if not RASA_BIN.exists():
        return f"{RASA_BIN} is missing: run 'make setup'"
    if not MODEL.exists():
        return f"{MODEL} is missing: run 'make train'"
    return None


@dataclass
class RunningStack:
    """Both servers, started by :meth:`start`, stopped by :meth:`stop`."""

    workdir: Path
    database_url: str
    rasa_port: int = 15005
    action_port: int = 15055
    llm_port: int = 15077
    extra_env: dict[str, str] = field(default_factory=dict)
    api_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the action server's shared secret (Rasa sends it; anything else gets 401)
    action_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    #: the REST channel's bearer token (REST is server-to-server)
    rest_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    session_secret: str = field(default_factory=lambda: uuid.uuid4().hex)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _client: httpx.Client | None = None

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/rest/webhook"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "RASA_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=self.database_url,
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}/webhook",
            RASA_TRACKER_DIALECT="sqlite",
            RASA_TRACKER_HOST="",
            RASA_TRACKER_DB=str(self.workdir / "tracker.db"),
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            SHOP_LLM_SERVER_URL=f"http://127.0.0.1:{self.llm_port}",
            SHOP_ACTION_TOKEN=self.action_token,
            SHOP_REST_TOKEN=self.rest_token,
            SHOP_SESSION_SECRET=self.session_secret,
            # every test and benchmark client is 127.0.0.1: the per-address limit would
            # count all of them as one shopper (tests/security covers that limit)
            SHOP_RATE_PER_CLIENT_PER_MIN="1000000",
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, args: list[str]) -> None:
        with open(self.workdir / f"{name}.log", "wb") as log:  # the child keeps its own copy of the descriptor
            self._procs.append(subprocess.Popen(args, cwd=ROOT, env=self._env(), stdout=log, stderr=subprocess.STDOUT))

    def _wait(self, url: str, name: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise StackError(f"{name}: a server exited early\n{self.logs()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise StackError(f"{name} did not answer {url} within {timeout_s:.0f} s\n{self.logs()}")

    def logs(self, lines: int = 40) -> str:
        out = []
        for log in sorted(self.workdir.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    @property
    def local_llm(self) -> bool:
        """Whether this stack runs its own LLM server (``SHOP_LLM_MODEL=llamacpp/...``)."""
        return self.extra_env.get("SHOP_LLM_MODEL", "").startswith("llamacpp/")

    @property
    def llm_pid_file(self) -> Path:
        return self.workdir / "llm-server.pid"

    def llm_server_pid(self) -> int:
        """The pid of the running llama-server (the supervisor's child)."""
        return int(self.llm_pid_file.read_text().strip())

    def llm_healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.llm_port}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout_s: float = 300) -> RunningStack:
        if self.local_llm:  # the model in its own supervised process, as `make run` does
            self._spawn("llm-supervisor", [str(ACTIONS_PY), "-m", "apps.cli", "llm", "serve",
                                           "--pid-file", str(self.llm_pid_file),
                                           "--log", str(self.workdir / "llm-server.log")])
        self._spawn("actions", [str(ACTIONS_PY), "-m", "actions", "--port", str(self.action_port)])
        self._spawn("rasa", [str(RASA_BIN), "run", "--model", str(MODEL), "--endpoints", "bot/endpoints.yml",
                             "--credentials", "bot/credentials.yml", "--port", str(self.rasa_port),
                             "--enable-api", "--auth-token", self.api_token, "--cors", "*"])
        try:
            self._wait(f"http://127.0.0.1:{self.action_port}/health", "action server", timeout_s)
            self._wait(f"http://127.0.0.1:{self.rasa_port}/", "Rasa server", timeout_s)
            if self.local_llm:
                self._wait(f"http://127.0.0.1:{self.llm_port}/health", "LLM server", timeout_s)
        except StackError:
            self.stop()
            raise
        self._client = httpx.Client(timeout=60)
        return self

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        for proc in self._procs:
            proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._procs.clear()

    @property
    def rest_headers(self) -> dict[str, str]:
        """The REST channel's ``Authorization`` header."""
        return {"Authorization": f"Bearer {self.rest_token}"}

    def post_raw(self, body: bytes, content_type: str = "application/json") -> httpx.Response:
        assert self._client is not None
        return self._client.post(self.webhook, content=body,
                                 headers={"Content-Type": content_type, **self.rest_headers})

    def send(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send one message; returns the bot's messages (``text``, ``buttons``, ``custom``)."""
        assert self._client is not None
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata is not None:
            body["metadata"] = metadata
        resp = self._client.post(self.webhook, json=body, headers=self.rest_headers)
        resp.raise_for_status()
        return resp.json()


    def tracker(self, sender: str, *, channel: str = "rest") -> dict[str, Any]:
        """The conversation's tracker from Rasa's HTTP API (tests only enable it).
        REST conversations are stored as ``rest:<sender>`` (conversation ids are scoped
        by channel); other channels' ids are used as given."""
        assert self._client is not None
        conversation = rest_conversation(sender) if channel == "rest" else sender
        resp = self._client.get(f"http://127.0.0.1:{self.rasa_port}/conversations/{conversation}/tracker",
                                params={"token": self.api_token})
        resp.raise_for_status()
        return resp.json()


def rest_conversation(sender: str) -> str:
    """The conversation id the REST channel stores ``sender``'s messages under."""
    return f"rest:{sender}"


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def texts(messages: list[dict[str, Any]]) -> str:
    """All text of a reply, joined, for assertions."""
    return "\n".join(m.get("text", "") for m in messages if m.get("text"))


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Product cards in a reply's custom payloads."""
    out: list[dict[str, Any]] = []
    for m in messages:
        custom = m.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "product_cards":
            out.extend(custom["cards"])
    return out
