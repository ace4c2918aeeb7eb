"""The action server's ``GET /metrics`` (``actions.action_metrics``, ``actions.server``) after
running real actions from tracker JSON through ``/webhook`` on a demo shop: action and
turn latency per action, service calls, search zero-results, the handoff queue from
the database, the LLM counters, the optional bearer token, multiprocess mode across
real processes, and JSON log lines carrying the conversation id. Hostile: e-mails,
phone numbers, order numbers and made-up action names in the request never reach a
label, and the action token is not needed (nor accepted in place of the metrics token)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rasa_sdk.executor import ActionExecutor

from actions import action_metrics
from actions import search as search_actions
from actions import server as action_server
from apps.http_metrics import MetricsConfig, exposition, reset_multiprocess_dir
from shop.settings import REPO_ROOT
from tests.actions.trackers import tracker_state
from tests.demo_shops import DemoShops
from tests.security.action_app import TOKEN, clear_caches, configure, served

HEADER = action_server.ACTION_TOKEN_HEADER
EMAIL = "alex.rivera@example.com"
PHONE_SENDER = "whatsapp:+14155550123"


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted labels: value}`` of every sample called ``name``."""
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text, name).get(tuple(sorted(labels.items())), 0.0)


def action_call(action: str, *, sender: str, text: str, intent: str, received_s_ago: float | None = 0.25,
                domain: dict[str, Any], **entities: Any) -> dict[str, Any]:
    """What the Rasa server posts to ``/webhook``: the tracker after the shopper's
    message, which Rasa received ``received_s_ago`` seconds ago."""
    tracker = tracker_state(text=text, intent=intent, entities=entities, sender_id=sender)
    if received_s_ago is not None:
        user = next(e for e in reversed(tracker["events"]) if e["event"] == "user")
        user["timestamp"] = time.time() - received_s_ago
    return {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": domain, "version": "3.6.21"}


@pytest.fixture
def shop_url(demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> str:
    url = demo_shop(seed=3, scale=0.02)
    configure(monkeypatch, db_url=url)
    return url


async def scrape(client: Any, **headers: str) -> str:
    answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_metrics_after_running_actions(shop_url: str, monkeypatch: pytest.MonkeyPatch,
                                             domain: dict[str, Any]) -> None:
    async with served(monkeypatch) as client:
        before = await scrape(client)
        found = action_call("action_search_products", sender="shopper-1", text="waterproof hiking boots",
                            intent="search_products", domain=domain, category="hiking-boots")
        nothing = action_call("action_search_products", sender="shopper-2", text="qqqxxzz vvwwy",
                              intent="search_products", domain=domain, category="no-such-category")
        human = action_call("action_request_human", sender="shopper-3", text="a person please",
                            intent="request_human", domain=domain)
        for call in (found, nothing, human):
            ran = await client.post("/webhook", json=call, headers={HEADER: TOKEN})
            assert ran.status_code == 200, ran.text
        after = await scrape(client)  # no action token: Prometheus scrapes without one

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert added("shop_action_duration_seconds_count", action="action_search_products", status="200") == 2
    assert added("shop_action_duration_seconds_count", action="action_request_human", status="200") == 1
    assert added("shop_action_duration_seconds_sum", action="action_search_products", status="200") > 0
    # the turn: from Rasa's receipt of the message (0.25 s before the call) to the answer
    assert added("shop_turn_duration_seconds_count", action="action_search_products") == 2
    assert added("shop_turn_duration_seconds_sum", action="action_search_products") >= 0.5
    assert added("shop_service_call_duration_seconds_count", service="_search", outcome="ok") == 2
    assert added("shop_searches_total", backend="sql") == 2
    assert added("shop_search_zero_results_total", backend="sql") == 1
    assert added("shop_http_request_duration_seconds_count", method="POST", route="/webhook", status="200") == 3
    # the handoff queue, read from the database at the scrape (queued, or waiting for a
    # ticket outside business hours)
    queue = samples(after, "shop_handoff_queue")
    assert {dict(labels)["status"] for labels in queue} == {"queued", "active", "awaiting_ticket"}
    assert sum(n for labels, n in queue.items() if dict(labels)["team"] == "support") >= 1


async def test_no_customer_data_in_labels_and_unknown_actions(shop_url: str, monkeypatch: pytest.MonkeyPatch,
                                                             domain: dict[str, Any]) -> None:
    """Hostile: the sender is an e-mail or a phone number, the message carries an order
    number, and the action names are made up (an e-mail, a huge string): the scrape holds
    none of them; made-up actions are counted as ``unknown``, whatever their name."""
    order = "RL-100042"
    async with served(monkeypatch) as client:
        before = await scrape(client)
        for sender, action in ((EMAIL, "action_search_products"), (PHONE_SENDER, EMAIL),
                               ("x" * 5000, "action_" + "y" * 5000)):
            call = action_call(action, sender=sender, text=f"where is order {order} for {EMAIL}",
                               intent="search_products", domain=domain)
            await client.post("/webhook", json=call, headers={HEADER: TOKEN})
        await client.post("/webhook", content=b"{not json", headers={HEADER: TOKEN})
        forged = action_call("action_request_human", sender="attacker", text="hi", intent="greet", domain=domain)
        assert (await client.post("/webhook", json=forged)).status_code == 401  # no token: not run, not an action
        after = await scrape(client)
    for secret in (EMAIL, "4155550123", order, "xxxxx", "yyyyy", "attacker", "where is"):
        assert secret not in after, secret
    registered = ActionExecutor()
    registered.register_package("actions")
    actions = {dict(labels)["action"] for labels in samples(after, "shop_action_duration_seconds_count")}
    assert "unknown" in actions and actions <= set(registered.actions) | {"unknown"}, actions
    assert (value(after, "shop_action_duration_seconds_count", action="unknown", status="404")
            - value(before, "shop_action_duration_seconds_count", action="unknown", status="404")) == 2
    assert value(after, "shop_http_request_duration_seconds_count", method="POST", route="/webhook",
                 status="401") >= 1


async def test_the_metrics_token(demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, db_url=demo_shop(seed=3, scale=0.02), METRICS_TOKEN="scrape-secret")
    async with served(monkeypatch) as client:
        for headers in ({}, {HEADER: TOKEN}, {"Authorization": f"Bearer {TOKEN}"},
                        {"Authorization": "Bearer scrape-secretx"}, {"Authorization": "scrape-secret"}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and "shop_" not in refused.text
        assert (await client.post("/metrics", headers={"Authorization": "Bearer scrape-secret"})).status_code == 401
        text = await scrape(client, Authorization="Bearer scrape-secret")
        assert "shop_http_request_duration_seconds" in text


def test_llm_counters_follow_the_runner() -> None:
    status = {"answered": 0, "cached": 0, "failed": 0, "timed_out": 0, "busy": 0, "breaker_opened": 0,
              "pending": 0, "breaker_open": False}
    action_metrics.sync_llm({**status})  # a fresh runner: the baseline

    def now() -> str:
        return exposition(MetricsConfig(), action_metrics.REGISTRY).decode()

    base = now()
    action_metrics.sync_llm({**status, "answered": 3, "cached": 1, "timed_out": 2, "pending": 2,
                             "breaker_open": True})
    action_metrics.sync_llm({**status, "answered": 3, "cached": 1, "timed_out": 2, "pending": 2,
                             "breaker_open": True})  # the same counts again: nothing added
    text = now()
    assert value(text, "shop_llm_answers_total", source="model") - value(base, "shop_llm_answers_total",
                                                                          source="model") == 3
    assert value(text, "shop_llm_answers_total", source="cache") - value(base, "shop_llm_answers_total",
                                                                          source="cache") == 1
    assert value(text, "shop_llm_fallbacks_total", reason="timed_out") - value(
        base, "shop_llm_fallbacks_total", reason="timed_out") == 2
    assert value(text, "shop_llm_pending") == 2 and value(text, "shop_llm_breaker_open") == 1
    # a new runner starts from zero: its counts are added, not subtracted
    action_metrics.sync_llm({**status, "answered": 1})
    assert value(now(), "shop_llm_answers_total", source="model") - value(base, "shop_llm_answers_total",
                                                                           source="model") == 4
    action_metrics.sync_llm(None)  # the LLM off: nothing changes
    assert value(now(), "shop_llm_pending") == 0


WORKER = """
import sys
from actions import action_metrics as metrics
metrics.observe_action("action_search_products", 200, 0.2, received_at=None, now=0.0)
metrics.count_search(backend="sql", first_page=True, found=sys.argv[1] == "found")
metrics.count_search(backend="sql", first_page=False, found=False)
metrics.sync_llm({"answered": 2, "pending": 1, "breaker_open": False})
"""


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    """Two real processes write their samples to ``PROMETHEUS_MULTIPROC_DIR``; one scrape
    reports both (counters and histograms summed, the live gauge summed)."""
    folder = tmp_path / "prom"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(REPO_ROOT)}
    for outcome in ("found", "none"):
        subprocess.run([sys.executable, "-c", WORKER, outcome], env=env, cwd=REPO_ROOT, check=True, timeout=120)
    assert len(list(folder.glob("*.db"))) >= 2
    text = exposition(MetricsConfig(multiproc_dir=folder), action_metrics.REGISTRY).decode()
    assert value(text, "shop_action_duration_seconds_count", action="action_search_products", status="200") == 2
    assert value(text, "shop_searches_total", backend="sql") == 2
    assert value(text, "shop_search_zero_results_total", backend="sql") == 1
    assert value(text, "shop_llm_answers_total", source="model") == 4
    assert value(text, "shop_llm_pending") == 2
    # what the action server does when it starts: last run's samples go, the folder stays
    (folder / "notes.txt").write_text("kept")
    reset_multiprocess_dir(folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    emptied = exposition(MetricsConfig(multiproc_dir=folder), action_metrics.REGISTRY).decode()
    assert "shop_searches_total" not in emptied


async def test_json_logs_carry_the_conversation_id(demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str],
                                                   domain: dict[str, Any]) -> None:
    """With ``SHOP_LOG_FORMAT=json`` the action server writes one JSON object a line; a
    line logged inside a service (a worker thread) and one logged by rasa-sdk carry the
    conversation (masked: this sender is a phone number) and no raw e-mail."""
    configure(monkeypatch, db_url=demo_shop(seed=3, scale=0.02), LOG_FORMAT="json")
    original = search_actions._search

    def logging_search(session: Any, **kwargs: Any) -> Any:
        logging.getLogger("shop.services.search.test").warning("searching for %s", EMAIL)
        return original(session, **kwargs)

    monkeypatch.setattr(search_actions, "_search", logging_search)
    try:
        async with served(monkeypatch) as client:
            capsys.readouterr()
            call = action_call("action_search_products", sender=PHONE_SENDER, text="tents",
                               intent="search_products", domain=domain)
            assert (await client.post("/webhook", json=call, headers={HEADER: TOKEN})).status_code == 200
            missing = action_call("action_no_such_thing", sender="conv-42", text="hi", intent="greet",
                                  domain=domain)
            assert (await client.post("/webhook", json=missing, headers={HEADER: TOKEN})).status_code == 404
            err = capsys.readouterr().err
    finally:  # later tests get the text format back on the root handler
        monkeypatch.setenv("SHOP_LOG_FORMAT", "text")
        clear_caches()
        action_server._configure_logging("WARNING", None, None)
    ours = [line for line in err.splitlines() if "searching for" in line or "action_no_such_thing" in line]
    assert len(ours) >= 2 and all(line.startswith("{") and line.endswith("}") for line in ours), err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    searched = next(line for line in lines if line["logger"] == "shop.services.search.test")
    assert searched["message"] == "searching for a***@example.com" and searched["level"] == "WARNING"
    assert searched["conversation_id"] == "whatsapp:+1415***0123"
    assert {"time", "level", "logger", "message", "process"} <= set(searched)
    not_found = next(line for line in lines if "action_no_such_thing" in line["message"])
    assert not_found["conversation_id"] == "conv-42"
    assert EMAIL not in err and "4155550123" not in err
