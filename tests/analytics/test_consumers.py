"""The two event sources on real services: the RabbitMQ queue (a consumer that dies
before acknowledging, one that crashes after its commit, one killed with SIGKILL: each
time the events come again and count once) and Rasa's SQL tracker store read with a
cursor; and the ``analytics`` command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date

import pika
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, select

from apps.cli.analytics_commands import main as analytics_main
from shop.analytics.consumer import consume_queue, ingest_tracker, tracker_source
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.figures import Filters
from shop.db.analytics_tables import AnalyticsCursor, AnalyticsEvent
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from tests.analytics.scenario import build_shop, conversation_events, shop_side
from tests.analytics.test_dashboard_figures import expected_all_channels
from tests.paths import ROOT
from tests.production_stack import AMQP_HOST, AMQP_PASSWORD, AMQP_PORT, AMQP_USER, rabbitmq_missing

AMQP_URL = f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/%2F"
WEEK = Filters(start=date(2026, 11, 2), end=date(2026, 11, 3))


@pytest.fixture
def shop_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    return url


def _scenario(url: str) -> list[dict[str, object]]:
    with session_scope(url) as session:
        shop = build_shop(session)
        shop_side(session, shop)
    return conversation_events(shop)


def _stored(url: str) -> int:
    with session_scope(url) as session:
        return int(session.scalar(select(func.count()).select_from(AnalyticsEvent)) or 0)


@pytest.fixture
def queue() -> Iterator[str]:
    reason = rabbitmq_missing()
    if reason:
        pytest.skip(reason)
    name = f"analytics_test_{uuid.uuid4().hex[:10]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    connection.channel().queue_delete(queue=name)
    connection.close()


def _publish(queue: str, bodies: list[bytes]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_declare(queue=queue, durable=True)
    for body in bodies:
        channel.basic_publish(exchange="", routing_key=queue, body=body,
                              properties=pika.BasicProperties(delivery_mode=2))
    connection.close()


def _waiting(queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    count = connection.channel().queue_declare(queue=queue, durable=True, passive=True).method.message_count
    connection.close()
    return int(count)


class Crash(Exception):
    pass


@pytest.mark.slow
def test_redelivered_events_count_once(shop_url: str, queue: str) -> None:
    events = _scenario(shop_url)
    _publish(queue, [json.dumps(e).encode() for e in events] + [b"not json {", b"\xff\xfe", json.dumps(7).encode()])

    # a consumer takes 30 events and dies before storing them: nothing acknowledged
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    taken = [channel.basic_get(queue=queue, auto_ack=False) for _ in range(30)]
    assert all(method is not None for method, _, _ in taken)
    connection.close()
    assert _stored(shop_url) == 0

    # a consumer commits its first batch and crashes before acknowledging it
    def crash(_result: object) -> None:
        raise Crash

    with pytest.raises(Crash):
        consume_queue(amqp_url=AMQP_URL, queue=queue, database_url=shop_url, once=True, batch_size=25,
                      after_commit=crash)
    first = _stored(shop_url)
    assert first > 0
    assert _waiting(queue) == len(events) + 3  # all of them are back

    progress = consume_queue(amqp_url=AMQP_URL, queue=queue, database_url=shop_url, once=True, batch_size=25,
                             idle_s=0.5)
    assert progress.result is not None
    assert progress.messages == len(events) + 3 and progress.result.skipped == 3
    assert progress.result.duplicates >= first  # the committed batch came again
    assert _waiting(queue) == 0
    with session_scope(shop_url) as session:
        assert dashboard(session, filters=WEEK) == expected_all_channels()


@pytest.mark.slow
def test_a_consumer_killed_anywhere_loses_and_doubles_nothing(shop_url: str, queue: str) -> None:
    events = _scenario(shop_url)
    _publish(queue, [json.dumps(e).encode() for e in events])
    command = [sys.executable, "-m", "apps.cli", "analytics", "consume", "--amqp", AMQP_URL, "--queue", queue,
               "--batch", "3", "--url", shop_url]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while _stored(shop_url) == 0 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # no goodbye: whatever was not acknowledged comes back
    finally:
        process.wait(timeout=10)
    assert _stored(shop_url) > 0, process.stdout.read() if process.stdout else ""
    consume_queue(amqp_url=AMQP_URL, queue=queue, database_url=shop_url, once=True, idle_s=0.5)
    with session_scope(shop_url) as session:
        assert dashboard(session, filters=WEEK) == expected_all_channels()


def test_the_command_says_when_rabbitmq_is_not_there(shop_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = analytics_main(["consume", "--amqp", "amqp://guest:secret@127.0.0.1:1/%2F", "--once", "--url", shop_url])
    out = capsys.readouterr()
    assert code == 1 and "RabbitMQ at amqp://guest:***@127.0.0.1:1" in out.err and "secret" not in out.err + out.out


def _tracker(path: str) -> tuple[str, Table]:
    """A tracker store with Rasa's ``events`` table (rasa/core/tracker_store.py SQLEvent)."""
    url = f"sqlite:///{path}"
    table = Table("events", MetaData(), Column("id", Integer, primary_key=True),
                  Column("sender_id", String(255), nullable=False), Column("type_name", String(255), nullable=False),
                  Column("timestamp", Float), Column("intent_name", String(255)), Column("action_name", String(255)),
                  Column("data", Text))
    engine = create_engine(url)
    table.metadata.create_all(engine)
    engine.dispose()
    return url, table


