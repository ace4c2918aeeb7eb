"""The scheduled retrain: `make retrain` runs the locked command for both models, and the
systemd service and timer in deploy/systemd run the same command, count a run refused by
the lock as success, and pass `systemd-analyze verify` (when this machine has systemd's
tools; skipped saying so otherwise)."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apps.cli.promo_commands import LOCK_BUSY
from tests.paths import ROOT

SYSTEMD = ROOT / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((SYSTEMD / name).read_text())
    return parser


def test_make_retrain_runs_the_locked_command_for_both_models() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^retrain:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert target is not None and "-m apps.cli retrain" in target.group(1)
    recommender = re.search(r"^recommender:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert recommender is not None and "promo retrain --if-missing" in recommender.group(1)


def test_the_systemd_service_and_timer() -> None:
    service = _unit("ridgeline-retrain.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].endswith("/.venv/actions/bin/python -m apps.cli retrain")
    assert service["SuccessExitStatus"] == str(LOCK_BUSY)  # another run held the lock: not a failure
    assert service["User"] != "root" and service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == f"{service['WorkingDirectory']}/var"
    timer = _unit("ridgeline-retrain.timer")
    assert timer["Timer"]["Unit"] == "ridgeline-retrain.service" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed on this machine")
    for name in ("ridgeline-retrain.service", "ridgeline-retrain.timer"):  # this checkout stands for /srv/ridgeline
        (tmp_path / name).write_text((SYSTEMD / name).read_text().replace("/srv/ridgeline", str(ROOT)))
    (ROOT / ".venv" / "actions" / "bin" / "python").resolve(strict=True)
    result = subprocess.run([analyze, "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
