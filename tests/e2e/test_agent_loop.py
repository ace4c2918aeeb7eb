"""The whole agent-assist loop in a real browser (Debian Chromium via playwright-core,
``tests/browser/agent_loop.test.mjs``): a shopper in the storefront's widget asks for a
human; an agent logs into the staff console and sees the conversation with its summary
and suggestions; sends an edited suggestion (the shopper sees it) and a product card;
hands back, and the bot answers the shopper's next question. Real Rasa server, action
server, storefront and console; the console words summaries and suggestions with the
real local test model (SmolLM2-135M)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import Server, browser_missing, run_node
from tests.e2e.conftest import E2E_LLM, E2E_RELAY_SECRET
from tests.e2e.test_browser import storefront  # noqa: F401 - the storefront fixture
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

CONSOLE_PORT = 18001


@pytest.fixture(scope="module")
def console(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path, e2e_handoff_config: Path,
            e2e_llm_dir: Path) -> Iterator[tuple[str, str, str]]:
    """The staff console on the e2e shop: ``(url, agent email, agent password)``."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    logins = e2e_workdir / "console-logins.txt"
    server = Server(["console"], port=CONSOLE_PORT, log=e2e_workdir / "console.log",
                    env={"DATABASE_URL": e2e_db_url, "SHOP_RELAY_SECRET": E2E_RELAY_SECRET,
                         "SHOP_RASA_URL": f"http://127.0.0.1:{stack.rasa_port}",
                         "SHOP_HANDOFF_CONFIG": str(e2e_handoff_config),
                         "SHOP_CONSOLE_DEMO_LOGIN_FILE": str(logins),
                         "SHOP_LLM_MODEL": f"llamacpp/{E2E_LLM}", "SHOP_LLM_CACHE_DIR": str(e2e_llm_dir),
                         "SHOP_LLM_TIMEOUT_S": "30"})
    try:
        server.wait()
        email, password, _ = next(line.split(" ") for line in logins.read_text().splitlines()
                                  if line.endswith(" agent"))
        yield server.url, email, password
    finally:
        server.stop()


def test_shopper_to_agent_and_back_in_chromium(stack: RunningStack, storefront: str,  # noqa: F811
                                               console: tuple[str, str, str], tmp_path: Path) -> None:
    url, email, password = console
    run_node("agent_loop.test.mjs", stack=stack, tmp_path=tmp_path,
             env={"STORE_URL": storefront, "CONSOLE_URL": url, "CONSOLE_EMAIL": email, "CONSOLE_PASSWORD": password})
