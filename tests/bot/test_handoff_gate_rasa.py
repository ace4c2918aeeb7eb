"""The handoff gate in its own environment (the Rasa server's, Python 3.10, run as a
subprocess): a channel's ``on_new_message`` behind :func:`bot.handoff_gate.gated`
against a small local stand-in for the action server's endpoint. Route ``agent``:
the replies go out and the dialogue does not run; route ``bot``: the dialogue runs;
unreachable, 5xx, timeout or a malformed answer: fail open to the bot; the request
carries a timestamped single-use signature (a fresh nonce each time)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = pytest.mark.rasa

SCRIPT = r'''
import asyncio, json, os, socket
from aiohttp import web
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from protocol.handoff import signature_refusal
from protocol.replay import MemorySeen

SECRET = "gate-secret"
seen = []
nonces = MemorySeen()

async def endpoint(request):
    kind = request.match_info["kind"]
    body = await request.read()
    seen.append({"kind": kind, "signed": signature_refusal(body, request.headers, secret=SECRET, seen=nonces) is None,
                 "body": json.loads(body)})
    if kind == "agent":
        return web.json_response({"route": "agent", "replies": [{"text": "You're next.", "agent_name": "Ana"}],
                                  "handoff_id": 4})
    if kind == "bot":
        return web.json_response({"route": "bot", "replies": [], "handoff_id": None})
    if kind == "error":
        return web.json_response({"error": "boom"}, status=500)
    if kind == "slow":
        await asyncio.sleep(2)
        return web.json_response({"route": "agent", "replies": []})
    return web.Response(text="not json")

class Channel(InputChannel):
    @classmethod
    def name(cls):
        return "rest"

async def main():
    app = web.Application()
    app.router.add_post("/{kind}/handoff/inbound", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    from bot import bot_settings as settings
    from bot import handoff_gate
    results = {}
    for kind in ("agent", "bot", "error", "slow", "garbled", "unreachable"):
        base = f"http://127.0.0.1:{closed}" if kind == "unreachable" else f"http://127.0.0.1:{port}/{kind}"
        os.environ["ACTION_SERVER_URL"] = base + "/webhook"
        settings.get_bot_settings.cache_clear()
        runs = []
        async def dialogue(message):
            runs.append(message.text)
        output = CollectingOutputChannel()
        handler = handoff_gate.gated(Channel(), dialogue)
        await handler(UserMessage("I want a person", output, "s1", input_channel="rest",
                                  metadata={"customer_id": "7"}))
        results[kind] = {"dialogue": runs, "sent": output.messages}
    results["seen"] = seen
    results["registered"] = sorted(handoff_gate.CHANNELS)
    await runner.cleanup()
    print(json.dumps(results))

asyncio.run(main())
'''


@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_gate_routes_and_fails_open() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.update(PYTHONPATH=str(ROOT), SHOP_RELAY_SECRET="gate-secret", SHOP_HANDOFF_GATE_TIMEOUT_S="0.5")
    done = subprocess.run([str(RASA_PY), "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["agent"] == {"dialogue": [], "sent": [{"recipient_id": "s1", "text": "You're next.",
                                                       "agent_name": "Ana"}]}
    assert out["bot"] == {"dialogue": ["I want a person"], "sent": []}
    for kind in ("error", "slow", "garbled", "unreachable"):
        assert out[kind] == {"dialogue": ["I want a person"], "sent": []}, kind
    assert out["registered"] == ["rest"]
    assert all(seen["signed"] for seen in out["seen"])  # every request signed, no nonce used twice
    first = out["seen"][0]
    assert first["body"] == {"sender_id": "s1", "channel": "rest", "text": "I want a person",
                                                 "customer_id": "7", "history": []}
    assert "Traceback" not in done.stderr  # one warning line per failure, no traceback
    assert done.stderr.count("goes to the bot") == 4, done.stderr[-3000:]
