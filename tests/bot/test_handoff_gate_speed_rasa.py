"""The handoff gate's per-message costs, cut without changing what it does (Rasa
environment, Python 3.10, run as subprocesses):

- the conversation's history read from an SQL tracker store (a real SQLite one) by one
  small query (:func:`bot.handoff_gate.sql_history`) is the same as the one read from
  the rebuilt tracker, form answers included, undone messages left out, never another
  conversation's; an undoing event among the latest rows, or rows mostly without text,
  make it fall back;
- Rasa's check of the action server's answers, with its validator built once
  (:func:`bot.handoff_gate.validate_action_results_once`), still refuses every
  malformed answer with Rasa's own message;
- the gate's kept-alive connection to the action server survives that server going
  away and coming back on the same port (a stale pooled connection is retried once).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = [pytest.mark.rasa,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]


def run_rasa_py(script: str, *args: str, **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHOP_", "RASA_"))}
    done = subprocess.run([str(RASA_PY), "-c", script, *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**base, "PYTHONPATH": str(ROOT), **env}, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


HISTORY_SCRIPT = r'''
import asyncio, json, sys, time
from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActionReverted, ActiveLoop, BotUttered, Restarted,
                                     SessionStarted, UserUttered, UserUtteranceReverted)
from rasa.shared.core.trackers import DialogueStateTracker
from bot.handoff_gate import history_from_events, spoken_events, sql_history

async def main(path):
    domain = Domain.empty()
    store = SQLTrackerStore(domain, dialect="sqlite", db=path)
    now = time.time() - 1000

    def turn(k, text, reply):
        return [ActionExecuted("action_listen", timestamp=now + k - 0.1), UserUttered(text, timestamp=now + k),
                ActionExecuted("utter_x", timestamp=now + k + 0.1), BotUttered(reply, timestamp=now + k + 0.2),
                BotUttered(None, {"custom": {"a": 1}}, timestamp=now + k + 0.3)]

    def save(sender, events):
        return store.save(DialogueStateTracker.from_events(sender, events, domain.slots))

    start = [ActionExecuted("action_session_start", timestamp=now), SessionStarted(timestamp=now)]
    old = start + turn(1, "earlier session", "old reply")
    events = old + [ActionExecuted("action_session_start", timestamp=now + 100), SessionStarted(timestamp=now + 100)]
    for k in range(25):
        events += turn(101 + k, f"message {k}", f"reply {k}")
    await save("long", events)
    await save("other", start + turn(1, "someone else", "theirs"))
    reverted = start + turn(1, "oops", "what?") + [UserUtteranceReverted(timestamp=now + 2)] + turn(3, "again", "ok")
    await save("reverted", reverted)
    early = list(reverted)
    for k in range(25):
        early += turn(10 + k, f"later {k}", f"answer {k}")
    await save("reverted_early", early)
    undone = start + turn(1, "hello", "first try") + [ActionReverted(timestamp=now + 1.5)]
    await save("undone", undone)
    restarted = start + turn(1, "before", "gone") + [Restarted(timestamp=now + 2)] + turn(3, "after", "kept")
    await save("restarted", restarted)
    # a form: Rasa's applied events drop the answers typed between two runs of the loop
    form = start + turn(1, "where is my order?", "Your order number?") + [
        ActiveLoop("order_status_form", timestamp=now + 1.4), ActionExecuted("order_status_form", timestamp=now + 1.5),
        ActionExecuted("action_listen", timestamp=now + 1.6), UserUttered("#100234", timestamp=now + 2),
        ActionExecuted("order_status_form", timestamp=now + 2.1), BotUttered("And your e-mail?", timestamp=now + 2.2),
        ActionExecuted("action_listen", timestamp=now + 2.3), UserUttered("alex@example.com", timestamp=now + 3),
        ActionExecuted("order_status_form", timestamp=now + 3.1), ActiveLoop(None, timestamp=now + 3.2),
        BotUttered("It shipped.", timestamp=now + 3.3)]
    await save("form", form)
    await save("x' OR '1'='1", start + turn(1, "quoted", "fine"))
    cards = list(start)  # replies that are product cards only: few texts among the latest rows
    for k in range(15):
        cards += [UserUttered(f"show {k}", timestamp=now + 10 + k)]
        cards += [BotUttered(None, {"custom": {"card": j}}, timestamp=now + 10 + k + 0.1 * (j + 1)) for j in range(3)]
    await save("cards", cards)
    wrapped = FailSafeTrackerStore(AwaitableTrackerStore(store))  # as Rasa's agent holds it
    out = {}
    for sender in ("long", "other", "reverted", "reverted_early", "undone", "restarted", "form", "nobody",
                   "x' OR '1'='1", "%", "cards"):
        tracker = await store.retrieve(sender)
        full = history_from_events(spoken_events(list(tracker.events))) if tracker is not None else []
        applied = history_from_events(tracker.applied_events()) if tracker is not None else []
        out[sender] = {"quick": sql_history(wrapped, sender), "full": full, "applied": applied}
    out["not_sql"] = sql_history(FailSafeTrackerStore(InMemoryTrackerStore(domain)), "long")
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
'''


def texts(history: list[dict] | None) -> list[str]:
    assert history is not None
    return [h["text"] for h in history]


def test_the_gates_history_read_from_sql_is_the_trackers(tmp_path: Path) -> None:
    out = run_rasa_py(HISTORY_SCRIPT, str(tmp_path / "tracker.db"))
    long = out["long"]
    assert long["quick"] == long["full"] == long["applied"]  # the same texts, authors and times
    assert len(long["quick"]) == 20 and long["quick"][-1]["text"] == "reply 24" and long["quick"][-1]["author"] == "bot"
    assert all("earlier session" not in t for t in texts(long["quick"]))  # the latest session only
    assert texts(out["other"]["quick"]) == ["someone else", "theirs"]  # never another's
    assert out["nobody"]["quick"] == [] and out["nobody"]["full"] == []
    # a sender id that is SQL or a LIKE pattern is a plain value
    assert texts(out["x' OR '1'='1"]["quick"]) == ["quoted", "fine"] and out["%"]["quick"] == []
    # an undoing event among the latest rows: the gate rebuilds the tracker instead
    for sender in ("reverted", "undone", "restarted"):
        assert out[sender]["quick"] is None, sender
    assert texts(out["reverted"]["full"]) == ["again", "ok"] == texts(out["reverted"]["applied"])
    assert texts(out["undone"]["full"]) == ["hello"]  # the undone action's reply is gone
    assert texts(out["restarted"]["full"]) == ["after", "kept"]
    # undone long before the latest rows: those are read quickly, as the tracker has them
    assert out["reverted_early"]["quick"] == out["reverted_early"]["full"]
    assert len(out["reverted_early"]["quick"]) == 20
    # a form's answers are what the shopper typed: kept (Rasa's applied events drop them)
    form = out["form"]
    assert form["quick"] == form["full"]
    assert texts(form["quick"]) == ["where is my order?", "Your order number?", "#100234", "And your e-mail?",
                                    "alex@example.com", "It shipped."]
    assert "#100234" not in texts(form["applied"])
    assert out["not_sql"] is None  # another store: the caller rebuilds the tracker
    # the latest rows are mostly cards without text: older texts may be missing, so rebuild
    assert out["cards"]["quick"] is None and len(out["cards"]["full"]) == 15


VALIDATION_SCRIPT = r'''
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot.handoff_gate import validate_action_results_once

good = {"events": [{"event": "slot", "name": "order_number", "value": "100234", "timestamp": None},
                   {"event": "followup", "name": "action_listen"}],
        "responses": [{"text": "Your order shipped.", "custom": {"type": "product_cards", "cards": []}}]}
bad = [{"events": [{"event": "slot"}]}, {"events": "all of them"}, {"responses": ["text"]},
       {"events": [{"event": "no_such_event", "name": "x"}]},
       {"events": [None]}, [], "events", {"events": [{"event": "user", "text": "hi", "parse_data": "x"}]}]
action = RemoteAction("action_show_order_status", None)

def outcomes():
    out = [action._validate_action_result(good), action._validate_action_result({})]
    for answer in bad:
        try:
            action._validate_action_result(answer)
            out.append("accepted")
        except ValidationError as exc:
            out.append(exc.message)
    return out

stock = outcomes()
validate_action_results_once()
validate_action_results_once()  # a second channel: built once
print(json.dumps({"stock": stock, "once": outcomes(), "patched": RemoteAction._validate_action_result.__name__}))
'''


def test_action_answers_are_still_validated_with_a_validator_built_once() -> None:
    out = run_rasa_py(VALIDATION_SCRIPT)
    assert out["patched"] == "validate"
    assert out["once"] == out["stock"]  # the same verdicts and messages as Rasa's own check
    assert out["once"][:2] == [True, True]
    assert "accepted" not in out["once"]
    assert all(isinstance(m, str) and "Failed to validate Action server response" in m for m in out["once"][2:])


KEEPALIVE_SCRIPT = r'''
import asyncio, json, socket
from aiohttp import web
from bot import handoff_gate
from protocol.handoff import signature_refusal
from protocol.replay import MemorySeen

SECRET = "gate-secret"
nonces = MemorySeen()
seen = []

async def serve(port, name):
    async def endpoint(request):
        body = await request.read()
        seen.append({"server": name, "signed": signature_refusal(body, request.headers, secret=SECRET,
                                                                 seen=nonces) is None})
        return web.json_response({"route": "bot", "replies": [], "handoff_id": None})
    app = web.Application()
    app.router.add_post("/handoff/inbound", endpoint)
    runner = web.AppRunner(app, keepalive_timeout=60)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner

async def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/handoff/inbound"
    out = []
    first = await serve(port, "first")
    out.append((await handoff_gate.post_signed(url, {"n": 1}))[0])
    out.append((await handoff_gate.post_signed(url, {"n": 2}))[0])
    session = handoff_gate._http()
    await first.shutdown()
    await first.cleanup()  # the kept-alive connection is closed under the gate
    second = await serve(port, "second")
    out.append((await handoff_gate.post_signed(url, {"n": 3}))[0])
    await second.cleanup()
    gone = await handoff_gate.post_signed(url, {"n": 4})
    print(json.dumps({"statuses": out, "gone": gone, "same_session": handoff_gate._http() is session,
                      "seen": seen}))

asyncio.run(main())
'''


def test_the_gates_kept_alive_connection_survives_the_action_server_going_away() -> None:
    out = run_rasa_py(KEEPALIVE_SCRIPT, SHOP_RELAY_SECRET="gate-secret", SHOP_HANDOFF_GATE_TIMEOUT_S="2")
    assert out["statuses"] == [200, 200, 200]
    assert [s["server"] for s in out["seen"]] == ["first", "first", "second"]
    assert all(s["signed"] for s in out["seen"])  # every attempt signed with a fresh nonce
    assert out["same_session"] is True  # one client per process and event loop
    assert out["gone"][0] is None and str(out["gone"][1]).startswith("unreachable")
