"""The one setting that switches the Rasa server to production (``SHOP_DEPLOYMENT``):
``bot/bot_settings.py`` in the Rasa environment (pydantic 1, run as a subprocess) and
the choice of endpoints file in ``scripts/run_stack.sh``.

Production without the shared Redis or the shared session secret is refused, naming
what is missing; an unknown profile is refused by both, saying what is allowed; the
production endpoints file names a variable for every value that differs between
deployments."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.paths import ROOT

RASA_PY = ROOT / ".venv" / "rasa" / "bin" / "python"

SETTINGS = r'''
import json
from pydantic import ValidationError
from bot.bot_settings import BotSettings
try:
    s = BotSettings()
    print(json.dumps({"deployment": s.deployment}))
except ValidationError as exc:
    print(json.dumps({"error": str(exc)}))
'''


def _settings(**env: str) -> dict[str, str]:
    if not RASA_PY.exists():
        pytest.skip(f"{RASA_PY} is missing: run 'make setup'")
    out = subprocess.run([str(RASA_PY), "-c", SETTINGS], cwd=ROOT, env={"PYTHONPATH": str(ROOT), **env},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.rasa
def test_embedded_by_default_and_production_with_its_shared_state() -> None:
    assert _settings() == {"deployment": "embedded"}
    assert _settings(SHOP_DEPLOYMENT="production", SHOP_REDIS_URL="redis://127.0.0.1:6379/0",
                     SHOP_SESSION_SECRET="s") == {"deployment": "production"}


@pytest.mark.rasa
def test_production_without_shared_redis_or_session_secret_is_refused() -> None:
    both = _settings(SHOP_DEPLOYMENT="production")["error"]
    assert "SHOP_DEPLOYMENT=production needs SHOP_REDIS_URL and SHOP_SESSION_SECRET" in both
    one = _settings(SHOP_DEPLOYMENT="production", SHOP_REDIS_URL="redis://127.0.0.1:6379/0")["error"]
    assert "needs SHOP_SESSION_SECRET:" in one


@pytest.mark.rasa
def test_an_unknown_profile_is_refused_by_the_settings() -> None:
    error = _settings(SHOP_DEPLOYMENT="cloud")["error"]
    assert "'embedded', 'production'" in error


def test_run_stack_refuses_an_unknown_profile_before_starting_anything() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "run_stack.sh")], env={**env, "SHOP_DEPLOYMENT": "cloud"},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stdout.strip() == "SHOP_DEPLOYMENT must be embedded or production, not 'cloud'"


def test_run_stack_picks_the_endpoints_file_of_the_profile() -> None:
    script = (ROOT / "scripts" / "run_stack.sh").read_text()
    assert "embedded) ENDPOINTS=bot/endpoints.yml" in script
    assert "production) ENDPOINTS=bot/endpoints.production.yml" in script
    assert '--endpoints "$ENDPOINTS"' in script


def test_every_production_endpoint_value_comes_from_the_environment() -> None:
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.production.yml").read_text())
    assert endpoints["tracker_store"] == {"type": "SQL", "url": "${RASA_TRACKER_URL}"}
    assert endpoints["lock_store"]["type"] == "bot.lock_store.ShopRedisLockStore"
    assert endpoints["event_broker"]["type"] == "bot.event_broker.DurablePikaEventBroker"
    variable = re.compile(r"^\$\{[A-Z_]+\}$")
    for section, fixed in (("lock_store", {"type"}),
                           ("event_broker", {"type", "queues", "connection_attempts", "retry_delay_in_seconds"})):
        for key, value in endpoints[section].items():
            assert key in fixed or variable.match(str(value)), (section, key, value)
    assert [variable.match(q) is not None for q in endpoints["event_broker"]["queues"]] == [True]
    # numbers Rasa uses as they are (a ${VAR} would arrive as a string)
    assert isinstance(endpoints["event_broker"]["connection_attempts"], int)
    assert isinstance(endpoints["event_broker"]["retry_delay_in_seconds"], int)
