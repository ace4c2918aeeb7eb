"""Prometheus ``/metrics`` of the storefront and the staff console (``apps.http_metrics``) on
real databases (SQLite and PostgreSQL): request histograms by route template after real
requests, the console's handoff queue and live staff sessions from the database, the
optional bearer token, and what must never become a label (hostile: e-mails and order
numbers in paths and queries, thousands of distinct paths, made-up methods)."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from apps.console.routes import handoffs as handoff_routes
from apps.http_metrics import HTTP_METRIC, UNMATCHED, MetricsConfig, route_label
from apps.storefront.pages import StorefrontConfig, create_app
from shop.db.engine import session_scope
from shop.db.schema import Order, Product
from shop.logging_setup import use_format
from tests.apps.console_support import NOW, Env, logged_in
from tests.demo_shops import DemoShops

SECRET = "storefront-test-secret"
EMAIL = "alex.rivera@example.com"


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """``(labels, value)`` of every sample called ``name`` in a Prometheus text."""
    return [(s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name]


def request_counts(text: str) -> dict[tuple[str, str, str], float]:
    """``(method, route, status) -> requests`` from the HTTP histogram."""
    return {(labels["method"], labels["route"], labels["status"]): value
            for labels, value in samples(text, f"{HTTP_METRIC}_count")}


def label_values(text: str) -> set[str]:
    return {value for family in text_string_to_metric_families(text) for s in family.samples
            for value in s.labels.values()}


@pytest.fixture
def shop_url(db_url: str, demo_shop: DemoShops) -> str:
    return demo_shop(seed=3, scale=0.02, as_of=NOW, url=db_url)


def storefront(shop_url: str, tmp_path: Path, metrics: MetricsConfig | None = None) -> TestClient:
    bundle = tmp_path / "shop-assistant.js"
    bundle.write_text("window.ShopAssistant = {};")
    config = StorefrontConfig(database_url=shop_url, rasa_url="http://127.0.0.1:5005", widget_bundle=bundle,
                              identity_secret=SECRET, demo_customer_id=1, metrics=metrics or MetricsConfig())
    return TestClient(create_app(config))


def a_product_handle(url: str) -> str:
    with session_scope(url) as s:
        return str(s.scalars(select(Product.handle).where(Product.is_active.is_(True)).order_by(Product.id)).first())


def an_order_number(url: str) -> str:
    with session_scope(url) as s:
        return str(s.scalars(select(Order.number).order_by(Order.id)).first())


def test_storefront_histograms_by_route_template_and_status(shop_url: str, tmp_path: Path) -> None:
    client = storefront(shop_url, tmp_path)
    handle = a_product_handle(shop_url)
    for path in ("/", "/", f"/products/{handle}", "/products/no-such-thing", "/api/cart?session=widget-abc-123",
                 "/assets/store.css", "/health"):
        client.get(path)
    scrape = client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    counts = request_counts(scrape.text)
    assert counts[("GET", "/", "200")] == 2
    assert counts[("GET", "/products/{handle}", "200")] == 1
    assert counts[("GET", "/products/{handle}", "404")] == 1
    assert counts[("GET", "/api/cart", "200")] == 1
    assert counts[("GET", "/assets/{path}", "200")] == 1
    assert counts[("GET", "/health", "200")] == 1
    buckets = samples(scrape.text, f"{HTTP_METRIC}_bucket")
    assert {labels["le"] for labels, _ in buckets} >= {"0.005", "1.0", "+Inf"}
    total = samples(scrape.text, f"{HTTP_METRIC}_sum")
    assert all(value > 0 for _, value in total)
    # a second scrape counts the first one too, under its own template
    assert request_counts(client.get("/metrics").text)[("GET", "/metrics", "200")] == 1


def test_no_customer_data_and_bounded_labels_on_the_storefront(shop_url: str, tmp_path: Path) -> None:
    """Hostile: e-mails, order numbers and shopper text in paths and queries, random
    paths, a made-up method. None reaches a label; the routes stay the app's templates."""
    client = storefront(shop_url, tmp_path)
    order = an_order_number(shop_url)
    hostile = [f"/products/{EMAIL}", f"/products/{order}", f"/orders/{order}?email={EMAIL}",
               f"/api/cart?session={EMAIL}", "/products/where%20is%20my%20order%3F",
               f"/{EMAIL}/../../etc/passwd", "/?category=jane%40example.com+%2B14155550123"]
    for path in hostile:
        client.get(path)
    for i in range(300):
        client.get(f"/random/{i}/{EMAIL}")
    client.request("FROBNICATE", "/")
    client.post("/demo/sign-out", data={"next": f"/orders/{order}"})
    text = client.get("/metrics").text
    assert EMAIL not in text and "jane" not in text and order not in text
    assert "where" not in text and "passwd" not in text and "4155550123" not in text
    routes = {labels["route"] for labels, _ in samples(text, f"{HTTP_METRIC}_count")}
    templates = {getattr(r, "path", "") for r in getattr(client.app, "routes", [])} | {"/assets/{path}", UNMATCHED}
    assert routes <= templates, routes - templates
    assert len(routes) <= 6  # /, /products/{handle}, <unmatched>, /api/cart, /demo/sign-out, /metrics
    methods = {labels["method"] for labels, _ in samples(text, f"{HTTP_METRIC}_count")}
    assert methods <= {"GET", "POST", "other"} and "FROBNICATE" not in text
    values = label_values(text)
    assert all(re.fullmatch(r"[A-Za-z0-9_/{}<>.+-]*", v) for v in values), values


