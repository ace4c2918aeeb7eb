"""Rasa 3.6 itself (its environment, through a subprocess) turns the action server's
replies into bot events: the ``analytics`` mark a reply carries
(``actions/analytics_marks.py``) lands in the event's ``metadata``, for response
templates and plain texts alike, ``{"search_results": 0}`` included, and analytics reads
it back; the shopper's output channel never gets it."""

from __future__ import annotations

import json
import subprocess

import pytest
from rasa_sdk.executor import CollectingDispatcher

from shop.analytics.event_shape import read_event
from tests.paths import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

SCRIPT = r"""
import asyncio, json, sys
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.trackers import DialogueStateTracker

nlg = TemplatedNaturalLanguageGenerator({"utter_no_results": [{"text": "I found nothing like that."}]})
channel = CollectingOutputChannel()

async def main():
    events = await RemoteAction._utter_responses(json.load(sys.stdin), channel, nlg, DialogueStateTracker("s", []))
    for event in events:
        await channel.send_response("s", event.message())
    return events

events = asyncio.run(main())
json.dump({"events": [e.as_dict() for e in events], "sent": channel.messages}, sys.stdout)
"""


def test_the_mark_reaches_the_bot_event_and_not_the_shopper() -> None:
    if not RASA_PY.exists():
        pytest.skip(f"{RASA_PY} is missing: run 'make setup'")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_no_results", analytics={"search_results": 0})
    dispatcher.utter_message(text="It is warm.", analytics={"answer": "llm"})
    done = subprocess.run([str(RASA_PY), "-c", SCRIPT], input=json.dumps(dispatcher.messages), capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=True)
    out = json.loads(done.stdout.splitlines()[-1])
    read = [read_event({**event, "sender_id": "web-1"}) for event in out["events"]]
    assert [(e.text, e.detail) for e in read if e is not None] == [
        ("I found nothing like that.", {"analytics": {"search_results": 0}}),
        ("It is warm.", {"analytics": {"answer": "llm"}}),
    ]
    assert out["sent"] and all("analytics" not in json.dumps(m) for m in out["sent"])
