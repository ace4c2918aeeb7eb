"""The Rasa side, through Rasa's own CLI in its Python 3.10 environment: the data
validates, the trained NLU model meets its quality bar on the held-out split, and
the dialogue policies follow every test story (``tests/stories``)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.stack import MODEL, RASA_BIN, ROOT, missing_prerequisites

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"
MIN_MACRO_F1 = 0.90


@pytest.fixture(scope="module", autouse=True)
def _needs_rasa() -> None:
    reason = missing_prerequisites()
    if reason:
        pytest.skip(reason)


def _run(args: list[str], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validates() -> None:
    result = _run([str(RASA_BIN), "data", "validate", "--config", "config.yml", "--domain", "bot/domain.yml",
                   "--data", "data"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_nlu_macro_f1_on_held_out_split(tmp_path: Path) -> None:
    out = tmp_path / "nlu.json"
    result = _run([str(RASA_PY), "scripts/nlu_quality.py", "--model", str(MODEL), "--json", str(out)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    print(result.stdout)
    assert report["holdout_examples"] >= 250
    assert report["intent_macro_f1"] >= MIN_MACRO_F1, result.stdout[-3000:]


def test_rasa_test_core_follows_every_story(tmp_path: Path) -> None:
    result = _run([str(RASA_BIN), "test", "core", "--model", str(MODEL), "--stories", "tests/stories",
                   "--out", str(tmp_path), "--fail-on-prediction-errors"])
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-4000:] + result.stdout[-2000:] + result.stderr[-2000:]