def test_the_metrics_token_guards_the_storefront_scrape(shop_url: str, tmp_path: Path) -> None:
    client = storefront(shop_url, tmp_path, MetricsConfig(token="scrape-secret"))
    client.get("/")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"},
                    {"Authorization": "Basic scrape-secret"}, {"Authorization": "Bearer scrape-secret-and-more"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "shop_http" not in refused.text
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200 and request_counts(allowed.text)[("GET", "/", "200")] == 1


def test_console_queue_staff_sessions_and_request_histograms(env: Env) -> None:
    client = env.client()
    before = client.get("/metrics").text
    queue = {(labels["team"], labels["status"]): value for labels, value in samples(before, "shop_handoff_queue")}
    assert queue[("support", "queued")] == 1 and queue[("payments", "queued")] == 1
    assert queue[("support", "active")] == 0
    oldest = {labels["team"]: value for labels, value in samples(before, "shop_handoff_oldest_queued_seconds")}
    assert oldest == {"support": 180.0, "payments": 180.0}
    assert samples(before, "shop_console_staff_sessions") == []  # nobody logged in yet

    agent, csrf = logged_in(env, "agent", client)  # the same app: its request histogram
    logged_in(env, "lead")
    handoff = env.handoffs["support"]
    assert agent.post(f"/api/handoffs/{handoff}/accept", headers=csrf).status_code == 200
    assert agent.get(f"/api/handoffs/{handoff}").status_code == 200
    agent.get("/api/handoffs/999999")
    after = client.get("/metrics").text
    queue = {(labels["team"], labels["status"]): value for labels, value in samples(after, "shop_handoff_queue")}
    assert queue[("support", "queued")] == 0 and queue[("support", "active")] == 1
    sessions = {labels["role"]: value for labels, value in samples(after, "shop_console_staff_sessions")}
    assert sessions == {"agent": 1, "supervisor": 1}
    counts = request_counts(after)
    assert counts[("POST", "/api/handoffs/{handoff_id}/accept", "200")] == 1
    assert counts[("GET", "/api/handoffs/{handoff_id}", "200")] == 1
    assert counts[("GET", "/api/handoffs/{handoff_id}", "404")] == 1
    assert counts[("POST", "/login", "303")] >= 1
    # an idle session stops counting once it is past the idle limit
    env.clock.advance(env.config().session.idle_s + 1)
    assert samples(client.get("/metrics").text, "shop_console_staff_sessions") == []


def test_console_metrics_hold_no_staff_or_shopper_data(env: Env) -> None:
    """Hostile: staff e-mails, passwords and shopper messages go through the console; the
    scrape shows none of them, nor any raw path, and answers without a session."""
    agent, csrf = logged_in(env, "agent")
    handoff = env.handoffs["support"]
    agent.post(f"/api/handoffs/{handoff}/accept", headers=csrf)
    agent.post(f"/api/handoffs/{handoff}/messages", headers=csrf,
               json={"text": f"Your order for {EMAIL} ships today"})
    agent.get(f"/api/handoffs/{EMAIL}")
    agent.get(f"/nothing/{EMAIL}")
    text = TestClient(agent.app).get("/metrics").text  # no cookies: Prometheus has none
    assert EMAIL not in text and "ridgeline.example" not in text and "ships today" not in text
    assert "web-support" not in text and "I need a human" not in text  # sender ids, shopper text
    routes = {labels["route"] for labels, _ in samples(text, f"{HTTP_METRIC}_count")}
    assert all(r == UNMATCHED or r.startswith("/") and "@" not in r for r in routes), routes


def test_route_label_never_uses_the_raw_path() -> None:
    assert route_label({"path": f"/products/{EMAIL}"}) == UNMATCHED
    assert route_label({"path": "/x", "route": object()}) == UNMATCHED


def test_console_log_lines_carry_the_handoff(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON log lines (``shop.logging_setup``) written while the console serves
    ``/api/handoffs/<id>`` carry that handoff's id (``apps.log_context``)."""
    original = handoff_routes.visible_handoff

    def logging_visible_handoff(session: Any, staff: Any, handoff_id: int) -> Any:
        logging.getLogger("apps.console.test").warning("opening a conversation for %s", EMAIL)
        return original(session, staff, handoff_id)

    monkeypatch.setattr(handoff_routes, "visible_handoff", logging_visible_handoff)
    agent, _ = logged_in(env, "agent")
    handler = logging.StreamHandler(io.StringIO())
    use_format("json", handler)
    logging.getLogger().addHandler(handler)
    try:
        assert agent.get(f"/api/handoffs/{env.handoffs['support']}").status_code == 200
        assert agent.get("/api/handoffs/999999").status_code == 404
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in handler.stream.getvalue().splitlines()]
    ours = [(line.get("handoff_id"), line["message"]) for line in lines if line["logger"] == "apps.console.test"]
    assert ours == [(env.handoffs["support"], "opening a conversation for a***@example.com"),
                    (999999, "opening a conversation for a***@example.com")]
