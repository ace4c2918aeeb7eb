"""The Rasa server's shopper channels (``bot.channels``: REST and socket.io) served for
the security tests: Rasa's own app (``rasa.core.run.configure_app``, in the Rasa
environment, as a subprocess on a free port) with a stand-in for the trained agent.

The stand-in agent keeps real Rasa trackers (an in-memory tracker store) and answers
``echo: <text>``; ``silent`` makes it say nothing (like a failed custom action), so does
``/restart`` (as Rasa's restart does), and ``boom`` makes it raise.
``GET /test/tracker/<conversation>`` returns the conversation's user events;
``GET /test/pending`` the calls of the (stand-in)
``bot.handoff_gate.take_pending``, which hands one waiting staff message to every
resumed session. A widget stand-in on python-socketio's client runs scenarios
(:func:`socket_client`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
REST_TOKEN = "rest-token-for-tests"
SESSION_SECRET = "session-secret-for-tests"
IDENTITY_SECRET = "identity-secret-for-tests"
PUBLIC_URL = "http://shop.test:8000"
MAX_BODY_BYTES = 4096

SERVER = r'''
import asyncio, json, os, sys
import bot.handoff_gate as gate

pending_calls = []

async def take_pending(sender_id, *, channel):
    pending_calls.append({"sender_id": sender_id, "channel": channel})
    return [{"text": f"A staff message waiting for {sender_id}", "agent_name": "Sam"}]

gate.take_pending = take_pending  # stand-in, bound by bot.channels on import
import bot.channels as channels
channels.take_pending = take_pending

from rasa.core.run import configure_app
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import response
from bot.shared_state import get_limiter

class Agent:
    """Stand-in for the trained agent: real trackers, scripted answers."""

    def __init__(self):
        self.tracker_store = InMemoryTrackerStore(Domain.empty())

    async def handle_message(self, message):
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, metadata=message.metadata, input_channel=message.input_channel))
        await self.tracker_store.save(tracker)
        if message.text == "boom":
            raise RuntimeError("the dialogue failed")
        if message.text not in ("silent", "/restart"):  # /restart: Rasa restarts silently
            await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")
            tracker.update(BotUttered(f"echo: {message.text}"))
            await self.tracker_store.save(tracker)

prefix = os.environ.get("TEST_REDIS_PREFIX")
if prefix and hasattr(get_limiter().counters, "prefix"):
    get_limiter().counters.prefix = prefix  # keys of this test run only

rest = channels.SafeRestInput()
sio = channels.ShopSocketIOInput.from_credentials(
    {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": True})
app = configure_app(input_channels=[rest, sio], enable_api=False, route="/webhooks/", use_uvloop=False)
app.ctx.agent = Agent()

async def tracker(request, conversation):
    found = await app.ctx.agent.tracker_store.retrieve(conversation)
    events = [] if found is None else [
        {"text": e.text, "metadata": e.metadata, "input_channel": e.input_channel}
        for e in found.events if isinstance(e, UserUttered)]
    return response.json({"events": events})

async def pending(request):
    return response.json(pending_calls)

app.add_route(tracker, "/test/tracker/<conversation>")
app.add_route(pending, "/test/pending")
app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=1, access_log=False)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ChannelServer:
    """A started server: ``url`` (``http://127.0.0.1:<port>``) and its log."""

    url: str
    log: Path

    @property
    def rest(self) -> str:
        return f"{self.url}/webhooks/rest/webhook"

    def post(self, body: dict[str, object] | bytes, *, token: str | None = REST_TOKEN,
             headers: dict[str, str] | None = None) -> httpx.Response:
        """POST to the REST channel (with the bearer token unless ``token`` is None)."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.post(self.rest, content=content, headers=sent, timeout=30)

    def user_events(self, conversation: str) -> list[dict[str, object]]:
        """The conversation's user events (text, metadata, input channel) in its tracker."""
        out = httpx.get(f"{self.url}/test/tracker/{conversation}", timeout=10)
        out.raise_for_status()
        return list(out.json()["events"])

    def pending_calls(self) -> list[dict[str, str]]:
        return list(httpx.get(f"{self.url}/test/pending", timeout=10).json())


def server_env(**overrides: str) -> dict[str, str]:
    """The server's environment: test secrets, a closed action server (the handoff
    gate then sends every message to the bot), ``overrides`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "RASA_"))}
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3",
               SQLALCHEMY_SILENCE_UBER_WARNING="1", SHOP_REST_TOKEN=REST_TOKEN,
               SHOP_SESSION_SECRET=SESSION_SECRET, SHOP_IDENTITY_SECRET=IDENTITY_SECRET,
               SHOP_PUBLIC_URL=PUBLIC_URL, SHOP_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
               SHOP_HANDOFF_GATE_TIMEOUT_S="2", ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}/webhook")
    env.update(overrides)
    return env


@contextmanager
def channel_servers(envs: list[dict[str, str]], log_dir: Path, *,
                    timeout_s: float = 180) -> Iterator[list[ChannelServer]]:
    """Start one server per environment in ``envs`` (at once), yield them when all answer."""
    procs, servers = [], []
    try:
        for i, env in enumerate(envs):
            port = free_port()
            log = log_dir / f"channel-server-{i}.log"
            with open(log, "wb") as out:
                procs.append(subprocess.Popen([str(RASA_PY), "-c", SERVER, str(port)], cwd=ROOT, env=env,
                                              stdout=out, stderr=subprocess.STDOUT))
            servers.append(ChannelServer(url=f"http://127.0.0.1:{port}", log=log))
        deadline = time.monotonic() + timeout_s
        for proc, server in zip(procs, servers, strict=True):
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the channel server exited:\n{server.log.read_text()[-4000:]}")
                try:
                    if httpx.get(f"{server.url}/webhooks/rest/", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the channel server did not start:\n{server.log.read_text()[-4000:]}")
                time.sleep(0.3)
        yield servers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


CLIENT = r'''
import asyncio, json, os, sys
import socketio

async def main(url, steps, headers):
    """Runs ``steps``: ["connect"], ["request", token|null], ["say", token, text, metadata?],
    ["wait", seconds]; prints every event received, as JSON, at the end."""
    seen = []
    sio = socketio.AsyncClient(reconnection=False)
    for name in ("session_confirm", "bot_uttered", "bot_done"):
        sio.on(name, (lambda n: (lambda data=None: seen.append([n, data])))(name))
    try:
        await sio.connect(url, transports=["polling"], socketio_path="/socket.io", headers=headers,
                          wait_timeout=10)
    except socketio.exceptions.ConnectionError as exc:
        print(json.dumps({"connected": False, "error": str(exc), "events": seen}), flush=True)
        os._exit(0)
    for step in steps:
        if step[0] == "request":
            await sio.emit("session_request", {"session_id": step[1]} if step[1] is not None else {})
        elif step[0] == "say":
            await sio.emit("user_uttered", {"session_id": step[1], "message": step[2],
                                            "metadata": step[3] if len(step) > 3 else {}})
        elif step[0] == "raw":
            await sio.emit(step[1], step[2])
        await asyncio.sleep(step[-1] if step[0] == "wait" else 0.05)
    await asyncio.sleep(1.0)
    print(json.dumps({"connected": True, "events": seen}), flush=True)
    os._exit(0)  # a polling client's disconnect waits for its long poll (up to 25 s): just go

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])))
'''


def socket_client(server: ChannelServer, steps: list[list[object]], *,
                  headers: dict[str, str] | None = None) -> dict[str, object]:
    """Run a widget stand-in's ``steps`` against ``server`` (see ``CLIENT``); returns
    ``{"connected": bool, "events": [[name, data], ...]}``."""
    done = subprocess.run([str(RASA_PY), "-c", CLIENT, server.url, json.dumps(steps), json.dumps(headers or {})],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
