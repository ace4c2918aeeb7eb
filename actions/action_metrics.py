"""The action server's own Prometheus metrics (served at ``GET /metrics`` by
:mod:`actions.server`, with the HTTP and handoff-queue metrics of :mod:`apps.http_metrics`).

- ``shop_action_duration_seconds{action, status}``: one ``/webhook`` call, from its
  arrival to its response, by action (a registered action's name; anything else is
  ``unknown``) and HTTP status (200; 400 rejected; 404 no such action; 449 no domain;
  500 error).
- ``shop_turn_duration_seconds{action}``: from the Rasa server's receipt of the
  shopper's message (the tracker's latest ``user`` event timestamp) to this action's
  answer: NLU, policies, earlier actions of the turn and this one. Both servers'
  clocks are used, so keep them in NTP sync; values below 0 or over an hour are dropped.
- ``shop_service_call_duration_seconds{service, outcome}``: each
  :func:`actions.runtime.call_service` call by service function name and ``ok``,
  ``timeout``, ``db_error`` or ``error``.
- ``shop_searches_total{backend}``, ``shop_search_zero_results_total{backend}``: first
  pages of product searches, and those that found nothing.
- ``shop_llm_answers_total{source}`` (``model``, ``cache``),
  ``shop_llm_fallbacks_total{reason}`` (``failed``, ``timed_out``, ``busy``,
  ``breaker_open``: the template answered), ``shop_llm_pending`` (LLM calls waiting or
  running) and ``shop_llm_breaker_open``: copied from the worker's LLM runner
  (``/health/llm``) after each action call and at each scrape, so that in
  multiprocess mode every worker's counts reach the files.

Label values are code-defined names only: no sender id, text, e-mail or order number.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from apps.http_metrics import http_histogram

#: the action server's registry (its ``/metrics`` in single-process mode)
REGISTRY = CollectorRegistry()
UNKNOWN_ACTION = "unknown"
#: actions: form validation and database look-ups (ms) to LLM answers (seconds)
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: the longest turn time kept (seconds); longer means clocks or timestamps are off
MAX_TURN_S = 3600.0

HTTP_SECONDS = http_histogram(REGISTRY)
ACTION_SECONDS = Histogram("shop_action_duration_seconds", "Seconds one action call took on the action server, "
                           "by action and HTTP status.", ["action", "status"], buckets=ACTION_BUCKETS,
                           registry=REGISTRY)
TURN_SECONDS = Histogram("shop_turn_duration_seconds", "Seconds from the Rasa server's receipt of the shopper's "
                         "message to the end of this action.", ["action"], buckets=ACTION_BUCKETS, registry=REGISTRY)
SERVICE_SECONDS = Histogram("shop_service_call_duration_seconds", "Seconds of each service call an action made, "
                            "by service and outcome.", ["service", "outcome"], buckets=ACTION_BUCKETS,
                            registry=REGISTRY)
SEARCHES = Counter("shop_searches", "Product searches (first pages) by backend.", ["backend"], registry=REGISTRY)
ZERO_RESULTS = Counter("shop_search_zero_results", "Product searches (first pages) that found nothing, by backend.",
                       ["backend"], registry=REGISTRY)
LLM_ANSWERS = Counter("shop_llm_answers", "LLM answers by source (model or cache).", ["source"], registry=REGISTRY)
LLM_FALLBACKS = Counter("shop_llm_fallbacks", "LLM calls the template answered instead, by reason.", ["reason"],
                        registry=REGISTRY)
LLM_PENDING = Gauge("shop_llm_pending", "LLM calls waiting or running.", registry=REGISTRY,
                    multiprocess_mode="livesum")
LLM_BREAKER = Gauge("shop_llm_breaker_open", "1 while the LLM breaker is open (calls get the template at once).",
                    registry=REGISTRY, multiprocess_mode="livemax")

#: runner count name -> (counter, label)
_LLM_COUNTS: dict[str, tuple[Counter, str]] = {
    "answered": (LLM_ANSWERS, "model"), "cached": (LLM_ANSWERS, "cache"),
    "failed": (LLM_FALLBACKS, "failed"), "timed_out": (LLM_FALLBACKS, "timed_out"),
    "busy": (LLM_FALLBACKS, "busy"), "breaker_opened": (LLM_FALLBACKS, "breaker_open"),
}
_llm_seen: dict[str, int] = {}
_llm_lock = threading.Lock()


def action_label(name: object, known: Collection[str]) -> str:
    """``name`` when it is a registered action, else ``unknown`` (the name comes from
    the request body)."""
    return name if isinstance(name, str) and name in known else UNKNOWN_ACTION


def message_received_at(tracker: Mapping[str, Any]) -> float | None:
    """The timestamp (Unix seconds) of the tracker's latest ``user`` event, if any."""
    events = tracker.get("events")
    if not isinstance(events, list):
        return None
    for event in reversed(events):
        if isinstance(event, dict) and event.get("event") == "user":
            stamp = event.get("timestamp")
            return float(stamp) if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else None
    return None


def observe_action(action: str, status: int, seconds: float, *, received_at: float | None, now: float) -> None:
    """One action call: its duration and, when the tracker said when the message came,
    the turn time so far."""
    ACTION_SECONDS.labels(action, str(status)).observe(seconds)
    if received_at is not None and 0 <= now - received_at <= MAX_TURN_S:
        TURN_SECONDS.labels(action).observe(now - received_at)


def observe_service(service: str, outcome: str, seconds: float) -> None:
    SERVICE_SECONDS.labels(service, outcome).observe(seconds)


def count_search(*, backend: str, first_page: bool, found: bool) -> None:
    """A product search: counted when it was a first page (later pages running out is
    not a zero-results search)."""
    if not first_page:
        return
    SEARCHES.labels(backend).inc()
    if not found:
        ZERO_RESULTS.labels(backend).inc()


def sync_llm(status: Mapping[str, object] | None) -> None:
    """Bring the LLM metrics up to the runner's ``status()`` (``None``: LLM off). The
    runner's counts only grow; a smaller count means a new runner, counted from zero."""
    if status is None:
        return
    with _llm_lock:
        for name, (counter, label) in _LLM_COUNTS.items():
            value = status.get(name)
            if not isinstance(value, int):
                continue
            before = _llm_seen.get(name, 0)
            added = value - before if value >= before else value
            if added > 0:
                counter.labels(label).inc(added)
            _llm_seen[name] = value
        pending = status.get("pending")
        LLM_PENDING.set(pending if isinstance(pending, int) else 0)
        LLM_BREAKER.set(1 if status.get("breaker_open") else 0)
