"""rasa-sdk tracing as docs/operations.md documents it: an endpoints file with a
``tracing:`` section (``type: jaeger`` with ``port``, or ``type: otlp``) makes the action
server (``actions.server.create_app``) export spans over OTLP gRPC, continuing the
caller's W3C ``traceparent``. The collector is a local fake speaking OTLP's
``TraceService/Export`` (opentelemetry-proto), on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.forms import FormValidationAction, ValidationAction
from rasa_sdk.tracing.tracer_register import ActionExecutorTracerRegister
from sanic import Sanic

from actions import server as action_server
from tests.demo_shops import DemoShops
from tests.security.action_app import TOKEN, clear_caches, configure

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
#: what rasa-sdk's instrumentation replaces on its classes (methods and "instrumented" flags)
INSTRUMENTED = {ActionExecutor: ("run", "_create_api_response", "_ActionExecutor__class_has_been_instrumented"),
                ValidationAction: ("run", "_extract_validation_events",
                                   "_ValidationAction__class_has_been_instrumented"),
                FormValidationAction: ("_extract_validation_events",
                                       "_FormValidationAction__class_has_been_instrumented")}
_MISSING = object()


class FakeCollector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps ``(service name, span name, trace id, attributes)`` of every exported span."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, dict[str, str]]] = []

    def Export(self, request: Any, context: Any) -> Any:  # the gRPC method's name
        for resource_spans in request.resource_spans:
            service = next((a.value.string_value for a in resource_spans.resource.attributes
                            if a.key == "service.name"), "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append((service, span.name, span.trace_id.hex(),
                                       {a.key: a.value.string_value for a in span.attributes}))
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture(autouse=True)
def uninstrument() -> Iterator[None]:
    """rasa-sdk instruments its classes once per process, for the first tracer provider:
    put them back after each test, so neither the next test nor other files trace."""
    saved = {(cls, name): cls.__dict__.get(name, _MISSING) for cls, names in INSTRUMENTED.items() for name in names}
    try:
        yield
    finally:
        for (cls, name), value in saved.items():
            if value is _MISSING:
                if name in cls.__dict__:
                    delattr(cls, name)
            else:
                setattr(cls, name, value)
        ActionExecutorTracerRegister().register_tracer(None)


@pytest.fixture
def collector() -> Iterator[tuple[FakeCollector, int]]:
    fake = FakeCollector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake, port
    finally:
        server.stop(0)


async def _no_warm_up(app: Sanic, loop: Any) -> None:
    return None


async def call_action_server(endpoints: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Start the real app with ``endpoints``, post one action call with a trace parent,
    flush the spans and stop; returns the app's tracer provider (``None``: no tracing)."""
    monkeypatch.setattr(action_server, "_warm_up", _no_warm_up)
    executor = ActionExecutor()
    executor.register_package("actions")
    app = action_server.create_app(executor, level="WARNING", log_file=None, logging_config_file=None,
                                   cors_origins="*", auto_reload=False, endpoints=str(endpoints))
    app.config.TOUCHUP = False
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://actions") as client:
            call = {"next_action": "action_request_human", "sender_id": "conv-trace", "version": "3.6.21",
                    "domain": {}, "tracker": {"sender_id": "conv-trace", "slots": {}, "events": [],
                                              "latest_message": {"text": "a person please", "intent": {}},
                                              "paused": False, "followup_action": None, "active_loop": {},
                                              "latest_action_name": None, "latest_input_channel": "rest"}}
            answer = await client.post("/webhook", json=call,
                                       headers={action_server.ACTION_TOKEN_HEADER: TOKEN, "traceparent": TRACEPARENT})
            assert answer.status_code == 200, answer.text
        provider = app.ctx.tracer_provider
        if provider is not None:
            provider.force_flush()
            provider.shutdown()
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan
        Sanic.unregister_app(app)
        clear_caches()
    return provider


@pytest.mark.parametrize("kind", ["jaeger", "otlp"])
async def test_tracing_from_the_endpoints_file(kind: str, collector: tuple[FakeCollector, int], tmp_path: Path,
                                               demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, port = collector
    configure(monkeypatch, db_url=demo_shop(seed=3, scale=0.02))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f"tracing:\n  type: jaeger\n  host: 127.0.0.1\n  port: {port}\n  service_name: ridgeline-actions\n"
        if kind == "jaeger" else f"tracing:\n  type: otlp\n  endpoint: 127.0.0.1:{port}\n  insecure: true\n")
    assert await call_action_server(endpoints, monkeypatch) is not None
    names = {name for _, name, _, _ in fake.spans}
    assert {"create_app.webhook", "ActionExecutor.run"} <= names, fake.spans
    run = next(attrs for _, name, _, attrs in fake.spans if name == "ActionExecutor.run")
    assert run["action_name"] == "action_request_human" and run["sender_id"] == "conv-trace"
    assert {trace for _, _, trace, _ in fake.spans} == {TRACE_ID}  # the caller's trace goes on
    assert {service for service, _, _, _ in fake.spans} == {"ridgeline-actions" if kind == "jaeger" else "rasa_sdk"}


async def test_no_tracing_section_exports_nothing(collector: tuple[FakeCollector, int], tmp_path: Path,
                                                  demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped ``bot/endpoints.yml`` has no ``tracing:``: no provider, no spans."""
    fake, _ = collector
    assert not hasattr(ActionExecutor.run, "__wrapped__")  # earlier tests' instrumentation is gone
    configure(monkeypatch, db_url=demo_shop(seed=3, scale=0.02))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("action_endpoint:\n  url: http://127.0.0.1:5055/webhook\n")
    assert await call_action_server(endpoints, monkeypatch) is None
    assert fake.spans == []
