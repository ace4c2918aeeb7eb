"""The Rasa NLU component ``bot.nlu.language.LanguageDetector``, run in the Rasa
environment (Python 3.10) through a subprocess: a non-English message gets intent
``other_language`` (confidence 1.0, the classifiers' ranking kept after it) and entity
``language``; English passes through untouched; Rasa's FallbackClassifier after it
leaves the rewritten intent alone."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

SCRIPT = r"""
import json, sys
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.training_data.message import Message
from bot.nlu.language import LanguageDetector

detector = LanguageDetector.create({}, None, None, None)
fallback = FallbackClassifier({"threshold": 0.5, "ambiguity_threshold": 0.05})
out = []
for text in json.load(sys.stdin):
    ranking = [{"name": "order_status", "confidence": 0.41}, {"name": "out_of_scope", "confidence": 0.39}]
    message = Message(data={"text": text, "intent": dict(ranking[0]), "intent_ranking": list(ranking),
                            "entities": [{"entity": "order_number", "value": "100234", "start": 0, "end": 6}]})
    fallback.process(detector.process([message]))
    out.append(message.as_dict())
json.dump(out, sys.stdout)
"""


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    if not RASA_PY.exists():
        pytest.skip(f"no Rasa environment at {RASA_PY}")
    texts = ["¿Dónde está mi pedido 100234? Lo compré hace dos semanas", "我的订单在哪里",
             "where is my order 100234", "merci", "Bonjour, I need help with my order please",
             "Ich möchte diese Schuhe zurückschicken " * 2000]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
    result = subprocess.run([str(RASA_PY), "-c", SCRIPT], input=json.dumps(texts), cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    parses = json.loads(result.stdout.strip().splitlines()[-1])
    return {text[:60]: data for text, data in zip(texts, parses, strict=True)}


def test_non_english_becomes_other_language_with_its_code(parsed: dict[str, dict]) -> None:
    spanish = parsed["¿Dónde está mi pedido 100234? Lo compré hace dos semanas"]
    assert spanish["intent"] == {"name": "other_language", "confidence": 1.0}
    assert [r["name"] for r in spanish["intent_ranking"]] == ["other_language", "order_status", "out_of_scope"]
    languages = [e for e in spanish["entities"] if e["entity"] == "language"]
    assert [e["value"] for e in languages] == ["es"]
    assert any(e["entity"] == "order_number" for e in spanish["entities"])  # other entities are kept
    assert parsed["我的订单在哪里"]["entities"][-1]["value"] == "zh"
    huge = parsed[("Ich möchte diese Schuhe zurückschicken " * 2)[:60]]
    assert huge["intent"]["name"] == "other_language" and huge["entities"][-1]["value"] == "de"


def test_english_passes_through_to_the_fallback(parsed: dict[str, dict]) -> None:
    for text in ("where is my order 100234", "merci", "Bonjour, I need help with my order please"):
        data = parsed[text]
        # untouched by the detector; the FallbackClassifier then does what it always does
        assert data["intent"]["name"] == "nlu_fallback", data
        assert not any(e["entity"] == "language" for e in data["entities"])
