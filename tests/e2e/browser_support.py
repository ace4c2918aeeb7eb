"""Helpers of the browser tests: whether Debian Chromium, node and playwright-core are
there, servers started beside the e2e stack (the storefront, the staff console), and
running one ``tests/browser/*.test.mjs`` file with node's test runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.stack import ROOT, RunningStack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: 'make browser' installs Debian's chromium (needs root)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing: run 'make widget'"
    for built in ("shop-assistant.js", "console.js"):
        if not (ROOT / "web" / "dist" / built).is_file():
            return f"web/dist/{built} is not built: run 'make widget'"
    return None


class Server:
    """A ``python -m apps.cli <command>`` process on ``port``, logging to ``log``."""

    def __init__(self, args: list[str], *, port: int, env: dict[str, str], log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
        full_env.update(PYTHONPATH=str(ROOT), **env)
        with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([sys.executable, "-m", "apps.cli", *args, "--port", str(port)], cwd=ROOT,
                                         env=full_env, stdout=out, stderr=subprocess.STDOUT)

    def wait(self, timeout_s: float = 120) -> Server:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.url} exited:\n" + self.log.read_text(errors="replace")[-4000:])
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        pytest.fail(f"{self.url} did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_node(test_file: str, *, stack: RunningStack, tmp_path: Path, env: dict[str, str]) -> str:
    """Run ``tests/browser/<test_file>`` with node's test runner; fails the pytest test
    with node's output and the servers' logs when a browser test fails."""
    full_env = {**os.environ, "RASA_URL": f"http://127.0.0.1:{stack.rasa_port}", "RASA_TOKEN": stack.api_token,
                "CHROMIUM": CHROMIUM,
                "SCREENSHOT_DIR": os.environ.get("SHOP_SCREENSHOT_DIR", str(tmp_path / "screenshots")), **env}
    out = subprocess.run(["node", "--test", "--test-reporter=spec", "--test-concurrency=1",
                          str(ROOT / "tests" / "browser" / test_file)],
                         cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=900)
    print(out.stdout[-20000:])
    if out.returncode != 0:
        pytest.fail(f"browser tests failed ({test_file}):\n{out.stdout[-8000:]}\n{out.stderr[-4000:]}\n"
                    f"--- server logs\n{stack.logs(30)}")
    return out.stdout
