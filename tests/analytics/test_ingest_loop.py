"""``scripts/analytics_loop.sh``, the loop ``make run`` keeps the analytics tables filling
with: a tracker store that is not a database fails a run, which is logged, and the loop
goes on; a corrupt event row is skipped and counted while the rest is stored; runs that store
nothing new log nothing; TERM ends the loop and the run in progress at once; the
production profile's consumer is started again after RabbitMQ failed it, and stores the
queue's events on a real RabbitMQ; bad arguments are refused before anything runs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pika
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, select

from shop.db.analytics_tables import AnalyticsConversation, AnalyticsEvent
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from tests.paths import ROOT
from tests.production_stack import AMQP_HOST, AMQP_PASSWORD, AMQP_PORT, AMQP_USER, rabbitmq_missing

LOOP = ROOT / "scripts" / "analytics_loop.sh"
T0 = 1_790_000_000.0  # 2026-09-21 UTC


def _events_table() -> Table:
    """Rasa's tracker store ``events`` table (rasa/core/tracker_store.py SQLEvent)."""
    return Table("events", MetaData(), Column("id", Integer, primary_key=True),
                 Column("sender_id", String(255), nullable=False), Column("type_name", String(255), nullable=False),
                 Column("timestamp", Float), Column("intent_name", String(255)), Column("action_name", String(255)),
                 Column("data", Text))


def _row(sender: str, event: dict[str, object]) -> dict[str, object]:
    return {"sender_id": sender, "type_name": event["event"], "timestamp": event["timestamp"], "intent_name": None,
            "action_name": None, "data": json.dumps(event)}


def _fill(path: Path) -> None:
    """One conversation (session start, a greeting, the bot's answer) and a corrupt row."""
    table = _events_table()
    engine = create_engine(f"sqlite:///{path}")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            _row("rest:loop-1", {"event": "session_started", "timestamp": T0}),
            _row("rest:loop-1", {"event": "user", "timestamp": T0 + 1, "text": "hi", "input_channel": "rest",
                                 "message_id": "m1", "parse_data": {"intent": {"name": "greet"}}}),
            _row("rest:loop-1", {"event": "bot", "timestamp": T0 + 2, "text": "Hi! What are you after?"}),
            {"sender_id": "rest:loop-1", "type_name": "user", "timestamp": T0 + 3, "intent_name": None,
             "action_name": None, "data": "{broken"},
        ])
    engine.dispose()


def _stored(url: str) -> tuple[int, int]:
    with session_scope(url) as s:
        return (int(s.scalar(select(func.count()).select_from(AnalyticsEvent)) or 0),
                int(s.scalar(select(func.count()).select_from(AnalyticsConversation)) or 0))


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float = 60, times: int = 1) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        content = log.read_text(errors="replace") if log.exists() else ""
        if content.count(text) >= times:
            return content
        assert proc.poll() is None, f"the loop ended (status {proc.returncode}):\n{content}"
        assert time.monotonic() < deadline, f"{text!r} not logged within {timeout_s:.0f} s:\n{content}"
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in found.split()]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


@pytest.mark.slow
def test_the_loop_logs_a_failing_run_goes_on_and_stops_on_term(tmp_path: Path) -> None:
    shop_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(shop_url)
    tracker = tmp_path / "tracker.db"
    tracker.write_bytes(b"this is not an SQLite database, " * 64)  # every run fails on it
    log = tmp_path / "analytics.log"
    env = {**os.environ, "DATABASE_URL": shop_url, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", str(LOOP), "ingest", f"sqlite:///{tracker}", "1"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        failed = _wait_for(log, "analytics ingest failed (exit status 1); next try in 1 s", proc)
        assert "Could not read" in failed  # the command's own message says which store
        tracker.unlink()
        _fill(tracker)  # the store is readable again: the next run stores what it can
        done = _wait_for(log, "3 stored", proc)
        assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ sqlite:///.*: 4 events read: 3 stored, 0 already "
                         r"stored, 0 not used, 1 skipped \(message is not JSON: 1\)$", done, flags=re.M), done
        assert _stored(shop_url) == (3, 1)
        time.sleep(6)  # more runs (each about 2 s here): they re-read the rows, store nothing twice, say nothing
        assert _stored(shop_url) == (3, 1)
        assert log.read_text(errors="replace").count("events read") == 1
    finally:
        children = _children(proc.pid)  # the run or the sleep in progress
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        status = proc.wait(timeout=20)
    assert status == 0 and time.monotonic() - started < 10  # not after a whole interval or run
    assert children and not [pid for pid in children if _running(pid)]
    get_engine(shop_url).dispose()


@pytest.mark.slow
def test_the_consumer_is_started_again_after_it_stops(tmp_path: Path) -> None:
    """The production profile's loop: a RabbitMQ that does not answer fails the consumer,
    which is logged and started again; a real one gets the queue's events stored."""
    reason = rabbitmq_missing()
    if reason:
        pytest.skip(reason)
    shop_url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(shop_url)
    queue = f"analytics_loop_{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DATABASE_URL": shop_url, "PYTHONPATH": str(ROOT), "SHOP_ANALYTICS_QUEUE": queue,
           "SHOP_ANALYTICS_EXCHANGE": ""}
    down, up = tmp_path / "down.log", tmp_path / "up.log"
    with open(down, "wb") as out:
        proc = subprocess.Popen(["bash", str(LOOP), "consume", "1"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                env={**env, "SHOP_ANALYTICS_AMQP_URL": "amqp://guest:secret@127.0.0.1:1/%2F"})
    try:
        _wait_for(down, "analytics consume failed (exit status 1); next try in 1 s", proc)
        text = _wait_for(down, "analytics consume starting", proc, times=2)  # started again
        assert "RabbitMQ at amqp://guest:***@127.0.0.1:1" in text and "secret" not in text
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    url = f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}:{AMQP_PORT}/%2F"
    with open(up, "wb") as out:
        proc = subprocess.Popen(["bash", str(LOOP), "consume", "1"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                env={**env, "SHOP_ANALYTICS_AMQP_URL": url})
    try:
        _wait_for(up, f"Consuming queue '{queue}'", proc)
        connection = pika.BlockingConnection(pika.URLParameters(url))
        channel = connection.channel()
        for event in ({"event": "session_started", "timestamp": T0},
                      {"event": "user", "timestamp": T0 + 1, "text": "hi", "input_channel": "rest", "message_id": "m1",
                       "parse_data": {"intent": {"name": "greet"}}}):
            channel.basic_publish(exchange="", routing_key=queue, body=json.dumps({**event, "sender_id": "rest:q-1"}),
                                  properties=pika.BasicProperties(delivery_mode=2))
        deadline = time.monotonic() + 30
        while _stored(shop_url) != (2, 1):
            assert time.monotonic() < deadline, up.read_text()
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=20)
        channel.queue_delete(queue=queue)
        connection.close()
    assert status == 0
    get_engine(shop_url).dispose()


@pytest.mark.parametrize("args", [[], ["ingest"], ["ingest", "sqlite:///x.db"], ["ingest", "sqlite:///x.db", "0"],
                                  ["ingest", "sqlite:///x.db", "-5"], ["consume", "1s"], ["consume"],
                                  ["purge", "1"]])
def test_the_loop_refuses_bad_arguments(args: list[str], tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(LOOP), *args], cwd=tmp_path, capture_output=True, text=True, timeout=20,
                          check=False)
    assert done.returncode == 2 and ("usage:" in done.stderr or "whole number" in done.stderr), done.stderr
