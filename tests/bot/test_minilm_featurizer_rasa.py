"""The MiniLM dense featurizer in Rasa's own environment (Python 3.10, run as a
subprocess): after the WhitespaceTokenizer it adds one 384-d vector per token and the
whole text's sentence-transformers vector as the sentence feature, the same in training
batches as one message at a time; hostile messages never raise; a tiny NLU pipeline
(WhitespaceTokenizer + MiniLMFeaturizer + DIETClassifier) trains and parses in a
temporary directory, with no other featurizer, so DIET sees only these features."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

CONFIG = """
recipe: default.v1
language: en
assistant_id: minilm-featurizer-test
pipeline:
  - name: WhitespaceTokenizer
    token_pattern: "[#$]|[^#$]+"
  - name: bot.nlu.minilm_featurizer.MiniLMFeaturizer
    alias: minilm
  - name: DIETClassifier
    epochs: 40
    random_seed: 7
policies: []
"""

NLU = """
version: "3.1"
nlu:
- intent: order_status
  examples: |
    - where is my order #100234
    - track my package
    - when will my parcel arrive
    - has my order shipped yet
    - status of order 5521
    - is my delivery on its way
- intent: start_return
  examples: |
    - I want to return these boots
    - how do I send this back
    - i'd like to give back the jacket
    - return my tent please
    - the shoes don't fit, I want to exchange them
    - can I return an item I bought
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
    - hey
    - howdy
    - good evening
"""

SCRIPT = r'''
import asyncio, json, sys
import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.nlu.minilm import get_encoder
from bot.nlu.minilm_featurizer import MiniLMFeaturizer

out = {}
storage = LocalModelStorage("storage")
context = ExecutionContext(GraphSchema({}), node_name="minilm_node")
tok_config = {**WhitespaceTokenizer.get_default_config(), "token_pattern": "[#$]|[^#$]+"}
tokenizer = WhitespaceTokenizer.create(tok_config, storage, Resource("tok"), context)
config = {**MiniLMFeaturizer.get_default_config(), "alias": "minilm"}
featurizer = MiniLMFeaturizer.create(config, storage, Resource("minilm"), context)

def features(message):
    seq, sent = message.get_dense_features(TEXT, ["minilm"])
    return (None if seq is None else seq.features, None if sent is None else sent.features,
            [f.origin for f in message.features])

texts = ["Where's my order #100234??", "waterprof hikng bots size 10 under $80", "hi 👋", "😡😡😡", "   ",
         "x" * 10000, "".join(chr(c) for c in range(1, 32)) + "a", "?!?!...", "word " * 3000]
messages = [Message(data={TEXT: t}) for t in texts] + [Message(data={TEXT: ""}), Message(data={"intent": "greet"})]
tokenizer.process(messages)
featurizer.process(messages)
encoder = get_encoder(max_tokens=128, threads=1)
rows = []
for m in messages:
    seq, sent, origins = features(m)
    text = m.get(TEXT)
    tokens = m.get("text_tokens") or []
    row = {"text": (text or "")[:40], "tokens": [t.text[:20] for t in tokens][:12], "n_tokens": len(tokens),
           "seq": None if seq is None else list(seq.shape), "sent": None if sent is None else list(sent.shape),
           "origins": sorted(set(origins))}
    if seq is not None:
        row["finite"] = bool(np.isfinite(seq).all() and np.isfinite(sent).all())
        row["zero_rows"] = int((~seq.any(axis=1)).sum())
        row["sent_cos_to_embed"] = float(sent[0] @ encoder.embed([text])[0])
        row["dtype"] = str(seq.dtype)
    rows.append(row)
out["rows"] = rows

# training batches give the same features as one message at a time
train_msgs = [Message(data={TEXT: t, "intent": "x"}) for t in texts[:4]]
tokenizer.process(train_msgs)
featurizer.process_training_data(TrainingData(train_msgs))
diffs = []
for tm, m in zip(train_msgs, messages[:4]):
    a, b = features(tm)[0], features(m)[0]
    diffs.append(float(np.abs(a - b).max()))
out["batch_vs_single_max_diff"] = max(diffs)

bad = []
for key, value in [("threads", 0), ("max_tokens", 2), ("batch_size", 0), ("model_dir", 5)]:
    try:
        MiniLMFeaturizer.create({**config, key: value}, storage, Resource("bad"), context)
    except InvalidConfigException:
        bad.append(key)
out["refused"] = bad

# a tiny pipeline trains and parses
from rasa.model_training import train_nlu
from rasa.core.agent import Agent
path = train_nlu("config.yml", "nlu.yml", "models", fixed_model_name="toy")
agent = Agent.load(path)
parses = {}
for text in ["wheres my order #100234?", "has my parcel been dispatched", "i wanna send back the boots",
             "hello!", "😡😡😡", "x" * 10000, "   "]:
    result = asyncio.run(agent.parse_message(text))
    parses[text[:30]] = (result["intent"] or {}).get("name")
out["parses"] = parses
print("RESULT " + json.dumps(out))
'''


@pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")
def test_minilm_featurizer_in_rasa(tmp_path: Path) -> None:
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "nlu.yml").write_text(NLU)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_MAX_CACHE_SIZE": "0", "RASA_CACHE_DIRECTORY": str(tmp_path / "cache"),
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    result = subprocess.run([str(RASA_PY), "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    print(json.dumps(out, indent=1))
    rows = {row["text"]: row for row in out["rows"]}

    first = rows["Where's my order #100234??"]
    assert first["tokens"] == ["Where", "s", "my", "order", "#", "100234"]
    assert first["seq"] == [6, 384] and first["sent"] == [1, 384]
    assert first["zero_rows"] == 0 and first["dtype"] == "float32"
    assert first["origins"] == ["minilm"]
    assert first["sent_cos_to_embed"] > 0.9999  # the sentence feature is the search embedding of the text

    for row in out["rows"]:
        if row["n_tokens"] and row["text"]:
            assert row["seq"] == [row["n_tokens"], 384], row
            assert row["sent"] == [1, 384] and row["finite"], row
        else:  # no text: nothing added, nothing raised
            assert row["seq"] is None and row["sent"] is None, row
    assert rows["x" * 40]["seq"] == [1, 384]
    assert rows["word " * 8]["seq"] == [3000, 384]
    assert rows["word " * 8]["zero_rows"] == 3000 - 126  # tokens past 128 wordpieces get zeros

    assert out["batch_vs_single_max_diff"] < 1e-4
    assert sorted(out["refused"]) == ["batch_size", "max_tokens", "model_dir", "threads"]

    parses = out["parses"]
    assert parses["wheres my order #100234?"] == "order_status"
    assert parses["has my parcel been dispatched"] == "order_status"  # no word in common with its examples
    assert parses["i wanna send back the boots"] == "start_return"
    assert parses["hello!"] == "greet"
    assert all(intent in {"order_status", "start_return", "greet", None} for intent in parses.values()), parses
