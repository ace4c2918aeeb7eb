"""JSON log lines (``shop.logging_setup``, ``SHOP_LOG_FORMAT=json``): one object a line
that parses, with time, level, logger, message and the conversation being handled,
also from worker threads; e-mails and phone numbers masked in the message, the
traceback and the conversation id, with or without the redacting filter; and the
storefront's requests carrying their conversation. The action server's lines are
tested in ``tests/actions/test_metrics_endpoint.py``, the console's (which need its
fixtures) in ``tests/apps/test_metrics.py``."""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from apps.storefront import pages as storefront_pages
from apps.storefront.pages import StorefrontConfig, create_app
from shop.logging_setup import (
    JsonFormatter,
    bind_conversation,
    check_format,
    configure_logging,
    current_context,
    log_context,
    use_format,
)
from shop.settings import Settings
from tests.demo_shops import DemoShops

EMAIL = "jane.doe@example.com"
PHONE = "whatsapp:+14155550123"


class Lines:
    """A handler writing to memory, and its lines parsed."""

    def __init__(self, handler: logging.StreamHandler) -> None:
        self.handler = handler

    @property
    def raw(self) -> list[str]:
        stream = self.handler.stream
        return stream.getvalue().splitlines()

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw]


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    """A JSON handler on the root logger (with the redacting filter, as every process
    installs it) for the length of a test."""
    handler = logging.StreamHandler(io.StringIO())
    use_format("json", handler)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield Lines(handler)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_each_record_is_one_json_object_with_the_conversation(json_lines: Lines) -> None:
    log = logging.getLogger("shop.test.json")
    log.info("outside any conversation")
    with log_context(conversation_id="web-abc123"):
        log.warning("two\nlines and a \"quote\" and ünïcode")
    lines = json_lines.parsed()
    assert len(json_lines.raw) == 2 == len(lines)
    first, second = lines
    assert set(first) == {"time", "level", "logger", "message", "process"}
    assert first["level"] == "INFO" and first["logger"] == "shop.test.json"
    datetime.fromisoformat(first["time"])  # ISO 8601, with its UTC offset
    assert first["time"].endswith("+00:00")
    assert second["conversation_id"] == "web-abc123"
    assert second["message"] == "two\nlines and a \"quote\" and ünïcode"
    assert all(line.isascii() for line in json_lines.raw)


def test_redaction_holds_in_message_traceback_and_conversation_id(json_lines: Lines) -> None:
    """Hostile: the shopper's e-mail and phone number in the message, in an exception's
    text, and as the conversation id itself (a WhatsApp sender is a phone number)."""
    log = logging.getLogger("shop.test.json")
    with log_context(conversation_id=PHONE, handoff_id=7):
        log.warning("order for %s, call %s", EMAIL, "+44 7700 900123")
        try:
            raise ValueError(f"no customer {EMAIL} at tel:+14155550199")
        except ValueError:
            log.exception("lookup failed")
        log.warning("stack", stack_info=True)


    def outside_a_request() -> None:
        bind_conversation(EMAIL)  # no context open: opens one of its own
        log.warning("bound later")

    contextvars.Context().run(outside_a_request)  # (a fresh context: nothing leaks into later tests)
    text = "\n".join(json_lines.raw)
    for secret in (EMAIL, "jane.doe", "4155550123", "7700 900123", "4155550199"):
        assert secret not in text, secret
    message, failed, stack, bound = json_lines.parsed()
    assert message["message"] == "order for j***@example.com, call +4477***0123"
    assert message["conversation_id"] == "whatsapp:+1415***0123" and message["handoff_id"] == 7
    assert "ValueError: no customer j***@example.com at tel:+1415***0199" in failed["exception"]
    assert "Traceback" in failed["exception"] and "stack" in stack
    assert bound["conversation_id"] == "j***@example.com"


def test_the_formatter_masks_even_without_the_filter() -> None:
    """A handler someone added without ``redact.install`` still writes no e-mail."""
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "mail %s", (EMAIL,), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "mail j***@example.com"


