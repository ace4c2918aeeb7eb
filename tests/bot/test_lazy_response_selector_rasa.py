"""``bot.nlu.lazy_response_selector``: the trained model's FAQ and chitchat selectors
predict only when their retrieval intent is among the top intents, so a FAQ question
still gets its policy key and an order question no selector output. Run in the Rasa
environment (Python 3.10) through a subprocess, on the model ``make train`` builds."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
MODEL = ROOT / "var" / "rasa-models" / "shop.tar.gz"

UNIT = r"""
import json
from rasa.shared.nlu.training_data.message import Message
from bot.nlu.lazy_response_selector import may_be_about

def msg(*names):
    return Message(data={"text": "x", "intent_ranking": [{"name": n, "confidence": 0.1} for n in names]})

print(json.dumps([
    may_be_about(msg("order_status", "faq", "greet"), "faq", rank=4),
    may_be_about(msg("order_status", "greet", "deny", "affirm", "faq"), "faq", rank=4),
    may_be_about(msg(), "faq", rank=4),
    may_be_about(msg("order_status"), None, rank=4),
]))
"""

PARSE = r"""
import asyncio, json, logging, sys
logging.disable(logging.WARNING)
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
out = {}
for text in ["how much is shipping?", "where is my order 100234?", "hello there"]:
    parsed = asyncio.run(agent.parse_message(text))
    selectors = sorted((parsed.get("response_selector") or {}).keys())
    out[text] = {"intent": parsed["intent"]["name"], "selectors": selectors}
print(json.dumps(out))
"""


def _run(script: str, *args: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run([str(RASA_PY), "-c", script, *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_rank_rule() -> None:
    if not RASA_PY.exists():
        pytest.skip("no Rasa environment (make setup)")
    assert _run(UNIT) == [True, False, True, True]


def test_the_trained_selectors_answer_faq_questions_only() -> None:
    if not MODEL.exists():
        pytest.skip("no trained model (make train)")
    out = _run(PARSE, str(MODEL))
    assert isinstance(out, dict)
    assert out["how much is shipping?"]["intent"] == "faq"
    assert "faq" in out["how much is shipping?"]["selectors"]
    assert out["where is my order 100234?"]["intent"] == "order_status"
    assert "faq" not in out["where is my order 100234?"]["selectors"]
