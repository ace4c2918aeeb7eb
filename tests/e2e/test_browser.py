"""The web widget in a real browser: Debian's Chromium driven by playwright-core (Node,
``tests/browser/*.test.mjs``) against the real stack (Rasa server, action server) and
the demo storefront serving the built widget. Screenshots go to
``SHOP_SCREENSHOT_DIR`` when set (``docs/screenshots`` refreshes the README's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_promo_conversations import _customers
from tests.stack import ROOT, RunningStack

pytestmark = pytest.mark.e2e

STORE_PORT = 18000
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: 'make browser' installs Debian's chromium (needs root)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing: run 'make widget'"
    if not (ROOT / "web" / "dist" / "shop-assistant.js").is_file():
        return "the widget is not built: run 'make widget'"
    return None


@pytest.fixture(scope="module")
def storefront(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path) -> Iterator[str]:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    # the demo sign-in signs in as a customer the (greedy) offer policy gives an offer
    eligible, _ = _customers(e2e_db_url)
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=e2e_db_url, SHOP_IDENTITY_SECRET="e2e-secret",
               SHOP_WIDGET_SERVER_URL=f"http://127.0.0.1:{stack.rasa_port}", SHOP_DEMO_CUSTOMER_ID=str(eligible))
    log = open(e2e_workdir / "web.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "shop", "web", "--port", str(STORE_PORT)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{STORE_PORT}"
    try:
        for _ in range(120):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("storefront exited:\n" + (e2e_workdir / "web.log").read_text(errors="replace"))
            subprocess.run(["sleep", "0.25"], check=False)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _run_node(test_file: str, *, stack: RunningStack, store_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "STORE_URL": store_url, "RASA_URL": f"http://127.0.0.1:{stack.rasa_port}",
           "RASA_TOKEN": stack.api_token, "CHROMIUM": CHROMIUM,
           "SCREENSHOT_DIR": os.environ.get("SHOP_SCREENSHOT_DIR", str(tmp_path / "screenshots"))}
    out = subprocess.run(["node", "--test", "--test-reporter=spec", "--test-concurrency=1",
                          str(ROOT / "tests" / "browser" / test_file)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    print(out.stdout[-20000:])
    if out.returncode != 0:
        pytest.fail(f"browser tests failed ({test_file}):\n{out.stdout[-8000:]}\n{out.stderr[-4000:]}\n"
                    f"--- server logs\n{stack.logs(30)}")


def test_storefront_widget_in_chromium(stack: RunningStack, storefront: str, tmp_path: Path) -> None:
    _run_node("storefront.test.mjs", stack=stack, store_url=storefront, tmp_path=tmp_path)
