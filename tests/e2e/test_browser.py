"""The web widget in a real browser: Debian's Chromium driven by playwright-core (Node,
``tests/browser/*.test.mjs``) against the real stack (Rasa server, action server) and
the demo storefront serving the built widget. Screenshots go to
``SHOP_SCREENSHOT_DIR`` when set (``docs/screenshots`` refreshes the README's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser_support import Server, browser_missing, run_node
from tests.e2e.test_promo_conversations import _customers
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

STORE_PORT = 18000


@pytest.fixture(scope="module")
def storefront(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path) -> Iterator[str]:
    """The demo storefront on the e2e shop, its demo sign-in being a customer the
    (greedy) offer policy gives an offer."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    eligible, _ = _customers(e2e_db_url)
    server = Server(["web"], port=STORE_PORT, log=e2e_workdir / "web.log",
                    env={"DATABASE_URL": e2e_db_url, "SHOP_IDENTITY_SECRET": "e2e-secret",
                         "SHOP_WIDGET_SERVER_URL": f"http://127.0.0.1:{stack.rasa_port}",
                         "SHOP_DEMO_CUSTOMER_ID": str(eligible)})
    try:
        yield server.wait().url
    finally:
        server.stop()


def test_storefront_widget_in_chromium(stack: RunningStack, storefront: str, tmp_path: Path) -> None:
    run_node("storefront.test.mjs", stack=stack, tmp_path=tmp_path, env={"STORE_URL": storefront})
