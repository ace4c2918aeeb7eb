"""The whole agent-assist loop in a real browser (Debian Chromium via playwright-core,
``tests/browser/agent_loop.test.mjs``): a shopper in the storefront's widget asks for a
human; an agent logs into the staff console and sees the conversation with its summary
and suggestions; sends an edited suggestion (the shopper sees it) and a product card;
hands back, and the bot answers the shopper's next question. Real Rasa server, action
server, storefront and console; the console words summaries and suggestions with the
real local test model (SmolLM2-135M). The same loop also runs for a Telegram shopper
(signed updates to the real Rasa server, the bot's messages recorded by the local fake
Telegram API) with the agent working through the console's HTTP API."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.browser_support import Server, browser_missing, run_node
from tests.e2e.conftest import E2E_LLM, E2E_RELAY_SECRET
from tests.e2e.test_messaging import Telegram
from tests.fake_platforms import FakePlatforms
from tests.stack import RunningStack

pytestmark = pytest.mark.e2e

CONSOLE_PORT = 18001


@pytest.fixture(scope="module")
def console(stack: RunningStack, e2e_db_url: str, e2e_workdir: Path, e2e_handoff_config: Path,
            e2e_llm_dir: Path) -> Iterator[tuple[str, str, str]]:
    """The staff console on the e2e shop: ``(url, agent email, agent password)``."""
    logins = e2e_workdir / "console-logins.txt"
    server = Server(["console"], port=CONSOLE_PORT, log=e2e_workdir / "console.log",
                    env={"DATABASE_URL": e2e_db_url, "SHOP_RELAY_SECRET": E2E_RELAY_SECRET,
                         "SHOP_RASA_URL": f"http://127.0.0.1:{stack.rasa_port}",
                         "SHOP_HANDOFF_CONFIG": str(e2e_handoff_config),
                         "SHOP_CONSOLE_DEMO_LOGIN_FILE": str(logins),
                         "SHOP_LLM_MODEL": f"llamacpp/{E2E_LLM}", "SHOP_LLM_CACHE_DIR": str(e2e_llm_dir),
                         "SHOP_LLM_SERVER_URL": f"http://127.0.0.1:{stack.llm_port}",
                         "SHOP_LLM_TIMEOUT_S": "30"})
    try:
        server.wait()
        email, password, _ = next(line.split(" ") for line in logins.read_text().splitlines()
                                  if line.endswith(" agent"))
        yield server.url, email, password
    finally:
        server.stop()


def test_shopper_to_agent_and_back_in_chromium(stack: RunningStack, storefront: str,
                                               console: tuple[str, str, str], tmp_path: Path) -> None:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    url, email, password = console
    run_node("agent_loop.test.mjs", stack=stack, tmp_path=tmp_path,
             env={"STORE_URL": storefront, "CONSOLE_URL": url, "CONSOLE_EMAIL": email, "CONSOLE_PASSWORD": password})


def _agent_client(url: str, email: str, password: str) -> tuple[httpx.Client, dict[str, str]]:
    """An HTTP client logged into the console and the CSRF header for its writes."""
    client = httpx.Client(base_url=url, timeout=120)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    assert client.post("/login", data={"email": email, "password": password, "csrf_token": token}).status_code in (
        200, 303)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/").text)
    assert meta, "logged in"
    return client, {"X-CSRF-Token": meta.group(1)}


def test_telegram_shopper_to_agent_and_back(stack: RunningStack, console: tuple[str, str, str],
                                            fake_platforms: FakePlatforms) -> None:
    url, email, password = console
    agent, csrf = _agent_client(url, email, password)  # logged in first: an agent is online
    chat = Telegram(stack, fake_platforms)
    try:
        notice = chat.say("I want to talk to a real person", until=lambda r: "queue" in r.text or "next" in r.text)
        assert notice
        [item] = [q for q in agent.get("/api/queue").json()["items"] if q["channel"] == "telegram"
                  and q.get("preview", "").startswith("I want to talk")] or [None]
        assert item is not None, agent.get("/api/queue").text
        handoff = item["id"]
        view = agent.get(f"/api/handoffs/{handoff}").json()
        assert any(m["author"] == "shopper" for m in view["transcript"])
        assist = agent.get(f"/api/handoffs/{handoff}/assist").json()
        assert assist["summary"]["text"] and assist["suggestions"]
        assert agent.post(f"/api/handoffs/{handoff}/accept", headers=csrf).status_code == 200

        since = len(fake_platforms.messages(chat.to))
        text = assist["suggestions"][0]["text"] + " <b>Sam</b> here."
        sent = agent.post(f"/api/handoffs/{handoff}/messages", headers=csrf,
                          json={"text": text, "suggestion_key": assist["suggestions"][0]["key"],
                                "suggestion_event": "edited"})
        assert sent.status_code == 200 and sent.json()["delivered"], sent.text
        got = fake_platforms.wait_for(chat.to, since=since, until=lambda r: "Sam</b> here" in r.text, timeout=30)
        assert got[-1].text.endswith(text)  # plain text on Telegram, markup not interpreted

        # the shopper's answer reaches the console, and the bot stays silent
        before = len(fake_platforms.messages(chat.to))
        assert chat.post(chat.message("thanks, can you check my order?")).status_code == 200
        for _ in range(60):  # the webhook answers at once; the gate records it just after
            view = agent.get(f"/api/handoffs/{handoff}").json()
            if view["transcript"][-1]["text"] == "thanks, can you check my order?":
                break
            time.sleep(0.5)
        assert view["transcript"][-1]["text"] == "thanks, can you check my order?"
        time.sleep(2)
        assert len(fake_platforms.messages(chat.to)) == before, "the bot stayed silent"

        assert agent.post(f"/api/handoffs/{handoff}/handback", headers=csrf).status_code == 200
        fake_platforms.wait_for(chat.to, since=before, until=lambda r: "virtual assistant" in r.text, timeout=30)
        answer = chat.say("show me tents", until=lambda r: "tent" in r.text.lower())
        assert any("tent" in r.text.lower() for r in answer), "the bot answers again"
    finally:
        agent.close()
