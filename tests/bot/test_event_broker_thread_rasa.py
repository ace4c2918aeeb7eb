"""The production event broker (:class:`bot.event_broker.DurablePikaEventBroker`) keeps
up with a Rasa process whose event loop is busy, and loses nothing when RabbitMQ goes
away under it (real RabbitMQ on loopback, reached through the fault suite's TCP proxy,
``bench/faults.py``; the broker runs in the Rasa environment).

The publisher stands in for a Rasa server under load: its event loop runs 100 ms of
synchronous work (NLU, policies) between turns and publishes 5 events a turn. Rasa's
own broker publishes on that loop and fell behind by almost every event (1,454 of
1,470 still waiting after 30 s); this one publishes on its own thread.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cluster import haproxy_missing
from bench.engines import RASA_PY, RunEngines, services_missing
from bench.faults import FaultProxy
from tests.conftest import PG_ADMIN_URL
from tests.paths import ROOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow,
              pytest.mark.skipif(not RASA_PY.exists(), reason="the Rasa environment is missing: run 'make setup'")]

PUBLISHER = r'''
import asyncio, json, logging, sys, time
import rasa.shared.core.events  # noqa: F401  (Rasa's pika module expects it imported)
import structlog
from bot.event_broker import DurablePikaEventBroker

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))

async def main(port, exchange, queue, seconds):
    broker = DurablePikaEventBroker(host="127.0.0.1", username="guest", password="guest", port=port, queues=[queue],
                                    exchange_name=exchange, connection_attempts=5, retry_delay_in_seconds=1)
    await broker.connect()
    print("connected", flush=True)
    n, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.1)  # the loop busy with a turn
        for _ in range(5):
            broker.publish({"sender_id": "s", "event": "user", "n": n, "timestamp": time.time()})
            n += 1
        await asyncio.sleep(0)
    behind = len(broker._background_tasks) + len(broker._unpublished_events)
    for _ in range(60):
        if not broker._background_tasks and not broker._unpublished_events:
            break
        await asyncio.sleep(0.5)
    left = len(broker._background_tasks) + len(broker._unpublished_events)
    await broker.close()
    print(json.dumps({"sent": n, "behind_at_end": behind, "left": left}), flush=True)

asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])))
'''


@pytest.fixture()
def proxy(tmp_path: Path) -> Iterator[FaultProxy]:
    reason = haproxy_missing() or services_missing(PG_ADMIN_URL)
    if reason:
        pytest.skip(reason)
    started = FaultProxy(tmp_path).start()
    yield started
    started.stop()


def test_the_broker_keeps_up_with_a_busy_loop_and_loses_nothing_when_rabbitmq_goes_away(proxy: FaultProxy) -> None:
    engines = RunEngines(pg_admin_url=PG_ADMIN_URL)
    engines.created = False  # no tracker database: only this run's exchange and queue
    publisher = subprocess.Popen([str(RASA_PY), "-c", PUBLISHER, str(proxy.amqp_port), engines.exchange, engines.queue,
                                  "20"], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert publisher.stdout is not None
        assert publisher.stdout.readline().strip() == "connected", publisher.stderr.read() if publisher.stderr else ""
        time.sleep(8)
        proxy.admin.cut("amqp")  # every connection closed, new ones refused
        time.sleep(4)
        proxy.admin.restore("amqp")
        out, err = publisher.communicate(timeout=120)
        assert publisher.returncode == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
        arrived = [event["n"] for event in engines.drain()]
    finally:
        if publisher.poll() is None:
            publisher.kill()
        engines.drain(delete=True, read=False)
    assert result["sent"] > 400
    assert result["behind_at_end"] < 50  # kept up while the loop was busy (Rasa's own: nearly all behind)
    assert result["left"] == 0
    assert sorted(set(arrived)) == list(range(result["sent"]))  # every event arrived, across the outage
    assert len(arrived) - len(set(arrived)) <= 20  # at least once: few, if any, twice