def test_a_long_conversation_id_is_cut() -> None:
    with log_context(conversation_id="x" * 10_000):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
        assert len(json.loads(JsonFormatter().format(record))["conversation_id"]) == 128


def test_worker_threads_and_tasks_see_their_own_conversation(json_lines: Lines) -> None:
    """A service call runs in a copy of the request's context (``call_service``), so its
    lines carry the conversation; concurrent requests never see each other's."""
    log = logging.getLogger("shop.test.json")
    pool = ThreadPoolExecutor(max_workers=4)

    async def request(sender: str) -> None:
        with log_context(conversation_id=sender):
            await asyncio.sleep(0.01)
            context = contextvars.copy_context()
            await asyncio.get_running_loop().run_in_executor(pool, context.run, log.warning, "in a thread")
            log.warning("back in the task")

    async def main() -> None:
        await asyncio.gather(*(request(f"conv-{i}") for i in range(20)))

    asyncio.run(main())
    pool.shutdown()
    lines = json_lines.parsed()
    assert len(lines) == 40
    by_conversation: dict[str, list[str]] = {}
    for line in lines:
        by_conversation.setdefault(line["conversation_id"], []).append(line["message"])
    assert sorted(by_conversation) == sorted(f"conv-{i}" for i in range(20))
    assert all(sorted(m) == ["back in the task", "in a thread"] for m in by_conversation.values())
    assert current_context() is None  # nothing leaked out of the requests


def test_a_conversation_bound_in_a_worker_thread_reaches_the_request() -> None:
    """The console learns the conversation in a worker thread (the handoff it loaded):
    the request's later lines carry it too (one mutable context per request)."""
    with log_context(handoff_id=3) as context:
        thread = threading.Thread(target=contextvars.copy_context().run, args=(bind_conversation, "web-77"))
        thread.start()
        thread.join()
        assert context.conversation_id == "web-77" and context.handoff_id == 3


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="text, json"):
        check_format("yaml")
    with pytest.raises(ValueError, match="text, json"):
        configure_logging(log_format="XML")


def test_the_format_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_LOG_FORMAT", raising=False)
    assert Settings().log_format == "text"
    monkeypatch.setenv("SHOP_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    monkeypatch.setenv("SHOP_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()


def test_configure_logging_replaces_its_handler(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging(log_format="text")
        handler = configure_logging(log_format="json", level=logging.WARNING)
        ours = [h for h in root.handlers if h not in before]
        assert ours == [handler]
        with log_context(conversation_id="conv-9"):
            logging.getLogger("apps.test").warning("hello %s", EMAIL)
        line = json.loads(capsys.readouterr().err.splitlines()[-1])
        assert line["conversation_id"] == "conv-9" and line["message"] == "hello j***@example.com"
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
        root.setLevel(level)


def test_storefront_requests_carry_the_cart_conversation(json_lines: Lines, demo_shop: DemoShops,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = demo_shop(seed=3, scale=0.02)
    original = storefront_pages.view_cart

    def logging_view_cart(db: Any, *, session_id: str) -> Any:
        logging.getLogger("apps.storefront.test").warning("cart for %s", EMAIL)
        return original(db, session_id=session_id)

    monkeypatch.setattr(storefront_pages, "view_cart", logging_view_cart)
    client = TestClient(create_app(StorefrontConfig(database_url=url, rasa_url="http://127.0.0.1:5005",
                                                    widget_bundle=tmp_path / "none.js")))
    assert client.get("/api/cart", params={"session": "widget-conv-1"}).status_code == 200
    assert client.get("/api/cart", params={"session": EMAIL}).status_code == 400  # not a session id: no line
    lines = [line for line in json_lines.parsed() if line["logger"] == "apps.storefront.test"]
    assert [(line["conversation_id"], line["message"]) for line in lines] == [
        ("widget-conv-1", "cart for j***@example.com")]
    assert current_context() is None