def _rows(events: list[dict[str, object]]) -> list[dict[str, object]]:
    rows = []
    for event in events:
        data = {k: v for k, v in event.items() if k != "sender_id"}
        rows.append({"sender_id": event["sender_id"], "type_name": event["event"], "timestamp": event["timestamp"],
                     "intent_name": None, "action_name": event.get("name"), "data": json.dumps(data)})
    return rows


@pytest.mark.slow
def test_the_tracker_store_is_read_from_its_cursor(shop_url: str, tmp_path) -> None:
    events = _scenario(shop_url)
    tracker_url, table = _tracker(str(tmp_path / "tracker.db"))
    engine = create_engine(tracker_url)
    half = len(events) // 2
    with engine.begin() as conn:
        conn.execute(table.insert(), _rows(events[:half]))
        conn.execute(table.insert(), [{"sender_id": "x", "type_name": "user", "data": "{broken"},
                                      {"sender_id": "x", "type_name": "user", "data": None}])
    first = ingest_tracker(tracker_url=tracker_url, database_url=shop_url, batch_size=50)
    assert first.result is not None and first.result.skipped == 2
    with engine.begin() as conn:
        conn.execute(table.insert(), _rows(events[half:]))
    second = ingest_tracker(tracker_url=tracker_url, database_url=shop_url, batch_size=50)
    third = ingest_tracker(tracker_url=tracker_url, database_url=shop_url, batch_size=50)
    assert second.result is not None and third.result is not None
    assert second.result.stored > 0 and third.result.stored == 0
    last = int(engine.connect().execute(select(func.max(table.c.id))).scalar_one())
    engine.dispose()
    with session_scope(shop_url) as session:
        cursor = session.scalars(select(AnalyticsCursor)).one()
        assert (cursor.source, cursor.last_id) == (tracker_source(tracker_url), last)
        assert dashboard(session, filters=WEEK) == expected_all_channels()


def test_ingest_tracker_and_report_commands(shop_url: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    events = _scenario(shop_url)
    tracker_url, table = _tracker(str(tmp_path / "tracker.db"))
    engine = create_engine(tracker_url)
    with engine.begin() as conn:
        conn.execute(table.insert(), _rows(events))
    engine.dispose()
    assert analytics_main(["ingest-tracker", "--tracker-db", tracker_url, "--url", shop_url]) == 0
    assert f"{len(events)} events read" in capsys.readouterr().out
    assert analytics_main(["report", "--start", "2026-11-02", "--end", "2026-11-03", "--url", shop_url]) == 0
    report = capsys.readouterr().out
    assert "conversations         7" in report and "handoff rate          3/7 (42.9%)" in report
    assert analytics_main(["report", "--start", "2026-11-03", "--end", "2026-11-02", "--url", shop_url]) == 2
    assert "before start" in capsys.readouterr().err
    assert analytics_main(["ingest-tracker", "--tracker-db", f"sqlite:///{tmp_path / 'empty.db'}",
                           "--url", shop_url]) == 0
    assert "0 events read" in capsys.readouterr().out

