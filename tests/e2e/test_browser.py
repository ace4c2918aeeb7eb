"""The web widget in a real browser: Debian's Chromium driven by playwright-core (Node,
``tests/browser/*.test.mjs``) against the real stack (Rasa server, action server) and
the demo storefront serving the built widget. Screenshots go to
``SHOP_SCREENSHOT_DIR`` when set (``docs/screenshots`` refreshes the README's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser_support import run_node
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_storefront_widget_in_chromium(stack: RunningStack, storefront: str, tmp_path: Path) -> None:
    run_node("storefront.test.mjs", stack=stack, tmp_path=tmp_path, env={"STORE_URL": storefront})
